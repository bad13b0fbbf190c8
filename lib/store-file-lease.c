/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Leases of the file: backend (their files: see store-file-txn.c). The owner
 * moves the deadline to now + TTL every TTL/3; a renewal that comes less than
 * a period before the deadline (the loop stood still) finds the lease lost,
 * whether or not another Store has ended it yet. A Store with watches ends the
 * leases of others at their deadlines, so the keys of a dead owner go away.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <unistd.h>

#include "alloc.h"
#include "fileio.h"
#include "store-file.h"

typedef struct FileLease {
        FileStore *f;
        StoreLease *owner;
        uint64_t id;
        unsigned ttl_sec;
        uint64_t deadline_usec;
        struct event *timer;
        bool lost;
} FileLease;

struct FileLeases {
        FileStore *f;
        int fd;
        struct event *changed;
        struct event *timer;
};

static uint64_t period_usec(const FileLease *l)
{
        return (uint64_t) l->ttl_sec * 1000000 / 3;
}

static void lease_lose(FileLease *l)
{
        l->lost = true;
        evtimer_del(l->timer);
        store_lease_report_lost(l->owner);
}

static int lease_renew(FileLease *l)
{
        _cleanup_release_ FileStore *held = NULL;
        _cleanup_(file_lease_text_free) FileLeaseText text = {};
        uint64_t deadline = file_boottime_usec() + (uint64_t) l->ttl_sec * 1000000;
        int r;

        r = file_store_acquire(l->f, LOCK_EX, &held);
        if (r < 0)
                return r;
        /* Gone: ended by another Store, its deadline past. */
        r = file_lease_read(l->f, l->id, &text);
        if (r < 0)
                return r;
        text.deadline_usec = deadline;
        r = file_lease_write(l->f, l->id, &text);
        if (r < 0)
                return r;
        l->deadline_usec = deadline;
        return 0;
}

static void on_renew(evutil_socket_t fd, short what, void *userdata)
{
        FileLease *l = userdata;

        if (file_boottime_usec() + period_usec(l) >= l->deadline_usec || lease_renew(l) == -ENOENT)
                lease_lose(l);
}

int file_lease_grant(void *data, unsigned ttl_sec, StoreLease *owner, void **ret)
{
        FileStore *f = data;
        _cleanup_release_ FileStore *held = NULL;
        FileLeaseText text = { .ttl_sec = ttl_sec };
        uint64_t id = 0, p;
        struct timeval tv;
        int r;

        while (id == 0)
                if (getrandom(&id, sizeof id, 0) != sizeof id)
                        return -EIO;
        r = file_store_acquire(f, LOCK_EX, &held);
        if (r < 0)
                return r;
        text.deadline_usec = file_boottime_usec() + (uint64_t) ttl_sec * 1000000;
        r = file_lease_write(f, id, &text);
        if (r < 0)
                return r;

        FileLease *l = new0(FileLease, 1);
        *l = (FileLease){
                .f = f, .owner = owner, .id = id, .ttl_sec = ttl_sec, .deadline_usec = text.deadline_usec
        };
        l->timer = event_new(f->base, -1, EV_PERSIST, on_renew, l);
        if (!l->timer)
                abort();
        p = period_usec(l);
        tv = (struct timeval){ .tv_sec = (time_t) (p / 1000000), .tv_usec = (suseconds_t) (p % 1000000) };
        evtimer_add(l->timer, &tv);
        *ret = l;
        return 0;
}

void file_lease_revoke(void *data)
{
        FileLease *l = data;
        _cleanup_release_ FileStore *held = NULL;

        if (file_store_acquire(l->f, LOCK_EX, &held) >= 0) {
                _cleanup_(file_lease_text_free) FileLeaseText text = {};
                if (file_lease_read(l->f, l->id, &text) >= 0)
                        (void) file_lease_end(l->f, l->id, &text);
        }
        event_free(l->timer);
        free(l);
}

uint64_t file_lease_id(void *data)
{
        return ((FileLease *) data)->id;
}

static int take_earliest(FileStore *f, uint64_t id, FileLeaseText *l, void *userdata)
{
        uint64_t *earliest = userdata;

        *earliest = MIN(*earliest, l->deadline_usec);
        return 0;
}

/* Ends what has run out (taking the lock does), then waits for the next deadline. */
static void sweeper_arm(FileLeases *s)
{
        _cleanup_release_ FileStore *held = NULL;
        uint64_t deadline = UINT64_MAX, now;

        if (file_store_acquire(s->f, LOCK_SH, &held) < 0 ||
                file_leases_foreach(s->f, take_earliest, &deadline) < 0 || deadline == UINT64_MAX)
                return;
        now = file_boottime_usec();
        deadline = deadline > now ? deadline - now : 0;
        struct timeval tv = { .tv_sec = (time_t) (deadline / 1000000),
                .tv_usec = (suseconds_t) (deadline % 1000000) };
        evtimer_add(s->timer, &tv);
}

static void on_sweep_timer(evutil_socket_t fd, short what, void *userdata)
{
        sweeper_arm(userdata);
}

static void on_leases_changed(evutil_socket_t fd, short what, void *userdata)
{
        FileLeases *s = userdata;
        char buf[4096];

        while (read(s->fd, buf, sizeof buf) > 0)
                ;
        sweeper_arm(s);
}

void file_leases_sweeper_start(FileStore *f)
{
        _cleanup_free_ char *dir = xasprintf("%s/.leases", f->dir);
        FileLeases *s;

        if (f->sweeper || mkdir_p(dir, 0700) < 0)
                return;
        s = new0(FileLeases, 1);
        s->f = f;
        s->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (s->fd < 0 || inotify_add_watch(s->fd, dir, IN_MOVED_TO | IN_CREATE | IN_DELETE) < 0) {
                safe_close(s->fd);
                free(s);
                return;
        }
        s->changed = event_new(f->base, s->fd, EV_READ | EV_PERSIST, on_leases_changed, s);
        s->timer = evtimer_new(f->base, on_sweep_timer, s);
        if (!s->changed || !s->timer)
                abort();
        event_add(s->changed, NULL);
        f->sweeper = s;
        sweeper_arm(s);
}

void file_leases_sweeper_free(FileStore *f)
{
        FileLeases *s = f->sweeper;

        if (!s)
                return;
        event_free(s->changed);
        event_free(s->timer);
        safe_close(s->fd);
        free(s);
        f->sweeper = NULL;
}
