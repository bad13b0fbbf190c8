/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Transactions and leases of the file: backend. Layout, next to store-file.c's:
 *   .txn             a transaction of several writes while it is applied: written
 *                    whole (atomically) first, removed once every write is done,
 *                    and applied again by the next taker of the store lock should
 *                    a crash have cut it short; so a transaction is all or nothing
 *   .leases/<id>     a lease: its TTL, its deadline (CLOCK_BOOTTIME µs) and the keys
 *                    put with it
 *   .lease-of/<key>  the lease the key was last put with; a later write of the key
 *                    without it detaches the key
 * A lease whose deadline has passed is ended, its keys deleted under one revision,
 * by whoever takes the store lock next, and by every Store with a watch, at the
 * deadline: a dead owner's keys go even when nobody writes.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "fileio.h"
#include "store-file.h"

#define JOURNAL_MAGIC "berth-txn 1\n"

uint64_t file_boottime_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_BOOTTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static char *journal_path(FileStore *f)
{
        return xasprintf("%s/.txn", f->dir);
}

static char *lease_path(FileStore *f, uint64_t id)
{
        return xasprintf("%s/.leases/%016" PRIx64, f->dir, id);
}

static char *lease_of_path(FileStore *f, const char *key)
{
        return xasprintf("%s/.lease-of/%s", f->dir, key);
}

/* The lease the key is attached to, or 0. */
static uint64_t key_lease(FileStore *f, const char *key)
{
        _cleanup_free_ char *p = lease_of_path(f, key), *text = NULL;
        uint64_t id;

        if (read_full_file(p, &text, NULL) < 0 || sscanf(text, "%" SCNx64, &id) != 1)
                return 0;
        return id;
}

void file_lease_text_free(FileLeaseText *l)
{
        strv_free(l->keys);
        *l = (FileLeaseText){};
}

int file_lease_text_parse(const char *text, FileLeaseText *ret)
{
        _cleanup_(file_lease_text_free) FileLeaseText l = {};
        const char *p = text;
        unsigned ttl;
        uint64_t deadline;
        int n;

        if (sscanf(p, "ttl %u\ndeadline %" SCNu64 "\n%n", &ttl, &deadline, &n) != 2 || n <= 0 || ttl < 1 ||
                ttl > 86400)
                return -EBADMSG;
        l.ttl_sec = ttl;
        l.deadline_usec = deadline;
        for (p += n; *p;) {
                const char *nl = strchr(p, '\n');
                _cleanup_free_ char *key = NULL;

                if (!startswith(p, "key ") || !nl)
                        return -EBADMSG;
                key = xstrndup(p + 4, (size_t) (nl - p - 4));
                if (!store_key_is_valid(key))
                        return -EBADMSG;
                if (!strv_contains(l.keys, key))
                        strv_push(&l.keys, key);
                p = nl + 1;
        }
        *ret = l;
        l = (FileLeaseText){};
        return 0;
}

int file_lease_read(FileStore *f, uint64_t id, FileLeaseText *ret)
{
        _cleanup_free_ char *p = lease_path(f, id), *text = NULL;
        size_t size;
        int r;

        r = read_full_file(p, &text, &size);
        if (r < 0)
                return r;
        if (strlen(text) != size)
                return -EBADMSG;
        return file_lease_text_parse(text, ret);
}

int file_lease_write(FileStore *f, uint64_t id, const FileLeaseText *l)
{
        _cleanup_free_ char *p = lease_path(f, id),
                            *text = xasprintf("ttl %u\ndeadline %" PRIu64 "\n", l->ttl_sec, l->deadline_usec);
        int r;

        for (char **k = l->keys; k && *k; k++) {
                char *more = xasprintf("%skey %s\n", text, *k);
                free(text);
                text = more;
        }
        r = file_mkdir_parents(p);
        if (r < 0)
                return r;
        return write_string_file_atomic(p, text, 0600);
}

