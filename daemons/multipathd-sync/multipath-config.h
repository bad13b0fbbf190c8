/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

/*
 * The cluster's multipath configuration, multipath.cfg, in section-config
 * format (lib/section-config.h):
 *
 *     defaults: defaults
 *             no-path-retry 12
 *
 *     wwid: 3600a098038303053453f463045727a56
 *             alias db1
 *             failback immediate
 *
 * At most one "defaults" section (its id is always "defaults") with global
 * multipathd knobs, and one "wwid" section per allow-listed LUN, the WWID its
 * id, with an optional alias and per-LUN knobs. Knob names are kebab-case
 * here and in the API, snake_case in multipath.conf. The admin's
 * multipath-overrides.conf beside it holds verbatim devices/overrides/
 * blacklist blocks.
 */

#define MULTIPATH_WWID_MAX 128U
/* Device-mapper names are at most 127 bytes. */
#define MULTIPATH_ALIAS_MAX 127U
#define MULTIPATH_STRING_MAX 512U
#define MULTIPATH_OVERRIDES_MAX (128U * 1024U)
#define MULTIPATH_CONFIG_DIGEST_LEN 64U

/* In the order the canonical form and the renderer write them. */
typedef enum MultipathKnob {
        MULTIPATH_KNOB_PATH_GROUPING_POLICY,
        MULTIPATH_KNOB_PATH_SELECTOR,
        MULTIPATH_KNOB_PATH_CHECKER,
        MULTIPATH_KNOB_PRIO,
        MULTIPATH_KNOB_PRIO_ARGS,
        MULTIPATH_KNOB_DETECT_PRIO,
        MULTIPATH_KNOB_FAILBACK,
        MULTIPATH_KNOB_RR_WEIGHT,
        MULTIPATH_KNOB_RR_MIN_IO_RQ,
        MULTIPATH_KNOB_NO_PATH_RETRY,
        MULTIPATH_KNOB_QUEUE_WITHOUT_DAEMON,
        MULTIPATH_KNOB_FLUSH_ON_LAST_DEL,
        MULTIPATH_KNOB_FAST_IO_FAIL_TMO,
        MULTIPATH_KNOB_DEV_LOSS_TMO,
        MULTIPATH_KNOB_MAX_SECTORS_KB,
        MULTIPATH_KNOB_RETAIN_ATTACHED_HW_HANDLER,
        MULTIPATH_KNOB_POLLING_INTERVAL,
        _MULTIPATH_KNOB_MAX,
        _MULTIPATH_KNOB_INVALID = -EINVAL,
} MultipathKnob;

typedef enum MultipathKnobType {
        MULTIPATH_KNOB_TYPE_ENUM, /* one of values */
        MULTIPATH_KNOB_TYPE_INT, /* a decimal number in [min, max], or one of values */
        MULTIPATH_KNOB_TYPE_BOOL, /* yes or no */
        MULTIPATH_KNOB_TYPE_STRING, /* printable text, at most MULTIPATH_STRING_MAX bytes */
} MultipathKnobType;

/* Where multipath.conf(5) accepts a knob: the defaults section, a multipaths/multipath subsection. */
#define MULTIPATH_SCOPE_DEFAULTS (1U << 0)
#define MULTIPATH_SCOPE_LUN (1U << 1)

typedef struct MultipathKnobInfo {
        const char *name; /* kebab-case */
        const char *keyword; /* snake_case, in multipath.conf */
        MultipathKnobType type;
        const char *const *values; /* NULL-terminated */
        int64_t min, max;
        const char *default_value; /* multipathd's own; NULL when it depends on the hardware or is unset */
        unsigned scopes;
} MultipathKnobInfo;

const MultipathKnobInfo *multipath_knob_info(MultipathKnob k);
/* By kebab-case name; -EINVAL when there is no such knob. */
MultipathKnob multipath_knob_from_name(const char *name);
/* Checks a value against the knob's type: -EINVAL with a reason when invalid. */
int multipath_knob_check(MultipathKnob k, const char *value, char **ret_reason);

