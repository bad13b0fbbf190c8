/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "check-main.h"
#include "config-format.h"
#include "multipath-config.h"
#include "multipath-render.h"

START_TEST(test_schema)
{
        const MultipathKnobInfo *info = multipath_knob_info(_i);
        _cleanup_free_ char *snake = NULL;

        ck_assert_ptr_nonnull(info);
        ck_assert_int_eq(multipath_knob_from_name(info->name), _i);
        /* The API name is the multipath.conf keyword in kebab-case. */
        snake = xstrdup(info->name);
        for (char *p = snake; *p; p++)
                if (*p == '-')
                        *p = '_';
        ck_assert_str_eq(snake, info->keyword);
        /* Every knob is a global one; some are global only. */
        ck_assert(info->scopes & MULTIPATH_SCOPE_DEFAULTS);
        if (info->default_value)
                ck_assert_int_eq(multipath_knob_check(_i, info->default_value, NULL), 0);
        for (const char *const *v = info->values; v && *v; v++)
                ck_assert_int_eq(multipath_knob_check(_i, *v, NULL), 0);
        ck_assert(info->type != MULTIPATH_KNOB_TYPE_ENUM || info->values);
        ck_assert(info->type != MULTIPATH_KNOB_TYPE_INT || info->min <= info->max);
}
END_TEST

START_TEST(test_schema_lookup)
{
        ck_assert_ptr_null(multipath_knob_info(_MULTIPATH_KNOB_MAX));
        ck_assert_ptr_null(multipath_knob_info(-1));
        ck_assert_int_eq(multipath_knob_from_name("path_checker"), -EINVAL);
        ck_assert_int_eq(multipath_knob_from_name("alias"), -EINVAL);
        ck_assert_int_eq(multipath_knob_from_name(""), -EINVAL);
        ck_assert_int_eq(multipath_knob_check(_MULTIPATH_KNOB_MAX, "1", NULL), -EINVAL);
        /* multipath.conf(5) takes these in a multipath subsection, and not these. */
        ck_assert(multipath_knob_info(MULTIPATH_KNOB_NO_PATH_RETRY)->scopes & MULTIPATH_SCOPE_LUN);
        ck_assert(multipath_knob_info(MULTIPATH_KNOB_PRIO_ARGS)->scopes & MULTIPATH_SCOPE_LUN);
        ck_assert(!(multipath_knob_info(MULTIPATH_KNOB_PATH_CHECKER)->scopes & MULTIPATH_SCOPE_LUN));
        ck_assert(!(multipath_knob_info(MULTIPATH_KNOB_DEV_LOSS_TMO)->scopes & MULTIPATH_SCOPE_LUN));
}
END_TEST

