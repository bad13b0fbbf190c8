/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the store tests share: a store URL set by the fixture, and helpers around it. */

#include <check.h>
#include <event2/event.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "store.h"

/* Set by each test's fixture: the store under test, and the loop its watches run on. */
static char *url;
static struct event_base *base;

static inline Store *open_store(void)
{
        Store *s = NULL;
        ck_assert_int_eq(store_open(url, base, &s), 0);
        return s;
}

static inline uint64_t put_string(Store *s, const char *key, const char *value)
{
        uint64_t rev = 0;
        ck_assert_int_eq(store_put(s, key, value, strlen(value), STORE_REVISION_ANY, &rev), 0);
        return rev;
}

static inline void assert_value(Store *s, const char *key, const char *expected, uint64_t expected_revision)
{
        _cleanup_free_ char *v = NULL;
        uint64_t rev = 0;
        size_t n = 0;

        ck_assert_int_eq(store_get(s, key, &v, &n, &rev), 0);
        ck_assert_str_eq(v, expected);
        ck_assert_uint_eq(n, strlen(expected));
        ck_assert_uint_eq(rev, expected_revision);
}

typedef struct Recorded {
        StoreEventType type;
        char *key;
        uint64_t revision;
} Recorded;

typedef struct Recorder {
        Recorded events[64];
        size_t n;
} Recorder;

static inline void record(Store *s, StoreEventType type, const char *key, uint64_t revision, void *userdata)
{
        Recorder *r = userdata;

        ck_assert_uint_lt(r->n, ELEMENTSOF(r->events));
        r->events[r->n++] = (Recorded){ .type = type, .key = xstrdup(key), .revision = revision };
}

static inline void on_timeout(evutil_socket_t fd, short what, void *userdata)
{
        *(bool *) userdata = true;
}

/* Runs the loop until the recorder holds n events; fails after 60 s (a bound for a stuck test). */
static inline void wait_for_events(Recorder *r, size_t n)
{
        struct timeval tv = { .tv_sec = 60 };
        bool timed_out = false;
        struct event *timer = evtimer_new(base, on_timeout, &timed_out);

        evtimer_add(timer, &tv);
        while (r->n < n && !timed_out)
                ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
        event_free(timer);
        ck_assert_uint_eq(r->n, n);
}

static inline void assert_event(Recorder *r, size_t i, StoreEventType type, const char *key, uint64_t revision)
{
        ck_assert_uint_lt(i, r->n);
        ck_assert_str_eq(store_event_type_to_string(r->events[i].type), store_event_type_to_string(type));
        ck_assert_str_eq(r->events[i].key, key);
        if (revision != 0)
                ck_assert_uint_eq(r->events[i].revision, revision);
}

static inline void write_u64(int fd, uint64_t v)
{
        ck_assert_int_eq(write(fd, &v, sizeof v), sizeof v);
}

static inline uint64_t read_u64(int fd)
{
        uint64_t v;
        ck_assert_int_eq(read(fd, &v, sizeof v), sizeof v);
        return v;
}

/* Runs fn in a child process that exits with fn's return value. */
static inline pid_t fork_child(int (*fn)(void *), void *userdata)
{
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(fn(userdata));
        return pid;
}

static inline int wait_child(pid_t pid)
{
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static inline void recorder_done(Recorder *r)
{
        for (size_t i = 0; i < r->n; i++)
                free(r->events[i].key);
}
