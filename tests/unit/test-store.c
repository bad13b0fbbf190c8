/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "check-main.h"
#include "fileio.h"
#include "store.h"

static char *tmpdir, *storedir, *url;
static struct event_base *base;

static void setup(void)
{
        tmpdir = test_tmpdir_new();
        storedir = xasprintf("%s/store", tmpdir);
        url = xasprintf("file:%s", storedir);
        base = event_base_new();
        ck_assert_ptr_nonnull(base);
}

static void teardown(void)
{
        event_base_free(base);
        free(url);
        free(storedir);
        test_tmpdir_free(tmpdir);
}

static Store *open_store(void)
{
        Store *s = NULL;
        ck_assert_int_eq(store_open(url, base, &s), 0);
        return s;
}

static uint64_t put_string(Store *s, const char *key, const char *value)
{
        uint64_t rev = 0;
        ck_assert_int_eq(store_put(s, key, value, strlen(value), STORE_REVISION_ANY, &rev), 0);
        return rev;
}

static void assert_value(Store *s, const char *key, const char *expected, uint64_t expected_revision)
{
        _cleanup_free_ char *v = NULL;
        uint64_t rev = 0;
        size_t n = 0;

        ck_assert_int_eq(store_get(s, key, &v, &n, &rev), 0);
        ck_assert_str_eq(v, expected);
        ck_assert_uint_eq(n, strlen(expected));
        ck_assert_uint_eq(rev, expected_revision);
}

/* Writes a file into the store directory behind the store's back. */
static void place_file(const char *rel, const char *content)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", storedir, rel);
        _cleanup_free_ char *dir = xstrdup(p);
        *strrchr(dir, '/') = 0;
        ck_assert_int_eq(mkdir_p(dir, 0700), 0);
        ck_assert_int_eq(write_string_file_atomic(p, content, 0600), 0);
}