static const struct {
        const char *knob;
        const char *value;
        const char *reason; /* NULL when valid */
} values[] = {
        { "path-grouping-policy", "group_by_prio", NULL },
        { "path-grouping-policy", "group-by-prio", "not one of the allowed values" },
        { "path-selector", "service-time 0", NULL },
        { "path-selector", "historical-service-time 0", NULL },
        { "path-selector", "service-time", "not one of the allowed values" },
        { "path-checker", "directio", NULL },
        { "path-checker", "TUR", "not one of the allowed values" },
        { "prio", "alua", NULL },
        { "prio", "none", NULL },
        { "prio", "netapp", "not one of the allowed values" },
        { "prio-args", "exclusive_pref_bit", NULL },
        { "prio-args", "hbtl 1:0:.:. 5 2:0:.:. 10", NULL },
        { "prio-args", "2.5\" SSD", NULL },
        { "prio-args", "", "empty" },
        { "prio-args", " io_num=20", "leading or trailing whitespace" },
        { "prio-args", "io_num=20\t", "leading or trailing whitespace" },
        { "prio-args", "a\nb", "control character in line" },
        { "prio-args", "\xc3", "invalid UTF-8" },
        { "detect-prio", "yes", NULL },
        { "detect-prio", "no", NULL },
        { "detect-prio", "1", "expected yes or no" },
        { "detect-prio", "Yes", "expected yes or no" },
        { "failback", "immediate", NULL },
        { "failback", "followover", NULL },
        { "failback", "1", NULL },
        { "failback", "2147483647", NULL },
        { "failback", "0", "out of range 1..2147483647" },
        { "failback", "2147483648", "out of range 1..2147483647" },
        { "failback", "-1", "expected a number or a keyword" },
        { "failback", "+5", "expected a number or a keyword" },
        { "failback", "05", "expected a number or a keyword" },
        { "failback", "5s", "expected a number or a keyword" },
        { "failback", "99999999999999999999", "expected a number or a keyword" },
        { "rr-weight", "priorities", NULL },
        { "rr-weight", "weighted", "not one of the allowed values" },
        { "rr-min-io-rq", "1", NULL },
        { "rr-min-io-rq", "0", "out of range 1..2147483647" },
        { "rr-min-io-rq", "queue", "expected a number" },
        { "no-path-retry", "queue", NULL },
        { "no-path-retry", "fail", NULL },
        { "no-path-retry", "12", NULL },
        { "no-path-retry", "0", "out of range 1..2147483647" },
        { "queue-without-daemon", "no", NULL },
        { "queue-without-daemon", "forced", "expected yes or no" },
        { "flush-on-last-del", "yes", NULL },
        { "fast-io-fail-tmo", "off", NULL },
        { "fast-io-fail-tmo", "0", NULL },
        { "fast-io-fail-tmo", "5", NULL },
        { "fast-io-fail-tmo", "infinity", "expected a number or a keyword" },
        { "dev-loss-tmo", "infinity", NULL },
        { "dev-loss-tmo", "600", NULL },
        { "dev-loss-tmo", "4294967294", NULL },
        { "dev-loss-tmo", "4294967295", "out of range 1..4294967294" },
        { "dev-loss-tmo", "0", "out of range 1..4294967294" },
        { "max-sectors-kb", "512", NULL },
        { "max-sectors-kb", "0", "out of range 1..2147483647" },
        { "retain-attached-hw-handler", "no", NULL },
        { "polling-interval", "10", NULL },
        { "polling-interval", "0", "out of range 1..2147483647" },
};

START_TEST(test_knob_values)
{
        MultipathKnob k = multipath_knob_from_name(values[_i].knob);
        _cleanup_free_ char *reason = NULL;

        ck_assert_int_ge(k, 0);
        if (!values[_i].reason) {
                ck_assert_int_eq(multipath_knob_check(k, values[_i].value, &reason), 0);
                ck_assert_ptr_null(reason);
                return;
        }
        ck_assert_int_eq(multipath_knob_check(k, values[_i].value, &reason), -EINVAL);
        ck_assert_str_eq(reason, values[_i].reason);
        ck_assert_int_eq(multipath_knob_check(k, values[_i].value, NULL), -EINVAL);
}
END_TEST

#define S128 \
        "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxy" \
        "z012345678901234567890123456789"

START_TEST(test_names)
{
        ck_assert_uint_eq(strlen(S128), 128);
        ck_assert(multipath_wwid_is_valid("3600a098038303053453f463045727a56"));
        ck_assert(multipath_wwid_is_valid("eui.0025385b71b07b2d"));
        ck_assert(multipath_wwid_is_valid("nvme.8086-43_4e:X"));
        ck_assert(multipath_wwid_is_valid("-"));
        ck_assert(multipath_wwid_is_valid(S128));
        ck_assert(!multipath_wwid_is_valid(S128 "0"));
        ck_assert(!multipath_wwid_is_valid(""));
        ck_assert(!multipath_wwid_is_valid("36001405 abc"));
        ck_assert(!multipath_wwid_is_valid("a/b"));
        ck_assert(!multipath_wwid_is_valid("a\"b"));
        ck_assert(!multipath_wwid_is_valid("gr\xc3\xbc\xc3\x9f"));

        ck_assert(multipath_alias_is_valid("db1"));
        ck_assert(multipath_alias_is_valid("_db.data-1"));
        ck_assert(multipath_alias_is_valid("3600a0980383030"));
        ck_assert(multipath_alias_is_valid(S128 + 1));
        ck_assert(!multipath_alias_is_valid(S128));
        ck_assert(!multipath_alias_is_valid(""));
        ck_assert(!multipath_alias_is_valid(".db"));
        ck_assert(!multipath_alias_is_valid("-db"));
        ck_assert(!multipath_alias_is_valid(".."));
        ck_assert(!multipath_alias_is_valid("db:1"));
        ck_assert(!multipath_alias_is_valid("db/1"));
        ck_assert(!multipath_alias_is_valid("db 1"));
}
END_TEST

