/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The file: backend. Layout of DIR:
 *   <key>          the value
 *   .rev/<key>     the key's revision in decimal; after a delete it stays behind
 *                  holding the revision of the delete, which watchers report
 *   .revision      the store-wide revision counter
 *   .lock          flock()ed exclusively by every write, so compare-and-swap is
 *                  atomic across processes, and shared by every read, so a value
 *                  is never paired with the revision of another write
 *   .locks/<name>  the named locks of store_lock()
 *   .txn, .leases/, .lease-of/
 *                  transactions and leases: see store-file-txn.c
 * Names starting with '.' or containing ".tmp." (write_file_atomic()'s temp
 * files) are never keys, which is how listing and watching skip all of the above.
 *
 * A put writes the counter, then the key's revision, then the value. A crash in
 * between leaves the old value under a newer revision, which only makes a racing
 * compare-and-swap retry; it never leaves a new value under an old revision.
 * Directories are never removed: watches stay put, and rmdir would race with
 * concurrent puts below them. So a name that is, or once was, a directory of
 * keys cannot be a key itself (-EISDIR), nor can a key be a directory (-ENOTDIR).
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "alloc.h"
#include "fileio.h"
#include "log.h"
#include "store-file.h"

char *file_path(FileStore *f, const char *rel)
{
        return isempty(rel) ? xstrdup(f->dir) : xasprintf("%s/%s", f->dir, rel);
}

char *file_revision_path(FileStore *f, const char *key)
{
        return xasprintf("%s/.rev/%s", f->dir, key);
}

static char *key_join(const char *rel, const char *name)
{
        return isempty(rel) ? xstrdup(name) : xasprintf("%s/%s", rel, name);
}

/* The directory, relative to DIR, that holds every key starting with prefix. */
static char *prefix_dir(const char *prefix)
{
        const char *slash = strrchr(prefix, '/');
        return slash ? xstrndup(prefix, (size_t) (slash - prefix)) : xstrdup("");
}

/* Whether keys below the directory rel can start with prefix. */
static bool dir_may_match(const char *prefix, const char *rel)
{
        size_t p = strlen(prefix), n = strlen(rel);

        if (p <= n)
                return strncmp(prefix, rel, p) == 0;
        return strncmp(prefix, rel, n) == 0 && prefix[n] == '/';
}

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

/* DT_DIR, DT_REG, or DT_UNKNOWN for anything else. */
static int dirent_type(DIR *d, const struct dirent *de)
{
        struct stat st;

        if (de->d_type != DT_UNKNOWN)
                return de->d_type == DT_DIR || de->d_type == DT_REG ? de->d_type : DT_UNKNOWN;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return DT_UNKNOWN;
        return S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
}

/*
 * Walks the keys in rel and below that start with prefix, reading only the
 * directories that can hold such keys. enter, where set, is called with each
 * directory before it is read and returns > 0 to read it, 0 to pass it by.
 * Listing and watching both walk this way, so a watch knows of exactly the
 * keys a list would give.
 */
typedef struct KeyWalk {
        FileStore *store;
        const char *prefix;
        int (*enter)(const char *rel, const char *path, void *userdata);
        int (*value)(const char *key, void *userdata);
        void *userdata;
} KeyWalk;

static int walk_keys(const KeyWalk *w, const char *rel)
{
        _cleanup_free_ char *path = file_path(w->store, rel);
        _cleanup_(closedirp) DIR *d = NULL;
        int r = 0;

        if (w->enter) {
                r = w->enter(rel, path, w->userdata);
                if (r <= 0)
                        return r;
        }
        d = opendir(path);
        if (!d)
                return errno == ENOENT || errno == ENOTDIR ? 0 : negative_errno();
        for (;;) {
                struct dirent *de;

                errno = 0;
                de = readdir(d);
                if (!de)
                        return errno != 0 ? negative_errno() : 0;

                _cleanup_free_ char *key = key_join(rel, de->d_name);
                if (!store_key_is_valid(key))
                        continue;
                switch (dirent_type(d, de)) {
                case DT_DIR:
                        if (dir_may_match(w->prefix, key))
                                r = walk_keys(w, key);
                        break;
                case DT_REG:
                        if (startswith(key, w->prefix))
                                r = w->value(key, w->userdata);
                        break;
                }
                if (r < 0)
                        return r;
        }
}

int file_mkdir_parents(const char *path)
{
        _cleanup_free_ char *p = xstrdup(path);
        char *slash = strrchr(p, '/');

        if (!slash || slash == p)
                return 0;
        *slash = 0;
        return mkdir_p(p, 0700);
}