int file_lease_end(FileStore *f, uint64_t id, const FileLeaseText *l)
{
        _cleanup_free_ FileOp *ops = new0(FileOp, strv_length(l->keys) + 1);
        _cleanup_free_ char *p = lease_path(f, id);
        size_t n = 0;
        uint64_t rev;
        int r;

        for (char **k = l->keys; k && *k; k++)
                if (key_lease(f, *k) == id && file_value_exists(f, *k) > 0)
                        ops[n++] = (FileOp){ .type = STORE_TXN_DELETE, .key = *k };
        if (n > 0) {
                _cleanup_free_ const char **keys = new0(const char *, n);
                for (size_t i = 0; i < n; i++)
                        keys[i] = ops[i].key;
                r = file_next_revision(f, keys, n, &rev);
                if (r >= 0)
                        r = file_apply(f, ops, n, rev);
                if (r < 0)
                        return r;
        }
        return unlink(p) < 0 && errno != ENOENT ? negative_errno() : 0;
}

static char *journal_format(const FileOp *ops, size_t n, uint64_t rev, size_t *ret_size)
{
        char *text = xasprintf(JOURNAL_MAGIC "revision %" PRIu64 "\n", rev);
        size_t size = strlen(text);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *head = ops[i].type == STORE_TXN_PUT
                        ? xasprintf("put %s %016" PRIx64 " %zu\n", ops[i].key, ops[i].lease, ops[i].size)
                        : xasprintf("delete %s\n", ops[i].key);
                size_t h = strlen(head);

                text = xrealloc(text, size + h + ops[i].size + 2);
                memcpy(text + size, head, h);
                size += h;
                if (ops[i].type == STORE_TXN_PUT) {
                        if (ops[i].size > 0)
                                memcpy(text + size, ops[i].value, ops[i].size);
                        size += ops[i].size;
                        text[size++] = '\n';
                }
                text[size] = 0;
        }
        *ret_size = size;
        return text;
}

void file_journal_free(FileJournal *j)
{
        for (size_t i = 0; i < j->n; i++)
                free((char *) j->ops[i].key);
        free(j->ops);
        *j = (FileJournal){};
}

/* Parses a journal; the values point into text, which must outlive the journal. */
int file_journal_parse(const char *text, size_t size, FileJournal *ret)
{
        _cleanup_(file_journal_free) FileJournal j = {};
        const char *p = text, *end = text + size, *nl;
        int n = 0;

        if (size < strlen(JOURNAL_MAGIC) || memcmp(p, JOURNAL_MAGIC, strlen(JOURNAL_MAGIC)) != 0)
                return -EBADMSG;
        p += strlen(JOURNAL_MAGIC);
        nl = memchr(p, '\n', (size_t) (end - p));
        if (!nl || sscanf(p, "revision %" SCNu64 "\n%n", &j.revision, &n) != 1 || p + n != nl + 1 ||
                j.revision == 0)
                return -EBADMSG;
        for (p = nl + 1; p < end;) {
                _cleanup_free_ char *line = NULL;
                char key[STORE_KEY_MAX + 1];
                uint64_t lease = 0;
                size_t value_size = 0;
                FileOp op;

                nl = memchr(p, '\n', (size_t) (end - p));
                if (!nl)
                        return -EBADMSG;
                line = xstrndup(p, (size_t) (nl - p));
                if (strlen(line) != (size_t) (nl - p))
                        return -EBADMSG;
                n = 0;
                if (sscanf(line, "put %512s %" SCNx64 " %zu%n", key, &lease, &value_size, &n) == 3 &&
                        line[n] == 0) {
                        if ((size_t) (end - nl - 1) < value_size + 1 || nl[1 + value_size] != '\n')
                                return -EBADMSG;
                        op = (FileOp){
                                .type = STORE_TXN_PUT, .value = nl + 1, .size = value_size, .lease = lease
                        };
                        p = nl + 1 + value_size + 1;
                } else if (sscanf(line, "delete %512s%n", key, &n) == 1 && line[n] == 0) {
                        op = (FileOp){ .type = STORE_TXN_DELETE };
                        p = nl + 1;
                } else
                        return -EBADMSG;
                if (!store_key_is_valid(key))
                        return -EBADMSG;
                op.key = xstrdup(key);
                j.ops = xrealloc(j.ops, (j.n + 1) * sizeof(FileOp));
                j.ops[j.n++] = op;
        }
        *ret = j;
        j = (FileJournal){};
        return 0;
}