/* Text → canonical text; the canonical text must format to itself. */
static const struct {
        const char *in;
        const char *out;
} round_trips[] = {
        { "", "" },
        { "defaults: defaults\n", "" },
        { "wwid: 3600a0980383030\n", "wwid: 3600a0980383030\n" },
        /* Sections sorted by WWID, keys in schema order, alias first, comments and spacing dropped. */
        { "# cluster multipath\n"
          "wwid: b\n"
          "    failback   immediate  \n"
          "    alias data\n"
          "wwid: a\n"
          "\tno-path-retry 12\n"
          "\tpath-grouping-policy multibus\n"
          "\n\n"
          "defaults:   defaults\n"
          "\tpath-selector service-time 0\n"
          "\tpolling-interval 10\n"
          "\tpath-checker tur\n",
                "defaults: defaults\n"
                "\tpath-selector service-time 0\n"
                "\tpath-checker tur\n"
                "\tpolling-interval 10\n"
                "\n"
                "wwid: a\n"
                "\tpath-grouping-policy multibus\n"
                "\tno-path-retry 12\n"
                "\n"
                "wwid: b\n"
                "\talias data\n"
                "\tfailback immediate\n" },
        /* An alias may be its own WWID; strings keep inner spaces and quotes. */
        { "wwid: eui.1:2-3\n\talias eui.1\n\tprio-args hbtl 1:0:.:. 5 \"x\"\n",
                "wwid: eui.1:2-3\n\talias eui.1\n\tprio-args hbtl 1:0:.:. 5 \"x\"\n" },
        { "wwid: x\n\talias x\n", "wwid: x\n\talias x\n" },
};

START_TEST(test_round_trip)
{
        ASSERT_ROUND_TRIP(MultipathConfig, multipath_config_parse, multipath_config_format,
                multipath_config_freep, round_trips[_i].in, round_trips[_i].out);
}
END_TEST

static const struct {
        const char *in;
        const char *error;
} bad_inputs[] = {
        { "storage: x\n", "line 1: unknown section type 'storage'" },
        { "defaults: global\n", "line 1: the defaults section's id must be 'defaults'" },
        { "defaults: defaults\n\ndefaults: defaults\n", "line 3: duplicate defaults section" },
        { "wwid: a b\n", "line 1: trailing text after section id" },
        { "wwid:\n", "line 1: invalid wwid ''" },
        { "wwid: a/b\n", "line 1: invalid wwid 'a/b'" },
        { "wwid: " S128 "0\n", "line 1: invalid wwid '" S128 "0'" },
        { "wwid: a\n\nwwid: b\n\nwwid: a\n", "line 5: duplicate wwid 'a'" },
        { "wwid: a\n\talias a\n\nwwid: a\n", "line 4: duplicate wwid 'a'" },
        { "wwid: a\n\tbogus 1\n", "line 2: unknown key 'bogus' in wwid section" },
        { "defaults: defaults\n\talias x\n", "line 2: unknown key 'alias' in defaults section" },
        { "defaults: defaults\n\tpath_checker tur\n",
                "line 2: unknown key 'path_checker' in defaults section" },
        { "wwid: a\n\tpath-checker tur\n", "line 2: knob 'path-checker' is not allowed in a wwid section" },
        { "wwid: a\n\tdev-loss-tmo 60\n", "line 2: knob 'dev-loss-tmo' is not allowed in a wwid section" },
        { "wwid: a\n\tfailback 5\n\tfailback 6\n", "line 3: duplicate key 'failback'" },
        { "wwid: a\n\talias x\n\talias y\n", "line 3: duplicate key 'alias'" },
        { "wwid: a\n\tfailback\n", "line 2: key 'failback' needs a value" },
        { "wwid: a\n\talias\n", "line 2: key 'alias' needs a value" },
        { "wwid: a\n\tfailback 0\n", "line 2: invalid failback '0': out of range 1..2147483647" },
        { "defaults: defaults\n\tdetect-prio 1\n", "line 2: invalid detect-prio '1': expected yes or no" },
        { "wwid: a\n\talias -x\n", "line 2: invalid alias '-x'" },
        { "wwid: a\n\talias db\n\nwwid: b\n\talias db\n", "line 5: alias 'db' is already used by wwid 'a'" },
        { "wwid: a\n\talias b\n\nwwid: b\n", "line 4: wwid 'b' is the alias of wwid 'a'" },
        { "wwid: b\n\nwwid: a\n\talias b\n", "line 4: alias 'b' is the wwid of another LUN" },
        { "\tfailback 5\n", "line 1: indented line outside a section" },
        { "wwid: a\n\tfailback 5\r\n", "line 2: control character in line" },
        { "wwid a\n", "line 1: expected '<type>: <id>' or an indented 'key value'" },
};