int file_fsync_parent(const char *path)
{
        _cleanup_free_ char *p = xstrdup(path);
        char *slash = strrchr(p, '/');

        *slash = 0;
        _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return fsync(fd) < 0 ? negative_errno() : 0;
}

static int flock_retry(int fd, int operation)
{
        while (flock(fd, operation) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return 0;
}

void file_store_releasep(FileStore **f)
{
        if (*f)
                (void) flock((*f)->lock_fd, LOCK_UN);
}

/*
 * Takes the store-wide lock (LOCK_SH or LOCK_EX) until *ret_held goes out of scope. First, with the
 * lock held exclusively, it finishes a transaction a crash interrupted and ends the leases that ran
 * out, so no caller ever sees either half done.
 */
int file_store_acquire(FileStore *f, int operation, FileStore **ret_held)
{
        int r = flock_retry(f->lock_fd, operation);
        if (r < 0)
                return r;
        if (file_store_needs_repair(f)) {
                r = flock_retry(f->lock_fd, LOCK_EX);
                if (r >= 0)
                        r = file_store_repair(f);
                if (r >= 0)
                        r = flock_retry(f->lock_fd, operation);
                if (r < 0) {
                        (void) flock(f->lock_fd, LOCK_UN);
                        return r;
                }
        }
        *ret_held = f;
        return 0;
}

int file_read_u64(const char *path, uint64_t *ret)
{
        _cleanup_free_ char *s = NULL;
        unsigned long long v;
        char *end;
        int r;

        r = read_full_file(path, &s, NULL);
        if (r < 0)
                return r;
        if (!(s[0] >= '0' && s[0] <= '9'))
                return -EBADMSG;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || !(streq(end, "") || streq(end, "\n")))
                return -EBADMSG;
        *ret = v;
        return 0;
}

int file_write_u64(const char *path, uint64_t v)
{
        char buf[32];

        snprintf(buf, sizeof buf, "%" PRIu64 "\n", v);
        return write_string_file_atomic(path, buf, 0600);
}

