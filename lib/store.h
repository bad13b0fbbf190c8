/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The store: one key-value interface with revisions, shared by all daemons.
 *
 * A backend is chosen by URL:
 *   file:DIR          values are files below DIR (one node)
 *   etcd:ENDPOINTS[?OPTIONS]
 *                     an etcd v3 cluster through its JSON gateway. ENDPOINTS are
 *                     http:// or https:// URLs separated by ','; OPTIONS are
 *                     name=value pairs separated by '&': namespace (the prefix
 *                     of every key in etcd, default "berth/"), timeout (ms per
 *                     call, default 5000), cacert, cert and key (files, for https).
 *
 * Every call that needs the backend and cannot reach it, or reaches an etcd
 * without quorum, fails within the timeout with -EHOSTDOWN and changes nothing
 * (org.berth.Error.Unavailable).
 *
 * Keys are relative paths such as "nodes/n1/qemu/100.conf", "guests/100" or
 * "storage.cfg": components of [A-Za-z0-9._@:-], separated by single '/', at
 * most STORE_KEY_MAX bytes in all and STORE_KEY_COMPONENT_MAX each (a file name
 * with room for a temp suffix). A component may not start with '.' (that covers
 * "." and "..", and keeps the file backend's bookkeeping out of the key space)
 * nor contain ".tmp." (the file backend's temp files). Lock names follow the
 * same rules.
 *
 * Every change gets a store-wide revision, strictly greater than any before it;
 * a key's revision is that of its last change. Prefixes are string prefixes, as
 * in etcd: "nodes/" matches every key below nodes/, "nodes/n1/qemu/10" matches
 * 100.conf and 101.conf in that directory.
 *
 * get/put/delete/list/lock complete before they return; watch handlers run from
 * the event_base given to store_open(). A Store must not be used across fork():
 * open another one in the child. Free watches and locks before their Store.
 */

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

#define STORE_KEY_MAX 512
#define STORE_KEY_COMPONENT_MAX 200
/* As expected_revision: write whatever the current revision is. */
#define STORE_REVISION_ANY UINT64_MAX

typedef struct Store Store;
typedef struct StoreWatch StoreWatch;
typedef struct StoreLock StoreLock;
typedef struct StoreLease StoreLease;

typedef enum StoreEventType {
        STORE_EVENT_PUT,
        STORE_EVENT_DELETE,
        _STORE_EVENT_TYPE_MAX,
        _STORE_EVENT_TYPE_INVALID = -EINVAL,
} StoreEventType;

const char *store_event_type_to_string(StoreEventType t);
StoreEventType store_event_type_from_string(const char *s);

typedef struct StoreEntry {
        char *key;
        char *value; /* NUL-terminated; size excludes the NUL */
        size_t size;
        uint64_t revision;
} StoreEntry;

void store_entries_free(StoreEntry *entries, size_t n);

bool store_key_is_valid(const char *key);
/* A prefix is empty, a valid key, or a valid key followed by '/'. */
bool store_prefix_is_valid(const char *prefix);

/* -EINVAL for a malformed URL, -EPROTONOSUPPORT for an unknown scheme. */
int store_open(const char *url, struct event_base *base, Store **ret);
Store *store_free(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_free);

/* Any of the ret_* may be NULL. The value is NUL-terminated. -ENOENT when the key does not exist. */
int store_get(Store *s, const char *key, char **ret_value, size_t *ret_size, uint64_t *ret_revision);

/*
 * Compare-and-swap write. expected_revision is STORE_REVISION_ANY (no check), 0
 * (the key must not exist) or the key's current revision; anything else fails
 * with -ESTALE and changes nothing. ret_revision (may be NULL) gets the new revision.
 */
int store_put(Store *s, const char *key, const void *value, size_t size, uint64_t expected_revision,
        uint64_t *ret_revision);
/* -ENOENT when the key does not exist, -ESTALE when expected_revision is neither ANY nor the key's. */
int store_delete(Store *s, const char *key, uint64_t expected_revision);
/* Every key starting with prefix, with its value and revision, sorted by key. */
int store_list(Store *s, const char *prefix, StoreEntry **ret, size_t *ret_n);

/*
 * Calls the handler for every put and delete of a key starting with prefix,
 * made through any Store on the same data, from now on. A key may be reported
 * twice for one change, and a put quickly undone by a delete may go unreported;
 * what is reported ends in the key's current state. The revision is the key's
 * revision when the event is read: never older than the change behind the
 * event, possibly newer. The handler may free the watch.
 */
typedef void (*StoreWatchHandler)(
        Store *s, StoreEventType type, const char *key, uint64_t revision, void *userdata);
int store_watch(Store *s, const char *prefix, StoreWatchHandler handler, void *userdata, StoreWatch **ret);
StoreWatch *store_watch_free(StoreWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreWatch *, store_watch_free);

/*
 * Takes the named exclusive lock. Held until store_unlock() or until the process
 * exits; a lock held through another Store counts as held, even in the same
 * process. -EWOULDBLOCK when !wait and the lock is held; with wait it blocks.
 * With file:, a child forked while a lock is held holds it too, until it exits
 * or execs. With etcd:, the lock is a key on a lease: owner is the lowest create
 * revision, a waiter watches the key before its own, and a lock whose lease is
 * lost is lost. A lock never protects a write by itself: fence the write with a
 * StoreCompare on the lock (see store_txn()).
 */
int store_lock(Store *s, const char *name, bool wait, StoreLock **ret);
StoreLock *store_unlock(StoreLock *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreLock *, store_unlock);

/*
 * A lease: keys put with it are deleted when it ends, by store_lease_revoke() or
 * by expiry when it is not renewed for ttl seconds (the owner died, or lost the
 * store). The Store renews it from its event_base every ttl/3 seconds, and calls
 * lost, once, when a renewal has failed long enough that the lease may expire
 * before the next one: from then on the lease is lost for good (grant another).
 * ttl_sec is 1..86400; -EINVAL otherwise.
 */
typedef void (*StoreLeaseLostHandler)(StoreLease *l, void *userdata);
int store_lease_grant(
        Store *s, unsigned ttl_sec, StoreLeaseLostHandler lost, void *userdata, StoreLease **ret);
/* Ends the lease: its keys are deleted (if the store can be reached), and frees it. */
StoreLease *store_lease_revoke(StoreLease *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreLease *, store_lease_revoke);
bool store_lease_is_lost(const StoreLease *l);

/*
 * A transaction: when every compare holds, every operation is applied, all
 * under one new revision (ret_revision, may be NULL; set when there are
 * operations); otherwise nothing is and the call fails with -ESTALE. A compare names a key and its revision
 * (0: the key must not exist), or a lock that must still be held. A put may attach its key to a lease, which
 * must be alive: -EKEYEXPIRED (and nothing is applied) for a lease that is lost or that the store no longer
 * knows. Deleting a key that does not exist is no error. No key may appear in two operations (-EINVAL).
 */
typedef struct StoreCompare {
        const char *key;
        uint64_t revision;
        StoreLock *lock; /* instead of key: the lock is still held */
} StoreCompare;

typedef enum StoreTxnOpType {
        STORE_TXN_PUT,
        STORE_TXN_DELETE,
        _STORE_TXN_OP_TYPE_MAX,
        _STORE_TXN_OP_TYPE_INVALID = -EINVAL,
} StoreTxnOpType;

typedef struct StoreTxnOp {
        StoreTxnOpType type;
        const char *key;
        const void *value; /* puts */
        size_t size;
        StoreLease *lease; /* puts; may be NULL */
} StoreTxnOp;

int store_txn(Store *s, const StoreCompare *compares, size_t n_compares, const StoreTxnOp *ops, size_t n_ops,
        uint64_t *ret_revision);

/*
 * The backend interface. store.c validates keys, prefixes and lock names before
 * calling a backend, and owns the handles; a backend keeps its own state behind
 * the void pointers it returns.
 */
typedef struct StoreEvent {
        StoreEventType type;
        char *key;
        uint64_t revision;
} StoreEvent;

typedef struct StoreOps {
        const char *scheme;
        /* location is the URL after "<scheme>:". */
        int (*open)(const char *location, struct event_base *base, void **ret_data);
        void (*close)(void *data);
        int (*get)(void *data, const char *key, char **ret_value, size_t *ret_size, uint64_t *ret_revision);
        int (*put)(void *data, const char *key, const void *value, size_t size, uint64_t expected_revision,
                uint64_t *ret_revision);
        int (*delete)(void *data, const char *key, uint64_t expected_revision);
        /* Returns the matching entries in any order. */
        int (*list)(void *data, const char *prefix, StoreEntry **ret, size_t *ret_n);
        /* Reports changes with store_watch_dispatch(w, ...). */
        int (*watch)(void *data, const char *prefix, StoreWatch *w, void **ret_watch_data);
        void (*watch_free)(void *watch_data);
        int (*lock)(void *data, const char *name, bool wait, void **ret_lock_data);
        void (*unlock)(void *lock_data);
        /* Validated by store.c; store_lock_data() and store_lease_data() give the backend's own state. */
        int (*txn)(void *data, const StoreCompare *compares, size_t n_compares, const StoreTxnOp *ops,
                size_t n_ops, uint64_t *ret_revision);
        /* Reports loss with store_lease_report_lost(l). */
        int (*lease_grant)(void *data, unsigned ttl_sec, StoreLease *l, void **ret_lease_data);
        void (*lease_revoke)(void *lease_data);
} StoreOps;

extern const StoreOps store_file_ops;
extern const StoreOps store_etcd_ops;

/*
 * For backends: hands events (ownership included) to the watch's handler in
 * order, dropping keys outside its prefix. The handler may free the watch, so
 * the backend must not touch its watch state after this returns.
 */
void store_watch_dispatch(StoreWatch *w, StoreEvent *events, size_t n);

/* For backends: the lease can no longer be trusted to live; calls its handler once. */
void store_lease_report_lost(StoreLease *l);
void *store_lock_data(const StoreLock *l);
void *store_lease_data(const StoreLease *l);
