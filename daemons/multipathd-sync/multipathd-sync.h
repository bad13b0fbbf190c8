/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "access.h"
#include "macro.h"
#include "multipath-config.h"
#include "multipath-health.h"
#include "storage.h"
#include "store.h"

/*
 * The model of berth-multipathd-sync. The cluster's multipath configuration
 * lives in the store only, as two keys; every node's daemon edits it there
 * under one store lock and applies it to its own node when it changes:
 * render, check with multipath -t, install the drop-ins and the wwids file
 * below the root prefix, multipathd reconfigure. Each node publishes the
 * outcome and its maps' health to nodes/<node>/multipath-health.
 */
#define MULTIPATH_CONFIG_KEY "multipath.cfg"
#define MULTIPATH_OVERRIDES_KEY "multipath-overrides.conf"
/* The store lock every edit of the two keys takes. */
#define MULTIPATH_LOCK "multipath"

/* The two keys as read from the store at one moment. */
typedef struct MultipathState {
        char *config_text; /* as stored; "" when the key does not exist */
        MultipathConfig *config;
        char *overrides; /* "" when there are none */
        uint64_t config_revision; /* 0 when the key does not exist */
        uint64_t overrides_revision;
        char digest[MULTIPATH_CONFIG_DIGEST_LEN + 1]; /* of both texts as stored */
} MultipathState;

void multipath_state_done(MultipathState *s);

typedef struct Manager {
        struct event_base *base;
        sd_bus *bus;
        Store *store;
        char *node;
        char *multipathd; /* absolute path; NULL when this node has none */
        char *validate_helper; /* berth-multipath-validate; NULL for the installed one */
        unsigned health_interval_sec;

        /* The last apply, and the digest of what it applied. */
        uint64_t apply_generation;
        char apply_digest[MULTIPATH_CONFIG_DIGEST_LEN + 1];
        MultipathApplyResult apply_result;
        char *apply_error;

        char *published; /* the last report written, its timestamp zeroed; NULL before the first */

        StoreWatch *config_watch;
        struct event *apply_event; /* coalesces the watch's events into one apply */
        struct event *health_timer;
        /* Kernel uevents of block devices: a path or a map changed, so its health may have (block-uevent.h). */
        int uevent_fd;
        struct event *uevent_event;
        struct event *probe_timer; /* the looks at the maps that follow a burst of uevents */
        unsigned probe_step;
        Access *access; /* who may read and change the config: Sys.Audit and Sys.Modify on "/" */
        sd_bus_slot *manager_slot;
} Manager;

int manager_new(struct event_base *base, sd_bus *bus, Store *store, const char *node, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Watches the configuration, applies it and publishes health now and every health_interval_sec. */
int manager_start(Manager *m);

/* Reads both keys. -EBADMSG with a message when multipath.cfg in the store does not parse. */
int manager_load_state(Manager *m, MultipathState *ret, char **ret_error);

/*
 * The edits of the API. Each takes the store lock, reads both keys, checks
 * the digest ("" or NULL: don't; -ESTALE on a mismatch), edits and writes
 * back what changed; a refused edit writes nothing. Errors as
 * multipath-config.h says, and: -EBADMSG when a key in the store does not
 * parse or multipath rejects the overrides, -EFBIG for overrides that are too
 * large, -EBUSY when a storage consumes the LUN RemoveWwid would remove.
 * ret_error gets a message.
 */
int manager_set_overrides(Manager *m, const char *overrides, const char *digest, char **ret_error);
int manager_set_defaults(
        Manager *m, char *const *set, char *const *delete, const char *digest, char **ret_error);
int manager_add_wwid(Manager *m, const char *wwid, char **ret_error);
int manager_update_wwid(Manager *m, const char *wwid, char *const *set, char *const *delete,
        const char *digest, char **ret_error);
int manager_remove_wwid(Manager *m, const char *wwid, bool force, char **ret_error);
int manager_set_alias(Manager *m, const char *wwid, const char *alias, char **ret_error);
int manager_remove_alias(Manager *m, const char *wwid, char **ret_error);

/* storage.cfg from the store; the default storage.cfg when there is none. -EBADMSG when it does not parse. */
int manager_load_storage(Manager *m, StorageConfig **ret, char **ret_error);

/*
 * Applies the stored configuration to this node unless the last apply already
 * did so successfully (force: regardless). Returns the apply's outcome: 0, or
 * a negative errno with its error text in ret_error (-EBADMSG when multipath
 * rejected the configuration).
 */
int manager_apply(Manager *m, bool force, char **ret_error);

/* The cluster's health matrix now; without LUNs while multipath.cfg in the store does not parse. */
int manager_health(Manager *m, MultipathHealthMatrix **ret);

/* Bus side, in multipathd-sync-bus.c. */
int manager_bus_register(Manager *m);
void manager_bus_emit_applied(Manager *m);
