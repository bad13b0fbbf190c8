/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store's contract, the same cases against every backend: file: on a
 * temporary directory, and etcd: on a real etcd started here (each test in a
 * namespace of its own). What only one backend does is tested in test-store.c
 * and test-store-etcd.c.
 */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "check-main.h"
#include "etcd-test.h"
#include "store-test.h"

static char *tmpdir;
static EtcdTest etcd;

static void file_setup(void)
{
        tmpdir = test_tmpdir_new();
        url = xasprintf("file:%s/store", tmpdir);
        base = event_base_new();
        ck_assert_ptr_nonnull(base);
}

static void file_teardown(void)
{
        event_base_free(base);
        free(url);
        test_tmpdir_free(tmpdir);
}

static void etcd_start(void)
{
        etcd_test_start(&etcd, 1);
}

static void etcd_stop(void)
{
        etcd_test_stop(&etcd);
}

/* Every test runs in a process of its own: its pid names a namespace no other test uses. */
static void etcd_setup(void)
{
        url = xasprintf("etcd:%s?namespace=t%d/", etcd.endpoints, (int) getpid());
        base = event_base_new();
        ck_assert_ptr_nonnull(base);
}

static void etcd_teardown(void)
{
        event_base_free(base);
        free(url);
}

START_TEST(test_round_trip)
{
        _cleanup_(store_freep) Store *s = open_store(), *s2 = open_store();
        _cleanup_free_ char *v = NULL;
        uint64_t r1, r2, rev = 0;
        size_t n = 99;

        ck_assert_int_eq(store_get(s, "guests/100", &v, &n, &rev), -ENOENT);
        ck_assert_uint_eq(n, 99);
        r1 = put_string(s, "guests/100", "n1");
        ck_assert_uint_ge(r1, 1);
        assert_value(s, "guests/100", "n1", r1);

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

        ck_assert_int_eq(store_get(s2, "guests/100", NULL, NULL, &rev), 0);
        ck_assert_uint_eq(rev, r2);
        ck_assert_int_eq(store_delete(s, "guests/100", STORE_REVISION_ANY), 0);
        ck_assert_int_eq(store_get(s2, "guests/100", NULL, NULL, NULL), -ENOENT);
        ck_assert_int_eq(store_delete(s2, "guests/100", STORE_REVISION_ANY), -ENOENT);
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
        _cleanup_(store_unlockp) StoreLock *lock = NULL;
        const char *puts[] = { "storage.cfg", "nodes/n1/status", "nodes/n1/qemu/101.conf",
                "nodes/n1/qemu/100.conf", "nodes/n2/status", "nodesx", "guests/100" };
        const char *nodes[] = { "nodes/n1/qemu/100.conf", "nodes/n1/qemu/101.conf", "nodes/n1/status",
                "nodes/n2/status" };
        const char *all[] = { "guests/100", "nodes/n1/qemu/100.conf", "nodes/n1/qemu/101.conf",
                "nodes/n1/status", "nodes/n2/status", "nodesx", "storage.cfg" };
        StoreEntry *e = NULL;
        size_t n = 1;

        for (size_t i = 0; i < ELEMENTSOF(puts); i++)
                put_string(s, puts[i], puts[i]);
        /* A lock is no key. */
        ck_assert_int_eq(store_lock(s, "nodes", false, &lock), 0);

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
}
END_TEST

