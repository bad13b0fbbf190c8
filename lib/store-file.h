/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The parts of the file: backend shared by its files: store-file.c (keys, watches, locks) and
 * store-file-txn.c (transactions, leases). */

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

typedef struct FileLeases FileLeases;

typedef struct FileStore {
        char *dir;
        int lock_fd;
        struct event_base *base;
        /* Set up by the first watch: ends the leases that run out while nobody writes. */
        FileLeases *sweeper;
} FileStore;

char *file_path(FileStore *f, const char *rel);
char *file_revision_path(FileStore *f, const char *key);
int file_mkdir_parents(const char *path);
int file_fsync_parent(const char *path);
int file_read_u64(const char *path, uint64_t *ret);
int file_write_u64(const char *path, uint64_t v);

/* Takes the store-wide lock (LOCK_SH or LOCK_EX) until *ret_held goes out of scope. */
int file_store_acquire(FileStore *f, int operation, FileStore **ret_held);
void file_store_releasep(FileStore **f);
#define _cleanup_release_ _cleanup_(file_store_releasep)

/* 1 when the key has a value, 0 when not; -EISDIR or -ENOTDIR when a directory or file is in the way. */
int file_value_exists(FileStore *f, const char *key);
/* A value put into DIR by hand has no revision file: it counts as revision 1. */
int file_key_revision(FileStore *f, const char *key, uint64_t *ret);
/* The revision of a write to keys: bumps the store-wide counter; lock held exclusively. */
int file_next_revision(FileStore *f, const char *const *keys, size_t n, uint64_t *ret);

/* One write of a transaction; lease is the id of a lease of this store, or 0. */
typedef struct FileOp {
        StoreTxnOpType type;
        const char *key;
        const void *value;
        size_t size;
        uint64_t lease;
} FileOp;

/* Applies the writes at revision rev, all or (after a crash, once repaired) none; lock held exclusively. */
int file_apply(FileStore *f, const FileOp *ops, size_t n, uint64_t rev);

/* Whether an interrupted transaction or a lease that ran out is waiting; and repairing both, lock held
 * exclusively. */
bool file_store_needs_repair(FileStore *f);
int file_store_repair(FileStore *f);

/* A journal of a transaction (.txn): parsed by the next taker of the lock after a crash. */
typedef struct FileJournal {
        uint64_t revision;
        FileOp *ops; /* values point into the parsed text */
        size_t n;
} FileJournal;

int file_journal_parse(const char *text, size_t size, FileJournal *ret);
void file_journal_free(FileJournal *j);

/* What a lease's file (.leases/<id>) says. */
typedef struct FileLeaseText {
        unsigned ttl_sec;
        uint64_t deadline_usec; /* CLOCK_BOOTTIME */
        char **keys;
} FileLeaseText;

int file_lease_text_parse(const char *text, FileLeaseText *ret);
void file_lease_text_free(FileLeaseText *l);
int file_lease_read(FileStore *f, uint64_t id, FileLeaseText *ret);
int file_lease_write(FileStore *f, uint64_t id, const FileLeaseText *l);
/* Deletes the keys still attached to the lease under one revision, then the lease; lock held exclusively. */
int file_lease_end(FileStore *f, uint64_t id, const FileLeaseText *l);
uint64_t file_boottime_usec(void);
/* Calls fn for every lease with its id and what its file says, until fn returns nonzero. */
int file_leases_foreach(FileStore *f, int (*fn)(FileStore *f, uint64_t id, FileLeaseText *l, void *userdata),
        void *userdata);

int file_txn(void *data, const StoreCompare *compares, size_t n_compares, const StoreTxnOp *ops,
        size_t n_ops, uint64_t *ret_revision);
int file_lease_grant(void *data, unsigned ttl_sec, StoreLease *l, void **ret);
void file_lease_revoke(void *data);
uint64_t file_lease_id(void *lease_data);
void file_leases_sweeper_start(FileStore *f);
void file_leases_sweeper_free(FileStore *f);
