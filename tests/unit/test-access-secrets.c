/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "access-secrets.h"
#include "alloc.h"
#include "check-main.h"
#include "ticket.h"

#define H1 "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
#define H2 "d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"
#define YESCRYPT "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7"
#define SHA512 "$6$rounds=5000$saltsalt$Gq0S8Xw0t3sS6b0pY3Lp/2n7mJb0uY1H8Qk2bWnG7c4Kx0m1Z1pZg8yq3c9yXo5n6QeH"

static AccessSecrets *parse_ok(AccessSecretsType type, const char *text)
{
        _cleanup_free_ char *error = NULL;
        AccessSecrets *s = NULL;

        ck_assert_msg(access_secrets_parse(type, text, &s, &error) == 0, "parse failed: %s", strempty(error));
        return s;
}

static void assert_format(const AccessSecrets *s, const char *expected)
{
        _cleanup_(ticket_secret_freep) char *text = access_secrets_format(s);

        ck_assert_str_eq(text, expected);
}

static const struct {
        AccessSecretsType type;
        const char *in, *canonical;
} round_trips[] = {
        { ACCESS_SECRETS_TOKEN, "", "" },
        { ACCESS_SECRETS_TOKEN, "\n \n\t\n", "" },
        { ACCESS_SECRETS_TOKEN, "alice@pve!ci " H1 "\n", "alice@pve!ci " H1 "\n" },
        /* Sorted, blank lines dropped, the last line's newline added. */
        { ACCESS_SECRETS_TOKEN, "root@pam!backup " H2 "\n\n  \nalice@pve!ci " H1 "\nalice@pve!build " H2,
                "alice@pve!build " H2 "\nalice@pve!ci " H1 "\nroot@pam!backup " H2 "\n" },
        { ACCESS_SECRETS_SHADOW, "", "" },
        { ACCESS_SECRETS_SHADOW, "bob@pve:" SHA512 ":\nalice@pve:" YESCRYPT ":\nlocked@pve:*:",
                "alice@pve:" YESCRYPT ":\nbob@pve:" SHA512 ":\nlocked@pve:*:\n" },
        /* A '!' in a name is a userid's, and sorts before '@'. */
        { ACCESS_SECRETS_SHADOW, "x@pve:$1$a$b:\nx!y@pve:$1$a$c:\n", "x!y@pve:$1$a$c:\nx@pve:$1$a$b:\n" },
};

START_TEST(test_round_trip)
{
        _cleanup_(access_secrets_freep) AccessSecrets *s = NULL, *again = NULL;
        _cleanup_(ticket_secret_freep) char *first = NULL, *second = NULL;

        s = parse_ok(round_trips[_i].type, round_trips[_i].in);
        first = access_secrets_format(s);
        ck_assert_str_eq(first, round_trips[_i].canonical);
        again = parse_ok(round_trips[_i].type, first);
        second = access_secrets_format(again);
        ck_assert_str_eq(second, first);
}
END_TEST