START_TEST(test_round_trip)
{
        _cleanup_(store_freep) Store *s = open_store(), *s2 = NULL;
        _cleanup_free_ char *v = NULL, *file = NULL, *path = xasprintf("%s/guests/100", storedir);
        uint64_t r1, r2, rev = 0;
        size_t n = 99;

        ck_assert_int_eq(store_get(s, "guests/100", &v, &n, &rev), -ENOENT);
        ck_assert_uint_eq(n, 99);
        r1 = put_string(s, "guests/100", "n1");
        ck_assert_uint_ge(r1, 1);
        assert_value(s, "guests/100", "n1", r1);
        /* Values are plain files an operator can read. */
        ck_assert_int_eq(read_full_file(path, &file, NULL), 0);
        ck_assert_str_eq(file, "n1");

        ck_assert_int_eq(store_put(s, "guests/100", "a\0b", 3, r1, &r2), 0);
        ck_assert_int_eq(store_get(s, "guests/100", &v, &n, NULL), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_mem_eq(v, "a\0b", 4);
        free(v);
        v = NULL;

        ck_assert_int_eq(store_put(s, "storage.cfg", NULL, 0, 0, NULL), 0);
        ck_assert_int_eq(store_get(s, "storage.cfg", &v, &n, NULL), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_str_eq(v, "");

        ck_assert_int_eq(store_open(url, base, &s2), 0);
        ck_assert_int_eq(store_get(s2, "guests/100", NULL, NULL, &rev), 0);
        ck_assert_uint_eq(rev, r2);
        ck_assert_int_eq(store_delete(s, "guests/100", STORE_REVISION_ANY), 0);
        ck_assert_int_eq(store_get(s2, "guests/100", NULL, NULL, NULL), -ENOENT);
        ck_assert_int_eq(store_delete(s2, "guests/100", STORE_REVISION_ANY), -ENOENT);
        ck_assert_int_eq(access(path, F_OK), -1);
        /* A directory is not a key. */
        ck_assert_int_eq(store_put(s, "nodes/n1/status", "up", 2, 0, NULL), 0);
        ck_assert_int_eq(store_get(s, "nodes/n1", NULL, NULL, NULL), -ENOENT);
        ck_assert_int_eq(store_delete(s, "nodes/n1", STORE_REVISION_ANY), -ENOENT);
        ck_assert_int_eq(store_put(s, "nodes/n1", "x", 1, STORE_REVISION_ANY, NULL), -EISDIR);
}
END_TEST

START_TEST(test_create_only)
{
        _cleanup_(store_freep) Store *s = open_store();
        uint64_t rev;

        ck_assert_int_eq(store_put(s, "guests/100", "n1", 2, 0, &rev), 0);
        ck_assert_int_eq(store_put(s, "guests/100", "n2", 2, 0, NULL), -ESTALE);
        assert_value(s, "guests/100", "n1", rev);
        /* Once deleted, the key can be created again. */
        ck_assert_int_eq(store_delete(s, "guests/100", rev), 0);
        ck_assert_int_eq(store_put(s, "guests/100", "n2", 2, 0, &rev), 0);
        assert_value(s, "guests/100", "n2", rev);
}
END_TEST

START_TEST(test_cas_stale)
{
        _cleanup_(store_freep) Store *s = open_store();
        uint64_t r1, r2, r3 = 0;

        r1 = put_string(s, "storage.cfg", "one");
        ck_assert_int_eq(store_put(s, "storage.cfg", "two", 3, r1, &r2), 0);
        ck_assert_uint_gt(r2, r1);
        ck_assert_int_eq(store_put(s, "storage.cfg", "three", 5, r1, &r3), -ESTALE);
        ck_assert_uint_eq(r3, 0);
        ck_assert_int_eq(store_put(s, "storage.cfg", "three", 5, r2 + 1, NULL), -ESTALE);
        assert_value(s, "storage.cfg", "two", r2);
        /* Expecting a revision of a key that does not exist is stale too. */
        ck_assert_int_eq(store_put(s, "multipath.cfg", "x", 1, r2, NULL), -ESTALE);
        ck_assert_int_eq(store_get(s, "multipath.cfg", NULL, NULL, NULL), -ENOENT);
}
END_TEST

START_TEST(test_cas_two_handles)
{
        _cleanup_(store_freep) Store *a = open_store(), *b = open_store();
        uint64_t ra, rb, rev;

        put_string(a, "guests/100", "0");
        ck_assert_int_eq(store_get(a, "guests/100", NULL, NULL, &ra), 0);
        ck_assert_int_eq(store_get(b, "guests/100", NULL, NULL, &rb), 0);
        ck_assert_uint_eq(ra, rb);
        ck_assert_int_eq(store_put(a, "guests/100", "a", 1, ra, &rev), 0);
        ck_assert_int_eq(store_put(b, "guests/100", "b", 1, rb, NULL), -ESTALE);
        assert_value(b, "guests/100", "a", rev);
}
END_TEST

START_TEST(test_revisions_increase)
{
        _cleanup_(store_freep) Store *a = open_store(), *b = open_store();
        uint64_t last = 0, rev;

        const char *keys[] = { "a", "b", "a", "nodes/n1/status", "b", "a" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                rev = put_string(i % 2 ? b : a, keys[i], "v");
                ck_assert_uint_gt(rev, last);
                last = rev;
        }
        ck_assert_int_eq(store_delete(b, "b", STORE_REVISION_ANY), 0);
        rev = put_string(a, "c", "v");
        ck_assert_uint_gt(rev, last + 1); /* the delete took a revision of its own */
        last = rev;

        store_free(a);
        a = open_store();
        rev = put_string(a, "d", "v");
        ck_assert_uint_gt(rev, last);
}
END_TEST

START_TEST(test_delete_cas)
{
        _cleanup_(store_freep) Store *s = open_store();
        uint64_t rev = put_string(s, "nodes/n1/qemu/100.conf", "memory: 512\n");

        ck_assert_int_eq(store_delete(s, "nodes/n1/qemu/100.conf", rev + 1), -ESTALE);
        ck_assert_int_eq(store_delete(s, "nodes/n1/qemu/100.conf", 0), -ESTALE);
        assert_value(s, "nodes/n1/qemu/100.conf", "memory: 512\n", rev);
        ck_assert_int_eq(store_delete(s, "nodes/n1/qemu/100.conf", rev), 0);
        ck_assert_int_eq(store_get(s, "nodes/n1/qemu/100.conf", NULL, NULL, NULL), -ENOENT);
        ck_assert_int_eq(store_delete(s, "nodes/n1/qemu/100.conf", rev), -ENOENT);
}
END_TEST

static void assert_list(Store *s, const char *prefix, const char *const *expected, size_t n_expected)
{
        StoreEntry *e = NULL;
        size_t n = 0;

        ck_assert_int_eq(store_list(s, prefix, &e, &n), 0);
        ck_assert_uint_eq(n, n_expected);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *v = NULL;
                uint64_t rev;

                ck_assert_str_eq(e[i].key, expected[i]);
                ck_assert_int_eq(store_get(s, e[i].key, &v, NULL, &rev), 0);
                ck_assert_str_eq(e[i].value, v);
                ck_assert_uint_eq(e[i].size, strlen(v));
                ck_assert_uint_eq(e[i].revision, rev);
        }
        store_entries_free(e, n);
}

START_TEST(test_list)
{
        _cleanup_(store_freep) Store *s = open_store();
        const char *puts[] = { "storage.cfg", "nodes/n1/status", "nodes/n1/qemu/101.conf",
                "nodes/n1/qemu/100.conf", "nodes/n2/status", "nodesx", "guests/100" };
        const char *nodes[] = { "nodes/n1/qemu/100.conf", "nodes/n1/qemu/101.conf", "nodes/n1/status",
                "nodes/n2/status" };
        const char *all[] = { "guests/100", "nodes/n1/qemu/100.conf", "nodes/n1/qemu/101.conf",
                "nodes/n1/status", "nodes/n2/status", "nodesx", "storage.cfg" };
        _cleanup_free_ char *sidecar = xasprintf("%s/.rev/nodes/n1/status", storedir);
        StoreEntry *e = NULL;
        size_t n = 1;

        for (size_t i = 0; i < ELEMENTSOF(puts); i++)
                put_string(s, puts[i], puts[i]);
        /* Neither hidden files nor leftover temp files are keys. */
        place_file("nodes/n1/.hidden", "x");
        place_file("nodes/.cache/x", "x");
        place_file("nodes/n1/qemu/100.conf.tmp.Ab12Cd", "x");
        ck_assert_int_eq(access(sidecar, F_OK), 0);

        assert_list(s, "nodes/", nodes, ELEMENTSOF(nodes));
        assert_list(s, "nodes/n1/qemu/10", nodes, 2);
        assert_list(s, "nodes/n1/qemu/101.conf", nodes + 1, 1);
        assert_list(s, "", all, ELEMENTSOF(all));
        assert_list(s, "nodes", all + 1, 5);
        assert_list(s, "missing/", NULL, 0);
        assert_list(s, "storage.cfg/", NULL, 0);
        ck_assert_int_eq(store_list(s, "../", &e, &n), -EINVAL);
        ck_assert_int_eq(store_list(s, "nodes//", &e, &n), -EINVAL);
        ck_assert_uint_eq(n, 1);

        /* A value put in by hand has no recorded revision and counts as revision 1. */
        place_file("nodes/n3/manual", "by hand");
        ck_assert_int_eq(store_list(s, "nodes/n3/", &e, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(e[0].key, "nodes/n3/manual");
        ck_assert_str_eq(e[0].value, "by hand");
        ck_assert_uint_eq(e[0].revision, 1);
        store_entries_free(e, n);
        ck_assert_int_eq(store_put(s, "nodes/n3/manual", "x", 1, 1, NULL), 0);
}
END_TEST

/* Filled in by main(). */
static char long_key[STORE_KEY_MAX + 2], long_component[STORE_KEY_COMPONENT_MAX + 4];

static const struct {
        const char *key;
        bool valid_prefix;
} invalid_keys[] = {
        { "", true },
        { "../x", false },
        { "a/../b", false },
        { "a/./b", false },
        { ".", false },
        { "/abs", false },
        { "a//b", false },
        { "a/", true },
        { ".rev/x", false },
        { "nodes/.hidden", false },
        { "x.tmp.abcdef", false },
        { "a b", false },
        { "a\\b", false },
        { "caf\xc3\xa9", false },
        { long_key, false },
        { long_component, false },
};

static void handler_unreached(Store *s, StoreEventType type, const char *key, uint64_t rev, void *userdata)
{
        ck_abort_msg("unexpected event");
}

START_TEST(test_invalid_keys)
{
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_free_ char *counter = xasprintf("%s/.revision", storedir);
        const char *key = invalid_keys[_i].key;
        StoreWatch *w = NULL;
        StoreLock *l = NULL;
        StoreEntry *e = NULL;
        size_t n;

        ck_assert(!store_key_is_valid(key));
        ck_assert_int_eq(store_get(s, key, NULL, NULL, NULL), -EINVAL);
        ck_assert_int_eq(store_put(s, key, "x", 1, STORE_REVISION_ANY, NULL), -EINVAL);
        ck_assert_int_eq(store_delete(s, key, STORE_REVISION_ANY), -EINVAL);
        ck_assert_int_eq(store_lock(s, key, false, &l), -EINVAL);
        ck_assert_int_eq(store_prefix_is_valid(key), invalid_keys[_i].valid_prefix);
        if (!invalid_keys[_i].valid_prefix) {
                ck_assert_int_eq(store_list(s, key, &e, &n), -EINVAL);
                ck_assert_int_eq(store_watch(s, key, handler_unreached, NULL, &w), -EINVAL);
        }
        /* Nothing may have been written, not even a revision. */
        ck_assert_int_eq(store_list(s, "", &e, &n), 0);
        ck_assert_uint_eq(n, 0);
        free(e);
        ck_assert_int_eq(access(counter, F_OK), -1);
}
END_TEST

START_TEST(test_valid_keys)
{
        _cleanup_(store_freep) Store *s = open_store();
        const char *keys[] = { "nodes/n1/qemu/100.conf", "guests/100", "storage.cfg", "access/root@pam",
                "a:b-c_d.E9", long_key + 1 /* STORE_KEY_MAX bytes */ };

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                ck_assert(store_key_is_valid(keys[i]));
                assert_value(s, keys[i], keys[i], put_string(s, keys[i], keys[i]));
        }
}
END_TEST

static const struct {
        const char *url;
        int error;
} bad_urls[] = {
        { "", -EINVAL },
        { "file:", -EINVAL },
        { "file:relative/dir", -EINVAL },
        { "/no/scheme", -EINVAL },
        { ":/x", -EINVAL },
        { "1file:/x", -EINVAL },
        { "fi le:/x", -EINVAL },
        { "nosuch:/x", -EPROTONOSUPPORT },
        { "files:/x", -EPROTONOSUPPORT },
};

START_TEST(test_bad_urls)
{
        Store *s = NULL;

        ck_assert_int_eq(store_open(bad_urls[_i].url, base, &s), bad_urls[_i].error);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_open)
{
        _cleanup_free_ char *slash = xasprintf("file:%s/", storedir), *upper = xasprintf("FILE:%s", storedir);
        Store *s = NULL;
        uint64_t rev;

        ck_assert_int_eq(store_open(url, NULL, &s), -EINVAL);
        ck_assert_int_eq(store_open(slash, base, &s), 0);
        rev = put_string(s, "k", "v");
        store_free(s);
        ck_assert_int_eq(store_open(upper, base, &s), 0);
        assert_value(s, "k", "v", rev);
        store_free(s);
}
END_TEST

typedef struct Recorded {
        StoreEventType type;
        char *key;
        uint64_t revision;
} Recorded;

typedef struct Recorder {
        Recorded events[64];
        size_t n;
} Recorder;

static void record(Store *s, StoreEventType type, const char *key, uint64_t revision, void *userdata)
{
        Recorder *r = userdata;

        ck_assert_uint_lt(r->n, ELEMENTSOF(r->events));
        r->events[r->n++] = (Recorded){ .type = type, .key = xstrdup(key), .revision = revision };
}

static void on_timeout(evutil_socket_t fd, short what, void *userdata)
{
        *(bool *) userdata = true;
}

/* Runs the loop until the recorder holds n events; fails after 10 s. */
static void wait_for_events(Recorder *r, size_t n)
{
        struct timeval tv = { .tv_sec = 10 };
        bool timed_out = false;
        struct event *timer = evtimer_new(base, on_timeout, &timed_out);

        evtimer_add(timer, &tv);
        while (r->n < n && !timed_out)
                ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
        event_free(timer);
        ck_assert_uint_eq(r->n, n);
}

static void assert_event(Recorder *r, size_t i, StoreEventType type, const char *key, uint64_t revision)
{
        ck_assert_uint_lt(i, r->n);
        ck_assert_str_eq(store_event_type_to_string(r->events[i].type), store_event_type_to_string(type));
        ck_assert_str_eq(r->events[i].key, key);
        if (revision != 0)
                ck_assert_uint_eq(r->events[i].revision, revision);
}

START_TEST(test_watch_other_handle)
{
        _cleanup_(store_freep) Store *a = open_store(), *b = open_store();
        _cleanup_(store_watch_freep) StoreWatch *w = NULL;
        Recorder rec = {};
        uint64_t r1, r2;

        ck_assert_int_eq(store_watch(a, "nodes/", record, &rec, &w), 0);
        put_string(b, "other/x", "x");
        put_string(b, "nodesx", "x");
        /* Creates nodes/n1 and nodes/n1/qemu below the watched directory. */
        r1 = put_string(b, "nodes/n1/qemu/100.conf", "memory: 512\n");
        wait_for_events(&rec, 1);
        assert_event(&rec, 0, STORE_EVENT_PUT, "nodes/n1/qemu/100.conf", r1);

        ck_assert_int_eq(store_delete(b, "nodes/n1/qemu/100.conf", r1), 0);
        wait_for_events(&rec, 2);
        assert_event(&rec, 1, STORE_EVENT_DELETE, "nodes/n1/qemu/100.conf", 0);
        ck_assert_uint_gt(rec.events[1].revision, r1);

        /* Outside the prefix, hidden, temp: none of it may show up before the last put. */
        put_string(b, "other/y", "y");
        place_file("nodes/n1/.hidden", "x");
        place_file("nodes/n1/qemu/101.conf.tmp.Zz9Yy8", "x");
        r2 = put_string(b, "nodes/n2/status", "up");
        wait_for_events(&rec, 3);
        assert_event(&rec, 2, STORE_EVENT_PUT, "nodes/n2/status", r2);
        ck_assert_uint_eq(rec.events[1].revision, r2 - 2);
        for (size_t i = 0; i < rec.n; i++)
                free(rec.events[i].key);
}
END_TEST

START_TEST(test_watch_new_directories)
{
        _cleanup_(store_freep) Store *a = open_store(), *b = open_store();
        _cleanup_(store_watch_freep) StoreWatch *w = NULL;
        Recorder rec = {};
        uint64_t r1, r2, r3;

        ck_assert_int_eq(store_watch(a, "nodes/", record, &rec, &w), 0);
        r1 = put_string(b, "nodes/n3/qemu/200.conf", "a");
        wait_for_events(&rec, 1);
        /* The new directory is watched now: later puts into it are seen as they happen. */
        r2 = put_string(b, "nodes/n3/qemu/201.conf", "b");
        wait_for_events(&rec, 2);
        r3 = put_string(a, "nodes/n3/qemu/deeper/202.conf", "c");
        wait_for_events(&rec, 3);
        ck_assert_int_eq(store_delete(b, "nodes/n3/qemu/200.conf", STORE_REVISION_ANY), 0);
        wait_for_events(&rec, 4);
        assert_event(&rec, 0, STORE_EVENT_PUT, "nodes/n3/qemu/200.conf", r1);
        assert_event(&rec, 1, STORE_EVENT_PUT, "nodes/n3/qemu/201.conf", r2);
        assert_event(&rec, 2, STORE_EVENT_PUT, "nodes/n3/qemu/deeper/202.conf", r3);
        assert_event(&rec, 3, STORE_EVENT_DELETE, "nodes/n3/qemu/200.conf", r3 + 1);
        for (size_t i = 0; i < rec.n; i++)
                free(rec.events[i].key);
}
END_TEST

START_TEST(test_watch_string_prefix_and_root)
{
        _cleanup_(store_freep) Store *a = open_store(), *b = open_store();
        _cleanup_(store_watch_freep) StoreWatch *w = NULL, *root = NULL;
        Recorder rec = {}, all = {};
        uint64_t r1, r2, r3, r4;

        ck_assert_int_eq(store_watch(a, "nodes/n1/qemu/10", record, &rec, &w), 0);
        ck_assert_int_eq(store_watch(a, "", record, &all, &root), 0);
        r1 = put_string(b, "nodes/n1/qemu/200.conf", "x");
        r2 = put_string(b, "nodes/n1/qemu/100.conf", "x");
        r3 = put_string(b, "storage.cfg", "x");
        ck_assert_int_eq(store_delete(b, "storage.cfg", r3), 0);
        r4 = put_string(b, "nodes/n1/qemu/109.conf", "x");
        wait_for_events(&rec, 2);
        assert_event(&rec, 0, STORE_EVENT_PUT, "nodes/n1/qemu/100.conf", r2);
        assert_event(&rec, 1, STORE_EVENT_PUT, "nodes/n1/qemu/109.conf", r4);

        /* The root holds the store's own files: the counter, revisions, the lock. None is a key. */
        wait_for_events(&all, 5);
        assert_event(&all, 0, STORE_EVENT_PUT, "nodes/n1/qemu/200.conf", r1);
        assert_event(&all, 1, STORE_EVENT_PUT, "nodes/n1/qemu/100.conf", r2);
        assert_event(&all, 2, STORE_EVENT_PUT, "storage.cfg", 0);
        assert_event(&all, 3, STORE_EVENT_DELETE, "storage.cfg", r4 - 1);
        assert_event(&all, 4, STORE_EVENT_PUT, "nodes/n1/qemu/109.conf", r4);
        for (size_t i = 0; i < rec.n; i++)
                free(rec.events[i].key);
        for (size_t i = 0; i < all.n; i++)
                free(all.events[i].key);
}
END_TEST

static void write_u64(int fd, uint64_t v)
{
        ck_assert_int_eq(write(fd, &v, sizeof v), sizeof v);
}

static uint64_t read_u64(int fd)
{
        uint64_t v;
        ck_assert_int_eq(read(fd, &v, sizeof v), sizeof v);
        return v;
}

START_TEST(test_watch_other_process)
{
        _cleanup_(store_freep) Store *a = open_store();
        _cleanup_(store_watch_freep) StoreWatch *w = NULL;
        Recorder rec = {};
        int up[2], down[2], status;
        uint64_t r1, r3;
        pid_t pid;

        put_string(a, "nodes/n1/status", "up");
        ck_assert_int_eq(store_watch(a, "nodes/n1/", record, &rec, &w), 0);
        ck_assert_int_eq(pipe(up), 0);
        ck_assert_int_eq(pipe(down), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                struct event_base *b = event_base_new();
                Store *s = NULL;
                char go;

                if (!b || store_open(url, b, &s) < 0)
                        _exit(1);
                write_u64(up[1], put_string(s, "nodes/n1/status", "child"));
                put_string(s, "guests/1", "outside");
                if (read(down[0], &go, 1) != 1 || store_delete(s, "nodes/n1/status", STORE_REVISION_ANY) < 0)
                        _exit(1);
                write_u64(up[1], put_string(s, "nodes/n1/done", "yes"));
                _exit(0);
        }
        r1 = read_u64(up[0]);
        wait_for_events(&rec, 1);
        assert_event(&rec, 0, STORE_EVENT_PUT, "nodes/n1/status", r1);
        ck_assert_int_eq(write(down[1], "g", 1), 1);
        r3 = read_u64(up[0]);
        wait_for_events(&rec, 3);
        assert_event(&rec, 1, STORE_EVENT_DELETE, "nodes/n1/status", r3 - 1);
        assert_event(&rec, 2, STORE_EVENT_PUT, "nodes/n1/done", r3);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        for (size_t i = 0; i < rec.n; i++)
                free(rec.events[i].key);
}
END_TEST

typedef struct SelfFreeing {
        StoreWatch *w;
        unsigned calls;
} SelfFreeing;

static void free_on_first(Store *s, StoreEventType type, const char *key, uint64_t rev, void *userdata)
{
        SelfFreeing *sf = userdata;

        sf->calls++;
        sf->w = store_watch_free(sf->w);
}

START_TEST(test_watch_freed_by_handler)
{
        _cleanup_(store_freep) Store *a = open_store(), *b = open_store();
        _cleanup_(store_watch_freep) StoreWatch *w = NULL;
        SelfFreeing sf = {};
        Recorder rec = {};

        ck_assert_int_eq(store_watch(a, "guests/", free_on_first, &sf, &sf.w), 0);
        ck_assert_int_eq(store_watch(a, "guests/", record, &rec, &w), 0);
        put_string(b, "guests/100", "n1");
        put_string(b, "guests/101", "n1");
        wait_for_events(&rec, 2);
        put_string(b, "guests/102", "n1");
        wait_for_events(&rec, 3);
        ck_assert_uint_eq(sf.calls, 1);
        ck_assert_ptr_null(sf.w);
        for (size_t i = 0; i < rec.n; i++)
                free(rec.events[i].key);
}
END_TEST

/* Runs fn in a child process that exits with fn's return value. */
static pid_t fork_child(int (*fn)(void *), void *userdata)
{
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(fn(userdata));
        return pid;
}

static int wait_child(pid_t pid)
{
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int child_try_lock(void *userdata)
{
        struct event_base *b = event_base_new();
        Store *s = NULL;
        StoreLock *l = NULL;

        if (!b || store_open(url, b, &s) < 0)
                return 2;
        return store_lock(s, "guest-100", false, &l) == -EWOULDBLOCK ? 0 : 1;
}

static int child_wait_lock(void *userdata)
{
        int *fds = userdata;
        struct event_base *b = event_base_new();
        Store *s = NULL;
        StoreLock *l = NULL;
        char go;

        if (read(fds[0], &go, 1) != 1)
                return 1;
        if (!b || store_open(url, b, &s) < 0 || store_lock(s, "guest-100", true, &l) < 0)
                return 1;
        /* Exits holding the lock: exiting must release it. */
        return write(fds[1], "L", 1) == 1 ? 0 : 1;
}

START_TEST(test_lock)
{
        _cleanup_(store_freep) Store *a = open_store(), *b = open_store();
        StoreLock *la = NULL, *lb = NULL, *other = NULL;
        struct pollfd p = { .events = POLLIN };
        int go[2], done[2], child_fds[2];
        pid_t pid;

        /* Forked before any lock is taken: a child forked later would hold the parent's locks too. */
        ck_assert_int_eq(pipe(go), 0);
        ck_assert_int_eq(pipe(done), 0);
        child_fds[0] = go[0];
        child_fds[1] = done[1];
        pid = fork_child(child_wait_lock, child_fds);

        ck_assert_int_eq(store_lock(a, "guest-100", false, &la), 0);
        ck_assert_int_eq(store_lock(b, "guest-100", false, &lb), -EWOULDBLOCK);
        ck_assert_ptr_null(lb);
        ck_assert_int_eq(store_lock(a, "guest-100", false, &lb), -EWOULDBLOCK);
        ck_assert_int_eq(store_lock(b, "guest-101", false, &other), 0);
        ck_assert_int_eq(store_lock(b, "vmids/next", false, &lb), 0);
        lb = store_unlock(lb);
        ck_assert_int_eq(wait_child(fork_child(child_try_lock, NULL)), 0);

        ck_assert_int_eq(write(go[1], "g", 1), 1);
        p.fd = done[0];
        ck_assert_int_eq(poll(&p, 1, 200), 0);
        la = store_unlock(la);
        ck_assert_int_eq(poll(&p, 1, 10000), 1);
        ck_assert_int_eq(wait_child(pid), 0);

        ck_assert_int_eq(store_lock(b, "guest-100", false, &lb), 0);
        ck_assert_int_eq(store_lock(a, "guest-100", false, &la), -EWOULDBLOCK);
        lb = store_unlock(lb);
        ck_assert_int_eq(store_lock(a, "guest-100", false, &la), 0);
        store_unlock(la);
        store_unlock(other);
        for (size_t i = 0; i < 2; i++) {
                close(go[i]);
                close(done[i]);
        }
}
END_TEST

#define INCREMENTS 200

static int increment_counter(void *userdata)
{
        struct event_base *b = event_base_new();
        Store *s = NULL;

        if (!b || store_open(url, b, &s) < 0)
                return 1;
        for (unsigned i = 0; i < INCREMENTS; i++)
                for (;;) {
                        _cleanup_free_ char *v = NULL, *next = NULL;
                        uint64_t rev = 0;
                        int r;

                        r = store_get(s, "counter", &v, NULL, &rev);
                        if (r < 0 && r != -ENOENT)
                                return 1;
                        next = xasprintf("%lu", v ? strtoul(v, NULL, 10) + 1 : 1);
                        r = store_put(s, "counter", next, strlen(next), r == -ENOENT ? 0 : rev, NULL);
                        if (r == 0)
                                break;
                        if (r != -ESTALE)
                                return 1;
                }
        store_free(s);
        event_base_free(b);
        return 0;
}

START_TEST(test_cas_race)
{
        _cleanup_(store_freep) Store *s = NULL;
        pid_t a, b;

        a = fork_child(increment_counter, NULL);
        b = fork_child(increment_counter, NULL);
        ck_assert_int_eq(wait_child(a), 0);
        ck_assert_int_eq(wait_child(b), 0);
        s = open_store();
        _cleanup_free_ char *v = NULL;
        ck_assert_int_eq(store_get(s, "counter", &v, NULL, NULL), 0);
        ck_assert_str_eq(v, "400");
}
END_TEST

int main(void)
{
        /* Components of 99 bytes: only the total is too long. */
        memset(long_key, 'k', sizeof long_key - 1);
        for (size_t i = 100; i < sizeof long_key - 1; i += 100)
                long_key[i] = '/';
        memset(long_component, 'c', sizeof long_component - 1);
        long_component[1] = '/';

        Suite *s = suite_create("store");
        TCase *tc = tcase_create("store");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_create_only);
        tcase_add_test(tc, test_cas_stale);
        tcase_add_test(tc, test_cas_two_handles);
        tcase_add_test(tc, test_revisions_increase);
        tcase_add_test(tc, test_delete_cas);
        tcase_add_test(tc, test_list);
        tcase_add_loop_test(tc, test_invalid_keys, 0, ELEMENTSOF(invalid_keys));
        tcase_add_test(tc, test_valid_keys);
        tcase_add_loop_test(tc, test_bad_urls, 0, ELEMENTSOF(bad_urls));
        tcase_add_test(tc, test_open);
        tcase_add_test(tc, test_watch_other_handle);
        tcase_add_test(tc, test_watch_new_directories);
        tcase_add_test(tc, test_watch_string_prefix_and_root);
        tcase_add_test(tc, test_watch_other_process);
        tcase_add_test(tc, test_watch_freed_by_handler);
        tcase_add_test(tc, test_lock);
        tcase_add_test(tc, test_cas_race);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