START_TEST(test_watch_other_handle)
{
        _cleanup_(store_freep) Store *a = open_store(), *b = open_store();
        _cleanup_(store_watch_freep) StoreWatch *w = NULL;
        Recorder rec = {};
        uint64_t r1, r2;

        ck_assert_int_eq(store_watch(a, "nodes/", record, &rec, &w), 0);
        put_string(b, "other/x", "x");
        put_string(b, "nodesx", "x");
        r1 = put_string(b, "nodes/n1/qemu/100.conf", "memory: 512\n");
        wait_for_events(&rec, 1);
        assert_event(&rec, 0, STORE_EVENT_PUT, "nodes/n1/qemu/100.conf", r1);

        ck_assert_int_eq(store_delete(b, "nodes/n1/qemu/100.conf", r1), 0);
        wait_for_events(&rec, 2);
        assert_event(&rec, 1, STORE_EVENT_DELETE, "nodes/n1/qemu/100.conf", 0);
        ck_assert_uint_gt(rec.events[1].revision, r1);

        /* Outside the prefix: nothing may show up before the last put. */
        put_string(b, "other/y", "y");
        r2 = put_string(b, "nodes/n2/status", "up");
        wait_for_events(&rec, 3);
        assert_event(&rec, 2, STORE_EVENT_PUT, "nodes/n2/status", r2);
        ck_assert_uint_eq(rec.events[1].revision, r2 - 2);
        recorder_done(&rec);
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

        wait_for_events(&all, 5);
        assert_event(&all, 0, STORE_EVENT_PUT, "nodes/n1/qemu/200.conf", r1);
        assert_event(&all, 1, STORE_EVENT_PUT, "nodes/n1/qemu/100.conf", r2);
        assert_event(&all, 2, STORE_EVENT_PUT, "storage.cfg", 0);
        assert_event(&all, 3, STORE_EVENT_DELETE, "storage.cfg", r4 - 1);
        assert_event(&all, 4, STORE_EVENT_PUT, "nodes/n1/qemu/109.conf", r4);
        recorder_done(&rec);
        recorder_done(&all);
}
END_TEST

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
        recorder_done(&rec);
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
        recorder_done(&rec);
}
END_TEST

static int child_try_lock(void *userdata)
{
        struct event_base *b = event_base_new();
        Store *s = NULL;
        StoreLock *l = NULL;

        if (!b || store_open(url, b, &s) < 0)
                return 2;
        return store_lock(s, "guest-100", false, &l) == -EWOULDBLOCK ? 0 : 1;
}

/* Waits for the lock, says so, and gives it back when told. */
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
        if (write(fds[1], "L", 1) != 1 || read(fds[0], &go, 1) != 1)
                return 1;
        store_unlock(l);
        return 0;
}

START_TEST(test_lock)
{
        _cleanup_(store_freep) Store *a = open_store(), *b = open_store();
        StoreLock *la = NULL, *lb = NULL, *other = NULL;
        struct pollfd p = { .events = POLLIN };
        int go[2], done[2], child_fds[2];
        pid_t pid;

        /* Forked before any lock is taken: with file:, a child forked later would hold the parent's locks too. */
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

        /* The waiting child gets the lock when it is given back, and not before. */
        ck_assert_int_eq(write(go[1], "g", 1), 1);
        p.fd = done[0];
        ck_assert_int_eq(poll(&p, 1, 200), 0);
        la = store_unlock(la);
        ck_assert_int_eq(poll(&p, 1, 60000), 1);
        ck_assert_int_eq(store_lock(a, "guest-100", false, &la), -EWOULDBLOCK);
        ck_assert_int_eq(write(go[1], "g", 1), 1);
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
        _cleanup_free_ char *v = NULL;
        pid_t a, b;

        a = fork_child(increment_counter, NULL);
        b = fork_child(increment_counter, NULL);
        ck_assert_int_eq(wait_child(a), 0);
        ck_assert_int_eq(wait_child(b), 0);
        s = open_store();
        ck_assert_int_eq(store_get(s, "counter", &v, NULL, NULL), 0);
        ck_assert_str_eq(v, "400");
}
END_TEST

