/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What only the etcd: backend does, against real etcd members: an etcd out of
 * reach or hanging fails every call with -EHOSTDOWN within the timeout, calls
 * fail over between members, a watch resumes across a lost member without
 * losing a change and recovers from a compaction, and a lock whose lease is
 * gone no longer fences a write.
 */
#include <check.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "check-main.h"
#include "etcd-test.h"
#include "http-client.h"
#include "store-test.h"

static EtcdTest etcd;

static void setup_base(void)
{
        base = event_base_new();
        ck_assert_ptr_nonnull(base);
}

static void teardown_base(void)
{
        event_base_free(base);
        free(url);
}

/* A POST to one member's JSON gateway, for what the store does not do: compaction, lease revocation. */
static char *etcd_post(size_t member, const char *path, const char *body)
{
        _cleanup_free_ char *endpoint = xasprintf("http://127.0.0.1:%d", etcd.client_ports[member]);
        struct event_base *b = event_base_new();
        HttpClient *c = NULL;
        char *response = NULL;
        int status = 0;

        ck_assert_int_eq(http_client_new(b, &endpoint, 1, NULL, &c), 0);
        ck_assert_int_eq(http_client_post_sync(c, path, body, &status, &response, NULL), 0);
        ck_assert_msg(status == 200, "%s answered %d: %s", path, status, response);
        http_client_free(c);
        event_base_free(b);
        return response;
}

/* Polls until the member's own copy (a serializable read) has reached revision; bounded at 60 s. */
static void wait_member_at(size_t member, uint64_t revision)
{
        time_t deadline = time(NULL) + 60;

        for (;;) {
                _cleanup_free_ char *endpoint = xasprintf("http://127.0.0.1:%d", etcd.client_ports[member]),
                                    *answer = NULL;
                struct event_base *b = event_base_new();
                HttpClient *c = NULL;
                const char *rev;
                uint64_t at = 0;
                int status = 0;

                ck_assert_int_eq(http_client_new(b, &endpoint, 1, NULL, &c), 0);
                if (http_client_post_sync(c, "/v3/kv/range", "{\"key\":\"eA==\",\"serializable\":true}",
                            &status, &answer, NULL) >= 0 &&
                        status == 200 && (rev = strstr(answer, "\"revision\":\"")))
                        sscanf(rev, "\"revision\":\"%" SCNu64, &at);
                http_client_free(c);
                event_base_free(b);
                if (at >= revision)
                        return;
                ck_assert_msg(time(NULL) < deadline, "member %zu stays behind revision %" PRIu64, member,
                        revision);
                usleep(50 * 1000);
        }
}

/* After a member was killed, the others may take a moment to agree on a leader: until writes go through. */
static void wait_writable(Store *s)
{
        time_t deadline = time(NULL) + 60;
        int r;

        while ((r = store_put(s, "probe", "", 0, STORE_REVISION_ANY, NULL)) == -EHOSTDOWN)
                ck_assert_msg(time(NULL) < deadline, "no leader after a member was killed");
        ck_assert_int_eq(r, 0);
}

static void unreached(Store *s, StoreEventType type, const char *key, uint64_t rev, void *userdata)
{
        ck_abort_msg("unexpected event");
}

/*
 * Every call that needs etcd fails with -EHOSTDOWN. Against a member that never answers, only
 * the call's deadline can end it: a call without one would hang until the test's own timeout.
 */
static void assert_unavailable(Store *s)
{
        StoreTxnOp op[] = { { .type = STORE_TXN_PUT, .key = "k", .value = "v", .size = 1 } };
        StoreEntry *e = NULL;
        StoreWatch *w = NULL;
        StoreLock *l = NULL;
        StoreLease *lease = NULL;
        size_t n;

        ck_assert_int_eq(store_get(s, "k", NULL, NULL, NULL), -EHOSTDOWN);
        ck_assert_int_eq(store_put(s, "k", "v", 1, STORE_REVISION_ANY, NULL), -EHOSTDOWN);
        ck_assert_int_eq(store_delete(s, "k", STORE_REVISION_ANY), -EHOSTDOWN);
        ck_assert_int_eq(store_list(s, "", &e, &n), -EHOSTDOWN);
        ck_assert_int_eq(store_txn(s, NULL, 0, op, 1, NULL), -EHOSTDOWN);
        ck_assert_int_eq(store_watch(s, "", unreached, NULL, &w), -EHOSTDOWN);
        ck_assert_int_eq(store_lock(s, "l", false, &l), -EHOSTDOWN);
        ck_assert_int_eq(store_lease_grant(s, 10, NULL, NULL, &lease), -EHOSTDOWN);
}

START_TEST(test_unreachable)
{
        _cleanup_(store_freep) Store *s = NULL;

        url = xasprintf("etcd:http://127.0.0.1:%d?timeout=500", etcd_test_free_port());
        s = open_store();
        assert_unavailable(s);
}
END_TEST

