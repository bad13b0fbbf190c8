/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "guest-config.h"
#include "multipath-config.h"
#include "section-config.h"

static const char *const path_grouping_policies[] = { "failover", "multibus", "group_by_serial",
        "group_by_prio", "group_by_node_name", NULL };
static const char *const path_selectors[] = { "round-robin 0", "queue-length 0", "service-time 0",
        "historical-service-time 0", NULL };
static const char *const path_checkers[] = { "tur", "directio", "readsector0", "emc_clariion", "hp_sw",
        "rdac", "cciss_tur", "none", NULL };
static const char *const prioritizers[] = { "const", "sysfs", "alua", "emc", "ontap", "rdac", "hp_sw", "hds",
        "random", "weightedpath", "path_latency", "ana", "datacore", "iet", "none", NULL };
static const char *const failback_words[] = { "immediate", "manual", "followover", NULL };
static const char *const rr_weights[] = { "priorities", "uniform", NULL };
static const char *const no_path_retry_words[] = { "fail", "queue", NULL };
static const char *const off_word[] = { "off", NULL };
static const char *const infinity_word[] = { "infinity", NULL };
static const char *const bool_words[] = { "yes", "no", NULL };

#define BOTH (MULTIPATH_SCOPE_DEFAULTS | MULTIPATH_SCOPE_LUN)
#define DEFAULTS_ONLY MULTIPATH_SCOPE_DEFAULTS

/*
 * What multipath-tools 0.9.4 takes without a warning, per multipath.conf(5)
 * and tried with multipath -t. Numbers it silently treats as another setting
 * (failback 0 is manual, no-path-retry 0 is fail, dev-loss-tmo 0 is unset,
 * 4294967295 is infinity) are refused, so each setting has one spelling.
 */
static const MultipathKnobInfo knob_table[_MULTIPATH_KNOB_MAX] = {
        [MULTIPATH_KNOB_PATH_GROUPING_POLICY] = { "path-grouping-policy", "path_grouping_policy",
                MULTIPATH_KNOB_TYPE_ENUM, path_grouping_policies, 0, 0, "failover", BOTH },
        [MULTIPATH_KNOB_PATH_SELECTOR] = { "path-selector", "path_selector", MULTIPATH_KNOB_TYPE_ENUM,
                path_selectors, 0, 0, "service-time 0", BOTH },
        [MULTIPATH_KNOB_PATH_CHECKER] = { "path-checker", "path_checker", MULTIPATH_KNOB_TYPE_ENUM,
                path_checkers, 0, 0, "tur", DEFAULTS_ONLY },
        [MULTIPATH_KNOB_PRIO] = { "prio", "prio", MULTIPATH_KNOB_TYPE_ENUM, prioritizers, 0, 0, "const", BOTH },
        [MULTIPATH_KNOB_PRIO_ARGS] = { "prio-args", "prio_args", MULTIPATH_KNOB_TYPE_STRING, NULL, 0, 0,
                NULL, BOTH },
        [MULTIPATH_KNOB_DETECT_PRIO] = { "detect-prio", "detect_prio", MULTIPATH_KNOB_TYPE_BOOL, NULL, 0, 0,
                "yes", DEFAULTS_ONLY },
        [MULTIPATH_KNOB_FAILBACK] = { "failback", "failback", MULTIPATH_KNOB_TYPE_INT, failback_words, 1,
                INT32_MAX, "manual", BOTH },
        [MULTIPATH_KNOB_RR_WEIGHT] = { "rr-weight", "rr_weight", MULTIPATH_KNOB_TYPE_ENUM, rr_weights, 0, 0,
                "uniform", BOTH },
        [MULTIPATH_KNOB_RR_MIN_IO_RQ] = { "rr-min-io-rq", "rr_min_io_rq", MULTIPATH_KNOB_TYPE_INT, NULL, 1,
                INT32_MAX, "1", BOTH },
        [MULTIPATH_KNOB_NO_PATH_RETRY] = { "no-path-retry", "no_path_retry", MULTIPATH_KNOB_TYPE_INT,
                no_path_retry_words, 1, INT32_MAX, "fail", BOTH },
        [MULTIPATH_KNOB_QUEUE_WITHOUT_DAEMON] = { "queue-without-daemon", "queue_without_daemon",
                MULTIPATH_KNOB_TYPE_BOOL, NULL, 0, 0, "no", DEFAULTS_ONLY },
        [MULTIPATH_KNOB_FLUSH_ON_LAST_DEL] = { "flush-on-last-del", "flush_on_last_del",
                MULTIPATH_KNOB_TYPE_BOOL, NULL, 0, 0, "no", BOTH },
        [MULTIPATH_KNOB_FAST_IO_FAIL_TMO] = { "fast-io-fail-tmo", "fast_io_fail_tmo",
                MULTIPATH_KNOB_TYPE_INT, off_word, 0, INT32_MAX, "5", DEFAULTS_ONLY },
        [MULTIPATH_KNOB_DEV_LOSS_TMO] = { "dev-loss-tmo", "dev_loss_tmo", MULTIPATH_KNOB_TYPE_INT,
                infinity_word, 1, UINT32_MAX - 1, NULL, DEFAULTS_ONLY },
        [MULTIPATH_KNOB_MAX_SECTORS_KB] = { "max-sectors-kb", "max_sectors_kb", MULTIPATH_KNOB_TYPE_INT,
                NULL, 1, INT32_MAX, NULL, BOTH },
        [MULTIPATH_KNOB_RETAIN_ATTACHED_HW_HANDLER] = { "retain-attached-hw-handler",
                "retain_attached_hw_handler", MULTIPATH_KNOB_TYPE_BOOL, NULL, 0, 0, "yes", DEFAULTS_ONLY },
        [MULTIPATH_KNOB_POLLING_INTERVAL] = { "polling-interval", "polling_interval",
                MULTIPATH_KNOB_TYPE_INT, NULL, 1, INT32_MAX, "5", DEFAULTS_ONLY },
};