static const struct {
        AccessSecretsType type;
        const char *text, *error;
} bad[] = {
        { ACCESS_SECRETS_TOKEN, "alice@pve!ci" H1 "\n", "line 1: expected '<tokenid> <sha256>'" },
        { ACCESS_SECRETS_TOKEN, "\nalice@pve!ci\t" H1 "\n", "line 2: not printable UTF-8 text" },
        { ACCESS_SECRETS_TOKEN, "alice@pve!ci " H1 "\r\n", "line 1: not printable UTF-8 text" },
        { ACCESS_SECRETS_TOKEN, "alice@pve!ci \xff\n", "line 1: not printable UTF-8 text" },
        { ACCESS_SECRETS_TOKEN, "alice@pve " H1 "\n", "line 1: invalid token id" },
        { ACCESS_SECRETS_TOKEN, " alice@pve!ci " H1 "\n", "line 1: invalid token id" },
        { ACCESS_SECRETS_TOKEN, "alice@pve!c " H1 "\n", "line 1: invalid token id" },
        { ACCESS_SECRETS_TOKEN, "alice@pve!ci  " H1 "\n",
                "line 1: the value of 'alice@pve!ci' is not a SHA-256 in 64 lower-case hex digits" },
        { ACCESS_SECRETS_TOKEN, "alice@pve!ci " H1 " \n",
                "line 1: the value of 'alice@pve!ci' is not a SHA-256 in 64 lower-case hex digits" },
        { ACCESS_SECRETS_TOKEN,
                "alice@pve!ci 2BB80D537B1DA3E38BD30361AA855686BDE0EACD7162FEF6A25FE97BF527A25B\n",
                "line 1: the value of 'alice@pve!ci' is not a SHA-256 in 64 lower-case hex digits" },
        { ACCESS_SECRETS_TOKEN,
                "alice@pve!ci 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25\n",
                "line 1: the value of 'alice@pve!ci' is not a SHA-256 in 64 lower-case hex digits" },
        { ACCESS_SECRETS_TOKEN, "alice@pve!ci \n",
                "line 1: the value of 'alice@pve!ci' is not a SHA-256 in 64 lower-case hex digits" },
        { ACCESS_SECRETS_TOKEN, "alice@pve!ci " H1 "\n\nalice@pve!ci " H2 "\n",
                "line 3: duplicate token id 'alice@pve!ci'" },
        { ACCESS_SECRETS_SHADOW, "bob@pve\n", "line 1: expected '<userid>:<hash>:'" },
        { ACCESS_SECRETS_SHADOW, "bob@pve:" SHA512 "\n", "line 1: expected '<userid>:<hash>:'" },
        { ACCESS_SECRETS_SHADOW, "bob@pve:\n", "line 1: expected '<userid>:<hash>:'" },
        { ACCESS_SECRETS_SHADOW, "bob@pve:$1$a$b: \n", "line 1: expected '<userid>:<hash>:'" },
        { ACCESS_SECRETS_SHADOW, "bob@pve::\n", "line 1: the value of 'bob@pve' is not a crypt(3) hash" },
        { ACCESS_SECRETS_SHADOW, "bob@pve:$1$a:b:\n", "line 1: the value of 'bob@pve' is not a crypt(3) hash" },
        { ACCESS_SECRETS_SHADOW, "bob@pve:$1$a b:\n", "line 1: the value of 'bob@pve' is not a crypt(3) hash" },
        { ACCESS_SECRETS_SHADOW, "bob@pve:!$1$a$b:\n",
                "line 1: the value of 'bob@pve' is not a crypt(3) hash" },
        { ACCESS_SECRETS_SHADOW, "bob@pve!tk:$1$a$b:\n", "line 1: invalid userid" },
        { ACCESS_SECRETS_SHADOW, "$1$a$b:bob@pve:\n", "line 1: invalid userid" },
        { ACCESS_SECRETS_SHADOW, "bob:$1$a$b:\n", "line 1: invalid userid" },
        { ACCESS_SECRETS_SHADOW, "bob@pve:$1$a$b:\r\n", "line 1: not printable UTF-8 text" },
        { ACCESS_SECRETS_SHADOW, "bob@pve:$1$a$b:\nalice@pve:$1$a$b:\nbob@pve:$1$a$c:\n",
                "line 3: duplicate userid 'bob@pve'" },
};

START_TEST(test_parse_rejects)
{
        _cleanup_free_ char *error = NULL;
        AccessSecrets *s = NULL;

        ck_assert_int_eq(access_secrets_parse(bad[_i].type, bad[_i].text, &s, &error), -EBADMSG);
        ck_assert_ptr_null(s);
        ck_assert_str_eq(strempty(error), bad[_i].error);
        ck_assert_int_eq(access_secrets_parse(bad[_i].type, bad[_i].text, &s, NULL), -EBADMSG);
}
END_TEST

