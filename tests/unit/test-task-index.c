/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cluster task index: tasks in the store at tasks/<node>/, and GetTaskInfo over them. */
#include <check.h>
#include <limits.h>
#include <sys/socket.h>

#include "alloc.h"
#include "bus.h"
#include "check-main.h"
#include "errors.h"
#include "etcd-test.h"
#include "fileio.h"
#include "paths.h"
#include "task.h"

#define X64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static char *tmpdir;
static sd_bus *bus;
static TaskManager *manager;

static Task *new_task(void)
{
        Task *t;

        ck_assert_int_eq(task_new(manager, "qmstart", "100", "root@pam", &t), 0);
        return t;
}

static const struct {
        const char *upid;
        const char *key;
} index_keys[] = {
        { "UPID:node1:guestd:00000001:6B0409CD:qmstart:100:root@pam:",
                "tasks/node1/UPID:node1:guestd:00000001:6B0409CD:qmstart:100:root@pam:" },
        { "UPID:pve-a.example.com:bulkd:00000001:6B0409CD:startall::root@pam:",
                "tasks/pve-a.example.com/"
                "UPID:pve-a.example.com:bulkd:00000001:6B0409CD:startall::root@pam:" },
        { "UPID:n:guestd:00000001:6B0409CD:qmstart:100:admin@pve!t1:",
                "tasks/n/UPID:n:guestd:00000001:6B0409CD:qmstart:100:admin@pve_21t1:" },
        /* '_' is the escape itself, so it is escaped too: the key maps back to one UPID only. */
        { "UPID:n_1:guestd:00000001:6B0409CD:qm_start:100:a+b@pve:",
                "tasks/n_5F1/UPID:n_5F1:guestd:00000001:6B0409CD:qm_5Fstart:100:a_2Bb@pve:" },
        /* The file store's temp files are named so: no key may be. */
        { "UPID:n:guestd:00000001:6B0409CD:qmstart:x.tmp.y:root@pam:",
                "tasks/n/sha256-6ad1001f110ba9123c25f2281b5ee00362f27dfc944dbc76c19975fc35bc184a" },
        /* 242 bytes: a valid UPID, longer than a key component may be. */
        { "UPID:n:guestd:00000001:6B0409CD:qmstart:" X64 "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:" X64
          "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu:",
                "tasks/n/sha256-" },
        { "UPID:.n:guestd:00000001:6B0409CD:qmstart:100:root@pam:", NULL },
        { "UPID:n:guestd:00000001:6B0409CD:qmstart:100:root@pam", NULL },
        { "", NULL },
};

START_TEST(test_index_key)
{
        _cleanup_free_ char *key = NULL;
        int r = task_index_key(index_keys[_i].upid, &key);

        if (!index_keys[_i].key) {
                ck_assert_int_eq(r, -EINVAL);
                ck_assert_ptr_null(key);
                return;
        }
        ck_assert_int_eq(r, 0);
        ck_assert_msg(startswith(key, index_keys[_i].key), "%s is not %s", key, index_keys[_i].key);
        ck_assert(store_key_is_valid(key));
}
END_TEST