START_TEST(test_hanging)
{
        _cleanup_(store_freep) Store *s = NULL;
        uint64_t rev;

        etcd_test_start(&etcd, 1);
        url = xasprintf("etcd:%s?timeout=500", etcd.endpoints);
        s = open_store();
        rev = put_string(s, "before", "v");
        /* A stopped etcd takes the connection and never answers: only the deadline ends a call. */
        etcd_test_freeze(&etcd, 0);
        assert_unavailable(s);
        /* Back, it answers again. (What timed out may still have been done: the caller cannot know.) */
        ck_assert_int_eq(kill(etcd.pids[0], SIGCONT), 0);
        assert_value(s, "before", "v", rev);
        etcd_test_stop(&etcd);
}
END_TEST

START_TEST(test_failover)
{
        _cleanup_(store_freep) Store *s = NULL;
        uint64_t rev;

        etcd_test_start(&etcd, 3);
        url = xasprintf("etcd:%s?timeout=2000", etcd.endpoints);
        s = open_store();
        rev = put_string(s, "before", "1");
        /* The member the store talks to goes: the next calls go to another one. */
        etcd_test_kill(&etcd, 0);
        wait_writable(s);
        put_string(s, "after", "2");
        assert_value(s, "before", "1", rev);
        etcd_test_stop(&etcd);
}
END_TEST

/* Three members: a talks to member 0 only, b to the two others. */
static void open_apart(Store **a, Store **b)
{
        _cleanup_free_ char *other = NULL;

        etcd_test_start(&etcd, 3);
        url = xasprintf("etcd:http://127.0.0.1:%d", etcd.client_ports[0]);
        *a = open_store();
        other = xasprintf(
                "etcd:http://127.0.0.1:%d,http://127.0.0.1:%d", etcd.client_ports[1], etcd.client_ports[2]);
        ck_assert_int_eq(store_open(other, base, b), 0);
}

/* A watch on member 0 only; member 0 goes, changes happen elsewhere, it comes back. */
START_TEST(test_watch_resumes)
{
        _cleanup_(store_freep) Store *a = NULL, *b = NULL;
        _cleanup_(store_watch_freep) StoreWatch *w = NULL;
        Recorder rec = {};
        uint64_t r1, r2;

        open_apart(&a, &b);
        ck_assert_int_eq(store_watch(a, "nodes/", record, &rec, &w), 0);
        r1 = put_string(b, "nodes/n1/status", "up");
        wait_for_events(&rec, 1);

        /* The stream is gone; the watch tries again from its loop, once that runs. */
        etcd_test_kill(&etcd, 0);
        wait_writable(b);
        r2 = put_string(b, "nodes/n2/status", "up");
        ck_assert_int_eq(store_delete(b, "nodes/n1/status", STORE_REVISION_ANY), 0);
        etcd_test_restart(&etcd, 0);
        wait_for_events(&rec, 3);
        assert_event(&rec, 0, STORE_EVENT_PUT, "nodes/n1/status", r1);
        assert_event(&rec, 1, STORE_EVENT_PUT, "nodes/n2/status", r2);
        assert_event(&rec, 2, STORE_EVENT_DELETE, "nodes/n1/status", r2 + 1);
        recorder_done(&rec);
        etcd_test_stop(&etcd);
}
END_TEST

START_TEST(test_watch_after_compaction)
{
        _cleanup_(store_freep) Store *a = NULL, *b = NULL;
        _cleanup_(store_watch_freep) StoreWatch *w = NULL;
        _cleanup_free_ char *compact = NULL, *answer = NULL;
        Recorder rec = {};
        uint64_t kept, changed, added, last;

        open_apart(&a, &b);
        kept = put_string(b, "nodes/kept", "1");
        put_string(b, "nodes/changed", "1");
        put_string(b, "nodes/gone", "1");
        ck_assert_int_eq(store_watch(a, "nodes/", record, &rec, &w), 0);

        etcd_test_kill(&etcd, 0);
        wait_writable(b);
        changed = put_string(b, "nodes/changed", "2");
        ck_assert_int_eq(store_delete(b, "nodes/gone", STORE_REVISION_ANY), 0);
        put_string(b, "nodes/brief", "1");
        ck_assert_int_eq(store_delete(b, "nodes/brief", STORE_REVISION_ANY), 0);
        added = put_string(b, "nodes/added", "1");
        last = put_string(b, "other", "1");
        /* Everything the watch has not seen is compacted away before it can ask. */
        compact = xasprintf("{\"revision\":\"%" PRIu64 "\",\"physical\":true}", last);
        answer = etcd_post(1, "/v3/kv/compaction", compact);
        /* The watch's loop has not run since: it asks member 0 once member 0 knows all of it. */
        etcd_test_restart(&etcd, 0);
        wait_member_at(0, last);

        /* The difference, in key order; the key put and deleted meanwhile is no change at all. */
        wait_for_events(&rec, 3);
        assert_event(&rec, 0, STORE_EVENT_PUT, "nodes/added", added);
        assert_event(&rec, 1, STORE_EVENT_PUT, "nodes/changed", changed);
        assert_event(&rec, 2, STORE_EVENT_DELETE, "nodes/gone", 0);
        ck_assert_uint_ge(rec.events[2].revision, last);
        assert_value(a, "nodes/kept", "1", kept);
        /* And on it goes from there. */
        put_string(b, "nodes/later", "1");
        wait_for_events(&rec, 4);
        assert_event(&rec, 3, STORE_EVENT_PUT, "nodes/later", 0);
        recorder_done(&rec);
        etcd_test_stop(&etcd);
}
END_TEST