START_TEST(test_bad_input)
{
        ASSERT_PARSE_ERROR(MultipathConfig, multipath_config_parse, bad_inputs[_i].in, bad_inputs[_i].error);
}
END_TEST

static const char base_config[] = "defaults: defaults\n"
                                  "\tpolling-interval 10\n"
                                  "\n"
                                  "wwid: a\n"
                                  "\talias data\n"
                                  "\tfailback immediate\n"
                                  "\n"
                                  "wwid: b\n";

static MultipathConfig *load_base(void)
{
        MultipathConfig *c = NULL;
        ck_assert_int_eq(multipath_config_parse(base_config, &c, NULL), 0);
        return c;
}

START_TEST(test_operations)
{
        _cleanup_(multipath_config_freep) MultipathConfig *c = load_base();
        _cleanup_free_ char *text = NULL;
        char *set[] = { "no-path-retry", "queue", "polling-interval", "5", NULL };
        char *del[] = { "polling-interval", NULL };
        char *lun_set[] = { "prio", "alua", "failback", "followover", NULL };
        char *lun_del[] = { "failback", NULL };

        ck_assert_int_eq(multipath_config_set_defaults(c, set, NULL, NULL), 0);
        ck_assert_str_eq(c->defaults[MULTIPATH_KNOB_POLLING_INTERVAL], "5");
        ck_assert_str_eq(multipath_config_effective_default(c, MULTIPATH_KNOB_NO_PATH_RETRY), "queue");
        ck_assert_int_eq(multipath_config_set_defaults(c, NULL, del, NULL), 0);
        ck_assert_ptr_null(c->defaults[MULTIPATH_KNOB_POLLING_INTERVAL]);
        ck_assert_str_eq(multipath_config_effective_default(c, MULTIPATH_KNOB_POLLING_INTERVAL), "5");
        ck_assert_ptr_null(multipath_config_effective_default(c, MULTIPATH_KNOB_DEV_LOSS_TMO));
        /* Deleting what is not set is no error; an empty change changes nothing. */
        ck_assert_int_eq(multipath_config_set_defaults(c, NULL, del, NULL), 0);
        ck_assert_int_eq(multipath_config_set_defaults(c, NULL, NULL, NULL), 0);

        ck_assert_int_eq(multipath_config_add_wwid(c, "c", NULL), 0);
        ck_assert_int_eq(multipath_config_add_wwid(c, "0", NULL), 0);
        ck_assert_int_eq(multipath_config_add_wwid(c, "c", NULL), 0);
        ck_assert_uint_eq(c->n_luns, 4);
        ck_assert_str_eq(c->luns[0]->wwid, "0");
        ck_assert_int_eq(multipath_config_update_wwid(c, "b", lun_set, NULL, NULL), 0);
        ck_assert_int_eq(multipath_config_update_wwid(c, "b", NULL, lun_del, NULL), 0);
        ck_assert_int_eq(multipath_config_set_alias(c, "c", "logs", NULL), 0);
        ck_assert_int_eq(multipath_config_set_alias(c, "c", "logs2", NULL), 0);
        ck_assert_int_eq(multipath_config_set_alias(c, "b", "b", NULL), 0);
        ck_assert_int_eq(multipath_config_remove_alias(c, "a", NULL), 0);
        ck_assert_int_eq(multipath_config_remove_alias(c, "a", NULL), 0);
        ck_assert_int_eq(multipath_config_remove_wwid(c, "0", NULL), 0);
        /* The alias 'data' is free again. */
        ck_assert_int_eq(multipath_config_add_wwid(c, "data", NULL), 0);

        text = multipath_config_format(c);
        ck_assert_str_eq(text,
                "defaults: defaults\n"
                "\tno-path-retry queue\n"
                "\n"
                "wwid: a\n"
                "\tfailback immediate\n"
                "\n"
                "wwid: b\n"
                "\talias b\n"
                "\tprio alua\n"
                "\n"
                "wwid: c\n"
                "\talias logs2\n"
                "\n"
                "wwid: data\n");
}
END_TEST