START_TEST(test_index_key_distinct_hashes)
{
        _cleanup_free_ char *a = NULL, *b = NULL;

        ck_assert_int_eq(task_index_key("UPID:n:guestd:00000001:6B0409CD:qmstart:x.tmp.y:root@pam:", &a), 0);
        ck_assert_int_eq(task_index_key("UPID:n:guestd:00000002:6B0409CD:qmstart:x.tmp.y:root@pam:", &b), 0);
        ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_task_info_round_trip)
{
        TaskInfo i = {
                .upid = (char *) "UPID:n:guestd:00000001:6B0409CD:qmstart:100:admin@pve!t1:",
                .node = (char *) "n",
                .daemon = (char *) "guestd",
                .type = (char *) "qmstart",
                .id = (char *) "100",
                .user = (char *) "admin@pve!t1",
                .state = TASK_ERROR,
                .result = (char *) "QEMU exited: \"bad\"\n/",
                .error_name = (char *) BERTH_ERROR_TIMEOUT,
                .start_usec = 1800000000123456,
                .end_usec = UINT64_MAX,
        };
        _cleanup_(task_info_done) TaskInfo parsed = {};
        _cleanup_free_ char *text = task_info_format(&i), *again = NULL;

        ck_assert_int_eq(task_info_parse(text, &parsed), 0);
        ck_assert_str_eq(parsed.upid, i.upid);
        ck_assert_str_eq(parsed.node, i.node);
        ck_assert_str_eq(parsed.daemon, i.daemon);
        ck_assert_str_eq(parsed.type, i.type);
        ck_assert_str_eq(parsed.id, i.id);
        ck_assert_str_eq(parsed.user, i.user);
        ck_assert_int_eq(parsed.state, i.state);
        ck_assert_str_eq(parsed.result, i.result);
        ck_assert_str_eq(parsed.error_name, i.error_name);
        ck_assert_uint_eq(parsed.start_usec, i.start_usec);
        ck_assert_uint_eq(parsed.end_usec, i.end_usec);
        again = task_info_format(&parsed);
        ck_assert_str_eq(again, text);
}
END_TEST

#define ENTRY_UPID "\"upid\":\"UPID:othernode:guestd:0000002A:6B0409CD:qmstart:100:root@pam:\","
#define ENTRY_REST \
        "\"type\":\"qmstart\",\"id\":\"100\",\"user\":\"root@pam\",\"result\":\"\",\"error-name\":\"\","
#define ENTRY_TIMES "\"start-time\":1800000000000000,\"end-time\":0"
#define ENTRY_WHERE "\"node\":\"othernode\",\"daemon\":\"guestd\","

static const char *const bad_entries[] = {
        "",
        "[]",
        "{}",
        "{" ENTRY_UPID ENTRY_WHERE ENTRY_REST ENTRY_TIMES "}",
        "{" ENTRY_UPID ENTRY_WHERE ENTRY_REST "\"state\":\"stopped\"," ENTRY_TIMES "}",
        "{" ENTRY_UPID ENTRY_WHERE ENTRY_REST "\"state\":1," ENTRY_TIMES "}",
        "{" ENTRY_WHERE ENTRY_REST "\"state\":\"ok\"," ENTRY_TIMES "}",
        "{\"upid\":\"UPID:x\"," ENTRY_WHERE ENTRY_REST "\"state\":\"ok\"," ENTRY_TIMES "}",
        "{" ENTRY_UPID ENTRY_REST "\"state\":\"ok\"," ENTRY_TIMES "}",
        "{" ENTRY_UPID ENTRY_WHERE ENTRY_REST "\"state\":\"ok\",\"start-time\":\"1\",\"end-time\":0}",
        "{" ENTRY_UPID ENTRY_WHERE ENTRY_REST "\"state\":\"ok\",\"start-time\":-1,\"end-time\":0}",
        "{" ENTRY_UPID ENTRY_WHERE ENTRY_REST "\"state\":\"ok\",\"start-time\":1}",
};

/* The same fields right, and one more that a later version may add. */
START_TEST(test_task_info_parse_accepts)
{
        _cleanup_(task_info_done) TaskInfo i = {};

        ck_assert_int_eq(task_info_parse("{" ENTRY_UPID ENTRY_WHERE ENTRY_REST
                                         "\"state\":\"ok\",\"later\":[1]," ENTRY_TIMES "}",
                                 &i),
                0);
        ck_assert_int_eq(i.state, TASK_OK);
        ck_assert_str_eq(i.node, "othernode");
        ck_assert_uint_eq(i.start_usec, 1800000000000000);
}
END_TEST