/* The lease behind the namespace's only lock key, as etcd's JSON gives it. */
static char *lock_lease(const char *ns)
{
        _cleanup_free_ char *prefix = xasprintf("%s.locks/", ns), *end = xstrdup(prefix), *key = NULL,
                            *range_end = NULL, *body = NULL, *answer = NULL;
        const char *lease;
        char id[32];

        end[strlen(end) - 1]++;
        key = base64_encode(prefix, strlen(prefix));
        range_end = base64_encode(end, strlen(end));
        body = xasprintf("{\"key\":\"%s\",\"range_end\":\"%s\"}", key, range_end);
        answer = etcd_post(0, "/v3/kv/range", body);
        lease = strstr(answer, "\"lease\":\"");
        ck_assert_ptr_nonnull(lease);
        ck_assert_int_eq(sscanf(lease, "\"lease\":\"%31[0-9]\"", id), 1);
        return xstrdup(id);
}

START_TEST(test_lost_lock_fences)
{
        _cleanup_(store_freep) Store *s = NULL, *b = NULL;
        _cleanup_free_ char *id = NULL, *body = NULL, *answer = NULL;
        StoreLock *l = NULL, *again = NULL;
        StoreTxnOp write_it[] = { { .type = STORE_TXN_PUT, .key = "fenced", .value = "1", .size = 1 } };

        etcd_test_start(&etcd, 1);
        url = xasprintf("etcd:%s?namespace=fence/", etcd.endpoints);
        s = open_store();
        b = open_store();
        ck_assert_int_eq(store_lock(s, "migrate-100", false, &l), 0);
        StoreCompare held[] = { { .lock = l } };
        ck_assert_int_eq(store_txn(s, held, 1, write_it, 1, NULL), 0);

        /* The lock's lease ends behind its holder's back, as when it is not renewed in time. */
        id = lock_lease("fence/");
        body = xasprintf("{\"ID\":\"%s\"}", id);
        answer = etcd_post(0, "/v3/lease/revoke", body);
        ck_assert_int_eq(store_lock(b, "migrate-100", false, &again), 0);
        /* The old holder's fenced write is refused; the new holder's goes through. */
        ck_assert_int_eq(store_txn(s, held, 1, write_it, 1, NULL), -ESTALE);
        StoreCompare now_held[] = { { .lock = again } };
        ck_assert_int_eq(store_txn(b, now_held, 1, write_it, 1, NULL), 0);
        store_unlock(again);
        store_unlock(l);
        etcd_test_stop(&etcd);
}
END_TEST

START_TEST(test_tls)
{
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *no_client_cert = NULL, *wrong_ca = NULL;
        Store *refused = NULL;

        etcd_test_start_full(&etcd, 1, true);
        url = xasprintf("etcd:%s?%s", etcd.endpoints, etcd.options + 1);
        s = open_store();
        assert_value(s, "k", "v", put_string(s, "k", "v"));

        /* Without a client certificate, or trusting another CA, nothing gets through. */
        no_client_cert = xasprintf("etcd:%s?cacert=%s/ca.pem&timeout=2000", etcd.endpoints, etcd.dir);
        ck_assert_int_eq(store_open(no_client_cert, base, &refused), 0);
        ck_assert_int_eq(store_get(refused, "k", NULL, NULL, NULL), -EHOSTDOWN);
        store_free(refused);
        wrong_ca = xasprintf(
                "etcd:%s?cacert=%s/client.pem&cert=%s/client.pem&key=%s/client.key&timeout=2000",
                etcd.endpoints, etcd.dir, etcd.dir, etcd.dir);
        ck_assert_int_eq(store_open(wrong_ca, base, &refused), 0);
        ck_assert_int_eq(store_get(refused, "k", NULL, NULL, NULL), -EHOSTDOWN);
        store_free(refused);
        etcd_test_stop(&etcd);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("store-etcd");
        TCase *tc = tcase_create("etcd");

        /* Each test starts its own members: some are killed and stopped on purpose. */
        tcase_add_checked_fixture(tc, setup_base, teardown_base);
        tcase_add_test(tc, test_unreachable);
        tcase_add_test(tc, test_hanging);
        tcase_add_test(tc, test_failover);
        tcase_add_test(tc, test_watch_resumes);
        tcase_add_test(tc, test_watch_after_compaction);
        tcase_add_test(tc, test_lost_lock_fences);
        tcase_add_test(tc, test_tls);
        tcase_set_timeout(tc, 180);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
