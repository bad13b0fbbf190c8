/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <string.h>

#include "alloc.h"
#include "check-main.h"
#include "ticket.h"

/* 2023-09-12, a time with no digit above 9 in hex so that case mistakes show. */
#define T 0x65000000U

/* RFC 8032's first Ed25519 test key; the expected texts come from Python's cryptography package. */
#define RFC8032_SEED "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
#define RFC8032_PUBLIC "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RFC8032_SIG_START \
        "Eeq5MmDw9t4/qi/fLbVi5sQqzmgBAt4qWDyZhxfg/WQEq1HRORoxS+/HqJzpN5nZp6sVxUuz9TnqG+dTZs"
#define RFC8032_SIG RFC8032_SIG_START "wuBw=="
#define RFC8032_TICKET "PVE:root@pam:65000000::" RFC8032_SIG
#define RFC8032_TUNNEL \
        "PVETUNNEL:65000000::flmLmgbXICf370mSN/" \
        "5HMj+ocMIPxZUeuT1QYhXILLURobiAkvPZd9EwJhBrchEeRUDJiRZy0KB8NN5KrxDGCA=="
/* perl -MDigest::SHA=hmac_sha256_base64 -e 'print hmac_sha256_base64("65000000:root@pam", "berth-csrf-secret")' */
#define CSRF_SECRET "berth-csrf-secret"
#define CSRF_TOKEN "65000000:9CK5rqKvidmi6bknkQZL/3MgiIVpMBfhWO9j+N3PbJ0"

static EVP_PKEY *key_new(void)
{
        EVP_PKEY *key;

        ck_assert_int_eq(ticket_key_generate(&key), 0);
        return key;
}

static char *sign(EVP_PKEY *key, const char *userid, uint64_t now)
{
        char *t;

        ck_assert_int_eq(ticket_sign(key, userid, now, &t), 0);
        return t;
}

static const char *const good_userids[] = {
        "root@pam",
        "a@pve",
        "jane.doe@ldap-1",
        "x@y_",
        "first.last-x@R2",
        "a@b@pam",
        "m\xc3\xbcller@pve",
        "a!b@pve",
        "u23456789012345678901234567890123456789012345678901234567890@pve",
};

static const char *const bad_userids[] = {
        "",
        "a@",
        "@pam",
        "root",
        "root@p",
        "root@1pam",
        "root@pam!token",
        "root@pam!",
        "ro:ot@pam",
        "ro/ot@pam",
        "ro%3Aot@pam",
        "ro\tot@pam",
        "ro\not@pam",
        "ro\x01ot@pam",
        "\xc3\x28@pam",
        "root@pa m",
        "first last@pve",
        "first last@pve",
        "u234567890123456789012345678901234567890123456789012345678901@pve",
};

START_TEST(test_userid_valid)
{
        ck_assert_msg(ticket_userid_is_valid(good_userids[_i]), "%s", good_userids[_i]);
}
END_TEST

START_TEST(test_userid_invalid)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = key_new();
        char *t = (char *) 0x1;

        ck_assert(!ticket_userid_is_valid(bad_userids[_i]));
        ck_assert_int_eq(ticket_sign(key, bad_userids[_i], T, &t), -EINVAL);
        ck_assert_int_eq(ticket_tunnel_sign(key, bad_userids[_i], "/vms/100", T, &t), -EINVAL);
        ck_assert_ptr_eq(t, (char *) 0x1);
}
END_TEST

START_TEST(test_known_answer)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL, *pub = NULL;
        _cleanup_free_ char *t = NULL, *tunnel = NULL, *public = NULL, *csrf = NULL;
        _cleanup_(ticket_secret_freep) char *private = NULL;

        ck_assert_int_eq(ticket_key_parse_private(RFC8032_SEED, &key), 0);
        ck_assert_int_eq(ticket_key_format_private(key, &private), 0);
        ck_assert_str_eq(private, RFC8032_SEED);
        ck_assert_int_eq(ticket_key_format_public(key, &public), 0);
        ck_assert_str_eq(public, RFC8032_PUBLIC);

        t = sign(key, "root@pam", T);
        ck_assert_str_eq(t, RFC8032_TICKET);
        ck_assert_int_eq(ticket_tunnel_sign(key, "root@pam", "/vms/100", T, &tunnel), 0);
        ck_assert_str_eq(tunnel, RFC8032_TUNNEL);

        /* The public half alone verifies. */
        ck_assert_int_eq(ticket_key_parse_public(RFC8032_PUBLIC, &pub), 0);
        ck_assert_int_eq(ticket_verify(&pub, 1, RFC8032_TICKET, T, NULL, NULL), 0);
        ck_assert_int_eq(ticket_tunnel_verify(pub, RFC8032_TUNNEL, "root@pam", "/vms/100", T), 0);

        ck_assert_int_eq(ticket_csrf_make(CSRF_SECRET, strlen(CSRF_SECRET), "root@pam", T, &csrf), 0);
        ck_assert_str_eq(csrf, CSRF_TOKEN);
}
END_TEST

