/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanupd.h"
#include "fileio.h"
#include "log.h"
#include "paths.h"

/* How long a QEMU whose guest powered itself off may linger before it is told to quit. */
#define LINGER_SEC 2

/*
 * One QEMU's second QMP monitor, connected to run/berth/events.sock. QEMU
 * connects before guestd has registered the run, so the connection is tied to
 * a run only by its peer pid, when an event arrives.
 */
struct EventConn {
        Manager *manager;
        Qmp *qmp;
        pid_t pid;
        struct event *linger_timer;
};

static EventConn *event_conn_free(EventConn *c)
{
        if (!c)
                return NULL;
        qmp_free(c->qmp);
        if (c->linger_timer)
                event_free(c->linger_timer);
        free(c);
        return NULL;
}

static void manager_drop_event_conn(Manager *m, EventConn *c)
{
        for (size_t i = 0; i < m->n_event_conns; i++)
                if (m->event_conns[i] == c) {
                        m->event_conns[i] = m->event_conns[--m->n_event_conns];
                        break;
                }
        event_conn_free(c);
}

/* The guest whose current, not yet cleaned, run is the process at the other end. */
static Guest *event_conn_guest(EventConn *c)
{
        Manager *m = c->manager;

        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                if (g->run && g->run->pid == c->pid &&
                        (g->run->state == RUN_RUNNING || g->run->state == RUN_STOPPING))
                        return g;
        }
        return NULL;
}

static void on_linger_timeout(evutil_socket_t fd, short what, void *userdata)
{
        EventConn *c = userdata;
        Guest *g = event_conn_guest(c);

        if (!g || run_process_alive(g->run) <= 0)
                return;
        log_info("Guest %u: guest powered off but QEMU %d is still there, telling it to quit.", g->vmid,
                (int) c->pid);
        (void) qmp_command(c->qmp, "quit", NULL, NULL, NULL);
}

static void on_event(Qmp *q, const char *name, json_object *data, void *userdata)
{
        EventConn *c = userdata;
        struct timeval tv = { .tv_sec = LINGER_SEC };
        json_object *v;
        const char *reason;
        bool by_guest;
        Guest *g;

        if (!streq(name, "SHUTDOWN"))
                return;
        g = event_conn_guest(c);
        if (!g) {
                log_debug("SHUTDOWN from QEMU %d, which has no registered run.", (int) c->pid);
                return;
        }
        by_guest = data && json_object_object_get_ex(data, "guest", &v) && json_object_get_boolean(v);
        reason = data && json_object_object_get_ex(data, "reason", &v) ? json_object_get_string(v) : NULL;
        guest_note_shutdown(g, by_guest, reason);
        if (!by_guest)
                return;
        if (!c->linger_timer)
                c->linger_timer = evtimer_new(c->manager->base, on_linger_timeout, c);
        evtimer_add(c->linger_timer, &tv);
}

static void on_disconnected(Qmp *q, void *userdata)
{
        EventConn *c = userdata;
        Manager *m = c->manager;
        Guest *g = event_conn_guest(c);

        /* QEMU closes the monitor as it exits; the pidfd event may not have been handled yet. */
        if (g && guest_run_ended(g) > 0) {
                log_info("Guest %u: event socket of QEMU %d closed, QEMU is gone.", g->vmid, (int) c->pid);
                guest_cleanup(g);
        }
        manager_drop_event_conn(m, c);
}

static const QmpCallbacks event_callbacks = {
        .event = on_event,
        .disconnected = on_disconnected,
};

static void on_accept(evutil_socket_t fd, short what, void *userdata)
{
        Manager *m = userdata;
        struct ucred cred;
        socklen_t len = sizeof cred;
        EventConn *c;
        int cfd, r;

        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(errno, "Failed to accept on the event socket: %m");
                return;
        }
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != geteuid()) {
                log_warning("Refusing event connection from pid %d uid %d: not this daemon's user.",
                        (int) cred.pid, (int) cred.uid);
                close(cfd);
                return;
        }
        c = new0(EventConn, 1);
        *c = (EventConn){ .manager = m, .pid = cred.pid };
        r = qmp_adopt_fd(m->base, cfd, &event_callbacks, c, &c->qmp);
        if (r < 0) {
                log_warning_errno(r, "Failed to speak QMP with QEMU %d: %m", (int) cred.pid);
                close(cfd);
                free(c);
                return;
        }
        m->event_conns = xrealloc(m->event_conns, (m->n_event_conns + 1) * sizeof *m->event_conns);
        m->event_conns[m->n_event_conns++] = c;
        log_debug("QEMU %d connected to the event socket.", (int) cred.pid);
}

int manager_listen_events(Manager *m)
{
        _cleanup_free_ char *dir = root_path("run/berth"), *path = xasprintf("%s/events.sock", dir);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        mode_t old;
        int r;

        r = mkdir_p(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", dir);
        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(ENAMETOOLONG, "Event socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create the event socket: %m");
        (void) unlink(path);
        /* Created 0600 from the start: no window in which another user could connect. */
        old = umask(0177);
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa);
        umask(old);
        if (r < 0 || listen(fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "Failed to listen on %s: %m", path);
        m->events_fd = TAKE_FD(fd);
        m->events_event = event_new(m->base, m->events_fd, EV_READ | EV_PERSIST, on_accept, m);
        event_add(m->events_event, NULL);
        return 0;
}

void manager_close_events(Manager *m)
{
        for (size_t i = 0; i < m->n_event_conns; i++)
                event_conn_free(m->event_conns[i]);
        free(m->event_conns);
        m->event_conns = NULL;
        m->n_event_conns = 0;
        if (m->events_event) {
                event_free(m->events_event);
                m->events_event = NULL;
        }
        m->events_fd = safe_close(m->events_fd);
}
