/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <sys/socket.h>
#include <time.h>

#include "alloc.h"
#include "bus.h"
#include "check-main.h"

/*
 * Two real sd-bus connections on one libevent loop, talking peer to peer over
 * a socketpair: the server end exports a small object, the client end calls
 * it. No dbus-daemon; everything else is what a daemon runs.
 */

#define TEST_PATH "/org/berth/Test"
#define TEST_INTERFACE "org.berth.Test1"
#define BIG_SIZE (1024 * 1024)
#define SOCKET_BUFFER_SIZE (64 * 1024)
#define WATCHDOG_SEC 10

static struct {
        struct event_base *base;
        sd_bus *server, *client;
        BusEvent *server_event, *client_event;
        sd_bus_slot *vtable_slot;
        struct event *watchdog;
        bool watchdog_fired;

        /* Server side: deferred replies. */
        sd_bus_message *later_call;
        uint32_t later_size;
        struct event *later_timer;
        sd_bus_message *never_call;

        /* Client side: what the reply callback saw. */
        int replies;
        int reply_errno;
        char *reply_error_name;
        uint8_t *reply_data;
        size_t reply_size;
        uint64_t reply_usec;
        struct event *call_timer;
        uint64_t call_usec;
} f;

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

/* Not periodic in any power of two, so a dropped or repeated chunk of a long reply shows. */
static uint8_t payload_byte(size_t i)
{
        return (uint8_t) (i * 7 + i / 251);
}

static int reply_payload(sd_bus_message *call, uint32_t size)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ uint8_t *data = xmalloc(MAX(size, 1u));
        int r;

        for (size_t i = 0; i < size; i++)
                data[i] = payload_byte(i);
        r = sd_bus_message_new_method_return(call, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 'y', data, size);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_now(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        uint32_t size;
        int r;

        r = sd_bus_message_read(m, "u", &size);
        if (r < 0)
                return r;
        return reply_payload(m, size);
}

static void on_later_timer(evutil_socket_t fd _unused_, short what _unused_, void *userdata)
{
        ck_assert_int_ge(reply_payload(f.later_call, f.later_size), 0);
        f.later_call = sd_bus_message_unref(f.later_call);
}

static int method_later(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        uint32_t delay_msec;
        struct timeval tv;
        int r;

        r = sd_bus_message_read(m, "uu", &delay_msec, &f.later_size);
        if (r < 0)
                return r;
        f.later_call = sd_bus_message_ref(m);
        tv = (struct timeval){ .tv_sec = delay_msec / 1000, .tv_usec = (delay_msec % 1000) * 1000 };
        evtimer_add(f.later_timer, &tv);
        return 1;
}

static int method_never(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        f.never_call = sd_bus_message_ref(m);
        return 1;
}

static const sd_bus_vtable test_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Now", SD_BUS_ARGS("u", size), SD_BUS_RESULT("ay", data), method_now, 0),
        SD_BUS_METHOD_WITH_ARGS("Later", SD_BUS_ARGS("u", delay_msec, "u", size), SD_BUS_RESULT("ay", data),
                method_later, 0),
        SD_BUS_METHOD_WITH_ARGS("Never", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_never, 0),
        SD_BUS_VTABLE_END,
};

static void on_watchdog(evutil_socket_t fd _unused_, short what _unused_, void *userdata)
{
        f.watchdog_fired = true;
        event_base_loopbreak(f.base);
}

static void setup(void)
{
        struct timeval watchdog = { .tv_sec = WATCHDOG_SEC };
        sd_id128_t id;
        int fds[2];

        f.base = event_base_new();
        ck_assert_ptr_nonnull(f.base);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);

        ck_assert_int_ge(sd_bus_new(&f.server), 0);
        ck_assert_int_ge(sd_bus_set_fd(f.server, fds[0], fds[0]), 0);
        ck_assert_int_ge(sd_id128_randomize(&id), 0);
        ck_assert_int_ge(sd_bus_set_server(f.server, true, id), 0);
        ck_assert_int_ge(sd_bus_set_anonymous(f.server, true), 0);
        ck_assert_int_ge(sd_bus_add_object_vtable(
                                 f.server, &f.vtable_slot, TEST_PATH, TEST_INTERFACE, test_vtable, NULL),
                0);
        ck_assert_int_ge(sd_bus_start(f.server), 0);

        ck_assert_int_ge(sd_bus_new(&f.client), 0);
        ck_assert_int_ge(sd_bus_set_fd(f.client, fds[1], fds[1]), 0);
        ck_assert_int_ge(sd_bus_start(f.client), 0);

        /* sd-bus grows socket buffers to megabytes; small ones make a 1 MiB message take many writes. */
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                for (size_t j = 0; j < 2; j++)
                        ck_assert_int_eq(setsockopt(fds[i], SOL_SOCKET, j == 0 ? SO_SNDBUF : SO_RCVBUF,
                                                 &(int){ SOCKET_BUFFER_SIZE }, sizeof(int)),
                                0);

        ck_assert_int_eq(bus_event_attach(f.server, f.base, &f.server_event), 0);
        ck_assert_int_eq(bus_event_attach(f.client, f.base, &f.client_event), 0);

        f.later_timer = evtimer_new(f.base, on_later_timer, NULL);
        f.watchdog = evtimer_new(f.base, on_watchdog, NULL);
        ck_assert_ptr_nonnull(f.later_timer);
        ck_assert_ptr_nonnull(f.watchdog);
        evtimer_add(f.watchdog, &watchdog);
}