const MultipathKnobInfo *multipath_knob_info(MultipathKnob k)
{
        if ((size_t) k >= ELEMENTSOF(knob_table))
                return NULL;
        return &knob_table[k];
}

MultipathKnob multipath_knob_from_name(const char *name)
{
        for (MultipathKnob k = 0; k < _MULTIPATH_KNOB_MAX; k++)
                if (streq(knob_table[k].name, name))
                        return k;
        return _MULTIPATH_KNOB_INVALID;
}

static int fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...)
{
        va_list ap;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        *ret_error = xvasprintf(fmt, ap);
        va_end(ap);
        return r;
}

/* Decimal without sign or leading zeros, so that every number has one spelling. */
static int check_number(const MultipathKnobInfo *info, const char *value, char **ret_reason)
{
        size_t n = strlen(value);

        if (n == 0 || n > 18 || strspn(value, "0123456789") != n || (value[0] == '0' && n > 1))
                return fail(ret_reason, -EINVAL, "expected a number%s", info->values ? " or a keyword" : "");
        long long v = strtoll(value, NULL, 10);
        if (v < info->min || v > info->max)
                return fail(ret_reason, -EINVAL, "out of range %" PRId64 "..%" PRId64, info->min, info->max);
        return 0;
}

static int check_string(const char *value, char **ret_reason)
{
        size_t n = strlen(value);
        const char *why;

        if (n == 0)
                return fail(ret_reason, -EINVAL, "empty");
        if (n > MULTIPATH_STRING_MAX)
                return fail(ret_reason, -EINVAL, "longer than %u bytes", MULTIPATH_STRING_MAX);
        why = section_config_check_line(value);
        if (why)
                return fail(ret_reason, -EINVAL, "%s", why);
        if (strchr(" \t", value[0]) || strchr(" \t", value[n - 1]))
                return fail(ret_reason, -EINVAL, "leading or trailing whitespace");
        return 0;
}