START_TEST(test_ticket_valid)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = key_new();
        _cleanup_free_ char *t = sign(key, "jane@pve", T), *userid = NULL;
        int64_t age = -1;

        ck_assert(startswith(t, "PVE:jane@pve:65000000::"));
        ck_assert_uint_eq(strlen(t), strlen("PVE:jane@pve:65000000::") + 88);
        ck_assert_int_eq(ticket_verify(&key, 1, t, T + 42, &userid, &age), 0);
        ck_assert_str_eq(userid, "jane@pve");
        ck_assert_int_eq(age, 42);
}
END_TEST

static const struct {
        int64_t age;
        int result;
} ticket_ages[] = {
        { -301, -ERANGE },
        { -300, -ERANGE },
        { -299, 0 },
        { 0, 0 },
        { 7199, 0 },
        { 7200, -EKEYEXPIRED },
        { 100000, -EKEYEXPIRED },
};

START_TEST(test_ticket_age)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = key_new();
        _cleanup_free_ char *t = sign(key, "root@pam", T), *userid = NULL;
        int64_t age = 12345;

        ck_assert_int_eq(ticket_verify(&key, 1, t, (uint64_t) (T + ticket_ages[_i].age), &userid, &age),
                ticket_ages[_i].result);
        if (ticket_ages[_i].result == 0) {
                ck_assert_int_eq(age, ticket_ages[_i].age);
                ck_assert_str_eq(userid, "root@pam");
        } else {
                ck_assert_int_eq(age, 12345);
                ck_assert_ptr_null(userid);
        }
}
END_TEST

START_TEST(test_ticket_tampered)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = key_new();
        _cleanup_free_ char *t = sign(key, "root@pam", T), *other = sign(key, "roo@pam", T);
        char *sig;

        /* Userid changed. */
        t[4] = 'R';
        ck_assert_int_eq(ticket_verify(&key, 1, t, T, NULL, NULL), -EKEYREJECTED);
        t[4] = 'r';
        /* Time changed, to a later one that would extend its life. */
        t[strlen("PVE:root@pam:6500000")] = '1';
        ck_assert_int_eq(ticket_verify(&key, 1, t, T, NULL, NULL), -EKEYREJECTED);
        t[strlen("PVE:root@pam:6500000")] = '0';
        /* Signature changed. */
        sig = strstr(t, "::") + 2;
        sig[10] = sig[10] == 'A' ? 'B' : 'A';
        ck_assert_int_eq(ticket_verify(&key, 1, t, T, NULL, NULL), -EKEYREJECTED);
        /* Another user's signature. */
        memcpy(sig, strstr(other, "::") + 2, 88);
        ck_assert_int_eq(ticket_verify(&key, 1, t, T, NULL, NULL), -EKEYREJECTED);
        /* Signature checked before time: a forged ticket never reads as merely expired. */
        ck_assert_int_eq(ticket_verify(&key, 1, t, T + 10 * TICKET_LIFETIME, NULL, NULL), -EKEYREJECTED);
}
END_TEST

START_TEST(test_ticket_keys)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *a = key_new(), *b = key_new(), *c = key_new();
        _cleanup_free_ char *t = sign(b, "root@pam", T);
        EVP_PKEY *both[] = { a, b };

        ck_assert_int_eq(ticket_verify(&a, 1, t, T, NULL, NULL), -EKEYREJECTED);
        ck_assert_int_eq(ticket_verify(&c, 1, t, T, NULL, NULL), -EKEYREJECTED);
        ck_assert_int_eq(ticket_verify(NULL, 0, t, T, NULL, NULL), -EKEYREJECTED);
        ck_assert_int_eq(ticket_verify(both, 2, t, T, NULL, NULL), 0);
        ck_assert_int_eq(ticket_verify(&b, 1, t, T, NULL, NULL), 0);
}
END_TEST