START_TEST(test_txn)
{
        _cleanup_(store_freep) Store *s = open_store(), *b = open_store();
        _cleanup_(store_watch_freep) StoreWatch *w = NULL;
        Recorder rec = {};
        uint64_t conf, rev, rev2;

        conf = put_string(s, "nodes/n1/qemu/100.conf", "memory: 512\n");
        put_string(s, "nodes/n1/qemu-status/100", "running");
        ck_assert_int_eq(store_watch(b, "", record, &rec, &w), 0);

        /* A guest moves: its config and status go to n2, its index entry changes, all at once. */
        StoreCompare moved[] = { { .key = "nodes/n1/qemu/100.conf", .revision = conf },
                { .key = "nodes/n2/qemu/100.conf", .revision = 0 } };
        StoreTxnOp move[] = {
                { .type = STORE_TXN_DELETE, .key = "nodes/n1/qemu/100.conf" },
                { .type = STORE_TXN_DELETE, .key = "nodes/n1/qemu-status/100" },
                { .type = STORE_TXN_PUT, .key = "nodes/n2/qemu/100.conf", .value = "memory: 512\n", .size = 12 },
                { .type = STORE_TXN_PUT, .key = "guests/100", .value = "n2", .size = 2 },
                { .type = STORE_TXN_DELETE, .key = "never/was" },
        };
        ck_assert_int_eq(store_txn(s, moved, ELEMENTSOF(moved), move, ELEMENTSOF(move), &rev), 0);
        ck_assert_uint_gt(rev, conf);
        assert_value(s, "nodes/n2/qemu/100.conf", "memory: 512\n", rev);
        assert_value(s, "guests/100", "n2", rev);
        ck_assert_int_eq(store_get(s, "nodes/n1/qemu/100.conf", NULL, NULL, NULL), -ENOENT);
        ck_assert_int_eq(store_get(s, "nodes/n1/qemu-status/100", NULL, NULL, NULL), -ENOENT);
        wait_for_events(&rec, 4);
        for (size_t i = 0; i < rec.n; i++)
                ck_assert_uint_eq(rec.events[i].revision, rev);

        /* The same again: the compares fail, and nothing changes. */
        ck_assert_int_eq(store_txn(s, moved, ELEMENTSOF(moved), move, ELEMENTSOF(move), &rev2), -ESTALE);
        assert_value(s, "guests/100", "n2", rev);
        StoreCompare second_fails[] = { { .key = "guests/100", .revision = rev },
                { .key = "guests/101", .revision = rev } };
        StoreTxnOp claim[] = { { .type = STORE_TXN_PUT, .key = "guests/101", .value = "n2", .size = 2 } };
        ck_assert_int_eq(store_txn(s, second_fails, 2, claim, 1, NULL), -ESTALE);
        ck_assert_int_eq(store_get(s, "guests/101", NULL, NULL, NULL), -ENOENT);

        /* No compares: applied as it stands. No operations: only the compares. */
        ck_assert_int_eq(store_txn(s, NULL, 0, claim, 1, &rev2), 0);
        assert_value(s, "guests/101", "n2", rev2);
        ck_assert_int_eq(store_txn(s, second_fails, 1, NULL, 0, NULL), 0);
        ck_assert_int_eq(store_txn(s, second_fails + 1, 1, NULL, 0, NULL), -ESTALE);
        recorder_done(&rec);
}
END_TEST

START_TEST(test_txn_invalid)
{
        _cleanup_(store_freep) Store *s = open_store();
        StoreEntry *e = NULL;
        size_t n;

        StoreTxnOp twice[] = { { .type = STORE_TXN_PUT, .key = "a", .value = "1", .size = 1 },
                { .type = STORE_TXN_DELETE, .key = "a" } };
        StoreTxnOp bad_key[] = { { .type = STORE_TXN_PUT, .key = "b", .value = "1", .size = 1 },
                { .type = STORE_TXN_PUT, .key = "../x", .value = "1", .size = 1 } };
        StoreTxnOp bad_type[] = { { .type = _STORE_TXN_OP_TYPE_MAX, .key = "a" } };
        StoreTxnOp no_value[] = { { .type = STORE_TXN_PUT, .key = "a", .size = 3 } };
        StoreCompare neither[] = { { .revision = 1 } };
        StoreCompare bad_compare[] = { { .key = "a//b" } };

        ck_assert_int_eq(store_txn(s, NULL, 0, twice, 2, NULL), -EINVAL);
        ck_assert_int_eq(store_txn(s, NULL, 0, bad_key, 2, NULL), -EINVAL);
        ck_assert_int_eq(store_txn(s, NULL, 0, bad_type, 1, NULL), -EINVAL);
        ck_assert_int_eq(store_txn(s, NULL, 0, no_value, 1, NULL), -EINVAL);
        ck_assert_int_eq(store_txn(s, neither, 1, NULL, 0, NULL), -EINVAL);
        ck_assert_int_eq(store_txn(s, bad_compare, 1, NULL, 0, NULL), -EINVAL);
        ck_assert_int_eq(store_txn(s, NULL, 1, NULL, 0, NULL), -EINVAL);
        ck_assert_int_eq(store_list(s, "", &e, &n), 0);
        ck_assert_uint_eq(n, 0);
        free(e);
}
END_TEST