int multipath_knob_check(MultipathKnob k, const char *value, char **ret_reason)
{
        const MultipathKnobInfo *info = multipath_knob_info(k);

        if (!info)
                return -EINVAL;
        switch (info->type) {
        case MULTIPATH_KNOB_TYPE_ENUM:
                if (!strv_contains((char *const *) info->values, value))
                        return fail(ret_reason, -EINVAL, "not one of the allowed values");
                return 0;
        case MULTIPATH_KNOB_TYPE_INT:
                if (strv_contains((char *const *) info->values, value))
                        return 0;
                return check_number(info, value, ret_reason);
        case MULTIPATH_KNOB_TYPE_BOOL:
                if (!strv_contains((char *const *) bool_words, value))
                        return fail(ret_reason, -EINVAL, "expected yes or no");
                return 0;
        case MULTIPATH_KNOB_TYPE_STRING:
                return check_string(value, ret_reason);
        }
        assert_not_reached();
}

static bool valid_chars(const char *s, size_t max, const char *first, const char *rest)
{
        size_t n = strlen(s);

        if (n == 0 || n > max || !strchr(first, s[0]))
                return false;
        return strspn(s, rest) == n;
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

bool multipath_wwid_is_valid(const char *s)
{
        return valid_chars(s, MULTIPATH_WWID_MAX, ALNUM "._:-", ALNUM "._:-");
}

bool multipath_alias_is_valid(const char *s)
{
        return valid_chars(s, MULTIPATH_ALIAS_MAX, ALNUM "_", ALNUM "._-");
}

/* The section-config type of the section knobs of this scope live in. */
static const char *scope_name(unsigned scope)
{
        return scope == MULTIPATH_SCOPE_LUN ? "wwid" : "defaults";
}

static void knobs_done(char *knobs[])
{
        for (size_t i = 0; i < _MULTIPATH_KNOB_MAX; i++)
                free(knobs[i]);
}

static void lun_free(MultipathLun *l)
{
        free(l->wwid);
        free(l->alias);
        knobs_done(l->knobs);
        free(l);
}

MultipathConfig *multipath_config_new(void)
{
        return new0(MultipathConfig, 1);
}

MultipathConfig *multipath_config_free(MultipathConfig *c)
{
        if (!c)
                return NULL;
        knobs_done(c->defaults);
        for (size_t i = 0; i < c->n_luns; i++)
                lun_free(c->luns[i]);
        free(c->luns);
        free(c);
        return NULL;
}

/* Binary search in LUNs sorted by the string at offset field (wwid or alias): where key is, or would go. */
static size_t sorted_index(MultipathLun *const *v, size_t n, size_t field, const char *key, bool *ret_found)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int d = strcmp(*(char *const *) ((const uint8_t *) v[mid] + field), key);
                if (d == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (d < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = false;
        return lo;
}

static size_t lun_index(const MultipathConfig *c, const char *wwid, bool *ret_found)
{
        return sorted_index(c->luns, c->n_luns, offsetof(MultipathLun, wwid), wwid, ret_found);
}

const MultipathLun *multipath_config_find(const MultipathConfig *c, const char *wwid)
{
        bool found;
        size_t i = lun_index(c, wwid, &found);
        return found ? c->luns[i] : NULL;
}

static MultipathLun *lun_insert(MultipathConfig *c, size_t at, const char *wwid)
{
        MultipathLun *l = new0(MultipathLun, 1);

        l->wwid = xstrdup(wwid);
        c->luns = xrealloc(c->luns, (c->n_luns + 1) * sizeof(MultipathLun *));
        memmove(c->luns + at + 1, c->luns + at, (c->n_luns - at) * sizeof(MultipathLun *));
        c->luns[at] = l;
        c->n_luns++;
        return l;
}

static bool has_knobs(char *const knobs[])
{
        for (size_t k = 0; k < _MULTIPATH_KNOB_MAX; k++)
                if (knobs[k])
                        return true;
        return false;
}

bool multipath_config_is_empty(const MultipathConfig *c)
{
        return !has_knobs(c->defaults) && c->n_luns == 0;
}

const char *multipath_config_effective_default(const MultipathConfig *c, MultipathKnob k)
{
        const MultipathKnobInfo *info = multipath_knob_info(k);

        if (!info)
                return NULL;
        return c->defaults[k] ?: info->default_value;
}

/* Parsing: a sorted index of aliases keeps the uniqueness checks of large files fast. */

typedef struct ParseState {
        MultipathConfig *config;
        MultipathLun **by_alias; /* sorted by alias */
        size_t n_by_alias;
        bool seen_defaults;
        char **knobs; /* of the current section */
        MultipathLun *lun; /* the current wwid section; NULL in defaults */
        bool seen[_MULTIPATH_KNOB_MAX];
} ParseState;

static size_t alias_index(const ParseState *st, const char *alias, bool *ret_found)
{
        return sorted_index(st->by_alias, st->n_by_alias, offsetof(MultipathLun, alias), alias, ret_found);
}

static int parse_section(const char *type, const char *id, void *userdata, char **ret_reason)
{
        ParseState *st = userdata;
        bool found;
        size_t at;

        memset(st->seen, 0, sizeof(st->seen));
        if (streq(type, "defaults")) {
                if (!streq(id, "defaults"))
                        return fail(ret_reason, -EINVAL, "the defaults section's id must be 'defaults'");
                if (st->seen_defaults)
                        return fail(ret_reason, -EINVAL, "duplicate defaults section");
                st->seen_defaults = true;
                st->knobs = st->config->defaults;
                st->lun = NULL;
                return 0;
        }
        if (!streq(type, "wwid"))
                return fail(ret_reason, -EINVAL, "unknown section type '%s'", type);
        if (!multipath_wwid_is_valid(id))
                return fail(ret_reason, -EINVAL, "invalid wwid '%s'", id);
        if (multipath_config_find(st->config, id))
                return fail(ret_reason, -EINVAL, "duplicate wwid '%s'", id);
        at = alias_index(st, id, &found);
        if (found)
                return fail(ret_reason, -EINVAL, "wwid '%s' is the alias of wwid '%s'", id,
                        st->by_alias[at]->wwid);
        at = lun_index(st->config, id, &found);
        st->lun = lun_insert(st->config, at, id);
        st->knobs = st->lun->knobs;
        return 0;
}

static int parse_alias(ParseState *st, const char *alias, char **ret_reason)
{
        MultipathLun *l = st->lun;
        const MultipathLun *other;
        bool found;
        size_t at;

        if (l->alias)
                return fail(ret_reason, -EINVAL, "duplicate key 'alias'");
        if (!multipath_alias_is_valid(alias))
                return fail(ret_reason, -EINVAL, "invalid alias '%s'", alias);
        at = alias_index(st, alias, &found);
        if (found)
                return fail(ret_reason, -EINVAL, "alias '%s' is already used by wwid '%s'", alias,
                        st->by_alias[at]->wwid);
        other = multipath_config_find(st->config, alias);
        if (other && other != l)
                return fail(ret_reason, -EINVAL, "alias '%s' is the wwid of another LUN", alias);

        l->alias = xstrdup(alias);
        st->by_alias = xrealloc(st->by_alias, (st->n_by_alias + 1) * sizeof(MultipathLun *));
        memmove(st->by_alias + at + 1, st->by_alias + at, (st->n_by_alias - at) * sizeof(MultipathLun *));
        st->by_alias[at] = l;
        st->n_by_alias++;
        return 0;
}

static int parse_key(const char *key, const char *value, void *userdata, char **ret_reason)
{
        ParseState *st = userdata;
        unsigned scope = st->lun ? MULTIPATH_SCOPE_LUN : MULTIPATH_SCOPE_DEFAULTS;
        _cleanup_free_ char *reason = NULL;
        MultipathKnob k;

        if (isempty(value))
                return fail(ret_reason, -EINVAL, "key '%s' needs a value", key);
        if (st->lun && streq(key, "alias"))
                return parse_alias(st, value, ret_reason);

        k = multipath_knob_from_name(key);
        if (k < 0)
                return fail(ret_reason, -EINVAL, "unknown key '%s' in %s section", key, scope_name(scope));
        if (!(knob_table[k].scopes & scope))
                return fail(ret_reason, -EINVAL, "knob '%s' is not allowed in a %s section", key,
                        scope_name(scope));
        if (st->seen[k])
                return fail(ret_reason, -EINVAL, "duplicate key '%s'", key);
        if (multipath_knob_check(k, value, &reason) < 0)
                return fail(ret_reason, -EINVAL, "invalid %s '%s': %s", key, value, reason);
        st->knobs[k] = xstrdup(value);
        st->seen[k] = true;
        return 0;
}

static const SectionConfigParser multipath_parser = {
        .what = "section",
        .section = parse_section,
        .key = parse_key,
};

int multipath_config_parse(const char *text, MultipathConfig **ret, char **ret_error)
{
        _cleanup_(multipath_config_freep) MultipathConfig *c = multipath_config_new();
        ParseState st = { .config = c };
        int r;

        r = section_config_parse(text, &multipath_parser, &st, ret_error);
        free(st.by_alias);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

static void format_knobs(FILE *f, char *const knobs[])
{
        for (size_t k = 0; k < _MULTIPATH_KNOB_MAX; k++)
                if (knobs[k])
                        fprintf(f, "\t%s %s\n", knob_table[k].name, knobs[k]);
}

char *multipath_config_format(const MultipathConfig *c)
{
        char *text = NULL;
        size_t size = 0;
        const char *sep = "";
        FILE *f;

        /* A memory stream fails only when memory does: the OOM policy applies. */
        f = open_memstream(&text, &size);
        if (!f)
                abort();
        if (has_knobs(c->defaults)) {
                fputs("defaults: defaults\n", f);
                format_knobs(f, c->defaults);
                sep = "\n";
        }
        for (size_t i = 0; i < c->n_luns; i++) {
                const MultipathLun *l = c->luns[i];

                fprintf(f, "%swwid: %s\n", sep, l->wwid);
                if (l->alias)
                        fprintf(f, "\talias %s\n", l->alias);
                format_knobs(f, l->knobs);
                sep = "\n";
        }
        if (fclose(f) != 0)
                abort();
        return text;
}

void multipath_config_digest(const char *text, char ret[MULTIPATH_CONFIG_DIGEST_LEN + 1])
{
        _Static_assert(MULTIPATH_CONFIG_DIGEST_LEN == GUEST_CONFIG_DIGEST_LEN, "one digest for all configs");
        guest_config_digest(text, ret);
}

/* Operations: everything is checked before anything changes. */

static int check_knob_name(const char *name, unsigned scope, MultipathKnob *ret, char **ret_error)
{
        MultipathKnob k = multipath_knob_from_name(name);

        if (k < 0)
                return fail(ret_error, -ENOKEY, "unknown knob '%s'", name);
        if (!(knob_table[k].scopes & scope))
                return fail(ret_error, -ENOKEY, "knob '%s' is not allowed in a %s section", name,
                        scope_name(scope));
        *ret = k;
        return 0;
}

static int check_changes(unsigned scope, char *const *set, char *const *delete, char **ret_error)
{
        bool setting[_MULTIPATH_KNOB_MAX] = {};
        size_t n = strv_length(set);
        MultipathKnob k;
        int r;

        if (n % 2 != 0)
                return fail(ret_error, -EINVAL, "settings must be pairs of name and value");
        for (size_t i = 0; i < n; i += 2) {
                _cleanup_free_ char *reason = NULL;

                r = check_knob_name(set[i], scope, &k, ret_error);
                if (r < 0)
                        return r;
                if (setting[k])
                        return fail(ret_error, -EINVAL, "knob '%s' given twice", set[i]);
                if (multipath_knob_check(k, set[i + 1], &reason) < 0)
                        return fail(ret_error, -EINVAL, "invalid %s '%s': %s", set[i], set[i + 1], reason);
                setting[k] = true;
        }
        STRV_FOREACH (d, delete) {
                r = check_knob_name(*d, scope, &k, ret_error);
                if (r < 0)
                        return r;
                if (setting[k])
                        return fail(ret_error, -EINVAL, "knob '%s' is both set and deleted", *d);
        }
        return 0;
}

/* Applies changes check_changes() accepted. */
static void apply_changes(char *knobs[], char *const *set, char *const *delete)
{
        for (size_t i = 0; set && set[i]; i += 2) {
                MultipathKnob k = multipath_knob_from_name(set[i]);
                free(knobs[k]);
                knobs[k] = xstrdup(set[i + 1]);
        }
        STRV_FOREACH (d, delete) {
                MultipathKnob k = multipath_knob_from_name(*d);
                free(knobs[k]);
                knobs[k] = NULL;
        }
}

static int lookup_lun(MultipathConfig *c, const char *wwid, size_t *ret_index, char **ret_error)
{
        bool found;
        size_t i;

        if (!multipath_wwid_is_valid(wwid))
                return fail(ret_error, -EINVAL, "invalid wwid '%s'", wwid);
        i = lun_index(c, wwid, &found);
        if (!found)
                return fail(ret_error, -ENOENT, "wwid '%s' is not allow-listed", wwid);
        *ret_index = i;
        return 0;
}

static const MultipathLun *alias_owner(const MultipathConfig *c, const char *alias)
{
        for (size_t i = 0; i < c->n_luns; i++)
                if (streq_ptr(c->luns[i]->alias, alias))
                        return c->luns[i];
        return NULL;
}

int multipath_config_set_defaults(MultipathConfig *c, char *const *set, char *const *delete, char **ret_error)
{
        int r;

        r = check_changes(MULTIPATH_SCOPE_DEFAULTS, set, delete, ret_error);
        if (r < 0)
                return r;
        apply_changes(c->defaults, set, delete);
        return 0;
}

int multipath_config_add_wwid(MultipathConfig *c, const char *wwid, char **ret_error)
{
        const MultipathLun *owner;
        bool found;
        size_t at;

        if (!multipath_wwid_is_valid(wwid))
                return fail(ret_error, -EINVAL, "invalid wwid '%s'", wwid);
        at = lun_index(c, wwid, &found);
        if (found)
                return 0;
        owner = alias_owner(c, wwid);
        if (owner)
                return fail(ret_error, -EEXIST, "wwid '%s' is the alias of wwid '%s'", wwid, owner->wwid);
        lun_insert(c, at, wwid);
        return 0;
}

int multipath_config_remove_wwid(MultipathConfig *c, const char *wwid, char **ret_error)
{
        size_t i;
        int r;

        r = lookup_lun(c, wwid, &i, ret_error);
        if (r < 0)
                return r;
        lun_free(c->luns[i]);
        memmove(c->luns + i, c->luns + i + 1, (c->n_luns - i - 1) * sizeof(MultipathLun *));
        c->n_luns--;
        return 0;
}

int multipath_config_update_wwid(
        MultipathConfig *c, const char *wwid, char *const *set, char *const *delete, char **ret_error)
{
        size_t i;
        int r;

        r = lookup_lun(c, wwid, &i, ret_error);
        if (r < 0)
                return r;
        r = check_changes(MULTIPATH_SCOPE_LUN, set, delete, ret_error);
        if (r < 0)
                return r;
        apply_changes(c->luns[i]->knobs, set, delete);
        return 0;
}

int multipath_config_set_alias(MultipathConfig *c, const char *wwid, const char *alias, char **ret_error)
{
        const MultipathLun *owner, *other;
        MultipathLun *l;
        size_t i;
        int r;

        r = lookup_lun(c, wwid, &i, ret_error);
        if (r < 0)
                return r;
        if (!multipath_alias_is_valid(alias))
                return fail(ret_error, -EINVAL, "invalid alias '%s'", alias);
        l = c->luns[i];
        owner = alias_owner(c, alias);
        if (owner && owner != l)
                return fail(ret_error, -EEXIST, "alias '%s' is already used by wwid '%s'", alias, owner->wwid);
        other = multipath_config_find(c, alias);
        if (other && other != l)
                return fail(ret_error, -EEXIST, "alias '%s' is the wwid of another LUN", alias);
        free(l->alias);
        l->alias = xstrdup(alias);
        return 0;
}

int multipath_config_remove_alias(MultipathConfig *c, const char *wwid, char **ret_error)
{
        MultipathLun *l;
        size_t i;
        int r;

        r = lookup_lun(c, wwid, &i, ret_error);
        if (r < 0)
                return r;
        l = c->luns[i];
        free(l->alias);
        l->alias = NULL;
        return 0;
}