/* Each is the valid RFC8032_TICKET with one thing wrong, or a text that is no ticket at all. */
static const char *const bad_tickets[] = {
        "",
        "PVE:",
        "PVE:root@pam:65000000",
        "PVE:root@pam:65000000::",
        "PVE:root@pam:65000000::" RFC8032_SIG_START "wuBw=",
        "PVE:root@pam:65000000::" RFC8032_SIG_START "wuBw==\n",
        "PVE:root@pam:65000000::" RFC8032_SIG_START "wu===",
        "PVE:root@pam:65000000::" RFC8032_SIG_START "*uBw==",
        "PVE:root@pam:6500000a::" RFC8032_SIG,
        "PVE:root@pam:650000000::" RFC8032_SIG,
        "PVE:root@pam:0x650000::" RFC8032_SIG,
        "PVE:root@pam65000000::" RFC8032_SIG,
        "PVE:root@pam!t:65000000::" RFC8032_SIG,
        "PVE:root:65000000::" RFC8032_SIG,
        "PVE:u234567890123456789012345678901234567890123456789012345678901@pve:65000000::" RFC8032_SIG,
        "PVE:ro%3Aot@pam:65000000::" RFC8032_SIG,
        "PVE:ro:ot@pam:65000000::" RFC8032_SIG,
        "PBS:root@pam:65000000::" RFC8032_SIG,
        "pve:root@pam:65000000::" RFC8032_SIG,
        " " RFC8032_TICKET,
        RFC8032_TUNNEL,
        CSRF_TOKEN,
};

START_TEST(test_ticket_malformed)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        char *userid = (char *) 0x1;

        ck_assert_int_eq(ticket_key_parse_public(RFC8032_PUBLIC, &key), 0);
        ck_assert_int_eq(ticket_verify(&key, 1, bad_tickets[_i], T, &userid, NULL), -EBADMSG);
        ck_assert_ptr_eq(userid, (char *) 0x1);
}
END_TEST

START_TEST(test_key_text)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = key_new(), *priv = NULL, *pub = NULL;
        _cleanup_(ticket_secret_freep) char *private = NULL, *again = NULL;
        _cleanup_free_ char *public = NULL, *t = NULL;
        char *none = NULL;

        ck_assert_int_eq(ticket_key_format_private(key, &private), 0);
        ck_assert_int_eq(ticket_key_format_public(key, &public), 0);
        ck_assert_str_ne(private, public);
        ck_assert_int_eq(ticket_key_parse_private(private, &priv), 0);
        ck_assert_int_eq(ticket_key_parse_public(public, &pub), 0);
        ck_assert_int_eq(ticket_key_format_private(priv, &again), 0);
        ck_assert_str_eq(again, private);

        /* Signed with the imported private key, verified with the imported public one. */
        t = sign(priv, "root@pam", T);
        ck_assert_int_eq(ticket_verify(&pub, 1, t, T, NULL, NULL), 0);

        /* A public key neither signs nor gives away a private form. */
        ck_assert_int_eq(ticket_key_format_private(pub, &none), -EINVAL);
        ck_assert_int_eq(ticket_sign(pub, "root@pam", T, &none), -EINVAL);
        ck_assert_ptr_null(none);
}
END_TEST

static const char *const bad_keys[] = {
        "",
        "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A==",
        "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2B=",
        "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n",
        " nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=",
        "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2Am",
        "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyu==",
        "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=",
        "-----BEGIN PRIVATE KEY-----",
};

START_TEST(test_key_text_rejects)
{
        EVP_PKEY *key = (EVP_PKEY *) 0x1;

        ck_assert_int_eq(ticket_key_parse_private(bad_keys[_i], &key), -EBADMSG);
        ck_assert_int_eq(ticket_key_parse_public(bad_keys[_i], &key), -EBADMSG);
        ck_assert_ptr_eq(key, (EVP_PKEY *) 0x1);
}
END_TEST