START_TEST(test_txn_lock_fence)
{
        _cleanup_(store_freep) Store *s = open_store(), *b = open_store();
        _cleanup_(store_unlockp) StoreLock *l = NULL;
        StoreTxnOp write_it[] = { { .type = STORE_TXN_PUT, .key = "fenced", .value = "1", .size = 1 } };
        uint64_t rev;

        ck_assert_int_eq(store_lock(s, "fence", false, &l), 0);
        StoreCompare held[] = { { .lock = l } };
        ck_assert_int_eq(store_txn(s, held, 1, write_it, 1, &rev), 0);
        assert_value(b, "fenced", "1", rev);
}
END_TEST

typedef struct Lost {
        unsigned calls;
} Lost;

static void on_lost(StoreLease *l, void *userdata)
{
        ((Lost *) userdata)->calls++;
}

START_TEST(test_lease_revoke)
{
        _cleanup_(store_freep) Store *s = open_store(), *b = open_store();
        _cleanup_(store_watch_freep) StoreWatch *w = NULL;
        StoreLease *lease = NULL;
        Lost lost = {};
        Recorder rec = {};
        uint64_t rev;

        ck_assert_int_eq(store_lease_grant(s, 0, on_lost, &lost, &lease), -EINVAL);
        ck_assert_int_eq(store_lease_grant(s, 86401, on_lost, &lost, &lease), -EINVAL);
        ck_assert_int_eq(store_lease_grant(s, 30, on_lost, &lost, &lease), 0);
        ck_assert(!store_lease_is_lost(lease));
        StoreTxnOp status[] = {
                { .type = STORE_TXN_PUT, .key = "nodes/n1/status", .value = "up", .size = 2, .lease = lease }
        };
        StoreTxnOp bad[] = { { .type = STORE_TXN_DELETE, .key = "nodes/n1/status", .lease = lease } };
        ck_assert_int_eq(store_txn(s, NULL, 0, bad, 1, NULL), -EINVAL);
        ck_assert_int_eq(store_txn(s, NULL, 0, status, 1, &rev), 0);
        assert_value(b, "nodes/n1/status", "up", rev);
        put_string(s, "nodes/n1/other", "stays");

        ck_assert_int_eq(store_watch(b, "nodes/", record, &rec, &w), 0);
        store_lease_revoke(lease);
        wait_for_events(&rec, 1);
        assert_event(&rec, 0, STORE_EVENT_DELETE, "nodes/n1/status", 0);
        ck_assert_int_eq(store_get(b, "nodes/n1/status", NULL, NULL, NULL), -ENOENT);
        assert_value(b, "nodes/n1/other", "stays", rec.events[0].revision - 1);
        ck_assert_uint_eq(lost.calls, 0);
        recorder_done(&rec);
}
END_TEST

/* A child that puts a key on a lease, says so, and dies without revoking it. */
static int child_lease_and_die(void *userdata)
{
        int fd = *(int *) userdata;
        struct event_base *b = event_base_new();
        StoreLease *lease = NULL;
        Store *s = NULL;

        if (!b || store_open(url, b, &s) < 0 || store_lease_grant(s, 1, NULL, NULL, &lease) < 0)
                return 1;
        StoreTxnOp status[] = {
                { .type = STORE_TXN_PUT, .key = "nodes/n9/status", .value = "up", .size = 2, .lease = lease }
        };
        if (store_txn(s, NULL, 0, status, 1, NULL) < 0 || write(fd, "p", 1) != 1)
                return 1;
        pause();
        return 0;
}

