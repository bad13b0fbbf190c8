/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What only the file: backend does: values as plain files, keys and directories,
 * files put in by hand, URLs, a lock released by exiting, a transaction finished
 * after a crash. The contract every backend keeps is in test-store-contract.c.
 */
#include <check.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check-main.h"
#include "fileio.h"
#include "store-file.h"
#include "store-test.h"

static char *tmpdir, *storedir;

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

/* Writes a file into the store directory behind the store's back. */
static void place_file(const char *rel, const char *content)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", storedir, rel);
        _cleanup_free_ char *dir = xstrdup(p);
        *strrchr(dir, '/') = 0;
        ck_assert_int_eq(mkdir_p(dir, 0700), 0);
        ck_assert_int_eq(write_string_file_atomic(p, content, 0600), 0);
}

START_TEST(test_plain_files)
{
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_free_ char *file = NULL, *path = xasprintf("%s/guests/100", storedir);

        put_string(s, "guests/100", "n1");
        /* Values are plain files an operator can read. */
        ck_assert_int_eq(read_full_file(path, &file, NULL), 0);
        ck_assert_str_eq(file, "n1");
        ck_assert_int_eq(store_delete(s, "guests/100", STORE_REVISION_ANY), 0);
        ck_assert_int_eq(access(path, F_OK), -1);
        /* A directory is not a key. */
        ck_assert_int_eq(store_put(s, "nodes/n1/status", "up", 2, 0, NULL), 0);
        ck_assert_int_eq(store_get(s, "nodes/n1", NULL, NULL, NULL), -ENOENT);
        ck_assert_int_eq(store_delete(s, "nodes/n1", STORE_REVISION_ANY), -ENOENT);
        ck_assert_int_eq(store_put(s, "nodes/n1", "x", 1, STORE_REVISION_ANY, NULL), -EISDIR);
        StoreTxnOp nested[] = { { .type = STORE_TXN_PUT, .key = "a", .value = "1", .size = 1 },
                { .type = STORE_TXN_PUT, .key = "a/b", .value = "1", .size = 1 } };
        StoreTxnOp onto_dir[] = { { .type = STORE_TXN_PUT, .key = "b", .value = "1", .size = 1 },
                { .type = STORE_TXN_PUT, .key = "nodes/n1", .value = "1", .size = 1 } };
        ck_assert_int_eq(store_txn(s, NULL, 0, nested, 2, NULL), -EISDIR);
        ck_assert_int_eq(store_txn(s, NULL, 0, onto_dir, 2, NULL), -EISDIR);
        ck_assert_int_eq(store_get(s, "a", NULL, NULL, NULL), -ENOENT);
        ck_assert_int_eq(store_get(s, "b", NULL, NULL, NULL), -ENOENT);
}
END_TEST

