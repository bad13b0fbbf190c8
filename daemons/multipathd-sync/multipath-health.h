/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "multipath-config.h"
#include "storage.h"

/*
 * Multipath health, from one node's multipathd to the cluster's matrix.
 *
 * Each node condenses "multipathd show maps json" into one summary per map
 * and publishes it, with the result of its last apply, as a report in the
 * store (nodes/<node>/multipath-health). The matrix combines every node's
 * report with multipath.cfg and storage.cfg into a state per LUN and node and
 * a roll-up per LUN. All of it is pure: text in, structures or text out.
 */

/* One map as multipathd sees it. */
typedef struct MultipathMapHealth {
        char *wwid;
        char *name; /* the map's name: its alias, else its WWID */
        char *dm_state; /* the device-mapper state of the map: "active" or "suspend" */
        unsigned paths_active; /* paths that carry I/O: checker up (ready or ghost), active in the map */
        unsigned paths_total;
        char **failed_paths; /* devices of failed paths (map failed, checker down, device offline); NULL if none */
} MultipathMapHealth;

void multipath_maps_free(MultipathMapHealth *maps, size_t n);

/*
 * Parses the output of "multipathd show maps json" (format 0.x of
 * multipath-tools' print.c) into summaries sorted by WWID. -EBADMSG with a
 * message in ret_error (if given) for anything else, including a map listed
 * twice.
 */
int multipath_health_parse_maps(const char *json, MultipathMapHealth **ret, size_t *ret_n, char **ret_error);

typedef enum MultipathApplyResult {
        MULTIPATH_APPLY_NONE, /* nothing applied yet */
        MULTIPATH_APPLY_OK,
        MULTIPATH_APPLY_FAILED,
        _MULTIPATH_APPLY_RESULT_MAX,
        _MULTIPATH_APPLY_RESULT_INVALID = -EINVAL,
} MultipathApplyResult;

const char *multipath_apply_result_to_string(MultipathApplyResult r);
MultipathApplyResult multipath_apply_result_from_string(const char *s);

/* What a node publishes. */
typedef struct MultipathHealthReport {
        char *node;
        uint64_t timestamp; /* µs since the epoch */
        unsigned interval; /* seconds until the next report at the latest */
        uint64_t apply_generation;
        MultipathApplyResult apply_result;
        char *apply_error; /* NULL unless apply_result is MULTIPATH_APPLY_FAILED */
        bool multipathd; /* false: not installed on the node, so it assembles no maps */
        char *error; /* why the maps are unknown (multipathd did not answer); NULL when they are known */
        MultipathMapHealth *maps; /* sorted by WWID */
        size_t n_maps;
} MultipathHealthReport;

MultipathHealthReport *multipath_health_report_free(MultipathHealthReport *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(MultipathHealthReport *, multipath_health_report_free);

/* The report as one line of JSON. */
char *multipath_health_report_format(const MultipathHealthReport *r);
/* -EBADMSG with a message in ret_error (if given) when text is not a well-formed report. */
int multipath_health_report_parse(const char *text, MultipathHealthReport **ret, char **ret_error);

typedef enum MultipathHealthState {
        MULTIPATH_HEALTH_OK, /* every path active */
        MULTIPATH_HEALTH_DEGRADED, /* some paths active, some not, or the map suspended */
        MULTIPATH_HEALTH_FAILED, /* no path active */
        MULTIPATH_HEALTH_MISSING, /* the node should carry the LUN and reports no map of it */
        MULTIPATH_HEALTH_UNKNOWN, /* the node's report is stale, malformed or without maps */
        _MULTIPATH_HEALTH_STATE_MAX,
        _MULTIPATH_HEALTH_STATE_INVALID = -EINVAL,
} MultipathHealthState;

const char *multipath_health_state_to_string(MultipathHealthState s);
MultipathHealthState multipath_health_state_from_string(const char *s);

/* The state of one map. */
MultipathHealthState multipath_map_health_state(const MultipathMapHealth *m);

typedef enum MultipathReportState {
        MULTIPATH_REPORT_OK,
        MULTIPATH_REPORT_STALE, /* older than three of its intervals */
        MULTIPATH_REPORT_MALFORMED,
        MULTIPATH_REPORT_NONE, /* the node never reported */
        _MULTIPATH_REPORT_STATE_MAX,
        _MULTIPATH_REPORT_STATE_INVALID = -EINVAL,
} MultipathReportState;

const char *multipath_report_state_to_string(MultipathReportState s);
MultipathReportState multipath_report_state_from_string(const char *s);

/* The multipath storage whose LUN wwid the lvm storage s sits on (its base), or NULL. */
const Storage *multipath_storage_base(const StorageConfig *storage, const Storage *s, const char *wwid);
/* The ids of the lvm storages sitting on the LUN, disabled ones included; NULL when none. */
char **multipath_wwid_consumers(const StorageConfig *storage, const char *wwid);

/* A node and the text of its report, NULL when it has none. */
typedef struct MultipathHealthInput {
        const char *node;
        const char *report;
} MultipathHealthInput;

typedef struct MultipathHealthNode {
        char *node;
        MultipathReportState report_state;
        MultipathHealthReport *report; /* NULL when there is none or it is malformed */
        char *problem; /* why the report is malformed, or why its maps are unknown; NULL otherwise */
} MultipathHealthNode;

typedef struct MultipathHealthLun {
        char *wwid;
        char *alias; /* NULL when none */
        MultipathHealthState state; /* the roll-up over the LUN's cells */
} MultipathHealthLun;

typedef struct MultipathHealthCell {
        size_t lun; /* index into luns */
        size_t node; /* index into nodes */
        MultipathHealthState state;
        const MultipathMapHealth *map; /* in the node's report; NULL when it has no map of the LUN */
} MultipathHealthCell;

typedef struct MultipathHealthMatrix {
        MultipathHealthLun *luns; /* the allow-list, by WWID */
        size_t n_luns;
        MultipathHealthNode *nodes; /* by name */
        size_t n_nodes;
        MultipathHealthCell *cells; /* by LUN, then node */
        size_t n_cells;
} MultipathHealthMatrix;

MultipathHealthMatrix *multipath_health_matrix_free(MultipathHealthMatrix *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(MultipathHealthMatrix *, multipath_health_matrix_free);

/*
 * The cluster's matrix at now_usec. Its nodes are those given and those named
 * in storage.cfg's node restrictions (storage may be NULL). A node is expected
 * to carry a LUN when an enabled lvm storage consuming it (its base a volume
 * of an enabled multipath storage, named by WWID) is available on the node,
 * or, for a LUN no lvm storage consumes, when an enabled multipath storage is;
 * a storage without node restrictions is available on every node.
 *
 * A cell exists where a node is expected to carry the LUN or reports a map of
 * it: the map's state when the node's report is fresh and has it, missing
 * when the report is fresh (or absent) and has none, unknown when the report
 * is stale or malformed or the node could not read its maps. A LUN rolls up
 * over its cells but the unknown ones: ok when all are ok, missing when all
 * are missing, failed when none is ok or degraded but one is failed, degraded
 * otherwise (one degraded node degrades the LUN), unknown without cells.
 */
MultipathHealthMatrix *multipath_health_matrix(const MultipathConfig *config, const StorageConfig *storage,
        const MultipathHealthInput *inputs, size_t n_inputs, uint64_t now_usec);