START_TEST(test_lease_expires)
{
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(store_watch_freep) StoreWatch *w = NULL;
        Recorder rec = {};
        int fds[2];
        char c;
        pid_t pid;

        ck_assert_int_eq(store_watch(s, "nodes/", record, &rec, &w), 0);
        ck_assert_int_eq(pipe(fds), 0);
        pid = fork_child(child_lease_and_die, &fds[1]);
        ck_assert_int_eq(read(fds[0], &c, 1), 1);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        /* The put, then the delete when the lease ran out with nobody to renew it. */
        wait_for_events(&rec, 2);
        assert_event(&rec, 0, STORE_EVENT_PUT, "nodes/n9/status", 0);
        assert_event(&rec, 1, STORE_EVENT_DELETE, "nodes/n9/status", 0);
        ck_assert_int_eq(store_get(s, "nodes/n9/status", NULL, NULL, NULL), -ENOENT);
        close(fds[0]);
        close(fds[1]);
        recorder_done(&rec);
}
END_TEST

static void on_lost_stop(StoreLease *l, void *userdata)
{
        ((Lost *) userdata)->calls++;
        event_base_loopbreak(base);
}

START_TEST(test_lease_lost)
{
        _cleanup_(store_freep) Store *s = open_store(), *b = open_store();
        StoreLease *lease = NULL;
        Lost lost = {};
        struct timespec t0, now;
        uint64_t rev;

        ck_assert_int_eq(store_lease_grant(s, 1, on_lost_stop, &lost, &lease), 0);
        StoreTxnOp status[] = {
                { .type = STORE_TXN_PUT, .key = "nodes/n1/status", .value = "up", .size = 2, .lease = lease }
        };
        ck_assert_int_eq(store_txn(s, NULL, 0, status, 1, &rev), 0);
        /* The loop stands still (a stopped or stuck daemon): nothing renews the lease, which runs out. */
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do {
                ck_assert_int_eq(poll(NULL, 0, 100), 0);
                clock_gettime(CLOCK_MONOTONIC, &now);
        } while (store_get(b, "nodes/n1/status", NULL, NULL, NULL) == 0 && now.tv_sec - t0.tv_sec < 60);
        ck_assert_int_eq(store_get(b, "nodes/n1/status", NULL, NULL, NULL), -ENOENT);
        /* Once the loop runs again, the owner hears the lease is lost, and a put on it is refused. */
        ck_assert_int_ge(event_base_dispatch(base), 0);
        ck_assert_uint_eq(lost.calls, 1);
        ck_assert(store_lease_is_lost(lease));
        ck_assert_int_eq(store_txn(s, NULL, 0, status, 1, NULL), -EKEYEXPIRED);
        store_lease_revoke(lease);
}
END_TEST

static void add_cases(TCase *tc)
{
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_create_only);
        tcase_add_test(tc, test_cas_stale);
        tcase_add_test(tc, test_cas_two_handles);
        tcase_add_test(tc, test_revisions_increase);
        tcase_add_test(tc, test_delete_cas);
        tcase_add_test(tc, test_list);
        tcase_add_test(tc, test_watch_other_handle);
        tcase_add_test(tc, test_watch_string_prefix_and_root);
        tcase_add_test(tc, test_watch_other_process);
        tcase_add_test(tc, test_watch_freed_by_handler);
        tcase_add_test(tc, test_lock);
        tcase_add_test(tc, test_cas_race);
        tcase_add_test(tc, test_txn);
        tcase_add_test(tc, test_txn_invalid);
        tcase_add_test(tc, test_txn_lock_fence);
        tcase_add_test(tc, test_lease_revoke);
        tcase_add_test(tc, test_lease_expires);
        tcase_add_test(tc, test_lease_lost);
        tcase_set_timeout(tc, 120);
}

int main(void)
{
        Suite *s = suite_create("store-contract");
        TCase *file = tcase_create("file"), *etcd_case = tcase_create("etcd");

        tcase_add_checked_fixture(file, file_setup, file_teardown);
        add_cases(file);
        suite_add_tcase(s, file);

        tcase_add_unchecked_fixture(etcd_case, etcd_start, etcd_stop);
        tcase_add_checked_fixture(etcd_case, etcd_setup, etcd_teardown);
        add_cases(etcd_case);
        suite_add_tcase(s, etcd_case);
        return run_suite(s);
}