static char *set_policy[] = { "path-grouping-policy", "multibus", NULL };
static char *set_odd[] = { "failback", NULL };
static char *set_unknown[] = { "bogus", "1", NULL };
static char *set_snake[] = { "path_checker", "tur", NULL };
static char *set_twice[] = { "failback", "5", "failback", "6", NULL };
static char *set_bad_value[] = { "polling-interval", "10", "failback", "never", NULL };
static char *set_checker[] = { "path-checker", "tur", NULL };
static char *set_alias[] = { "alias", "x", NULL };
static char *del_type[] = { "type", NULL };
static char *del_alias[] = { "alias", NULL };
static char *del_policy[] = { "path-grouping-policy", NULL };
static char *del_checker[] = { "path-checker", NULL };
static char *del_unknown[] = { "failback", "digest", NULL };

typedef enum Op { SET_DEFAULTS, ADD, REMOVE, UPDATE, SET_ALIAS, REMOVE_ALIAS } Op;

static const struct {
        Op op;
        const char *wwid;
        const char *alias;
        char **set;
        char **del;
        int error;
        const char *message;
} rejections[] = {
        { SET_DEFAULTS, NULL, NULL, set_odd, NULL, -EINVAL, "settings must be pairs of name and value" },
        { SET_DEFAULTS, NULL, NULL, set_unknown, NULL, -ENOKEY, "unknown knob 'bogus'" },
        { SET_DEFAULTS, NULL, NULL, set_snake, NULL, -ENOKEY, "unknown knob 'path_checker'" },
        { SET_DEFAULTS, NULL, NULL, set_alias, NULL, -ENOKEY, "unknown knob 'alias'" },
        { SET_DEFAULTS, NULL, NULL, set_twice, NULL, -EINVAL, "knob 'failback' given twice" },
        { SET_DEFAULTS, NULL, NULL, set_bad_value, NULL, -EINVAL,
                "invalid failback 'never': expected a number or a keyword" },
        { SET_DEFAULTS, NULL, NULL, NULL, del_type, -ENOKEY, "unknown knob 'type'" },
        { SET_DEFAULTS, NULL, NULL, NULL, del_unknown, -ENOKEY, "unknown knob 'digest'" },
        { SET_DEFAULTS, NULL, NULL, set_policy, del_policy, -EINVAL,
                "knob 'path-grouping-policy' is both set and deleted" },
        { ADD, "a b", NULL, NULL, NULL, -EINVAL, "invalid wwid 'a b'" },
        { ADD, "", NULL, NULL, NULL, -EINVAL, "invalid wwid ''" },
        { ADD, S128 "x", NULL, NULL, NULL, -EINVAL, "invalid wwid '" S128 "x'" },
        { ADD, "data", NULL, NULL, NULL, -EEXIST, "wwid 'data' is the alias of wwid 'a'" },
        { REMOVE, "c", NULL, NULL, NULL, -ENOENT, "wwid 'c' is not allow-listed" },
        { REMOVE, "a/b", NULL, NULL, NULL, -EINVAL, "invalid wwid 'a/b'" },
        { UPDATE, "c", NULL, set_policy, NULL, -ENOENT, "wwid 'c' is not allow-listed" },
        { UPDATE, "a:", NULL, set_policy, NULL, -ENOENT, "wwid 'a:' is not allow-listed" },
        { UPDATE, "a", NULL, set_checker, NULL, -ENOKEY,
                "knob 'path-checker' is not allowed in a wwid section" },
        { UPDATE, "a", NULL, NULL, del_checker, -ENOKEY,
                "knob 'path-checker' is not allowed in a wwid section" },
        { UPDATE, "a", NULL, set_alias, NULL, -ENOKEY, "unknown knob 'alias'" },
        { UPDATE, "a", NULL, NULL, del_alias, -ENOKEY, "unknown knob 'alias'" },
        { UPDATE, "a", NULL, NULL, del_type, -ENOKEY, "unknown knob 'type'" },
        { UPDATE, "a", NULL, set_policy, del_policy, -EINVAL,
                "knob 'path-grouping-policy' is both set and deleted" },
        { UPDATE, "a", NULL, set_bad_value, NULL, -ENOKEY,
                "knob 'polling-interval' is not allowed in a wwid section" },
        { UPDATE, "a", NULL, set_twice, NULL, -EINVAL, "knob 'failback' given twice" },
        { SET_ALIAS, "c", "logs", NULL, NULL, -ENOENT, "wwid 'c' is not allow-listed" },
        { SET_ALIAS, "a b", "logs", NULL, NULL, -EINVAL, "invalid wwid 'a b'" },
        { SET_ALIAS, "b", "-logs", NULL, NULL, -EINVAL, "invalid alias '-logs'" },
        { SET_ALIAS, "b", "", NULL, NULL, -EINVAL, "invalid alias ''" },
        { SET_ALIAS, "b", "data", NULL, NULL, -EEXIST, "alias 'data' is already used by wwid 'a'" },
        { SET_ALIAS, "b", "a", NULL, NULL, -EEXIST, "alias 'a' is the wwid of another LUN" },
        { REMOVE_ALIAS, "c", NULL, NULL, NULL, -ENOENT, "wwid 'c' is not allow-listed" },
        { REMOVE_ALIAS, "", NULL, NULL, NULL, -EINVAL, "invalid wwid ''" },
};