/* 1 when the key has a value, 0 when not; -EISDIR or -ENOTDIR when a directory or file is in the way. */
int file_value_exists(FileStore *f, const char *key)
{
        _cleanup_free_ char *p = file_path(f, key);
        struct stat st;

        if (stat(p, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        return S_ISREG(st.st_mode) ? 1 : -EBADMSG;
}

/* A value put into DIR by hand has no revision file: it counts as revision 1. */
int file_key_revision(FileStore *f, const char *key, uint64_t *ret)
{
        _cleanup_free_ char *p = file_revision_path(f, key);
        uint64_t rev;
        int r;

        r = file_read_u64(p, &rev);
        if (r == -ENOENT || r == -EISDIR || r == -ENOTDIR)
                rev = 1;
        else if (r < 0)
                return r;
        else if (rev == 0)
                return -EBADMSG;
        *ret = rev;
        return 0;
}

/* Bumps the store-wide counter for a write to keys; call with the lock held exclusively. */
int file_next_revision(FileStore *f, const char *const *keys, size_t n, uint64_t *ret)
{
        _cleanup_free_ char *p = xasprintf("%s/.revision", f->dir);
        uint64_t counter = 0, floor = 0;
        int r;

        r = file_read_u64(p, &counter);
        if (r < 0 && r != -ENOENT)
                return r;
        /* Should the counter file get lost, a key's own revision still must not go back, or CAS could
         * match a revision from before. */
        for (size_t i = 0; i < n; i++)
                if (file_key_revision(f, keys[i], &floor) >= 0)
                        counter = MAX(counter, floor);
        counter++;
        r = file_write_u64(p, counter);
        if (r < 0)
                return r;
        *ret = counter;
        return 0;
}

static int file_open(const char *location, struct event_base *base, void **ret)
{
        _cleanup_free_ char *dir = NULL, *lock = NULL;
        size_t n;
        int r;

        if (location[0] != '/')
                return -EINVAL;
        dir = xstrdup(location);
        for (n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
                dir[n - 1] = 0;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        lock = xasprintf("%s/.lock", dir);
        _cleanup_close_ int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return negative_errno();

        FileStore *f = new0(FileStore, 1);
        *f = (FileStore){ .dir = TAKE_PTR(dir), .lock_fd = TAKE_FD(fd), .base = base };
        *ret = f;
        return 0;
}

static void file_close(void *data)
{
        FileStore *f = data;

        file_leases_sweeper_free(f);
        safe_close(f->lock_fd);
        free(f->dir);
        free(f);
}

static int file_get(void *data, const char *key, char **ret_value, size_t *ret_size, uint64_t *ret_revision)
{
        FileStore *f = data;
        _cleanup_release_ FileStore *held = NULL;
        _cleanup_free_ char *path = file_path(f, key), *value = NULL;
        uint64_t rev;
        size_t size;
        int r;

        r = file_store_acquire(f, LOCK_SH, &held);
        if (r < 0)
                return r;
        r = read_full_file(path, &value, &size);
        if (r == -EISDIR || r == -ENOTDIR)
                return -ENOENT;
        if (r < 0)
                return r;
        r = file_key_revision(f, key, &rev);
        if (r < 0)
                return r;
        if (ret_value)
                *ret_value = TAKE_PTR(value);
        if (ret_size)
                *ret_size = size;
        if (ret_revision)
                *ret_revision = rev;
        return 0;
}

static int file_put(void *data, const char *key, const void *value, size_t size, uint64_t expected_revision,
        uint64_t *ret_revision)
{
        FileStore *f = data;
        _cleanup_release_ FileStore *held = NULL;
        uint64_t current = 0, rev;
        int r;

        r = file_store_acquire(f, LOCK_EX, &held);
        if (r < 0)
                return r;
        r = file_value_exists(f, key);
        if (r < 0)
                return r;
        if (r > 0) {
                r = file_key_revision(f, key, &current);
                if (r < 0)
                        return r;
        }
        if (expected_revision != STORE_REVISION_ANY && expected_revision != current)
                return -ESTALE;

        r = file_next_revision(f, &key, 1, &rev);
        if (r < 0)
                return r;
        r = file_apply(
                f, &(FileOp){ .type = STORE_TXN_PUT, .key = key, .value = value, .size = size }, 1, rev);
        if (r < 0)
                return r;
        if (ret_revision)
                *ret_revision = rev;
        return 0;
}

static int file_delete(void *data, const char *key, uint64_t expected_revision)
{
        FileStore *f = data;
        _cleanup_release_ FileStore *held = NULL;
        uint64_t current, rev;
        int r;

        r = file_store_acquire(f, LOCK_EX, &held);
        if (r < 0)
                return r;
        r = file_value_exists(f, key);
        if (r == 0 || r == -EISDIR || r == -ENOTDIR)
                return -ENOENT;
        if (r < 0)
                return r;
        r = file_key_revision(f, key, &current);
        if (r < 0)
                return r;
        if (expected_revision != STORE_REVISION_ANY && expected_revision != current)
                return -ESTALE;

        r = file_next_revision(f, &key, 1, &rev);
        if (r < 0)
                return r;
        return file_apply(f, &(FileOp){ .type = STORE_TXN_DELETE, .key = key }, 1, rev);
}

typedef struct EntryList {
        FileStore *store;
        StoreEntry *items;
        size_t n, allocated;
} EntryList;

static void entry_list_done(EntryList *l)
{
        store_entries_free(l->items, l->n);
}

static int list_add(const char *key, void *userdata)
{
        EntryList *l = userdata;
        _cleanup_free_ char *path = file_path(l->store, key), *value = NULL;
        size_t size;
        uint64_t rev;
        int r;

        r = read_full_file(path, &value, &size);
        /* Only a value deleted by hand can vanish under the lock; it is simply gone. */
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = file_key_revision(l->store, key, &rev);
        if (r < 0)
                return r;
        if (l->n == l->allocated) {
                l->allocated = MAX(l->allocated * 2, 16u);
                l->items = xrealloc(l->items, l->allocated * sizeof(StoreEntry));
        }
        l->items[l->n++] = (StoreEntry){
                .key = xstrdup(key),
                .value = TAKE_PTR(value),
                .size = size,
                .revision = rev,
        };
        return 0;
}

static int file_list(void *data, const char *prefix, StoreEntry **ret, size_t *ret_n)
{
        FileStore *f = data;
        _cleanup_release_ FileStore *held = NULL;
        _cleanup_(entry_list_done) EntryList l = { .store = f };
        const KeyWalk w = { .store = f, .prefix = prefix, .value = list_add, .userdata = &l };
        _cleanup_free_ char *top = prefix_dir(prefix);
        int r;

        r = file_store_acquire(f, LOCK_SH, &held);
        if (r < 0)
                return r;
        r = walk_keys(&w, top);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l.items);
        *ret_n = l.n;
        l.n = 0;
        return 0;
}

/*
 * Values only ever appear by rename. IN_CLOSE_WRITE is left out: write_file_atomic() closes its temp file
 * after renaming it, so every put would be reported twice.
 */
#define WATCH_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR)

typedef struct WatchedDir {
        int wd;
        char *rel;
} WatchedDir;

typedef struct FileWatch {
        FileStore *store;
        StoreWatch *owner;
        char *prefix;
        char *top;
        int fd;
        struct event *event;
        WatchedDir *dirs;
        size_t n_dirs;
} FileWatch;

typedef struct EventList {
        StoreEvent *items;
        size_t n;
} EventList;

static void file_watch_free(void *data)
{
        FileWatch *fw = data;

        if (!fw)
                return;
        if (fw->event)
                event_free(fw->event);
        safe_close(fw->fd);
        for (size_t i = 0; i < fw->n_dirs; i++)
                free(fw->dirs[i].rel);
        free(fw->dirs);
        free(fw->prefix);
        free(fw->top);
        free(fw);
}

static void file_watch_freep(FileWatch **fw)
{
        file_watch_free(*fw);
}

static WatchedDir *watch_find(FileWatch *fw, int wd)
{
        for (size_t i = 0; i < fw->n_dirs; i++)
                if (fw->dirs[i].wd == wd)
                        return fw->dirs + i;
        return NULL;
}

static void watch_remember(FileWatch *fw, int wd, const char *rel)
{
        WatchedDir *d = watch_find(fw, wd);

        if (d) {
                free(d->rel);
                d->rel = xstrdup(rel);
                return;
        }
        fw->dirs = xrealloc(fw->dirs, (fw->n_dirs + 1) * sizeof(WatchedDir));
        fw->dirs[fw->n_dirs++] = (WatchedDir){ .wd = wd, .rel = xstrdup(rel) };
}

static void watch_forget_at(FileWatch *fw, size_t i)
{
        free(fw->dirs[i].rel);
        fw->dirs[i] = fw->dirs[--fw->n_dirs];
}

/* A directory moved away: its watches would report keys under its old name. */
static void watch_drop_tree(FileWatch *fw, const char *rel)
{
        for (size_t i = 0; i < fw->n_dirs;) {
                const char *rest = startswith(fw->dirs[i].rel, rel);
                if (rest && (*rest == 0 || *rest == '/')) {
                        (void) inotify_rm_watch(fw->fd, fw->dirs[i].wd);
                        watch_forget_at(fw, i);
                } else
                        i++;
        }
}

static void report_event(FileWatch *fw, EventList *report, StoreEventType type, const char *key)
{
        uint64_t rev;
        int r;

        r = file_key_revision(fw->store, key, &rev);
        if (r < 0) {
                log_debug_errno(r, "Failed to read the revision of %s, ignoring its change: %m", key);
                return;
        }
        report->items = xrealloc(report->items, (report->n + 1) * sizeof(StoreEvent));
        report->items[report->n++] = (StoreEvent){ .type = type, .key = xstrdup(key), .revision = rev };
}

typedef struct WatchScan {
        FileWatch *fw;
        EventList *report;
} WatchScan;

/* Watch before reading, so nothing created in between slips through. */
static int watch_scan_enter(const char *rel, const char *path, void *userdata)
{
        WatchScan *scan = userdata;
        int wd;

        wd = inotify_add_watch(scan->fw->fd, path, WATCH_MASK);
        if (wd < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : negative_errno();
        watch_remember(scan->fw, wd, rel);
        return 1;
}

static int watch_scan_value(const char *key, void *userdata)
{
        WatchScan *scan = userdata;

        if (scan->report)
                report_event(scan->fw, scan->report, STORE_EVENT_PUT, key);
        return 0;
}

/*
 * Watches rel and the directories below it that can hold matching keys. With a
 * report, the values already there are reported as puts: they may have been
 * written before the watch on their directory existed.
 */
static int watch_add_tree(FileWatch *fw, const char *rel, EventList *report)
{
        WatchScan scan = { .fw = fw, .report = report };
        const KeyWalk w = {
                .store = fw->store,
                .prefix = fw->prefix,
                .enter = watch_scan_enter,
                .value = watch_scan_value,
                .userdata = &scan,
        };

        return walk_keys(&w, rel);
}

static void watch_handle_event(FileWatch *fw, const struct inotify_event *e, EventList *report)
{
        WatchedDir *dir;
        int r;

        if (e->mask & IN_Q_OVERFLOW) {
                /* Changes were lost; reporting every key again at least brings readers up to date on puts. */
                r = watch_add_tree(fw, fw->top, report);
                if (r < 0)
                        log_debug_errno(r, "Failed to rescan %s after an inotify overflow, ignoring: %m",
                                fw->prefix);
                return;
        }
        dir = watch_find(fw, e->wd);
        if (!dir)
                return;
        if (e->mask & IN_IGNORED) {
                watch_forget_at(fw, (size_t) (dir - fw->dirs));
                return;
        }
        if (e->len == 0)
                return;

        _cleanup_free_ char *key = key_join(dir->rel, e->name);
        if (!store_key_is_valid(key))
                return;
        if (e->mask & IN_ISDIR) {
                if (e->mask & IN_MOVED_FROM)
                        watch_drop_tree(fw, key);
                else if ((e->mask & (IN_CREATE | IN_MOVED_TO)) && dir_may_match(fw->prefix, key)) {
                        r = watch_add_tree(fw, key, report);
                        if (r < 0)
                                log_debug_errno(r, "Failed to watch %s, ignoring: %m", key);
                }
                return;
        }
        if (!startswith(key, fw->prefix))
                return;
        if (e->mask & IN_MOVED_TO)
                report_event(fw, report, STORE_EVENT_PUT, key);
        else if (e->mask & (IN_DELETE | IN_MOVED_FROM))
                report_event(fw, report, STORE_EVENT_DELETE, key);
}

static void watch_read_events(FileWatch *fw, EventList *report)
{
        _cleanup_release_ FileStore *held = NULL;
        union {
                struct inotify_event event;
                char raw[4096];
        } buf;
        int r;

        r = file_store_acquire(fw->store, LOCK_SH, &held);
        if (r < 0)
                log_debug_errno(r, "Failed to lock the store, reading revisions without the lock: %m");
        for (;;) {
                ssize_t n = read(fw->fd, &buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                log_debug_errno(errno, "Failed to read inotify events, ignoring: %m");
                        return;
                }
                for (const char *p = buf.raw; p < buf.raw + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        watch_handle_event(fw, e, report);
                        p += sizeof(struct inotify_event) + e->len;
                }
        }
}

static void on_inotify(evutil_socket_t fd _unused_, short what _unused_, void *userdata)
{
        FileWatch *fw = userdata;
        EventList report = {};

        /* Collect everything with the lock held, then hand over: the handler may write, or free the watch. */
        watch_read_events(fw, &report);
        if (report.n > 0)
                store_watch_dispatch(fw->owner, report.items, report.n);
}

static int file_watch(void *data, const char *prefix, StoreWatch *owner, void **ret)
{
        FileStore *f = data;
        _cleanup_(file_watch_freep) FileWatch *fw = new0(FileWatch, 1);
        _cleanup_free_ char *path = NULL;
        int r;

        *fw = (FileWatch){
                .store = f,
                .owner = owner,
                .prefix = xstrdup(prefix),
                .top = prefix_dir(prefix),
                .fd = -1,
        };
        /* Created up front, so a prefix with no keys yet can be watched like any other. */
        path = file_path(f, fw->top);
        r = mkdir_p(path, 0700);
        if (r < 0)
                return r;
        fw->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fw->fd < 0)
                return negative_errno();
        r = watch_add_tree(fw, fw->top, NULL);
        if (r < 0)
                return r;
        fw->event = event_new(f->base, fw->fd, EV_READ | EV_PERSIST, on_inotify, fw);
        if (!fw->event)
                abort();
        if (event_add(fw->event, NULL) < 0)
                return -EIO;
        file_leases_sweeper_start(f);
        *ret = TAKE_PTR(fw);
        return 0;
}

static int file_lock(void *data, const char *name, bool wait, void **ret)
{
        FileStore *f = data;
        _cleanup_free_ char *path = xasprintf("%s/.locks/%s", f->dir, name);
        _cleanup_close_ int fd = -1;
        int r;

        r = file_mkdir_parents(path);
        if (r < 0)
                return r;
        /* Lock files stay: unlinking one would let a waiter lock an inode nobody else can find. */
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return negative_errno();
        r = flock_retry(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
        if (r < 0)
                return r;
        int *l = new0(int, 1);
        *l = TAKE_FD(fd);
        *ret = l;
        return 0;
}

static void file_unlock(void *data)
{
        int *fd = data;

        safe_close(*fd);
        free(fd);
}

const StoreOps store_file_ops = {
        .scheme = "file",
        .open = file_open,
        .close = file_close,
        .get = file_get,
        .put = file_put,
        .delete = file_delete,
        .list = file_list,
        .watch = file_watch,
        .watch_free = file_watch_free,
        .lock = file_lock,
        .unlock = file_unlock,
        .txn = file_txn,
        .lease_grant = file_lease_grant,
        .lease_revoke = file_lease_revoke,
};