START_TEST(test_task_info_parse_rejects)
{
        TaskInfo i = {};

        ck_assert_int_eq(task_info_parse(bad_entries[_i], &i), -EBADMSG);
        ck_assert_ptr_null(i.upid);
}
END_TEST

/*
 * The index: a manager on one end of a bus pair with a client on the other, a
 * file: store below the temp root, everything on one loop.
 */
#define WATCHDOG_SEC 60

static struct event_base *base;
static sd_bus *client;
static BusEvent *server_event, *client_event;
static Store *store;
static struct event *watchdog;
static bool watchdog_fired;

static void on_watchdog(evutil_socket_t fd _unused_, short what _unused_, void *userdata)
{
        watchdog_fired = true;
        event_base_loopbreak(base);
}

static void index_setup(void)
{
        _cleanup_free_ char *url = NULL;
        sd_id128_t id;
        int fds[2];

        tmpdir = test_tmpdir_new();
        ck_assert_int_eq(paths_set_root(tmpdir), 0);
        base = event_base_new();
        ck_assert_ptr_nonnull(base);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        ck_assert_int_ge(sd_bus_new(&bus), 0);
        ck_assert_int_ge(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
        ck_assert_int_ge(sd_id128_randomize(&id), 0);
        ck_assert_int_ge(sd_bus_set_server(bus, true, id), 0);
        ck_assert_int_ge(sd_bus_set_anonymous(bus, true), 0);
        ck_assert_int_ge(sd_bus_start(bus), 0);
        ck_assert_int_ge(sd_bus_new(&client), 0);
        ck_assert_int_ge(sd_bus_set_fd(client, fds[1], fds[1]), 0);
        ck_assert_int_ge(sd_bus_start(client), 0);
        ck_assert_int_eq(bus_event_attach(bus, base, &server_event), 0);
        ck_assert_int_eq(bus_event_attach(client, base, &client_event), 0);
        ck_assert_int_eq(task_manager_new(bus, "node1", "guestd", "/org/berth/guest1", &manager), 0);
        url = xasprintf("file:%s/var/lib/berth/store", tmpdir);
        ck_assert_int_eq(store_open(url, base, &store), 0);
        watchdog = evtimer_new(base, on_watchdog, NULL);
        ck_assert_ptr_nonnull(watchdog);
        evtimer_add(watchdog, &(struct timeval){ .tv_sec = WATCHDOG_SEC });
}

static void index_teardown(void)
{
        /* The manager first: it writes to the store until it is gone. */
        manager = task_manager_free(manager);
        store = store_free(store);
        event_free(watchdog);
        server_event = bus_event_free(server_event);
        client_event = bus_event_free(client_event);
        client = sd_bus_close_unref(client);
        bus = sd_bus_close_unref(bus);
        event_base_free(base);
        ck_assert_int_eq(paths_set_root("/"), 0);
        test_tmpdir_free(tmpdir);
}

static void put_entry(const char *key, const char *value)
{
        ck_assert_int_eq(store_put(store, key, value, strlen(value), STORE_REVISION_ANY, NULL), 0);
}

/* An entry as another daemon or node would write it. */
static void put_task_entry(const char *upid, const char *state, uint64_t start_usec)
{
        _cleanup_(upid_done) Upid u = {};
        _cleanup_free_ char *key = NULL, *value = NULL;

        ck_assert_int_eq(upid_parse(upid, &u), 0);
        ck_assert_int_eq(task_index_key(upid, &key), 0);
        value = xasprintf("{\"upid\":\"%s\",\"node\":\"%s\",\"daemon\":\"%s\",\"type\":\"%s\",\"id\":\"%s\","
                          "\"user\":\"%s\",\"state\":\"%s\",\"result\":\"\",\"error-name\":\"\","
                          "\"start-time\":%llu,\"end-time\":0}",
                upid, u.node, u.daemon, u.type, u.id, u.user, state, (unsigned long long) start_usec);
        put_entry(key, value);
}

/* The entry of a UPID, parsed; -ENOENT when there is none. */
static int get_entry(const char *upid, TaskInfo *ret)
{
        _cleanup_free_ char *key = NULL, *value = NULL;
        int r;

        ck_assert_int_eq(task_index_key(upid, &key), 0);
        r = store_get(store, key, &value, NULL, NULL);
        if (r < 0)
                return r;
        ck_assert_int_eq(task_info_parse(value, ret), 0);
        return 0;
}

static bool has_entry(const char *upid)
{
        _cleanup_(task_info_done) TaskInfo i = {};
        return get_entry(upid, &i) == 0;
}

static void assert_entry(Task *t, TaskState state)
{
        _cleanup_(task_info_done) TaskInfo i = {};

        ck_assert_int_eq(get_entry(task_get_upid(t), &i), 0);
        ck_assert_str_eq(i.upid, task_get_upid(t));
        ck_assert_str_eq(i.node, "node1");
        ck_assert_str_eq(i.daemon, "guestd");
        ck_assert_int_eq(i.state, state);
        ck_assert_str_eq(i.result, task_get_result(t));
        ck_assert_str_eq(i.error_name, task_get_error_name(t));
        ck_assert_uint_gt(i.start_usec, 0);
        if (state == TASK_RUNNING)
                ck_assert_uint_eq(i.end_usec, 0);
        else
                ck_assert_uint_ge(i.end_usec, i.start_usec);
}

START_TEST(test_index_entry_at_start_and_end)
{
        _cleanup_(task_info_done) TaskInfo i = {};
        _cleanup_free_ char *key = NULL;
        Task *t, *token;

        ck_assert_int_eq(task_manager_set_store(manager, store, base), 0);
        t = new_task();
        assert_entry(t, TASK_RUNNING);
        task_fail(t, BERTH_ERROR_TIMEOUT, "took too long");
        assert_entry(t, TASK_ERROR);
        ck_assert_int_eq(get_entry(task_get_upid(t), &i), 0);
        ck_assert_str_eq(i.type, "qmstart");
        ck_assert_str_eq(i.id, "100");
        ck_assert_str_eq(i.user, "root@pam");
        ck_assert_str_eq(i.result, "took too long");
        ck_assert_str_eq(i.error_name, BERTH_ERROR_TIMEOUT);

        /* A token's '!' is no key character: the key escapes it, the value keeps the UPID as it is. */
        ck_assert_int_eq(task_new(manager, "qmstop", "101", "admin@pve!t1", &token), 0);
        ck_assert_int_eq(task_index_key(task_get_upid(token), &key), 0);
        ck_assert_ptr_nonnull(strstr(key, ":admin@pve_21t1:"));
        task_finish(token, TASK_OK, "done");
        assert_entry(token, TASK_OK);
        ck_assert_int_eq(task_manager_set_store(manager, store, base), -EALREADY);
}
END_TEST

/* Tasks started before the store was set are published with it. */
START_TEST(test_index_earlier_tasks)
{
        Task *running = new_task(), *done = new_task();

        task_finish(done, TASK_WARNINGS, "half done");
        ck_assert(!has_entry(task_get_upid(running)));
        ck_assert_int_eq(task_manager_set_store(manager, store, base), 0);
        assert_entry(running, TASK_RUNNING);
        assert_entry(done, TASK_WARNINGS);
}
END_TEST

static size_t count_entries(const char *prefix)
{
        StoreEntry *e = NULL;
        size_t n = 0;

        ck_assert_int_eq(store_list(store, prefix, &e, &n), 0);
        store_entries_free(e, n);
        return n;
}

#define BULKD_OLDER "UPID:node1:bulkd:00000002:00000001:startall::root@pam:"
#define BULKD_OLD "UPID:node1:bulkd:00000001:00000002:startall::root@pam:"
#define ELSEWHERE "UPID:othernode:guestd:00000001:00000001:qmstart:100:root@pam:"

START_TEST(test_index_prunes_oldest)
{
        Task *t1, *t2, *t3, *t4;

        /* Listed when the store is set: a value that does not parse counts as oldest, then by start time. */
        put_entry("tasks/node1/garbage", "not JSON");
        put_task_entry(BULKD_OLD, "ok", 2000000);
        put_task_entry(BULKD_OLDER, "ok", 1000000);
        /* Another node's entries are that node's to prune. */
        put_task_entry(ELSEWHERE, "ok", 1);
        task_manager_set_index_limit(manager, 3);
        ck_assert_int_eq(task_manager_set_store(manager, store, base), 0);
        ck_assert_uint_eq(count_entries("tasks/node1/"), 3);

        t1 = new_task();
        ck_assert_uint_eq(count_entries("tasks/node1/"), 3);
        ck_assert_int_eq(store_get(store, "tasks/node1/garbage", NULL, NULL, NULL), -ENOENT);
        t2 = new_task();
        ck_assert(!has_entry(BULKD_OLDER));
        ck_assert(has_entry(BULKD_OLD));
        task_finish(t2, TASK_OK, "done");
        t3 = new_task();
        ck_assert(!has_entry(BULKD_OLD));
        /* t1 is the oldest, but still running: t2 goes instead. */
        t4 = new_task();
        ck_assert_uint_eq(count_entries("tasks/node1/"), 3);
        assert_entry(t1, TASK_RUNNING);
        ck_assert(!has_entry(task_get_upid(t2)));
        assert_entry(t3, TASK_RUNNING);
        assert_entry(t4, TASK_RUNNING);
        ck_assert_uint_eq(count_entries("tasks/othernode/"), 1);

        /* Ending a task rewrites its entry: the count stays. */
        task_finish(t1, TASK_OK, "done");
        ck_assert_uint_eq(count_entries("tasks/node1/"), 3);
        assert_entry(t1, TASK_OK);
}
END_TEST

#define LOST_WITH_LOG "UPID:node1:guestd:00000010:6B0409CD:qmstart:100:root@pam:"
#define LOST_WITHOUT_LOG "UPID:node1:guestd:00000011:6B0409CD:qmstart:100:root@pam:"
#define BULKD_RUNNING "UPID:node1:bulkd:00000011:6B0409CD:startall::root@pam:"

/* Entries a previous run of the daemon left running get the end its log knows, or the news it ended. */
START_TEST(test_index_reconciles_lost_ends)
{
        _cleanup_(task_info_done) TaskInfo with_log = {}, without_log = {}, bulkd = {};
        _cleanup_free_ char *log = xasprintf("%s/var/log/berth/tasks/" LOST_WITH_LOG, tmpdir);

        ck_assert_int_eq(write_string_file_atomic(log, "starting\nTASK OK\n", 0640), 0);
        put_task_entry(LOST_WITH_LOG, "running", 1000000);
        put_task_entry(LOST_WITHOUT_LOG, "running", 1000000);
        put_task_entry(BULKD_RUNNING, "running", 1000000);
        ck_assert_int_eq(task_manager_set_store(manager, store, base), 0);

        ck_assert_int_eq(get_entry(LOST_WITH_LOG, &with_log), 0);
        ck_assert_int_eq(with_log.state, TASK_OK);
        ck_assert_uint_gt(with_log.end_usec, 0);
        ck_assert_int_eq(get_entry(LOST_WITHOUT_LOG, &without_log), 0);
        ck_assert_int_eq(without_log.state, TASK_ERROR);
        ck_assert_str_eq(without_log.error_name, BERTH_ERROR_FAILED);
        ck_assert_ptr_nonnull(strstr(without_log.result, "ended unexpectedly"));
        ck_assert_uint_gt(without_log.end_usec, 0);
        /* bulkd's own to say. */
        ck_assert_int_eq(get_entry(BULKD_RUNNING, &bulkd), 0);
        ck_assert_int_eq(bulkd.state, TASK_RUNNING);
}
END_TEST

/* What a GetTaskInfo() reply brought: the a{sv} as a TaskInfo, or the error's name. */
typedef struct InfoReply {
        bool done;
        char *error_name;
        TaskInfo info;
} InfoReply;

static void info_reply_done(InfoReply *r)
{
        free(r->error_name);
        task_info_done(&r->info);
}

static char **info_field(TaskInfo *i, const char *name)
{
        if (streq(name, "upid"))
                return &i->upid;
        if (streq(name, "node"))
                return &i->node;
        if (streq(name, "daemon"))
                return &i->daemon;
        if (streq(name, "type"))
                return &i->type;
        if (streq(name, "id"))
                return &i->id;
        if (streq(name, "user"))
                return &i->user;
        if (streq(name, "result"))
                return &i->result;
        if (streq(name, "error-name"))
                return &i->error_name;
        return NULL;
}

static int on_info_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        InfoReply *r = userdata;
        const char *name, *s;
        size_t n = 0;

        r->done = true;
        event_base_loopbreak(base);
        if (sd_bus_message_is_method_error(m, NULL)) {
                r->error_name = xstrdup(sd_bus_message_get_error(m)->name);
                return 0;
        }
        ck_assert_int_gt(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                ck_assert_int_gt(sd_bus_message_read(m, "s", &name), 0);
                if (streq(name, "state")) {
                        ck_assert_int_gt(sd_bus_message_read(m, "v", "s", &s), 0);
                        r->info.state = task_state_from_string(s);
                } else if (streq(name, "start-time"))
                        ck_assert_int_gt(sd_bus_message_read(m, "v", "t", &r->info.start_usec), 0);
                else if (streq(name, "end-time"))
                        ck_assert_int_gt(sd_bus_message_read(m, "v", "t", &r->info.end_usec), 0);
                else {
                        ck_assert_ptr_nonnull(info_field(&r->info, name));
                        ck_assert_int_gt(sd_bus_message_read(m, "v", "s", &s), 0);
                        *info_field(&r->info, name) = xstrdup(s);
                }
                ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
                n++;
        }
        ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
        ck_assert_uint_eq(n, 11);
        return 0;
}

