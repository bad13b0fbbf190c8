/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <dirent.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "check-main.h"
#include "fileio.h"
#include "qmp.h"
#include "spawn.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static char *tmpdir;
static struct event_base *base;
static struct event *deadline;
static bool timed_out;
static pid_t qemu_pid;
/* Orders every callback of a test, to assert which came first. */
static unsigned seq;

static void on_deadline(evutil_socket_t fd, short what, void *userdata)
{
        timed_out = true;
}

static void setup(void)
{
        tmpdir = test_tmpdir_new();
        base = event_base_new();
        ck_assert_ptr_nonnull(base);
        deadline = evtimer_new(base, on_deadline, NULL);
        timed_out = false;
        qemu_pid = 0;
        seq = 0;
        /* A write to a peer that went away must fail with EPIPE, not kill the test. */
        signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
        if (qemu_pid > 0) {
                kill(qemu_pid, SIGKILL);
                spawn_wait(qemu_pid);
        }
        event_free(deadline);
        event_base_free(base);
        test_tmpdir_free(tmpdir);
}

/* Runs the loop until cond holds, failing the test after 20 s. */
#define RUN_UNTIL(cond) \
        do { \
                struct timeval _tv_ = { .tv_sec = 20 }; \
                evtimer_add(deadline, &_tv_); \
                while (!(cond) && !timed_out) \
                        event_base_loop(base, EVLOOP_ONCE); \
                evtimer_del(deadline); \
                ck_assert_msg(!timed_out, "Timed out waiting for " #cond); \
        } while (0)

/* Runs the loop for a while, for asserting that something does not happen. */
static void run_for_ms(unsigned ms)
{
        struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
}

typedef struct Client {
        Qmp *qmp;
        unsigned n_ready, ready_seq;
        unsigned n_disconnected, disconnected_seq;
        unsigned n_events;
        char *last_event;
        json_object *shutdown_data;
        json_object *migration_status;
        /* Issued from the SHUTDOWN event, when QEMU no longer answers. */
        struct Reply *after_shutdown;
        int after_shutdown_r;
        bool free_on_disconnect;
} Client;

typedef struct Reply {
        unsigned n_calls, seq;
        json_object *result;
        char *error_class, *error_desc;
        Client *free_client; /* frees this client's Qmp from inside the handler */
} Reply;

static void reply_done(Reply *r)
{
        json_object_put(r->result);
        free(r->error_class);
        free(r->error_desc);
}

static void client_done(Client *c)
{
        qmp_free(c->qmp);
        free(c->last_event);
        json_object_put(c->shutdown_data);
        json_object_put(c->migration_status);
}

static void on_ready(Qmp *q, void *userdata)
{
        Client *c = userdata;
        c->n_ready++;
        c->ready_seq = ++seq;
}

static void on_reply(
        Qmp *q, json_object *result, const char *error_class, const char *error_desc, void *userdata)
{
        Reply *r = userdata;

        r->n_calls++;
        r->seq = ++seq;
        r->result = json_object_get(result);
        r->error_class = error_class ? xstrdup(error_class) : NULL;
        r->error_desc = error_desc ? xstrdup(error_desc) : NULL;
        ck_assert(!result != !error_class);
        if (r->free_client) {
                ck_assert_ptr_eq(r->free_client->qmp, q);
                qmp_free(q);
                r->free_client->qmp = NULL;
        }
}

static void on_event(Qmp *q, const char *name, json_object *data, void *userdata)
{
        Client *c = userdata;

        c->n_events++;
        free(c->last_event);
        c->last_event = xstrdup(name);
        if (streq(name, "SHUTDOWN")) {
                c->shutdown_data = json_object_get(data);
                if (c->after_shutdown)
                        c->after_shutdown_r = qmp_command(
                                q, "query-status", NULL, on_reply, c->after_shutdown);
        }
        if (streq(name, "MIGRATION")) {
                json_object *status;
                ck_assert(json_object_object_get_ex(data, "status", &status));
                json_object_put(c->migration_status);
                c->migration_status = json_object_get(status);
        }
}

static void on_disconnected(Qmp *q, void *userdata)
{
        Client *c = userdata;

        c->n_disconnected++;
        c->disconnected_seq = ++seq;
        ck_assert_int_eq(qmp_command(q, "query-status", NULL, NULL, NULL), -ENOTCONN);
        if (c->free_on_disconnect) {
                qmp_free(q);
                c->qmp = NULL;
        }
}

static const QmpCallbacks callbacks = {
        .ready = on_ready,
        .event = on_event,
        .disconnected = on_disconnected,
};

static const char *member_string(json_object *o, const char *key)
{
        json_object *v;
        ck_assert_msg(
                json_object_object_get_ex(o, key, &v), "no %s in %s", key, json_object_to_json_string(o));
        return json_object_get_string(v);
}

static char *qmp_socket_path(void)
{
        return xasprintf("%s/qmp.sock", tmpdir);
}

static void start_qemu(const char *qmp_option)
{
        _cleanup_free_ char *log = xasprintf("%s/qemu.log", tmpdir);
        char *argv[] = { (char *) QEMU_SYSTEM_X86_64, "-machine", "none", "-nodefaults", "-display", "none",
                "-qmp", (char *) qmp_option, NULL };
        SpawnOptions o = { .log_path = log, .new_process_group = true };

        ck_assert_int_eq(spawn(argv, &o, &qemu_pid), 0);
}

/* Starts QEMU with a QMP server socket and connects to it once the socket exists. */
static void start_qemu_and_connect(Client *c)
{
        _cleanup_free_ char *path = qmp_socket_path(), *option = xasprintf("unix:%s,server=on,wait=off", path);
        int r;

        start_qemu(option);
        for (unsigned i = 0; i < 1000; i++) {
                r = qmp_connect(base, path, &callbacks, c, &c->qmp);
                if (r != -ENOENT && r != -ECONNREFUSED)
                        break;
                usleep(10 * 1000);
        }
        ck_assert_int_eq(r, 0);
}

static void assert_error(const Reply *r, const char *error_class)
{
        ck_assert_uint_eq(r->n_calls, 1);
        ck_assert_ptr_null(r->result);
        ck_assert_str_eq(r->error_class, error_class);
        ck_assert_ptr_nonnull(r->error_desc);
}

static void assert_empty_return(const Reply *r)
{
        ck_assert_uint_eq(r->n_calls, 1);
        ck_assert_ptr_null(r->error_class);
        ck_assert(json_object_is_type(r->result, json_type_object));
        ck_assert_int_eq(json_object_object_length(r->result), 0);
}

START_TEST(test_handshake_and_query_status)
{
        _cleanup_(client_done) Client c = {};
        _cleanup_(reply_done) Reply status = {};

        start_qemu_and_connect(&c);
        /* Issued before the handshake: queued until it completes. */
        ck_assert_int_eq(qmp_command(c.qmp, "query-status", NULL, on_reply, &status), 0);
        RUN_UNTIL(status.n_calls > 0);

        ck_assert_uint_eq(c.n_ready, 1);
        ck_assert_uint_lt(c.ready_seq, status.seq);
        ck_assert_uint_eq(status.n_calls, 1);
        ck_assert_ptr_null(status.error_class);
        ck_assert_str_eq(member_string(status.result, "status"), "running");
        ck_assert_str_eq(member_string(status.result, "running"), "true");
        ck_assert_uint_eq(c.n_disconnected, 0);
}
END_TEST

START_TEST(test_query_version)
{
        _cleanup_(client_done) Client c = {};
        _cleanup_(reply_done) Reply version = {};
        _cleanup_free_ char *log = xasprintf("%s/version", tmpdir), *out = NULL;
        char *argv[] = { (char *) QEMU_SYSTEM_X86_64, "--version", NULL };
        SpawnOptions o = { .log_path = log };
        json_object *qemu;
        int major, minor, micro;

        ck_assert_int_eq(spawn_and_wait(argv, &o), 0);
        ck_assert_int_eq(read_full_file(log, &out, NULL), 0);
        ck_assert_int_eq(sscanf(out, "QEMU emulator version %d.%d.%d", &major, &minor, &micro), 3);

        start_qemu_and_connect(&c);
        RUN_UNTIL(c.n_ready > 0);
        ck_assert_int_eq(qmp_command(c.qmp, "query-version", NULL, on_reply, &version), 0);
        RUN_UNTIL(version.n_calls > 0);

        ck_assert_ptr_null(version.error_class);
        ck_assert(json_object_object_get_ex(version.result, "qemu", &qemu));
        ck_assert_int_eq(atoi(member_string(qemu, "major")), major);
        ck_assert_int_eq(atoi(member_string(qemu, "minor")), minor);
        ck_assert_int_eq(atoi(member_string(qemu, "micro")), micro);
        ck_assert(json_object_is_type(json_object_object_get(version.result, "package"), json_type_string));
}
END_TEST

START_TEST(test_unknown_command)
{
        _cleanup_(client_done) Client c = {};
        _cleanup_(reply_done) Reply r = {};

        start_qemu_and_connect(&c);
        ck_assert_int_eq(qmp_command(c.qmp, "no-such-command", NULL, on_reply, &r), 0);
        RUN_UNTIL(r.n_calls > 0);
        assert_error(&r, "CommandNotFound");
        ck_assert_ptr_nonnull(strstr(r.error_desc, "no-such-command"));
        /* An error reply ends nothing. */
        ck_assert_uint_eq(c.n_disconnected, 0);
        ck_assert_int_eq(qmp_command(c.qmp, "", NULL, NULL, NULL), -EINVAL);
        ck_assert_int_eq(qmp_command(c.qmp, "query-status", json_object_new_array(), NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_pipelined_commands)
{
        _cleanup_(client_done) Client c = {};
        Reply r[6] = {};

        start_qemu_and_connect(&c);
        RUN_UNTIL(c.n_ready > 0);
        ck_assert_int_eq(qmp_command(c.qmp, "query-status", NULL, on_reply, &r[0]), 0);
        ck_assert_int_eq(qmp_command(c.qmp, "query-version", NULL, on_reply, &r[1]), 0);
        ck_assert_int_eq(qmp_command(c.qmp, "no-such-command", NULL, on_reply, &r[2]), 0);
        ck_assert_int_eq(qmp_command(c.qmp, "query-name", NULL, on_reply, &r[3]), 0);
        ck_assert_int_eq(qmp_command(c.qmp, "query-kvm", NULL, on_reply, &r[4]), 0);
        /* getfd without an fd attached: QEMU must say so. */
        ck_assert_int_eq(qmp_command(c.qmp, "getfd", json_object_new_object(), on_reply, &r[5]), 0);
        RUN_UNTIL(r[5].n_calls > 0);

        for (size_t i = 0; i < ELEMENTSOF(r); i++) {
                ck_assert_uint_eq(r[i].n_calls, 1);
                if (i > 0)
                        ck_assert_uint_lt(r[i - 1].seq, r[i].seq);
        }
        ck_assert_str_eq(member_string(r[0].result, "status"), "running");
        ck_assert(json_object_object_get_ex(r[1].result, "qemu", NULL));
        assert_error(&r[2], "CommandNotFound");
        assert_empty_return(&r[3]);
        ck_assert(json_object_object_get_ex(r[4].result, "enabled", NULL));
        assert_error(&r[5], "GenericError");
        for (size_t i = 0; i < ELEMENTSOF(r); i++)
                reply_done(&r[i]);
}
END_TEST

/* Whether QEMU holds an fd to the same pipe or file as ours. */
static bool qemu_holds(int fd)
{
        _cleanup_free_ char *dir = xasprintf("/proc/%d/fd", (int) qemu_pid);
        struct stat ours, st;
        bool found = false;
        DIR *d;

        ck_assert_int_eq(fstat(fd, &ours), 0);
        d = opendir(dir);
        ck_assert_ptr_nonnull(d);
        for (struct dirent *de; (de = readdir(d));)
                if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 && st.st_dev == ours.st_dev &&
                        st.st_ino == ours.st_ino)
                        found = true;
        closedir(d);
        return found;
}

START_TEST(test_getfd_closefd)
{
        _cleanup_(client_done) Client c = {};
        _cleanup_(reply_done) Reply before = {}, getfd = {}, after = {}, closefd = {}, again = {};
        int p[2];

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        start_qemu_and_connect(&c);
        ck_assert(!qemu_holds(p[1]));

        /* Queued before the handshake, so the fd has to wait for the command ahead of it to be written. */
        ck_assert_int_eq(qmp_command(c.qmp, "query-status", NULL, on_reply, &before), 0);
        ck_assert_int_eq(qmp_command_with_fd(c.qmp, "getfd", json_tokener_parse("{\"fdname\": \"state\"}"),
                                 p[1], on_reply, &getfd),
                0);
        ck_assert_int_eq(qmp_command(c.qmp, "query-status", NULL, on_reply, &after), 0);
        ck_assert_int_eq(qmp_command_with_fd(c.qmp, "getfd", NULL, -1, on_reply, &getfd), -EBADF);
        RUN_UNTIL(after.n_calls > 0);

        ck_assert_ptr_null(before.error_class);
        assert_empty_return(&getfd);
        ck_assert_ptr_null(after.error_class);
        ck_assert_uint_lt(before.seq, getfd.seq);
        ck_assert_uint_lt(getfd.seq, after.seq);
        ck_assert(qemu_holds(p[1]));

        ck_assert_int_eq(qmp_command(c.qmp, "closefd", json_tokener_parse("{\"fdname\": \"state\"}"),
                                 on_reply, &closefd),
                0);
        ck_assert_int_eq(qmp_command(c.qmp, "closefd", json_tokener_parse("{\"fdname\": \"state\"}"),
                                 on_reply, &again),
                0);
        RUN_UNTIL(again.n_calls > 0);
        assert_empty_return(&closefd);
        assert_error(&again, "GenericError");
        ck_assert(!qemu_holds(p[1]));
        close(p[0]);
        close(p[1]);
}
END_TEST

START_TEST(test_migrate_to_passed_fd)
{
        _cleanup_(client_done) Client c = {};
        _cleanup_(reply_done) Reply caps = {}, getfd = {}, migrate = {};
        _cleanup_free_ char *path = xasprintf("%s/state", tmpdir), *data = NULL;
        size_t size;
        int fd;

        start_qemu_and_connect(&c);
        ck_assert_int_eq(
                qmp_command(c.qmp, "migrate-set-capabilities",
                        json_tokener_parse(
                                "{\"capabilities\": [{\"capability\": \"events\", \"state\": true}]}"),
                        on_reply, &caps),
                0);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(qmp_command_with_fd(c.qmp, "getfd", json_tokener_parse("{\"fdname\": \"state\"}"),
                                 fd, on_reply, &getfd),
                0);
        close(fd);
        ck_assert_int_eq(qmp_command(c.qmp, "migrate", json_tokener_parse("{\"uri\": \"fd:state\"}"),
                                 on_reply, &migrate),
                0);
        RUN_UNTIL(c.migration_status && streq(json_object_get_string(c.migration_status), "completed"));

        assert_empty_return(&caps);
        assert_empty_return(&getfd);
        assert_empty_return(&migrate);
        ck_assert_int_eq(read_full_file(path, &data, &size), 0);
        ck_assert_uint_ge(size, 4);
        ck_assert_int_eq(memcmp(data, "QEVM", 4), 0);
}
END_TEST

START_TEST(test_quit_shutdown_event_and_disconnect)
{
        _cleanup_(client_done) Client c = {};
        _cleanup_(reply_done) Reply quit = {}, late = {};

        start_qemu_and_connect(&c);
        c.after_shutdown = &late;
        RUN_UNTIL(c.n_ready > 0);
        ck_assert_int_eq(qmp_command(c.qmp, "quit", NULL, on_reply, &quit), 0);
        RUN_UNTIL(c.n_disconnected > 0);

        ck_assert_ptr_nonnull(c.shutdown_data);
        ck_assert_str_eq(member_string(c.shutdown_data, "guest"), "false");
        ck_assert_str_eq(member_string(c.shutdown_data, "reason"), "host-qmp-quit");
        ck_assert_int_eq(c.after_shutdown_r, 0);
        /* QEMU may exit before its reply to quit is written; either way the handler runs once. */
        ck_assert_uint_eq(quit.n_calls, 1);
        if (quit.error_class)
                ck_assert_str_eq(quit.error_class, "Disconnected");
        assert_error(&late, "Disconnected");
        ck_assert_uint_lt(late.seq, c.disconnected_seq);

        run_for_ms(100);
        ck_assert_uint_eq(c.n_disconnected, 1);
        ck_assert_uint_eq(late.n_calls, 1);
        ck_assert_int_eq(qmp_command(c.qmp, "query-status", NULL, on_reply, &late), -ENOTCONN);
        ck_assert_int_eq(spawn_wait(qemu_pid), 0);
        qemu_pid = 0;
}
END_TEST

START_TEST(test_free_inside_reply_handler)
{
        _cleanup_(client_done) Client c = {}, second = {};
        _cleanup_(reply_done) Reply first = {}, dropped = {}, status = {};
        _cleanup_free_ char *path = qmp_socket_path();

        start_qemu_and_connect(&c);
        first.free_client = &c;
        ck_assert_int_eq(qmp_command(c.qmp, "query-status", NULL, on_reply, &first), 0);
        ck_assert_int_eq(qmp_command(c.qmp, "query-version", NULL, on_reply, &dropped), 0);
        RUN_UNTIL(first.n_calls > 0);
        ck_assert_ptr_null(c.qmp);

        /* QEMU serves one client at a time: a new one gets through only once the freed one was closed. */
        ck_assert_int_eq(qmp_connect(base, path, &callbacks, &second, &second.qmp), 0);
        ck_assert_int_eq(qmp_command(second.qmp, "query-status", NULL, on_reply, &status), 0);
        RUN_UNTIL(status.n_calls > 0);
        ck_assert_ptr_null(status.error_class);
        ck_assert_uint_eq(dropped.n_calls, 0);
        ck_assert_uint_eq(c.n_disconnected, 0);
}
END_TEST

START_TEST(test_adopt_fd_qemu_connects)
{
        _cleanup_(client_done) Client c = {};
        _cleanup_(reply_done) Reply status = {};
        _cleanup_free_ char *path = qmp_socket_path(), *option = xasprintf("unix:%s", path);
        _cleanup_close_ int listener = -1, conn = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct pollfd pfd;

        listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(listener, 0);
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(bind(listener, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(listener, 1), 0);

        start_qemu(option);
        pfd = (struct pollfd){ .fd = listener, .events = POLLIN };
        ck_assert_int_eq(poll(&pfd, 1, 20 * 1000), 1);
        conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        ck_assert_int_ge(conn, 0);

        ck_assert_int_eq(qmp_adopt_fd(base, conn, &callbacks, &c, &c.qmp), 0);
        TAKE_FD(conn);
        ck_assert_int_eq(qmp_command(c.qmp, "query-status", NULL, on_reply, &status), 0);
        RUN_UNTIL(status.n_calls > 0);
        ck_assert_uint_eq(c.n_ready, 1);
        ck_assert_str_eq(member_string(status.result, "status"), "running");
}
END_TEST

START_TEST(test_connect_failures)
{
        _cleanup_free_ char *missing = xasprintf("%s/missing.sock", tmpdir),
                            *stale = xasprintf("%s/stale.sock", tmpdir), *file = xasprintf("%s/file", tmpdir),
                            *longpath = xasprintf("%s/%0200d", tmpdir, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, pipefd[2];
        Qmp *q = NULL;

        ck_assert_int_eq(qmp_connect(base, missing, &callbacks, NULL, &q), -ENOENT);

        /* A socket file nobody listens on any more. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        strcpy(sa.sun_path, stale);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        close(fd);
        ck_assert_int_eq(qmp_connect(base, stale, &callbacks, NULL, &q), -ECONNREFUSED);

        ck_assert_int_eq(write_string_file_atomic(file, "x", 0600), 0);
        ck_assert_int_eq(qmp_connect(base, file, &callbacks, NULL, &q), -ECONNREFUSED);
        ck_assert_int_eq(qmp_connect(base, longpath, &callbacks, NULL, &q), -EINVAL);

        ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
        ck_assert_int_eq(qmp_adopt_fd(base, pipefd[0], &callbacks, NULL, &q), -ENOTSOCK);
        close(pipefd[0]);
        close(pipefd[1]);
        ck_assert_ptr_null(q);
}
END_TEST

/*
 * A peer written by hand on the other end of a socketpair, for what QEMU never does: split and batched
 * writes at chosen points, and malformed messages.
 */
typedef struct Peer {
        struct bufferevent *bev;
        size_t scanned;
} Peer;

static void peer_start(Peer *p, Client *c)
{
        int sv[2];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
        ck_assert_int_eq(qmp_adopt_fd(base, sv[0], &callbacks, c, &c->qmp), 0);
        p->bev = bufferevent_socket_new(base, sv[1], BEV_OPT_CLOSE_ON_FREE);
        ck_assert_ptr_nonnull(p->bev);
        ck_assert_int_eq(bufferevent_enable(p->bev, EV_READ | EV_WRITE), 0);
}

static void peer_done(Peer *p)
{
        if (p->bev)
                bufferevent_free(p->bev);
}

static void peer_send(Peer *p, const char *s)
{
        ck_assert_int_eq(bufferevent_write(p->bev, s, strlen(s)), 0);
}

static bool peer_has_line(Peer *p)
{
        struct evbuffer *in = bufferevent_get_input(p->bev);
        struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
        return eol.pos >= 0;
}

/* Waits for the next command the client sends and returns its id. */
static uint64_t peer_expect_command(Peer *p, const char *execute)
{
        _cleanup_free_ char *line = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *id;
        size_t len;

        RUN_UNTIL(peer_has_line(p));
        ck_assert_int_eq(qmp_take_line(bufferevent_get_input(p->bev), &p->scanned, &line, &len), 1);
        o = json_tokener_parse(line);
        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(member_string(o, "execute"), execute);
        ck_assert(json_object_object_get_ex(o, "id", &id));
        ck_assert(json_object_is_type(id, json_type_int));
        return json_object_get_uint64(id);
}

static void peer_handshake(Peer *p, Client *c)
{
        _cleanup_free_ char *reply = NULL;
        uint64_t id;

        peer_send(p, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n");
        id = peer_expect_command(p, "qmp_capabilities");
        reply = xasprintf("{\"return\": {}, \"id\": %" PRIu64 "}\r\n", id);
        peer_send(p, reply);
        RUN_UNTIL(c->n_ready > 0);
}

/* Connected and handshaken, with a query-status the peer has read and not answered. */
static void peer_start_with_pending(Peer *p, Client *c, Reply *pending)
{
        peer_start(p, c);
        peer_handshake(p, c);
        ck_assert_int_eq(qmp_command(c->qmp, "query-status", NULL, on_reply, pending), 0);
        peer_expect_command(p, "query-status");
}

START_TEST(test_split_and_batched_messages)
{
        _cleanup_(client_done) Client c = {};
        _cleanup_(peer_done) Peer p = {};
        _cleanup_(reply_done) Reply early = {}, late = {};
        _cleanup_free_ char *batch = NULL;
        uint64_t caps_id, early_id, late_id;

        peer_start(&p, &c);
        ck_assert_int_eq(qmp_command(c.qmp, "query-status", NULL, on_reply, &early), 0);

        /* The greeting in two pieces, the second only after the client had a chance to read the first. */
        peer_send(&p, "{\"QMP\": {\"version\": {\"qemu\": ");
        run_for_ms(50);
        ck_assert(!peer_has_line(&p));
        peer_send(&p, "{\"major\": 7}}, \"capabilities\": []}}\r\n");
        caps_id = peer_expect_command(&p, "qmp_capabilities");
        /* The queued command must wait for the handshake to complete. */
        run_for_ms(50);
        ck_assert(!peer_has_line(&p));
        ck_assert_uint_eq(c.n_ready, 0);

        /* Capabilities reply, an event, and the start of a second event in one write. */
        batch = xasprintf("{\"return\": {}, \"id\": %" PRIu64 "}\r\n"
                          "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n"
                          "{\"event\": \"RES",
                caps_id);
        peer_send(&p, batch);
        early_id = peer_expect_command(&p, "query-status");
        ck_assert_uint_eq(c.n_ready, 1);
        ck_assert_uint_eq(c.n_events, 1);
        ck_assert_str_eq(c.last_event, "STOP");
        ck_assert_uint_ne(early_id, caps_id);

        ck_assert_int_eq(qmp_command(c.qmp, "query-status", NULL, on_reply, &late), 0);
        late_id = peer_expect_command(&p, "query-status");
        ck_assert_uint_ne(late_id, early_id);

        /* Replies out of order are matched by id. */
        free(batch);
        batch = xasprintf("UME\"}\n{\"return\": {\"n\": 2}, \"id\": %" PRIu64 "}\n"
                          "{\"return\": {\"n\": 1}, \"id\": %" PRIu64 "}\n",
                late_id, early_id);
        peer_send(&p, batch);
        RUN_UNTIL(early.n_calls > 0 && late.n_calls > 0);
        ck_assert_uint_eq(c.n_events, 2);
        ck_assert_str_eq(c.last_event, "RESUME");
        ck_assert_str_eq(member_string(late.result, "n"), "2");
        ck_assert_str_eq(member_string(early.result, "n"), "1");
        ck_assert_uint_lt(late.seq, early.seq);
        ck_assert_uint_eq(c.n_disconnected, 0);
}
END_TEST

static const struct {
        const char *name;
        const char *bad; /* sent after the handshake; NULL sends an over-long line */
} protocol_error_cases[] = {
        { "garbage", "hello\n" },
        { "not an object", "[1, 2]\n" },
        { "unclassifiable", "{\"id\": 1}\n" },
        { "second greeting", "{\"QMP\": {}}\n" },
        { "trailing data", "{\"event\": \"STOP\"} {}\n" },
        { "line too long", NULL },
};

START_TEST(test_protocol_error_disconnects)
{
        _cleanup_(client_done) Client c = {};
        _cleanup_(peer_done) Peer p = {};
        _cleanup_(reply_done) Reply pending = {};

        peer_start_with_pending(&p, &c, &pending);

        if (protocol_error_cases[_i].bad)
                peer_send(&p, protocol_error_cases[_i].bad);
        else {
                _cleanup_free_ char *chunk = xmalloc(1024 * 1024);
                memset(chunk, 'x', 1024 * 1024);
                for (unsigned i = 0; i <= QMP_LINE_MAX / (1024 * 1024); i++)
                        ck_assert_int_eq(bufferevent_write(p.bev, chunk, 1024 * 1024), 0);
        }
        RUN_UNTIL(c.n_disconnected > 0);
        assert_error(&pending, "Disconnected");
        ck_assert_uint_lt(pending.seq, c.disconnected_seq);
        ck_assert_int_eq(qmp_command(c.qmp, "query-status", NULL, NULL, NULL), -ENOTCONN);

        /* The client closed its end. */
        ck_assert_int_eq(send(bufferevent_getfd(p.bev), "x", 1, MSG_NOSIGNAL), -1);
        ck_assert(errno == EPIPE || errno == ECONNRESET);
        run_for_ms(50);
        ck_assert_uint_eq(c.n_disconnected, 1);
}
END_TEST

START_TEST(test_peer_closes)
{
        _cleanup_(client_done) Client c = {};
        _cleanup_(peer_done) Peer p = {};
        _cleanup_(reply_done) Reply queued = {};

        /* Closed before the greeting: no ready, the queued command still hears about it. */
        peer_start(&p, &c);
        c.free_on_disconnect = true;
        ck_assert_int_eq(qmp_command(c.qmp, "query-status", NULL, on_reply, &queued), 0);
        bufferevent_free(TAKE_PTR(p.bev));
        RUN_UNTIL(c.n_disconnected > 0);
        ck_assert_ptr_null(c.qmp);
        ck_assert_uint_eq(c.n_ready, 0);
        assert_error(&queued, "Disconnected");
        ck_assert_uint_lt(queued.seq, c.disconnected_seq);
}
END_TEST

START_TEST(test_free_drops_handlers)
{
        _cleanup_(client_done) Client c = {};
        _cleanup_(peer_done) Peer p = {};
        _cleanup_(reply_done) Reply pending = {};

        peer_start_with_pending(&p, &c, &pending);
        qmp_free(TAKE_PTR(c.qmp));
        run_for_ms(50);
        ck_assert_uint_eq(pending.n_calls, 0);
        ck_assert_uint_eq(c.n_disconnected, 0);
}
END_TEST

static const struct {
        const char *line;
        int r;
        QmpMessageType type;
        const char *id; /* JSON text of the id, NULL for none */
        const char *detail; /* JSON text of the return value, or the error class, or the event name */
        const char *extra; /* the error desc, or the event's data as JSON text */
} parse_cases[] = {
        { "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": "
          "\"\"}, "
          "\"capabilities\": [\"oob\"]}}\r\n",
                0, QMP_MESSAGE_GREETING, NULL, NULL, NULL },
        { "{\"return\": {}, \"id\": 1}\r\n", 0, QMP_MESSAGE_RETURN, "1", "{}", NULL },
        { "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 18446744073709551615}", 0,
                QMP_MESSAGE_RETURN, "18446744073709551615", "{\"status\":\"running\",\"running\":true}", NULL },
        { "{\"id\": \"abc\", \"return\": [1, 2]}", 0, QMP_MESSAGE_RETURN, "\"abc\"", "[1,2]", NULL },
        { "  {\"return\": 3}\t\n", 0, QMP_MESSAGE_RETURN, NULL, "3", NULL },
        { "{\"id\": 4, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not "
          "been "
          "found\"}}\r\n",
                0, QMP_MESSAGE_ERROR, "4", "CommandNotFound", "The command nope has not been found" },
        { "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}", 0, QMP_MESSAGE_ERROR,
                NULL, "GenericError", "JSON parse error" },
        { "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"SHUTDOWN\", \"data\": "
          "{\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n",
                0, QMP_MESSAGE_EVENT, NULL, "SHUTDOWN", "{\"guest\":false,\"reason\":\"host-qmp-quit\"}" },
        { "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}", 0,
                QMP_MESSAGE_EVENT, NULL, "STOP", NULL },
        { "{\"event\": \"\\u00e9v\\u00e9nement\"}", 0, QMP_MESSAGE_EVENT, NULL, "\xc3\xa9v\xc3\xa9nement",
                NULL },
        { "", -EBADMSG },
        { "\r\n", -EBADMSG },
        { "garbage", -EBADMSG },
        { "[1, 2]", -EBADMSG },
        { "\"return\"", -EBADMSG },
        { "42", -EBADMSG },
        { "null", -EBADMSG },
        { "{}", -EBADMSG },
        { "{\"id\": 1}", -EBADMSG },
        { "{\"return\": {}", -EBADMSG },
        { "{\"return\": {}}}", -EBADMSG },
        { "{\"return\": {}} {\"return\": {}}", -EBADMSG },
        { "{\"return\": {}}\n{\"return\": {}}", -EBADMSG },
        { "{\"return\": {},}", -EBADMSG },
        { "{\"return\": null}", -EBADMSG },
        { "{\"return\": {}, \"error\": {\"class\": \"A\", \"desc\": \"B\"}}", -EBADMSG },
        { "{\"return\": {}, \"event\": \"STOP\"}", -EBADMSG },
        { "{\"QMP\": 1}", -EBADMSG },
        { "{\"error\": \"broken\"}", -EBADMSG },
        { "{\"error\": {\"class\": 1, \"desc\": \"x\"}}", -EBADMSG },
        { "{\"error\": {\"class\": \"GenericError\"}}", -EBADMSG },
        { "{\"error\": {\"class\": \"Generic\\u0000Error\", \"desc\": \"x\"}}", -EBADMSG },
        { "{\"event\": 5}", -EBADMSG },
        { "{\"event\": \"STOP\", \"data\": 1}", -EBADMSG },
        { "{\"event\": \"STOP\", \"data\": [1]}", -EBADMSG },
        { "{\"return\": \"\xff\xfe\"}", -EBADMSG },
        { "{\"return\": \"\xc3\"}", -EBADMSG },
};

START_TEST(test_parse_message)
{
        QmpMessage m = { .type = 99 };
        int r;

        r = qmp_parse_message(parse_cases[_i].line, strlen(parse_cases[_i].line), &m);
        ck_assert_msg(r == parse_cases[_i].r, "%s: got %d", parse_cases[_i].line, r);
        if (r < 0) {
                ck_assert_int_eq(m.type, 99);
                ck_assert_ptr_null(m.object);
                return;
        }

        ck_assert_int_eq(m.type, parse_cases[_i].type);
        ck_assert_ptr_nonnull(m.object);
        if (parse_cases[_i].id)
                ck_assert_str_eq(
                        json_object_to_json_string_ext(m.id, JSON_C_TO_STRING_PLAIN), parse_cases[_i].id);
        else
                ck_assert_ptr_null(m.id);

        switch (m.type) {
        case QMP_MESSAGE_GREETING:
                ck_assert(json_object_object_get_ex(m.qmp, "version", NULL));
                ck_assert(json_object_object_get_ex(m.qmp, "capabilities", NULL));
                break;
        case QMP_MESSAGE_RETURN:
                ck_assert_str_eq(json_object_to_json_string_ext(m.result, JSON_C_TO_STRING_PLAIN),
                        parse_cases[_i].detail);
                ck_assert_ptr_null(m.error_class);
                break;
        case QMP_MESSAGE_ERROR:
                ck_assert_ptr_null(m.result);
                ck_assert_str_eq(m.error_class, parse_cases[_i].detail);
                ck_assert_str_eq(m.error_desc, parse_cases[_i].extra);
                break;
        case QMP_MESSAGE_EVENT:
                ck_assert_str_eq(m.event, parse_cases[_i].detail);
                if (parse_cases[_i].extra)
                        ck_assert_str_eq(json_object_to_json_string_ext(m.data, JSON_C_TO_STRING_PLAIN),
                                parse_cases[_i].extra);
                else
                        ck_assert_ptr_null(m.data);
                break;
        }
        qmp_message_done(&m);
        ck_assert_ptr_null(m.object);
}
END_TEST

START_TEST(test_parse_message_limits)
{
        static const char with_nul[] = "{\"return\": {}}\0{\"return\": {}}";
        _cleanup_free_ char *big = xmalloc(QMP_LINE_MAX + 2);
        QmpMessage m;

        ck_assert_int_eq(qmp_parse_message(with_nul, sizeof(with_nul) - 1, &m), -EBADMSG);
        ck_assert_int_eq(qmp_parse_message(with_nul, strlen(with_nul), &m), 0);
        qmp_message_done(&m);

        /* The longest line allowed, a string padding out a reply, still parses; one byte more does not. */
        memset(big, ' ', QMP_LINE_MAX + 1);
        memcpy(big, "{\"return\": \"", 12);
        memset(big + 12, 'x', QMP_LINE_MAX - 12 - 2);
        memcpy(big + QMP_LINE_MAX - 2, "\"}", 2);
        ck_assert_int_eq(qmp_parse_message(big, QMP_LINE_MAX, &m), 0);
        ck_assert_uint_eq(strlen(json_object_get_string(m.result)), QMP_LINE_MAX - 14);
        qmp_message_done(&m);
        ck_assert_int_eq(qmp_parse_message(big, QMP_LINE_MAX + 1, &m), -EMSGSIZE);
}
END_TEST

START_TEST(test_take_line)
{
        struct evbuffer *buf = evbuffer_new();
        _cleanup_free_ char *chunk = xmalloc(1024 * 1024);
        size_t scanned = 0, len;
        char *line = NULL;

        ck_assert_int_eq(qmp_take_line(buf, &scanned, &line, &len), 0);
        evbuffer_add_printf(buf, "{\"a\"");
        ck_assert_int_eq(qmp_take_line(buf, &scanned, &line, &len), 0);
        ck_assert_uint_eq(scanned, 4);
        evbuffer_add_printf(buf, ": 1}\r\n\n{}\n{");
        ck_assert_int_eq(qmp_take_line(buf, &scanned, &line, &len), 1);
        ck_assert_str_eq(line, "{\"a\": 1}\r");
        ck_assert_uint_eq(len, 9);
        free(line);
        ck_assert_int_eq(qmp_take_line(buf, &scanned, &line, &len), 1);
        ck_assert_str_eq(line, "");
        ck_assert_uint_eq(len, 0);
        free(line);
        ck_assert_int_eq(qmp_take_line(buf, &scanned, &line, &len), 1);
        ck_assert_str_eq(line, "{}");
        free(line);
        ck_assert_int_eq(qmp_take_line(buf, &scanned, &line, &len), 0);
        ck_assert_uint_eq(evbuffer_get_length(buf), 1);

        /* A line of exactly QMP_LINE_MAX bytes arriving in pieces. */
        memset(chunk, 'x', 1024 * 1024);
        evbuffer_add(buf, chunk, 1024 * 1024 - 1);
        for (unsigned i = 1; i < QMP_LINE_MAX / (1024 * 1024); i++) {
                ck_assert_int_eq(qmp_take_line(buf, &scanned, &line, &len), 0);
                evbuffer_add(buf, chunk, 1024 * 1024);
        }
        evbuffer_add(buf, "\nrest", 5);
        ck_assert_int_eq(qmp_take_line(buf, &scanned, &line, &len), 1);
        ck_assert_uint_eq(len, QMP_LINE_MAX);
        ck_assert_uint_eq(strlen(line), QMP_LINE_MAX);
        free(line);
        ck_assert_uint_eq(evbuffer_get_length(buf), 4);

        /* One byte more, with or without its newline, is too long. */
        for (unsigned i = 0; i < QMP_LINE_MAX / (1024 * 1024); i++) {
                ck_assert_int_eq(qmp_take_line(buf, &scanned, &line, &len), 0);
                evbuffer_add(buf, chunk, 1024 * 1024);
        }
        ck_assert_int_eq(qmp_take_line(buf, &scanned, &line, &len), -EMSGSIZE);
        evbuffer_add(buf, "\n", 1);
        ck_assert_int_eq(qmp_take_line(buf, &scanned, &line, &len), -EMSGSIZE);
        evbuffer_free(buf);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("qmp");
        TCase *parse = tcase_create("parse"), *peer = tcase_create("peer"), *qemu = tcase_create("qemu");

        tcase_add_loop_test(parse, test_parse_message, 0, ELEMENTSOF(parse_cases));
        tcase_add_test(parse, test_parse_message_limits);
        tcase_add_test(parse, test_take_line);
        suite_add_tcase(s, parse);

        tcase_add_checked_fixture(peer, setup, teardown);
        tcase_add_test(peer, test_connect_failures);
        tcase_add_test(peer, test_split_and_batched_messages);
        tcase_add_loop_test(peer, test_protocol_error_disconnects, 0, ELEMENTSOF(protocol_error_cases));
        tcase_add_test(peer, test_peer_closes);
        tcase_add_test(peer, test_free_drops_handlers);
        suite_add_tcase(s, peer);

        tcase_add_checked_fixture(qemu, setup, teardown);
        tcase_add_test(qemu, test_handshake_and_query_status);
        tcase_add_test(qemu, test_query_version);
        tcase_add_test(qemu, test_unknown_command);
        tcase_add_test(qemu, test_pipelined_commands);
        tcase_add_test(qemu, test_getfd_closefd);
        tcase_add_test(qemu, test_migrate_to_passed_fd);
        tcase_add_test(qemu, test_quit_shutdown_event_and_disconnect);
        tcase_add_test(qemu, test_free_inside_reply_handler);
        tcase_add_test(qemu, test_adopt_fd_qemu_connects);
        suite_add_tcase(s, qemu);

        return run_suite(s);
}