START_TEST(test_hand_made_files)
{
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_free_ char *sidecar = xasprintf("%s/.rev/nodes/n1/status", storedir);
        StoreEntry *e = NULL;
        size_t n = 1;

        put_string(s, "nodes/n1/status", "up");
        /* Neither hidden files nor leftover temp files are keys. */
        place_file("nodes/n1/.hidden", "x");
        place_file("nodes/.cache/x", "x");
        place_file("nodes/n1/qemu/100.conf.tmp.Ab12Cd", "x");
        ck_assert_int_eq(access(sidecar, F_OK), 0);
        ck_assert_int_eq(store_list(s, "nodes/", &e, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(e[0].key, "nodes/n1/status");
        store_entries_free(e, n);

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
        { "etcd:", -EINVAL },
        { "etcd:127.0.0.1:2379", -EINVAL },
        { "etcd:http://127.0.0.1", -EINVAL },
        { "etcd:http://127.0.0.1:0", -EINVAL },
        { "etcd:http://127.0.0.1:2379,", -EINVAL },
        { "etcd:ftp://127.0.0.1:2379", -EPROTONOSUPPORT },
        { "etcd:http://127.0.0.1:2379?namespace=no-slash", -EINVAL },
        { "etcd:http://127.0.0.1:2379?namespace=../x/", -EINVAL },
        { "etcd:http://127.0.0.1:2379?timeout=0", -EINVAL },
        { "etcd:http://127.0.0.1:2379?timeout=5s", -EINVAL },
        { "etcd:http://127.0.0.1:2379?frob=1", -EINVAL },
        { "etcd:http://127.0.0.1:2379?namespace", -EINVAL },
        { "etcd:https://127.0.0.1:2379?cacert=/nonexistent", -EIO },
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

START_TEST(test_watch_skips_bookkeeping)
{
        _cleanup_(store_freep) Store *a = open_store(), *b = open_store();
        _cleanup_(store_watch_freep) StoreWatch *w = NULL;
        Recorder rec = {};
        uint64_t rev;

        ck_assert_int_eq(store_watch(a, "nodes/", record, &rec, &w), 0);
        /* Hidden and temp files are no keys: none of them may show up before the put. */
        place_file("nodes/n1/.hidden", "x");
        place_file("nodes/n1/qemu/101.conf.tmp.Zz9Yy8", "x");
        place_file("nodes/.cache/x", "x");
        rev = put_string(b, "nodes/n2/status", "up");
        wait_for_events(&rec, 1);
        assert_event(&rec, 0, STORE_EVENT_PUT, "nodes/n2/status", rev);
        recorder_done(&rec);
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
        recorder_done(&rec);
}
END_TEST

/* Takes the lock, says so, and exits holding it: exiting must release it. */
static int child_lock_and_exit(void *userdata)
{
        int fd = *(int *) userdata;
        struct event_base *b = event_base_new();
        Store *s = NULL;
        StoreLock *l = NULL;

        if (!b || store_open(url, b, &s) < 0 || store_lock(s, "guest-100", true, &l) < 0)
                return 1;
        return write(fd, "L", 1) == 1 ? 0 : 1;
}

START_TEST(test_lock_released_by_exit)
{
        _cleanup_(store_freep) Store *a = open_store();
        StoreLock *l = NULL;
        int fds[2];
        char c;

        ck_assert_int_eq(pipe(fds), 0);
        ck_assert_int_eq(wait_child(fork_child(child_lock_and_exit, &fds[1])), 0);
        ck_assert_int_eq(read(fds[0], &c, 1), 1);
        ck_assert_int_eq(store_lock(a, "guest-100", false, &l), 0);
        store_unlock(l);
        close(fds[0]);
        close(fds[1]);
}
END_TEST

START_TEST(test_txn_after_crash)
{
        _cleanup_(store_freep) Store *s = open_store(), *b = NULL;
        _cleanup_free_ char *journal = xasprintf("%s/.txn", storedir), *text = NULL;
        uint64_t conf = put_string(s, "nodes/n1/qemu/100.conf", "memory: 512\n");
        FileJournal j = {};

        /* What a transaction writes first, left behind by a crash before any of its writes was done. */
        text = xasprintf("berth-txn 1\nrevision %" PRIu64 "\n"
                         "delete nodes/n1/qemu/100.conf\n"
                         "put nodes/n2/qemu/100.conf 0000000000000000 12\nmemory: 512\n\n"
                         "put guests/100 0000000000000000 2\nn2\n",
                conf + 1);
        ck_assert_int_eq(file_journal_parse(text, strlen(text), &j), 0);
        ck_assert_uint_eq(j.n, 3);
        file_journal_free(&j);
        ck_assert_int_eq(write_string_file_atomic(journal, text, 0600), 0);

        /* The next taker of the lock, a reader too, finishes it first. */
        b = open_store();
        assert_value(b, "guests/100", "n2", conf + 1);
        assert_value(b, "nodes/n2/qemu/100.conf", "memory: 512\n", conf + 1);
        ck_assert_int_eq(store_get(b, "nodes/n1/qemu/100.conf", NULL, NULL, NULL), -ENOENT);
        ck_assert_int_eq(access(journal, F_OK), -1);
        ck_assert_uint_gt(put_string(s, "next", "x"), conf + 1);
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
        TCase *tc = tcase_create("file");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_plain_files);
        tcase_add_test(tc, test_hand_made_files);
        tcase_add_loop_test(tc, test_invalid_keys, 0, ELEMENTSOF(invalid_keys));
        tcase_add_test(tc, test_valid_keys);
        tcase_add_loop_test(tc, test_bad_urls, 0, ELEMENTSOF(bad_urls));
        tcase_add_test(tc, test_open);
        tcase_add_test(tc, test_watch_skips_bookkeeping);
        tcase_add_test(tc, test_watch_new_directories);
        tcase_add_test(tc, test_lock_released_by_exit);
        tcase_add_test(tc, test_txn_after_crash);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