START_TEST(test_ring_rotation)
{
        _cleanup_(ticket_key_ring_freep) TicketKeyRing *ring = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *first = NULL;
        _cleanup_free_ char *old = NULL, *late = NULL, *fresh = NULL, *early = NULL, *userid = NULL;
        _cleanup_(ticket_secret_freep) char *first_text = NULL;
        int64_t age;

        ck_assert_int_eq(ticket_key_ring_new(T, &ring), 0);
        ck_assert_ptr_null(ring->previous);
        ck_assert_uint_eq(ring->created, T);
        ck_assert_int_eq(ticket_key_format_private(ring->current, &first_text), 0);
        ck_assert_int_eq(ticket_key_parse_private(first_text, &first), 0);

        ck_assert_int_eq(ticket_key_ring_sign(ring, "root@pam", T + 1000, &old), 0);
        ck_assert_int_eq(ticket_key_ring_verify(ring, old, T + 1000, &userid, &age), 0);
        ck_assert_str_eq(userid, "root@pam");
        ck_assert_int_eq(age, 0);
        /* A ticket of the current key dated before the key existed was not made by us. */
        early = sign(first, "root@pam", T - 300);
        ck_assert_int_eq(ticket_verify(&first, 1, early, T, NULL, NULL), 0);
        ck_assert_int_eq(ticket_key_ring_verify(ring, early, T, NULL, NULL), -EKEYREJECTED);

        ck_assert(!ticket_key_ring_needs_rotation(ring, T + TICKET_KEY_LIFETIME - 1));
        ck_assert(ticket_key_ring_needs_rotation(ring, T + TICKET_KEY_LIFETIME));
        ck_assert(!ticket_key_ring_needs_rotation(ring, T - 300));
        ck_assert(ticket_key_ring_needs_rotation(ring, T - 301));

        /* After one rotation the old ticket lives on through the previous key. */
        ck_assert_int_eq(ticket_key_ring_rotate(ring, T + 2000), 0);
        ck_assert_ptr_nonnull(ring->previous);
        ck_assert_uint_eq(ring->created, T + 2000);
        ck_assert(!ticket_key_ring_needs_rotation(ring, T + TICKET_KEY_LIFETIME));
        ck_assert_int_eq(ticket_key_ring_verify(ring, old, T + 3000, NULL, &age), 0);
        ck_assert_int_eq(age, 2000);
        ck_assert_int_eq(
                ticket_key_ring_verify(ring, old, T + 1000 + TICKET_LIFETIME, NULL, NULL), -EKEYEXPIRED);
        /* The retired key's tickets made after its retirement, if it leaked, are refused. */
        late = sign(first, "root@pam", T + 2300);
        ck_assert_int_eq(ticket_key_ring_verify(ring, late, T + 2300, NULL, NULL), -EKEYREJECTED);
        ck_assert_int_eq(ticket_key_ring_sign(ring, "root@pam", T + 2300, &fresh), 0);
        ck_assert_int_eq(ticket_key_ring_verify(ring, fresh, T + 2300, NULL, NULL), 0);

        /* A second rotation forgets the first key. */
        ck_assert_int_eq(ticket_key_ring_rotate(ring, T + 4000), 0);
        ck_assert_int_eq(ticket_key_ring_verify(ring, old, T + 4000, NULL, NULL), -EKEYREJECTED);
        ck_assert_int_eq(ticket_key_ring_verify(ring, fresh, T + 4000, NULL, NULL), 0);
}
END_TEST

static void check_ring_round_trip(TicketKeyRing *ring)
{
        _cleanup_(ticket_key_ring_freep) TicketKeyRing *parsed = NULL;
        _cleanup_(ticket_secret_freep) char *text = ticket_key_ring_format(ring), *again = NULL;
        _cleanup_free_ char *t = NULL;

        ck_assert_int_eq(ticket_key_ring_parse(text, &parsed), 0);
        again = ticket_key_ring_format(parsed);
        ck_assert_str_eq(again, text);
        ck_assert_uint_eq(parsed->created, ring->created);
        ck_assert_int_eq(!!parsed->previous, !!ring->previous);

        /* The parsed ring signs what the original verifies. */
        ck_assert_int_eq(ticket_key_ring_sign(parsed, "root@pam", ring->created, &t), 0);
        ck_assert_int_eq(ticket_key_ring_verify(ring, t, ring->created, NULL, NULL), 0);
}

