/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The host's own settings: <root>/etc/berth/berth.conf, "key: value" lines,
 * blank lines and '#' comment lines anywhere. Keys (each at most once; an
 * unknown key is an error, never ignored):
 *
 *   shutdown-policy: save,shutdown,poweroff   steps tried in order on host shutdown
 *   shutdown-timeout: 180                     seconds a guest gets to shut down by ACPI
 *   shutdown-parallel: 4                      guests saved, shut down or started at once
 *   cluster-name: berth                       the cluster's name (1-32 of [A-Za-z0-9-], a letter first)
 *   node-lease-ttl: 10                        seconds a node stays online without renewing its lease
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef enum ShutdownStep {
        SHUTDOWN_STEP_SAVE, /* managed save: state to storage, restored at the next boot */
        SHUTDOWN_STEP_SHUTDOWN, /* ACPI power-down, waiting up to the timeout */
        SHUTDOWN_STEP_POWEROFF, /* stop QEMU */
        _SHUTDOWN_STEP_MAX,
        _SHUTDOWN_STEP_INVALID = -EINVAL,
} ShutdownStep;

const char *shutdown_step_to_string(ShutdownStep s);
ShutdownStep shutdown_step_from_string(const char *s);

/* An ordered list of distinct steps, at least one. */
typedef struct ShutdownPolicy {
        ShutdownStep steps[_SHUTDOWN_STEP_MAX];
        size_t n_steps;
} ShutdownPolicy;

/* Parses "save,shutdown,poweroff" (any non-empty subset, in any order); -EINVAL when malformed. ret may be NULL. */
int shutdown_policy_parse(const char *s, ShutdownPolicy *ret);
bool shutdown_policy_has(const ShutdownPolicy *p, ShutdownStep s);

#define BERTH_CONF_DEFAULT_SHUTDOWN_TIMEOUT 180U
#define BERTH_CONF_MAX_SHUTDOWN_TIMEOUT 86400U
#define BERTH_CONF_MAX_PARALLEL 1024U
#define BERTH_CONF_MAX_SIZE 65536U
#define BERTH_CONF_DEFAULT_CLUSTER_NAME "berth"
#define BERTH_CONF_MAX_CLUSTER_NAME 32U
#define BERTH_CONF_DEFAULT_NODE_LEASE_TTL 10U
#define BERTH_CONF_MIN_NODE_LEASE_TTL 2U
#define BERTH_CONF_MAX_NODE_LEASE_TTL 600U

typedef struct BerthConf {
        ShutdownPolicy shutdown_policy; /* default shutdown,poweroff */
        unsigned shutdown_timeout; /* seconds */
        unsigned shutdown_parallel; /* 0: the number of CPUs */
        char cluster_name[BERTH_CONF_MAX_CLUSTER_NAME + 1];
        unsigned node_lease_ttl; /* seconds */
} BerthConf;

/* The settings of a host without berth.conf. */
void berth_conf_defaults(BerthConf *ret);
/* Parses text over the defaults; -EBADMSG with "line N: ..." in ret_error (if given) on the first error. */
int berth_conf_parse(const char *text, BerthConf *ret, char **ret_error);
/* Reads <root>/etc/berth/berth.conf; a missing file gives the defaults. */
int berth_conf_load(BerthConf *ret, char **ret_error);
/* The parallel limit in force: shutdown-parallel, else the number of online CPUs. */
unsigned berth_conf_parallel(const BerthConf *c);