static int apply_one(FileStore *f, const FileOp *op, uint64_t rev)
{
        _cleanup_free_ char *path = file_path(f, op->key), *revision = file_revision_path(f, op->key),
                            *attached = lease_of_path(f, op->key);
        int r;

        if (op->type == STORE_TXN_DELETE && file_value_exists(f, op->key) <= 0)
                return 0;
        r = file_mkdir_parents(revision);
        if (r >= 0)
                r = file_write_u64(revision, rev);
        if (r < 0)
                return r;
        if (op->type == STORE_TXN_DELETE) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return negative_errno();
                r = file_fsync_parent(path);
        } else {
                r = file_mkdir_parents(path);
                if (r >= 0)
                        r = write_file_atomic(path, op->value, op->size, 0600);
        }
        if (r < 0)
                return r;

        if (op->type == STORE_TXN_PUT && op->lease != 0) {
                _cleanup_(file_lease_text_free) FileLeaseText l = {};
                char id[32];

                snprintf(id, sizeof id, "%016" PRIx64 "\n", op->lease);
                r = file_mkdir_parents(attached);
                if (r >= 0)
                        r = write_string_file_atomic(attached, id, 0600);
                if (r >= 0)
                        r = file_lease_read(f, op->lease, &l);
                if (r < 0)
                        return r;
                if (strv_contains(l.keys, op->key))
                        return 0;
                strv_push(&l.keys, op->key);
                return file_lease_write(f, op->lease, &l);
        }
        return unlink(attached) < 0 && errno != ENOENT ? negative_errno() : 0;
}

int file_apply(FileStore *f, const FileOp *ops, size_t n, uint64_t rev)
{
        _cleanup_free_ char *journal = journal_path(f);
        int r;

        /* One write is atomic on its own; several go through the journal. */
        if (n > 1) {
                size_t size;
                _cleanup_free_ char *text = journal_format(ops, n, rev, &size);

                r = write_file_atomic(journal, text, size, 0600);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                r = apply_one(f, &ops[i], rev);
                if (r < 0)
                        return r;
        }
        if (n > 1 && unlink(journal) < 0)
                return negative_errno();
        return 0;
}

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

int file_leases_foreach(
        FileStore *f, int (*fn)(FileStore *f, uint64_t id, FileLeaseText *l, void *userdata), void *userdata)
{
        _cleanup_free_ char *dir = xasprintf("%s/.leases", f->dir);
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;
        int r;

        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d))) {
                _cleanup_(file_lease_text_free) FileLeaseText l = {};
                uint64_t id;
                int n = 0;

                if (sscanf(de->d_name, "%16" SCNx64 "%n", &id, &n) != 1 || n != 16 || de->d_name[16] != 0)
                        continue;
                if (file_lease_read(f, id, &l) < 0)
                        continue;
                r = fn(f, id, &l, userdata);
                if (r != 0)
                        return r;
        }
        return 0;
}

static int lease_is_expired(FileStore *f, uint64_t id, FileLeaseText *l, void *userdata)
{
        return l->deadline_usec <= *(uint64_t *) userdata;
}

bool file_store_needs_repair(FileStore *f)
{
        _cleanup_free_ char *journal = journal_path(f);
        uint64_t now = file_boottime_usec();

        return access(journal, F_OK) == 0 || file_leases_foreach(f, lease_is_expired, &now) > 0;
}

static int end_if_expired(FileStore *f, uint64_t id, FileLeaseText *l, void *userdata)
{
        int r = 0;

        if (l->deadline_usec <= *(uint64_t *) userdata)
                r = file_lease_end(f, id, l);
        return r < 0 ? r : 0;
}