START_TEST(test_ring_round_trip)
{
        _cleanup_(ticket_key_ring_freep) TicketKeyRing *ring = NULL;
        _cleanup_(ticket_secret_freep) char *text = NULL;

        ck_assert_int_eq(ticket_key_ring_new(T, &ring), 0);
        text = ticket_key_ring_format(ring);
        ck_assert(startswith(text, "created: 1694498816\nprivate: "));
        ck_assert(!strstr(text, "previous"));
        check_ring_round_trip(ring);
        ck_assert_int_eq(ticket_key_ring_rotate(ring, T + 86400), 0);
        check_ring_round_trip(ring);
        ck_assert_int_eq(ticket_key_ring_rotate(ring, 0), 0);
        check_ring_round_trip(ring);
}
END_TEST

#define GOOD_CREATED "created: 1694498816\n"
#define GOOD_PRIVATE "private: " RFC8032_SEED "\n"
#define GOOD_PREVIOUS "previous: " RFC8032_PUBLIC "\n"

static const char *const bad_rings[] = {
        "",
        "\n",
        GOOD_CREATED,
        GOOD_PRIVATE,
        GOOD_PRIVATE GOOD_CREATED,
        GOOD_CREATED GOOD_PREVIOUS,
        GOOD_CREATED GOOD_PRIVATE GOOD_PREVIOUS GOOD_PREVIOUS,
        GOOD_CREATED GOOD_PRIVATE GOOD_PRIVATE,
        GOOD_CREATED GOOD_PRIVATE "\n",
        GOOD_CREATED GOOD_PRIVATE "# comment\n",
        GOOD_CREATED GOOD_PRIVATE "previous: " RFC8032_PUBLIC,
        GOOD_CREATED "private: " RFC8032_SEED,
        GOOD_CREATED "private: " RFC8032_SEED "\r\n",
        GOOD_CREATED "private:  " RFC8032_SEED "\n",
        GOOD_CREATED "private:" RFC8032_SEED "\n",
        GOOD_CREATED "Private: " RFC8032_SEED "\n",
        GOOD_CREATED "private: nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2B=\n",
        GOOD_CREATED "private: \n",
        GOOD_CREATED GOOD_PRIVATE "previous: \n",
        "created: \n" GOOD_PRIVATE,
        "created: 01694498816\n" GOOD_PRIVATE,
        "created: -1\n" GOOD_PRIVATE,
        "created: +1\n" GOOD_PRIVATE,
        "created: 4294967296\n" GOOD_PRIVATE,
        "created: 99999999999999999999999\n" GOOD_PRIVATE,
        "created: 0x10\n" GOOD_PRIVATE,
        " created: 1\n" GOOD_PRIVATE,
};

START_TEST(test_ring_parse_rejects)
{
        TicketKeyRing *ring = (TicketKeyRing *) 0x1;

        ck_assert_int_eq(ticket_key_ring_parse(bad_rings[_i], &ring), -EBADMSG);
        ck_assert_ptr_eq(ring, (TicketKeyRing *) 0x1);
}
END_TEST

START_TEST(test_ring_parse)
{
        _cleanup_(ticket_key_ring_freep) TicketKeyRing *ring = NULL, *zero = NULL;

        ck_assert_int_eq(ticket_key_ring_parse(GOOD_CREATED GOOD_PRIVATE GOOD_PREVIOUS, &ring), 0);
        ck_assert_uint_eq(ring->created, T);
        ck_assert_int_eq(ticket_key_ring_verify(ring, RFC8032_TICKET, T, NULL, NULL), 0);
        ck_assert_int_eq(ticket_key_ring_parse("created: 0\n" GOOD_PRIVATE, &zero), 0);
        ck_assert_uint_eq(zero->created, 0);
        ck_assert_ptr_null(zero->previous);
}
END_TEST