static void call_tasks(const char *method, const char *upid, InfoReply *ret)
{
        *ret = (InfoReply){};
        ck_assert_int_ge(sd_bus_call_method_async(client, NULL, NULL, "/org/berth/guest1",
                                 "org.berth.Tasks1", method, on_info_reply, ret, "s", upid),
                0);
        while (!ret->done && !watchdog_fired)
                ck_assert_int_eq(bus_event_loop(client_event), 0);
        ck_assert_msg(!watchdog_fired, "no reply within %d s", WATCHDOG_SEC);
}

static void assert_call_fails(const char *method, const char *upid, const char *error_name)
{
        _cleanup_(info_reply_done) InfoReply r;

        call_tasks(method, upid, &r);
        ck_assert_ptr_nonnull(r.error_name);
        ck_assert_str_eq(r.error_name, error_name);
}

#define OTHER_UPID "UPID:othernode:guestd:0000002A:6B0409CD:qmstart:100:root@pam:"

START_TEST(test_get_task_info)
{
        _cleanup_(info_reply_done) InfoReply other, local;
        Task *t;

        put_entry("tasks/othernode/" OTHER_UPID,
                "{\"upid\":\"" OTHER_UPID
                "\",\"node\":\"othernode\",\"daemon\":\"guestd\",\"type\":\"qmstart\","
                "\"id\":\"100\",\"user\":\"root@pam\",\"state\":\"error\",\"result\":\"no such disk\","
                "\"error-name\":\"org.berth.Error.InvalidConfig\",\"start-time\":1800000000000000,"
                "\"end-time\":1800000005000000}");
        /* An entry under the key of one UPID that names another answers for neither. */
        put_entry("tasks/othernode/UPID:othernode:guestd:0000002B:6B0409CD:qmstart:100:root@pam:",
                "{\"upid\":\"" OTHER_UPID
                "\",\"node\":\"othernode\",\"daemon\":\"guestd\",\"type\":\"qmstart\","
                "\"id\":\"100\",\"user\":\"root@pam\",\"state\":\"ok\",\"result\":\"\",\"error-name\":\"\","
                "\"start-time\":1,\"end-time\":2}");
        ck_assert_int_eq(task_manager_set_store(manager, store, base), 0);

        call_tasks("GetTaskInfo", OTHER_UPID, &other);
        ck_assert_ptr_null(other.error_name);
        ck_assert_str_eq(other.info.upid, OTHER_UPID);
        ck_assert_str_eq(other.info.node, "othernode");
        ck_assert_str_eq(other.info.daemon, "guestd");
        ck_assert_str_eq(other.info.type, "qmstart");
        ck_assert_str_eq(other.info.id, "100");
        ck_assert_str_eq(other.info.user, "root@pam");
        ck_assert_int_eq(other.info.state, TASK_ERROR);
        ck_assert_str_eq(other.info.result, "no such disk");
        ck_assert_str_eq(other.info.error_name, BERTH_ERROR_INVALID_CONFIG);
        ck_assert_uint_eq(other.info.start_usec, 1800000000000000);
        ck_assert_uint_eq(other.info.end_usec, 1800000005000000);
        /* GetTask stays what it was: this daemon's tasks only. */
        assert_call_fails("GetTask", OTHER_UPID, BERTH_ERROR_NO_SUCH_TASK);

        assert_call_fails("GetTaskInfo",
                "UPID:othernode:guestd:0000002B:6B0409CD:qmstart:100:root@pam:", BERTH_ERROR_NO_SUCH_TASK);
        assert_call_fails("GetTaskInfo",
                "UPID:othernode:guestd:0000002C:6B0409CD:qmstart:100:root@pam:", BERTH_ERROR_NO_SUCH_TASK);
        assert_call_fails("GetTaskInfo", "UPID:othernode", BERTH_ERROR_INVALID_ARGUMENT);

        /* A task of this daemon's, from the task itself. */
        t = new_task();
        call_tasks("GetTaskInfo", task_get_upid(t), &local);
        ck_assert_ptr_null(local.error_name);
        ck_assert_str_eq(local.info.upid, task_get_upid(t));
        ck_assert_str_eq(local.info.node, "node1");
        ck_assert_int_eq(local.info.state, TASK_RUNNING);
        ck_assert_uint_eq(local.info.end_usec, 0);
}
END_TEST