static int run_op(MultipathConfig *c, int i, char **ret_error)
{
        switch (rejections[i].op) {
        case SET_DEFAULTS:
                return multipath_config_set_defaults(c, rejections[i].set, rejections[i].del, ret_error);
        case ADD:
                return multipath_config_add_wwid(c, rejections[i].wwid, ret_error);
        case REMOVE:
                return multipath_config_remove_wwid(c, rejections[i].wwid, ret_error);
        case UPDATE:
                return multipath_config_update_wwid(
                        c, rejections[i].wwid, rejections[i].set, rejections[i].del, ret_error);
        case SET_ALIAS:
                return multipath_config_set_alias(c, rejections[i].wwid, rejections[i].alias, ret_error);
        case REMOVE_ALIAS:
                return multipath_config_remove_alias(c, rejections[i].wwid, ret_error);
        }
        abort();
}

START_TEST(test_rejection)
{
        _cleanup_(multipath_config_freep) MultipathConfig *c = load_base();
        _cleanup_free_ char *before = multipath_config_format(c), *after = NULL, *error = NULL;

        ck_assert_int_eq(run_op(c, _i, &error), rejections[_i].error);
        ck_assert_str_eq(error, rejections[_i].message);
        ck_assert_int_eq(run_op(c, _i, NULL), rejections[_i].error);
        after = multipath_config_format(c);
        ck_assert_str_eq(after, before);
}
END_TEST

