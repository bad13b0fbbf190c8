/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "alloc.h"
#include "fileio.h"
#include "hook.h"
#include "paths.h"
#include "spawn.h"

struct Hook {
        pid_t pid;
        int pidfd;
        struct event *exit_event;
        struct event *timer;
        bool timed_out;
        HookDoneHandler done;
        void *userdata;
};

/* Kills the hook's process group; once the hook is reaped there is nothing left to kill. */
static void hook_kill(Hook *h)
{
        if (h->pid <= 0)
                return;
        if (kill(-h->pid, SIGKILL) < 0)
                (void) kill(h->pid, SIGKILL);
}

static void on_hook_exit(evutil_socket_t fd, short what, void *userdata)
{
        Hook *h = userdata;
        int status = spawn_wait(h->pid);

        h->pid = 0;
        evtimer_del(h->timer);
        h->done(h, status, h->timed_out, h->userdata);
}

static void on_timeout(evutil_socket_t fd, short what, void *userdata)
{
        Hook *h = userdata;

        h->timed_out = true;
        hook_kill(h);
}

int hook_start(struct event_base *base, const char *script, uint32_t vmid, const char *phase,
        const HookOptions *o, HookDoneHandler done, void *userdata, Hook **ret)
{
        char id[16];
        char *argv[] = { (char *) script, id, (char *) phase, NULL };
        SpawnOptions so = { .env = o->env, .log_path = o->log_path, .new_process_group = true };
        struct timeval tv = { .tv_sec = o->timeout_sec };
        Hook *h;
        pid_t pid;
        int r, fd;

        snprintf(id, sizeof id, "%" PRIu32, vmid);
        r = spawn(argv, &so, &pid);
        if (r < 0)
                return r;
        /* The child is ours and not yet reaped, so its pid cannot have been reused. */
        fd = pidfd_open(pid, 0);
        if (fd < 0) {
                r = -errno;
                (void) kill(pid, SIGKILL);
                (void) spawn_wait(pid);
                return r;
        }
        h = new0(Hook, 1);
        *h = (Hook){ .pid = pid, .pidfd = fd, .done = done, .userdata = userdata };
        h->exit_event = event_new(base, fd, EV_READ, on_hook_exit, h);
        h->timer = evtimer_new(base, on_timeout, h);
        event_add(h->exit_event, NULL);
        evtimer_add(h->timer, &tv);
        *ret = h;
        return 0;
}

Hook *hook_free(Hook *h)
{
        if (!h)
                return NULL;
        if (h->pid > 0) {
                hook_kill(h);
                (void) spawn_wait(h->pid);
        }
        event_free(h->exit_event);
        event_free(h->timer);
        close(h->pidfd);
        free(h);
        return NULL;
}

char *hook_log_path(uint32_t vmid)
{
        _cleanup_free_ char *dir = root_path("var/log/berth/hooks");

        (void) mkdir_p(dir, 0750);
        return xasprintf("%s/%" PRIu32 ".log", dir, vmid);
}

pid_t hook_get_pid(const Hook *h)
{
        return h->pid;
}