static void teardown(void)
{
        if (f.call_timer)
                event_free(f.call_timer);
        event_free(f.later_timer);
        event_free(f.watchdog);
        sd_bus_message_unref(f.later_call);
        sd_bus_message_unref(f.never_call);
        sd_bus_slot_unref(f.vtable_slot);
        bus_event_free(f.client_event);
        bus_event_free(f.server_event);
        sd_bus_close_unref(f.client);
        sd_bus_close_unref(f.server);
        event_base_free(f.base);
        free(f.reply_error_name);
        free(f.reply_data);
        f = (typeof(f)){};
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const void *data;
        size_t size;

        f.replies++;
        f.reply_usec = now_usec();
        if (sd_bus_message_is_method_error(m, NULL)) {
                f.reply_errno = sd_bus_message_get_errno(m);
                f.reply_error_name = xstrdup(sd_bus_message_get_error(m)->name);
        } else if (sd_bus_message_read_array(m, 'y', &data, &size) >= 0) {
                free(f.reply_data);
                f.reply_data = size > 0 ? xmemdup(data, size) : NULL;
                f.reply_size = size;
        }
        event_base_loopbreak(f.base);
        return 0;
}

/*
 * bus_event_loop() re-arms only the bus it is given before each poll: pass the
 * one that sends outside its own callbacks.
 */
static void run_loop(BusEvent *b)
{
        ck_assert_int_eq(bus_event_loop(b), 0);
        ck_assert_msg(!f.watchdog_fired, "no reply within %d s", WATCHDOG_SEC);
}

static void assert_payload(size_t size)
{
        ck_assert_ptr_null(f.reply_error_name);
        ck_assert_uint_eq(f.reply_size, size);
        for (size_t i = 0; i < size; i++)
                if (f.reply_data[i] != payload_byte(i))
                        ck_abort_msg("byte %zu of %zu differs", i, size);
}

START_TEST(test_async_call_gets_reply)
{
        ck_assert_int_ge(sd_bus_call_method_async(f.client, NULL, NULL, TEST_PATH, TEST_INTERFACE, "Now",
                                 on_reply, NULL, "u", 16),
                0);
        run_loop(f.client_event);
        ck_assert_int_eq(f.replies, 1);
        assert_payload(16);
}
END_TEST

/*
 * The server replies from a plain libevent timer, outside any bus callback.
 * A reply too big for the socket buffer is only partly written there; the
 * rest goes out when the loop, re-arming before it polls, asks for EV_WRITE.
 */
START_TEST(test_reply_from_timer)
{
        uint32_t size = _i == 0 ? 16 : BIG_SIZE;

        ck_assert_int_ge(sd_bus_call_method_async(f.client, NULL, NULL, TEST_PATH, TEST_INTERFACE, "Later",
                                 on_reply, NULL, "uu", 50, size),
                0);
        run_loop(f.server_event);
        ck_assert_ptr_null(f.later_call);
        ck_assert_int_eq(f.replies, 1);
        assert_payload(size);
}
END_TEST

START_TEST(test_big_reply_intact)
{
        ck_assert_int_ge(sd_bus_call_method_async(f.client, NULL, NULL, TEST_PATH, TEST_INTERFACE, "Now",
                                 on_reply, NULL, "u", BIG_SIZE),
                0);
        run_loop(f.client_event);
        ck_assert_int_eq(f.replies, 1);
        assert_payload(BIG_SIZE);
}
END_TEST

/* Issued from a libevent timer: only the re-arm before the next poll can start the call's timeout. */
static void on_call_timer(evutil_socket_t fd _unused_, short what _unused_, void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        ck_assert_int_ge(
                sd_bus_message_new_method_call(f.client, &m, NULL, TEST_PATH, TEST_INTERFACE, "Never"), 0);
        ck_assert_int_ge(sd_bus_message_set_expect_reply(m, true), 0);
        f.call_usec = now_usec();
        ck_assert_int_ge(sd_bus_call_async(f.client, NULL, m, on_reply, NULL, 100 * 1000), 0);
}

START_TEST(test_call_timeout)
{
        struct timeval soon = {};
        uint64_t waited;

        /* One round trip first, so the client is past authentication and sends the call at once. */
        ck_assert_int_ge(sd_bus_call_method_async(f.client, NULL, NULL, TEST_PATH, TEST_INTERFACE, "Now",
                                 on_reply, NULL, "u", 0),
                0);
        run_loop(f.client_event);
        ck_assert_int_eq(f.replies, 1);
        ck_assert_ptr_null(f.reply_error_name);

        f.call_timer = evtimer_new(f.base, on_call_timer, NULL);
        ck_assert_ptr_nonnull(f.call_timer);
        evtimer_add(f.call_timer, &soon);
        run_loop(f.client_event);
        ck_assert_int_eq(f.replies, 2);
        ck_assert_ptr_nonnull(f.reply_error_name);
        ck_assert_str_eq(f.reply_error_name, SD_BUS_ERROR_NO_REPLY);
        ck_assert_int_eq(f.reply_errno, ETIMEDOUT);
        /* The server did get the call: the timeout is the client's, not a lost message. */
        ck_assert_ptr_nonnull(f.never_call);
        waited = f.reply_usec - f.call_usec;
        ck_assert_uint_ge(waited, 100 * 1000);
        ck_assert_uint_lt(waited, 5 * 1000 * 1000);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("bus");
        TCase *tc = tcase_create("bus");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_async_call_gets_reply);
        tcase_add_loop_test(tc, test_reply_from_timer, 0, 2);
        tcase_add_test(tc, test_big_reply_intact);
        tcase_add_test(tc, test_call_timeout);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