/* Without a store, as before: this daemon's tasks only. */
START_TEST(test_get_task_info_without_store)
{
        _cleanup_(info_reply_done) InfoReply local;
        Task *t = new_task();

        put_task_entry(OTHER_UPID, "ok", 1);
        assert_call_fails("GetTaskInfo", OTHER_UPID, BERTH_ERROR_NO_SUCH_TASK);
        task_finish(t, TASK_OK, "done");
        call_tasks("GetTaskInfo", task_get_upid(t), &local);
        ck_assert_ptr_null(local.error_name);
        ck_assert_int_eq(local.info.state, TASK_OK);
        ck_assert(!has_entry(task_get_upid(t)));
}
END_TEST

/* A port that takes connections and never answers. */
static int listen_silently(int *ret_port)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t n = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
        ck_assert_int_eq(listen(fd, 16), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &n), 0);
        *ret_port = ntohs(a.sin_port);
        return fd;
}

#define UNAVAILABLE_TIMEOUT_MS 500

static void count_finish(Task *t, void *userdata)
{
        (*(unsigned *) userdata)++;
}

/*
 * A store that refuses connections (_i 0) or takes them and never answers (_i
 * 1): tasks start and end as ever; what needs the store fails with Unavailable.
 */
START_TEST(test_index_store_unavailable)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *url = NULL;
        unsigned finished = 0;
        int port;
        Task *t;

        if (_i == 0)
                port = etcd_test_free_port();
        else
                fd = listen_silently(&port);
        url = xasprintf("etcd:http://127.0.0.1:%d?timeout=%d", port, UNAVAILABLE_TIMEOUT_MS);
        store = store_free(store);
        ck_assert_int_eq(store_open(url, base, &store), 0);
        ck_assert_int_eq(task_manager_set_store(manager, store, base), 0);

        t = new_task();
        task_add_finish_handler(t, count_finish, &finished);
        task_log(t, "working");
        task_finish(t, TASK_OK, "done");
        ck_assert_int_eq(task_get_state(t), TASK_OK);
        ck_assert_uint_eq(finished, 1);

        assert_call_fails("GetTaskInfo", OTHER_UPID, BERTH_ERROR_UNAVAILABLE);
}
END_TEST