START_TEST(test_csrf)
{
        static const char secret[] = CSRF_SECRET;
        _cleanup_free_ char *token = NULL;
        char *none = NULL;

        ck_assert_int_eq(ticket_csrf_verify(secret, strlen(secret), "root@pam", CSRF_TOKEN, T), 0);
        ck_assert_int_eq(ticket_csrf_verify(secret, strlen(secret), "root@pam", CSRF_TOKEN, T - 299), 0);
        ck_assert_int_eq(ticket_csrf_verify(secret, strlen(secret), "root@pam", CSRF_TOKEN, T + 7199), 0);
        ck_assert_int_eq(
                ticket_csrf_verify(secret, strlen(secret), "root@pam", CSRF_TOKEN, T + 7200), -EKEYEXPIRED);
        ck_assert_int_eq(ticket_csrf_verify(secret, strlen(secret), "root@pam", CSRF_TOKEN, T - 300), -ERANGE);
        ck_assert_int_eq(ticket_csrf_verify(secret, strlen(secret), "jane@pve", CSRF_TOKEN, T), -EKEYREJECTED);
        ck_assert_int_eq(
                ticket_csrf_verify(secret, strlen(secret) - 1, "root@pam", CSRF_TOKEN, T), -EKEYREJECTED);
        ck_assert_int_eq(ticket_csrf_verify(secret, strlen(secret), "root@pam",
                                 "65000001:9CK5rqKvidmi6bknkQZL/3MgiIVpMBfhWO9j+N3PbJ0", T),
                -EKEYREJECTED);
        ck_assert_int_eq(ticket_csrf_verify(secret, strlen(secret), "root@pam",
                                 "65000000:9CK5rqKvidmi6bknkQZL/3MgiIVpMBfhWO9j+N3PbJ1", T),
                -EKEYREJECTED);
        ck_assert_int_eq(ticket_csrf_verify("", 0, "root@pam", CSRF_TOKEN, T), -EINVAL);
        ck_assert_int_eq(ticket_csrf_make("", 0, "root@pam", T, &none), -EINVAL);
        ck_assert_ptr_null(none);

        ck_assert_int_eq(ticket_csrf_make(secret, strlen(secret), "jane@pve", T + 5, &token), 0);
        ck_assert(startswith(token, "65000005:"));
        ck_assert_int_eq(ticket_csrf_verify(secret, strlen(secret), "jane@pve", token, T + 5), 0);
        ck_assert_int_eq(ticket_csrf_verify(secret, strlen(secret), "root@pam", token, T + 5), -EKEYREJECTED);
}
END_TEST

static const char *const bad_csrf_tokens[] = {
        "",
        "65000000",
        "65000000:",
        "6500000a:9CK5rqKvidmi6bknkQZL/3MgiIVpMBfhWO9j+N3PbJ0",
        "6500000:9CK5rqKvidmi6bknkQZL/3MgiIVpMBfhWO9j+N3PbJ0",
        "65000000:9CK5rqKvidmi6bknkQZL/3MgiIVpMBfhWO9j+N3PbJ0=",
        "65000000:9CK5rqKvidmi6bknkQZL/3MgiIVpMBfhWO9j+N3PbJ",
        "65000000 9CK5rqKvidmi6bknkQZL/3MgiIVpMBfhWO9j+N3PbJ0",
        /* Proxmox's legacy SHA-1 form. */
        "65000000:9CK5rqKvidmi6bknkQZL/3MgiIV",
};

START_TEST(test_csrf_malformed)
{
        ck_assert_int_eq(
                ticket_csrf_verify(CSRF_SECRET, strlen(CSRF_SECRET), "root@pam", bad_csrf_tokens[_i], T),
                -EBADMSG);
}
END_TEST