START_TEST(test_get_set_remove)
{
        _cleanup_(access_secrets_freep) AccessSecrets *s = access_secrets_new(ACCESS_SECRETS_TOKEN);

        assert_format(s, "");
        ck_assert_ptr_null(access_secrets_get(s, "alice@pve!ci"));
        ck_assert_int_eq(access_secrets_set(s, "root@pam!bk", H1), 0);
        ck_assert_int_eq(access_secrets_set(s, "alice@pve!ci", H1), 0);
        ck_assert_int_eq(access_secrets_set(s, "alice@pve!ab", H2), 0);
        assert_format(s, "alice@pve!ab " H2 "\nalice@pve!ci " H1 "\nroot@pam!bk " H1 "\n");
        ck_assert_str_eq(access_secrets_get(s, "alice@pve!ci"), H1);

        /* Replaced, not added. */
        ck_assert_int_eq(access_secrets_set(s, "alice@pve!ci", H2), 0);
        ck_assert_uint_eq(s->n_entries, 3);
        ck_assert_str_eq(access_secrets_get(s, "alice@pve!ci"), H2);

        /* Refused, and nothing changes. */
        ck_assert_int_eq(access_secrets_set(s, "alice@pve", H1), -EINVAL);
        ck_assert_int_eq(access_secrets_set(s, "alice@pve!ci", "secret"), -EINVAL);
        ck_assert_int_eq(access_secrets_set(s, "alice@pve!ci", ""), -EINVAL);
        assert_format(s, "alice@pve!ab " H2 "\nalice@pve!ci " H2 "\nroot@pam!bk " H1 "\n");

        ck_assert_int_eq(access_secrets_remove(s, "alice@pve!ab"), 0);
        ck_assert_int_eq(access_secrets_remove(s, "alice@pve!ab"), -ENOENT);
        ck_assert_int_eq(access_secrets_remove(s, "nobody@pve!x"), -ENOENT);
        assert_format(s, "alice@pve!ci " H2 "\nroot@pam!bk " H1 "\n");
}
END_TEST

START_TEST(test_shadow_set)
{
        _cleanup_(access_secrets_freep) AccessSecrets *s = parse_ok(ACCESS_SECRETS_SHADOW, "bob@pve:*:\n");

        ck_assert_int_eq(access_secrets_set(s, "alice@pve", YESCRYPT), 0);
        ck_assert_int_eq(access_secrets_set(s, "bob@pve", SHA512), 0);
        ck_assert_int_eq(access_secrets_set(s, "bob@pve!tk", SHA512), -EINVAL);
        ck_assert_int_eq(access_secrets_set(s, "carol@pve", "$1$a:b"), -EINVAL);
        ck_assert_int_eq(access_secrets_set(s, "carol@pve", ""), -EINVAL);
        assert_format(s, "alice@pve:" YESCRYPT ":\nbob@pve:" SHA512 ":\n");
}
END_TEST

START_TEST(test_remove_user_tokens)
{
        /* "a@pve!b@pve" is a userid of its own: its token is not one of a@pve's. */
        _cleanup_(access_secrets_freep) AccessSecrets *s = parse_ok(ACCESS_SECRETS_TOKEN,
                "a@pve!one " H1 "\n"
                "a@pve!b@pve!tk " H1 "\n"
                "a@pvex!tk " H1 "\n"
                "a@pve!two " H2 "\n"
                "b@pve!one " H2 "\n");

        ck_assert_uint_eq(access_secrets_remove_user_tokens(s, "a@pve"), 2);
        assert_format(s, "a@pve!b@pve!tk " H1 "\na@pvex!tk " H1 "\nb@pve!one " H2 "\n");
        ck_assert_uint_eq(access_secrets_remove_user_tokens(s, "a@pve"), 0);
        ck_assert_uint_eq(access_secrets_remove_user_tokens(s, "a@pve!b@pve"), 1);
        ck_assert_uint_eq(access_secrets_remove_user_tokens(s, "nobody@pve"), 0);
        assert_format(s, "a@pvex!tk " H1 "\nb@pve!one " H2 "\n");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("access-secrets");
        TCase *tc = tcase_create("access-secrets");

        tcase_add_loop_test(tc, test_round_trip, 0, ELEMENTSOF(round_trips));
        tcase_add_loop_test(tc, test_parse_rejects, 0, ELEMENTSOF(bad));
        tcase_add_test(tc, test_get_set_remove);
        tcase_add_test(tc, test_shadow_set);
        tcase_add_test(tc, test_remove_user_tokens);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