bool multipath_wwid_is_valid(const char *s); /* ^[a-zA-Z0-9._:-]+$, at most MULTIPATH_WWID_MAX */
bool multipath_alias_is_valid(const char *s); /* ^[a-zA-Z0-9_][a-zA-Z0-9._-]*$, at most MULTIPATH_ALIAS_MAX */

typedef struct MultipathLun {
        char *wwid;
        char *alias; /* NULL when none */
        char *knobs[_MULTIPATH_KNOB_MAX]; /* validated; NULL when unset */
} MultipathLun;

typedef struct MultipathConfig {
        char *defaults[_MULTIPATH_KNOB_MAX]; /* validated; NULL when unset */
        MultipathLun **luns; /* sorted by WWID */
        size_t n_luns;
} MultipathConfig;

MultipathConfig *multipath_config_new(void);
MultipathConfig *multipath_config_free(MultipathConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(MultipathConfig *, multipath_config_free);

/*
 * -EBADMSG on invalid text, with a "line N: ..." message in ret_error if
 * given: syntax, unknown section types and keys, knobs outside their scope,
 * duplicate sections and keys, invalid values, an alias used twice or equal
 * to another LUN's WWID.
 */
int multipath_config_parse(const char *text, MultipathConfig **ret, char **ret_error);
/* Canonical form: defaults (omitted when empty), then LUNs by WWID; keys in schema order, alias first. */
char *multipath_config_format(const MultipathConfig *c);
/* Hex sha256 of the text (the file's bytes), the same digest guest configs use. */
void multipath_config_digest(const char *text, char ret[MULTIPATH_CONFIG_DIGEST_LEN + 1]);

bool multipath_config_is_empty(const MultipathConfig *c);
const MultipathLun *multipath_config_find(const MultipathConfig *c, const char *wwid);
/* What multipathd uses for a global knob: the configured value, else its own default (may be NULL). */
const char *multipath_config_effective_default(const MultipathConfig *c, MultipathKnob k);

/*
 * Operations. On rejection each returns a negative errno, puts a message in
 * ret_error if given and leaves the config untouched:
 *   -EINVAL  malformed WWID or alias, an invalid value, a knob given twice or
 *            both set and deleted, an odd-length set list;
 *   -ENOKEY  a name in set or delete that is no knob of that section
 *            ("type", "alias", a knob multipath.conf does not take there);
 *   -ENOENT  the WWID is not allow-listed;
 *   -EEXIST  the alias is another LUN's alias or WWID (multipathd would drop
 *            one of the two maps).
 * set lists pairs of kebab-case name and value, delete names; either may be
 * NULL. Knobs named in neither stay as they are; deleting an unset knob is
 * no error.
 */
int multipath_config_set_defaults(MultipathConfig *c, char *const *set, char *const *delete, char **ret_error);
/* Adding a WWID already allow-listed changes nothing; -EEXIST when it is another LUN's alias. */
int multipath_config_add_wwid(MultipathConfig *c, const char *wwid, char **ret_error);
int multipath_config_remove_wwid(MultipathConfig *c, const char *wwid, char **ret_error);
int multipath_config_update_wwid(
        MultipathConfig *c, const char *wwid, char *const *set, char *const *delete, char **ret_error);
int multipath_config_set_alias(MultipathConfig *c, const char *wwid, const char *alias, char **ret_error);
/* Removing an alias that is not set changes nothing. */
int multipath_config_remove_alias(MultipathConfig *c, const char *wwid, char **ret_error);

/*
 * multipath-overrides.conf: "devices {", "overrides {" and "blacklist {"
 * blocks, each at most once (multipath rejects a section repeated in one
 * file), nested at most one level (device, protocol), with balanced braces
 * and quotes, in multipath.conf's own syntax. -EFBIG beyond
 * MULTIPATH_OVERRIDES_MAX bytes, -EBADMSG with a "line N: ..." message
 * otherwise. Keywords are left to multipath -t (multipath-validate.h).
 */
int multipath_overrides_check(const char *text, char **ret_error);