static bool entry_has_state(const char *upid, TaskState state)
{
        _cleanup_(task_info_done) TaskInfo i = {};
        return get_entry(upid, &i) == 0 && i.state == state;
}

/* A store that goes away and comes back gets what was written meanwhile, its newest state. */
START_TEST(test_index_store_comes_back)
{
        _cleanup_free_ char *url = NULL;
        EtcdTest e;
        Task *before, *during;

        etcd_test_start(&e, 1);
        url = xasprintf("etcd:%s?timeout=1000", e.endpoints);
        store = store_free(store);
        ck_assert_int_eq(store_open(url, base, &store), 0);
        ck_assert_int_eq(task_manager_set_store(manager, store, base), 0);
        before = new_task();
        assert_entry(before, TASK_RUNNING);

        etcd_test_kill(&e, 0);
        during = new_task();
        task_finish(during, TASK_OK, "done");
        task_finish(before, TASK_ERROR, "failed");
        ck_assert_int_eq(task_get_state(during), TASK_OK);

        etcd_test_restart(&e, 0);
        etcd_test_wait(&e);
        while (!(entry_has_state(task_get_upid(during), TASK_OK) &&
                       entry_has_state(task_get_upid(before), TASK_ERROR)) &&
                !watchdog_fired)
                ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
        ck_assert_msg(!watchdog_fired, "the index was not written within %d s", WATCHDOG_SEC);
        assert_entry(during, TASK_OK);
        assert_entry(before, TASK_ERROR);
        etcd_test_stop(&e);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("task-index");
        TCase *tc = tcase_create("index");

        tcase_add_loop_test(tc, test_index_key, 0, ELEMENTSOF(index_keys));
        tcase_add_test(tc, test_index_key_distinct_hashes);
        tcase_add_test(tc, test_task_info_round_trip);
        tcase_add_test(tc, test_task_info_parse_accepts);
        tcase_add_loop_test(tc, test_task_info_parse_rejects, 0, ELEMENTSOF(bad_entries));
        suite_add_tcase(s, tc);

        tc = tcase_create("index-store");
        tcase_add_checked_fixture(tc, index_setup, index_teardown);
        tcase_set_timeout(tc, 2 * WATCHDOG_SEC);
        tcase_add_test(tc, test_index_entry_at_start_and_end);
        tcase_add_test(tc, test_index_earlier_tasks);
        tcase_add_test(tc, test_index_prunes_oldest);
        tcase_add_test(tc, test_index_reconciles_lost_ends);
        tcase_add_test(tc, test_get_task_info);
        tcase_add_test(tc, test_get_task_info_without_store);
        tcase_add_loop_test(tc, test_index_store_unavailable, 0, 2);
        tcase_add_test(tc, test_index_store_comes_back);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