START_TEST(test_tunnel)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = key_new(), *other = key_new();
        _cleanup_free_ char *t = NULL, *ticket = sign(key, "root@pam", T);
        char *none = NULL;

        ck_assert_int_eq(ticket_tunnel_sign(key, "root@pam", "//vms//100/", T, &t), 0);
        ck_assert(startswith(t, "PVETUNNEL:65000000::"));
        ck_assert_int_eq(ticket_tunnel_verify(key, t, "root@pam", "/vms/100", T), 0);
        ck_assert_int_eq(ticket_tunnel_verify(key, t, "root@pam", "vms/100", T), 0);
        ck_assert_int_eq(ticket_tunnel_verify(key, t, "root@pam", "/vms/101", T), -EKEYREJECTED);
        ck_assert_int_eq(ticket_tunnel_verify(key, t, "root@pam", "/vms", T), -EKEYREJECTED);
        ck_assert_int_eq(ticket_tunnel_verify(key, t, "jane@pam", "/vms/100", T), -EKEYREJECTED);
        ck_assert_int_eq(ticket_tunnel_verify(other, t, "root@pam", "/vms/100", T), -EKEYREJECTED);

        ck_assert_int_eq(ticket_tunnel_verify(key, t, "root@pam", "/vms/100", T - 19), 0);
        ck_assert_int_eq(ticket_tunnel_verify(key, t, "root@pam", "/vms/100", T - 20), -ERANGE);
        ck_assert_int_eq(ticket_tunnel_verify(key, t, "root@pam", "/vms/100", T + 39), 0);
        ck_assert_int_eq(ticket_tunnel_verify(key, t, "root@pam", "/vms/100", T + 40), -EKEYEXPIRED);

        /* Neither kind of ticket passes for the other. */
        ck_assert_int_eq(ticket_tunnel_verify(key, ticket, "root@pam", "/vms/100", T), -EBADMSG);
        ck_assert_int_eq(ticket_verify(&key, 1, t, T, NULL, NULL), -EBADMSG);
        ck_assert_int_eq(ticket_tunnel_verify(key, "PVETUNNEL:65000000", "root@pam", "/vms/100", T), -EBADMSG);

        ck_assert_int_eq(ticket_tunnel_sign(key, "root@pam", "", T, &none), -EINVAL);
        ck_assert_int_eq(ticket_tunnel_sign(key, "root@pam", "/vms/100:1", T, &none), -EINVAL);
        ck_assert_int_eq(ticket_tunnel_sign(key, "root@pam", "/vms/1 00", T, &none), -EINVAL);
        ck_assert_int_eq(ticket_tunnel_sign(key, "root@pam!tok", "/vms/100", T, &none), -EINVAL);
        ck_assert_ptr_null(none);
        ck_assert_int_eq(ticket_tunnel_verify(key, t, "root@pam", "/vms/../100", T), -EKEYREJECTED);
        ck_assert_int_eq(ticket_tunnel_verify(key, t, "root@pam", "/vms/10\n", T), -EINVAL);
        ck_assert_int_eq(ticket_tunnel_verify(key, t, "root@pam!tok", "/vms/100", T), -EINVAL);
}
END_TEST

START_TEST(test_time_range)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = key_new();
        _cleanup_free_ char *t = NULL;
        TicketKeyRing *ring = NULL;
        char *none = NULL;

        /* Eight hex digits hold times up to 2106; past that there is no Proxmox format. */
        ck_assert_int_eq(ticket_sign(key, "root@pam", UINT32_MAX, &t), 0);
        ck_assert(startswith(t, "PVE:root@pam:FFFFFFFF::"));
        ck_assert_int_eq(ticket_sign(key, "root@pam", (uint64_t) UINT32_MAX + 1, &none), -ERANGE);
        ck_assert_int_eq(ticket_csrf_make("s", 1, "root@pam", (uint64_t) UINT32_MAX + 1, &none), -ERANGE);
        ck_assert_int_eq(ticket_key_ring_new((uint64_t) UINT32_MAX + 1, &ring), -ERANGE);
        ck_assert_ptr_null(none);
        ck_assert_ptr_null(ring);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("ticket");
        TCase *tc = tcase_create("ticket");

        tcase_add_loop_test(tc, test_userid_valid, 0, ELEMENTSOF(good_userids));
        tcase_add_loop_test(tc, test_userid_invalid, 0, ELEMENTSOF(bad_userids));
        tcase_add_test(tc, test_known_answer);
        tcase_add_test(tc, test_ticket_valid);
        tcase_add_loop_test(tc, test_ticket_age, 0, ELEMENTSOF(ticket_ages));
        tcase_add_test(tc, test_ticket_tampered);
        tcase_add_test(tc, test_ticket_keys);
        tcase_add_loop_test(tc, test_ticket_malformed, 0, ELEMENTSOF(bad_tickets));
        tcase_add_test(tc, test_key_text);
        tcase_add_loop_test(tc, test_key_text_rejects, 0, ELEMENTSOF(bad_keys));
        tcase_add_test(tc, test_ring_rotation);
        tcase_add_test(tc, test_ring_round_trip);
        tcase_add_loop_test(tc, test_ring_parse_rejects, 0, ELEMENTSOF(bad_rings));
        tcase_add_test(tc, test_ring_parse);
        tcase_add_test(tc, test_csrf);
        tcase_add_loop_test(tc, test_csrf_malformed, 0, ELEMENTSOF(bad_csrf_tokens));
        tcase_add_test(tc, test_tunnel);
        tcase_add_test(tc, test_time_range);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