int file_store_repair(FileStore *f)
{
        _cleanup_free_ char *journal = journal_path(f), *text = NULL,
                            *counter = xasprintf("%s/.revision", f->dir);
        uint64_t now = file_boottime_usec(), current;
        size_t size;
        int r;

        r = read_full_file(journal, &text, &size);
        if (r >= 0) {
                _cleanup_(file_journal_free) FileJournal j = {};

                r = file_journal_parse(text, size, &j);
                if (r < 0)
                        return r;
                r = file_apply(f, j.ops, j.n, j.revision);
                if (r < 0)
                        return r;
                /* The counter may not have been written yet either: revisions never go back. */
                r = file_read_u64(counter, &current);
                if (r == -ENOENT || (r >= 0 && current < j.revision))
                        r = file_write_u64(counter, j.revision);
                if (r < 0)
                        return r;
                /* A journal of one write is never written; applying it again left none behind. */
                if (j.n <= 1 && unlink(journal) < 0 && errno != ENOENT)
                        return negative_errno();
        } else if (r != -ENOENT)
                return r;
        return file_leases_foreach(f, end_if_expired, &now);
}

/* Whether key is a directory above other, or the other way round: both cannot be keys at once. */
static bool keys_nest(const char *key, const char *other)
{
        size_t a = strlen(key), b = strlen(other);

        return a != b && strncmp(key, other, MIN(a, b)) == 0 && (a < b ? other[a] : key[b]) == '/';
}

int file_txn(void *data, const StoreCompare *compares, size_t n_compares, const StoreTxnOp *ops,
        size_t n_ops, uint64_t *ret_revision)
{
        FileStore *f = data;
        _cleanup_release_ FileStore *held = NULL;
        _cleanup_free_ FileOp *writes = new0(FileOp, n_ops + 1);
        _cleanup_free_ const char **keys = new0(const char *, n_ops + 1);
        uint64_t rev = 0, now = file_boottime_usec();
        int r;

        r = file_store_acquire(f, LOCK_EX, &held);
        if (r < 0)
                return r;
        /* A lock of this backend is held as long as its StoreLock lives. */
        for (size_t i = 0; i < n_compares; i++) {
                uint64_t current = 0;

                if (compares[i].lock)
                        continue;
                r = file_value_exists(f, compares[i].key);
                if (r > 0)
                        r = file_key_revision(f, compares[i].key, &current);
                if (r < 0 && r != -EISDIR && r != -ENOTDIR)
                        return r;
                if (current != compares[i].revision)
                        return -ESTALE;
        }
        for (size_t i = 0; i < n_ops; i++) {
                const StoreTxnOp *op = &ops[i];
                uint64_t lease = op->lease ? file_lease_id(store_lease_data(op->lease)) : 0;

                if (op->type == STORE_TXN_PUT) {
                        r = file_value_exists(f, op->key);
                        if (r < 0)
                                return r;
                        for (size_t j = 0; j < n_ops; j++)
                                if (keys_nest(op->key, ops[j].key) && ops[j].type == STORE_TXN_PUT)
                                        return -EISDIR;
                }
                if (lease != 0) {
                        _cleanup_(file_lease_text_free) FileLeaseText l = {};
                        if (file_lease_read(f, lease, &l) < 0 || l.deadline_usec <= now)
                                return -EKEYEXPIRED;
                }
                writes[i] = (FileOp){
                        .type = op->type, .key = op->key, .value = op->value, .size = op->size, .lease = lease
                };
                keys[i] = op->key;
        }
        if (n_ops > 0) {
                r = file_next_revision(f, keys, n_ops, &rev);
                if (r >= 0)
                        r = file_apply(f, writes, n_ops, rev);
                if (r < 0)
                        return r;
        }
        if (ret_revision && n_ops > 0)
                *ret_revision = rev;
        return 0;
}