START_TEST(test_digest)
{
        char d[MULTIPATH_CONFIG_DIGEST_LEN + 1];

        multipath_config_digest("", d);
        ck_assert_str_eq(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        multipath_config_digest(base_config, d);
        ck_assert_uint_eq(strlen(d), MULTIPATH_CONFIG_DIGEST_LEN);
        ck_assert_str_ne(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

static const struct {
        const char *text;
        const char *error; /* NULL when valid */
} overrides[] = {
        { "", NULL },
        { "\n\n", NULL },
        { "devices {\n"
          "\tdevice {\n"
          "\t\tvendor \"NETAPP\"\n"
          "\t\tproduct \"LUN.*\"\n"
          "\t\tno_path_retry queue\n"
          "\t}\n"
          "}\n",
                NULL },
        { "# tuning\n"
          "! also a comment\n"
          "overrides {\n"
          "\tno_path_retry 5 # a comment\n"
          "}\n"
          "blacklist {\n"
          "    devnode \"^sd[a]$\"\n"
          "    device {\n"
          "        vendor \"X{\" ! a comment\n"
          "        product \"a\"\"b} #\"\n"
          "    }\n"
          "}\n"
          "devices {\n"
          "}",
                NULL },
        { "defaults {\n}\n",
                "line 1: section 'defaults' is not allowed; only devices, overrides and blacklist are" },
        { "multipaths {\n}\n",
                "line 1: section 'multipaths' is not allowed; only devices, overrides and blacklist are" },
        { "blacklist_exceptions {\n}\n", "line 1: section 'blacklist_exceptions' is not allowed; only devices, overrides and blacklist are" },
        { "devices {\n}\ndevices {\n}\n",
                "line 3: section 'devices' repeated; multipath rejects that within one file" },
        { "devices {\n\tdevice {\n}\n", "line 1: section 'devices' is not closed" },
        { "devices {\n\tdevice {\n\t}\n\tdevice {\n", "line 4: section 'device' is not closed" },
        { "}\n", "line 1: '}' closes no section" },
        { "devices {\n}\n}\n", "line 3: '}' closes no section" },
        { "devices {\n\tdevice {\n\t\tfoo {\n", "line 3: sections nest at most 2 levels deep" },
        { "devices\n{\n}\n", "line 1: 'devices' outside a section" },
        { "{\n", "line 1: a section opens with '<name> {' on its own line" },
        { "\"devices\" {\n}\n", "line 1: a section opens with '<name> {' on its own line" },
        { "devices foo {\n}\n", "line 1: a section opens with '<name> {' on its own line" },
        { "devices { }\n", "line 1: unexpected '{'" },
        { "overrides {\n\tfailback immediate }\n}\n", "line 2: unexpected '}'" },
        { "overrides {\n} x\n", "line 2: '}' must be alone on its line" },
        { "overrides {\n\tfailback \"immediate\n}\n", "line 2: missing closing quote" },
        { "overrides {\n\tfailback \"a\"\"\n}\n", "line 2: missing closing quote" },
        { "overrides {\n\t\"failback\" immediate\n}\n", "line 2: expected a keyword, not a quoted string" },
        { "blacklist {\n\twwid \"a\rb\"\n}\n", "line 2: control character in line" },
        { "blacklist {\n\twwid \"\xff\"\n}\n", "line 2: invalid UTF-8" },
};

START_TEST(test_overrides)
{
        _cleanup_free_ char *error = NULL;

        if (!overrides[_i].error) {
                ck_assert_msg(multipath_overrides_check(overrides[_i].text, &error) == 0, "%s", error);
                return;
        }
        ck_assert_int_eq(multipath_overrides_check(overrides[_i].text, &error), -EBADMSG);
        ck_assert_str_eq(error, overrides[_i].error);
        ck_assert_int_eq(multipath_overrides_check(overrides[_i].text, NULL), -EBADMSG);
}
END_TEST

/* Text of exactly size bytes: a blacklist of wwid lines, padded with a comment. */
static char *overrides_of_size(size_t size)
{
        static const char head[] = "blacklist {\n", tail[] = "}\n", entry[] = "\twwid \"^x$\"\n";
        char *text = xmalloc(size + 1), *p = text;
        size_t body = size - strlen(head) - strlen(tail);

        p = stpcpy(p, head);
        for (; body > 2 * strlen(entry); body -= strlen(entry))
                p = stpcpy(p, entry);
        *p++ = '#';
        memset(p, 'x', body - 2);
        p += body - 2;
        *p++ = '\n';
        strcpy(p, tail);
        ck_assert_uint_eq(strlen(text), size);
        return text;
}

START_TEST(test_overrides_limits)
{
        _cleanup_free_ char *max = overrides_of_size(MULTIPATH_OVERRIDES_MAX),
                            *over = overrides_of_size(MULTIPATH_OVERRIDES_MAX + 1), *error = NULL;
        _cleanup_free_ char *line = xasprintf("overrides {\n\tprio_args \"%01010d\"\n}\n", 0);
        _cleanup_free_ char *longer = xasprintf("overrides {\n\tprio_args \"%01011d\"\n}\n", 0);

        ck_assert_int_eq(multipath_overrides_check(max, NULL), 0);
        ck_assert_int_eq(multipath_overrides_check(over, &error), -EFBIG);
        ck_assert_str_eq(error, "overrides are larger than 131072 bytes");
        free(error);
        error = NULL;
        /* A line of 1023 bytes is whole for multipath; one more and it splits it. */
        ck_assert_int_eq(multipath_overrides_check(line, NULL), 0);
        ck_assert_int_eq(multipath_overrides_check(longer, &error), -EBADMSG);
        ck_assert_str_eq(error, "line 2: longer than 1023 bytes");
}
END_TEST

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define MANY 10000

/* Built through the operations, in reverse order, so that every insertion lands in front. */
START_TEST(test_many_wwids)
{
        _cleanup_(multipath_config_freep) MultipathConfig *c = multipath_config_new(), *again = NULL;
        _cleanup_free_ char *text = NULL, *second = NULL, *rendered = NULL, *error = NULL;
        char *set[] = { "no-path-retry", "queue", "rr-min-io-rq", "2", NULL };
        double start = now();

        for (int i = MANY - 1; i >= 0; i--) {
                char wwid[64], alias[32];

                snprintf(wwid, sizeof wwid, "3600a09803830305345%013d", i);
                snprintf(alias, sizeof alias, "lun%d", i);
                ck_assert_int_eq(multipath_config_add_wwid(c, wwid, NULL), 0);
                ck_assert_int_eq(multipath_config_set_alias(c, wwid, alias, NULL), 0);
                if (i % 2 == 0)
                        ck_assert_int_eq(multipath_config_update_wwid(c, wwid, set, NULL, NULL), 0);
        }
        ck_assert_uint_eq(c->n_luns, MANY);
        for (size_t i = 1; i < c->n_luns; i++)
                ck_assert_int_lt(strcmp(c->luns[i - 1]->wwid, c->luns[i]->wwid), 0);
        ck_assert_int_eq(multipath_config_set_alias(c, c->luns[0]->wwid, "lun9999", &error), -EEXIST);

        text = multipath_config_format(c);
        ck_assert_msg(multipath_config_parse(text, &again, &error) == 0, "%s", error);
        ck_assert_uint_eq(again->n_luns, MANY);
        second = multipath_config_format(again);
        ck_assert_str_eq(second, text);
        ck_assert_ptr_nonnull(multipath_config_find(again, "3600a098038303053450000000004242"));
        ck_assert_str_eq(multipath_config_find(again, "3600a098038303053450000000004242")->alias, "lun4242");

        rendered = multipath_render_config(again);
        ck_assert_ptr_nonnull(strstr(rendered,
                "\t\twwid \"3600a098038303053450000000009999\"\n"
                "\t\talias \"lun9999\"\n"));
        ck_assert_ptr_nonnull(strstr(rendered, "\twwid \"^3600a098038303053450000000000000$\"\n"));
        /* Generous: this takes a few hundredths of a second; a quadratic slip would take many seconds. */
        ck_assert_msg(now() - start < 10, "took %.1f s", now() - start);
}
END_TEST

/* The same WWIDs as text in descending order: the parser's worst case. */
START_TEST(test_many_wwids_unsorted)
{
        _cleanup_(multipath_config_freep) MultipathConfig *c = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        double start = now();

        ck_assert_ptr_nonnull(f);
        for (int i = MANY - 1; i >= 0; i--)
                fprintf(f, "wwid: w%05d\n\talias a%05d\n\n", i, MANY - 1 - i);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_msg(multipath_config_parse(text, &c, &error) == 0, "%s", error);
        ck_assert_uint_eq(c->n_luns, MANY);
        ck_assert_str_eq(c->luns[0]->wwid, "w00000");
        ck_assert_str_eq(c->luns[0]->alias, "a09999");
        ck_assert_msg(now() - start < 10, "took %.1f s", now() - start);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("multipath-config");
        TCase *schema = tcase_create("schema");
        TCase *config = tcase_create("config");
        TCase *ops = tcase_create("operations");
        TCase *scale = tcase_create("scale");

        tcase_add_loop_test(schema, test_schema, 0, _MULTIPATH_KNOB_MAX);
        tcase_add_test(schema, test_schema_lookup);
        tcase_add_loop_test(schema, test_knob_values, 0, ELEMENTSOF(values));
        tcase_add_test(schema, test_names);
        suite_add_tcase(s, schema);

        tcase_add_loop_test(config, test_round_trip, 0, ELEMENTSOF(round_trips));
        tcase_add_loop_test(config, test_bad_input, 0, ELEMENTSOF(bad_inputs));
        tcase_add_test(config, test_digest);

        tcase_add_loop_test(config, test_overrides, 0, ELEMENTSOF(overrides));
        tcase_add_test(config, test_overrides_limits);
        suite_add_tcase(s, config);

        tcase_add_test(ops, test_operations);
        tcase_add_loop_test(ops, test_rejection, 0, ELEMENTSOF(rejections));
        suite_add_tcase(s, ops);

        tcase_add_test(scale, test_many_wwids);
        tcase_add_test(scale, test_many_wwids_unsorted);
        suite_add_tcase(s, scale);

        return run_suite(s);
}
