/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanupd-client.h"
#include "errors.h"
#include "fileio.h"
#include "guest-status.h"
#include "hook.h"
#include "log.h"
#include "paths.h"
#include "proc.h"
#include "qemu-render.h"
#include "qemu.h"
#include "spawn.h"

#define DEFAULT_SHUTDOWN_TIMEOUT_SEC 180U
/* How long QEMU gets to come up and answer QMP, and each step of a forced stop. */
#define START_TIMEOUT_SEC 120U
#define KILL_STEP_TIMEOUT_SEC 5U
/* How long a stopped guest's task waits for cleanupd to report the run clean (its post-stop hook included). */
#define CLEANUP_WAIT_SEC 120U

static const char *const guest_action_table[_GUEST_ACTION_MAX] = {
        [GUEST_ACTION_START] = "start",
        [GUEST_ACTION_SHUTDOWN] = "shutdown",
        [GUEST_ACTION_STOP] = "stop",
        [GUEST_ACTION_SUSPEND] = "suspend",
        [GUEST_ACTION_RESUME] = "resume",
        [GUEST_ACTION_REBOOT] = "reboot",
};
DEFINE_STRING_TABLE_LOOKUP(guest_action, GuestAction);

const char *guest_action_task_type(GuestAction a)
{
        static const char *const types[_GUEST_ACTION_MAX] = {
                [GUEST_ACTION_START] = "qmstart",
                [GUEST_ACTION_SHUTDOWN] = "qmshutdown",
                [GUEST_ACTION_STOP] = "qmstop",
                [GUEST_ACTION_SUSPEND] = "qmsuspend",
                [GUEST_ACTION_RESUME] = "qmresume",
                [GUEST_ACTION_REBOOT] = "qmreboot",
        };
        return types[a];
}

/* Where a forced stop stands: each step gets KILL_STEP_TIMEOUT_SEC before the next. */
typedef enum KillStep {
        KILL_NONE,
        KILL_QUIT,
        KILL_TERM,
        KILL_KILL,
} KillStep;

struct Operation {
        Guest *guest;
        GuestAction action;
        GuestOptions opts;
        Task *task;
        struct event *timer;
        KillStep kill_step;
        bool starting; /* the start half (of start, resume from disk or reboot) is under way */
        bool replacing; /* start: the previous run's QEMU is on its way out, its exit not handled yet */
        bool prepared; /* start: cleanupd has said the previous run is clean */
        int state_fd; /* the vmstate file being written or read */
        int incoming_fd; /* restore: the number the vmstate file has in QEMU, -1 otherwise */
        bool restored; /* restore: QEMU has read all of the saved state */
        char *state_volid;
        bool was_running; /* suspend to disk: whether to continue the guest if saving fails */
        bool saved; /* suspend to disk: the state is complete on storage */
        bool forced; /* shutdown: force-stopped after the timeout */
        char *exit_log; /* the end of QEMU's log when it died while starting */
        sd_bus_slot *call; /* the cleanupd call in flight */
        Hook *hook; /* the hook phase in progress */
        char *run_id; /* stopping: the run being stopped */
        bool exited; /* stopping: QEMU is gone, the task waits for the run to be clean */
        char *clean_result; /* stopping: cleanupd was done before the pre-stop hook and SetStopIntent */
};

const char *qemu_host_default_accel(void)
{
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return "tcg";
        close(fd);
        return "kvm";
}

char *qemu_run_dir(uint32_t vmid)
{
        return root_path("run/berth/qemu/%u", vmid);
}

static void guest_set_state(Guest *g, GuestState state)
{
        if (g->state == state)
                return;
        g->state = state;
        guest_bus_emit_changed(g, "State", NULL);
        guest_publish_status(g);
}

/*
 * Signals the run's QEMU through its pidfd: never a process that took over its pid and never,
 * once the run is over, pid 0, which kill() would take for guestd's own process group.
 */
static void guest_kill(Guest *g, int sig)
{
        if (g->pidfd >= 0)
                (void) pidfd_send_signal(g->pidfd, sig, NULL, 0);
}

/* ---- operations ---- */

static void operation_free(Operation *op)
{
        if (!op)
                return;
        if (op->timer)
                event_free(op->timer);
        safe_close(op->state_fd);
        free(op->state_volid);
        free(op->exit_log);
        sd_bus_slot_unref(op->call);
        hook_free(op->hook);
        free(op->run_id);
        free(op->clean_result);
        guest_options_done(&op->opts);
        free(op);
}

static void operation_endv(
        Operation *op, TaskState state, const char *error_name, const char *fmt, va_list ap) _printf_(4, 0);
static void operation_endv(Operation *op, TaskState state, const char *error_name, const char *fmt, va_list ap)
{
        _cleanup_free_ char *result = xvasprintf(fmt, ap);
        Guest *g = op->guest;

        if (state == TASK_ERROR) {
                log_warning("Guest %u: %s failed: %s", g->vmid, guest_action_to_string(op->action), result);
                task_fail(op->task, error_name, "%s", result);
        } else
                task_finish(op->task, state, "%s", result);
        g->op = NULL;
        operation_free(op);
}

static void operation_end(Operation *op, TaskState state, const char *fmt, ...) _printf_(3, 4);
static void operation_end(Operation *op, TaskState state, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        operation_endv(op, state, BERTH_ERROR_FAILED, fmt, ap);
        va_end(ap);
}

/* Ends the operation in error, with the D-Bus error name the task reports. */
static void operation_fail(Operation *op, const char *error_name, const char *fmt, ...) _printf_(3, 4);
static void operation_fail(Operation *op, const char *error_name, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        operation_endv(op, TASK_ERROR, error_name, fmt, ap);
        va_end(ap);
}

/* The error name a task reports for a failed cleanupd call: cleanupd's own, or Failed when it is unreachable. */
static const char *cleanupd_error_name(const sd_bus_error *e)
{
        return startswith(e->name, "org.berth.Error.") ? e->name : BERTH_ERROR_FAILED;
}

static void on_operation_timer(evutil_socket_t fd, short what, void *userdata);

static void operation_arm_timer(Operation *op, unsigned seconds)
{
        struct timeval tv = { .tv_sec = seconds };
        if (!op->timer)
                op->timer = evtimer_new(op->guest->manager->base, on_operation_timer, op);
        evtimer_add(op->timer, &tv);
}

static void operation_disarm_timer(Operation *op)
{
        if (op->timer)
                evtimer_del(op->timer);
}

static void qmp_log_reply(
        Qmp *q, json_object *reply, const char *error_class, const char *error_desc, void *userdata)
{
        Guest *g = userdata;
        if (error_class)
                log_debug("Guest %u: QMP command failed: %s: %s", g->vmid, error_class, strempty(error_desc));
}

/* The next step of a forced stop: QMP quit, then SIGTERM, then SIGKILL. */
static void operation_kill_next(Operation *op)
{
        Guest *g = op->guest;

        switch (op->kill_step) {
        case KILL_NONE:
                op->kill_step = KILL_QUIT;
                task_log(op->task, "Stopping guest %u: quit", g->vmid);
                if (g->qmp && qmp_command(g->qmp, "quit", NULL, qmp_log_reply, g) >= 0)
                        break;
                _fallthrough_;
        case KILL_QUIT:
                op->kill_step = KILL_TERM;
                task_log(op->task, "Sending SIGTERM to QEMU %d", (int) g->pid);
                guest_kill(g, SIGTERM);
                break;
        case KILL_TERM:
        case KILL_KILL:
                op->kill_step = KILL_KILL;
                task_log(op->task, "Sending SIGKILL to QEMU %d", (int) g->pid);
                guest_kill(g, SIGKILL);
                break;
        }
        operation_arm_timer(op, KILL_STEP_TIMEOUT_SEC);
}

/* ---- the QEMU run ---- */

static void guest_on_exit(Guest *g);
static void operation_on_exit(Operation *op);

/*
 * QEMU's own output, kept outside the run directory: cleanupd removes that as
 * soon as QEMU is gone, and the reason a start failed must outlive it.
 */
static char *qemu_log_path(uint32_t vmid)
{
        return root_path("var/log/berth/qemu/%u.log", vmid);
}

/* The last lines QEMU wrote to its log: the reason it refused to start, usually. */
static char *qemu_log_tail(uint32_t vmid)
{
        _cleanup_free_ char *path = qemu_log_path(vmid), *text = NULL;
        size_t n;

        if (read_full_file(path, &text, &n) < 0 || n == 0)
                return xstrdup("no output");
        while (n > 0 && text[n - 1] == '\n')
                text[--n] = 0;
        const char *tail = n > 512 ? text + n - 512 : text;
        return xstrdup(tail);
}

static void on_pidfd(evutil_socket_t fd, short what, void *userdata)
{
        guest_on_exit(userdata);
}

static void on_qmp_event(Qmp *q, const char *name, json_object *data, void *userdata);
static void on_qmp_disconnected(Qmp *q, void *userdata);
static void on_qmp_ready(Qmp *q, void *userdata);

static const QmpCallbacks qmp_callbacks = {
        .ready = on_qmp_ready,
        .event = on_qmp_event,
        .disconnected = on_qmp_disconnected,
};

static int guest_watch_pid(Guest *g, pid_t pid)
{
        int fd = pidfd_open(pid, 0);
        if (fd < 0)
                return negative_errno();
        g->pid = pid;
        g->pidfd = fd;
        g->pidfd_event = event_new(g->manager->base, fd, EV_READ, on_pidfd, g);
        event_add(g->pidfd_event, NULL);
        guest_bus_emit_changed(g, "Pid", NULL);
        return 0;
}

static int guest_connect_qmp(Guest *g)
{
        _cleanup_free_ char *dir = qemu_run_dir(g->vmid), *sock = xasprintf("%s/qmp.sock", dir);
        return qmp_connect(g->manager->base, sock, &qmp_callbacks, g, &g->qmp);
}

void qemu_detach(Guest *g)
{
        if (g->op) {
                task_finish(g->op->task, TASK_ERROR, "guestd is shutting down");
                operation_free(g->op);
                g->op = NULL;
        }
        if (g->qmp) {
                qmp_free(g->qmp);
                g->qmp = NULL;
        }
        if (g->pidfd_event) {
                event_free(g->pidfd_event);
                g->pidfd_event = NULL;
        }
        g->pidfd = safe_close(g->pidfd);
}

/*
 * QEMU is gone: collect it, tell everyone, and let the operation in progress
 * react. Its runtime files are cleanupd's to remove; GuestStopped follows
 * when cleanupd reports the run clean.
 */
static void guest_on_exit(Guest *g)
{
        bool ours = g->op && !g->op->replacing; /* the operation in progress ended this run */
        const char *reason = ours ? guest_action_to_string(g->op->action)
                : g->powered_off  ? "poweroff"
                                  : "crash";
        siginfo_t si = {};

        /* Only our own children can be reaped; a QEMU adopted after a restart is someone else's. */
        (void) waitid(P_PIDFD, (id_t) g->pidfd, &si, WEXITED | WNOHANG);
        log_info("Guest %u: QEMU %d exited (%s).", g->vmid, (int) g->pid, reason);

        if (g->qmp) {
                qmp_free(g->qmp);
                g->qmp = NULL;
        }
        event_free(g->pidfd_event);
        g->pidfd_event = NULL;
        g->pidfd = safe_close(g->pidfd);
        g->pid = 0;
        g->powered_off = false;
        g->shut_down = false;
        if (ours && g->op->starting)
                g->op->exit_log = qemu_log_tail(g->vmid);
        free(g->exit_run_id);
        g->exit_run_id = TAKE_PTR(g->run_id);
        free(g->exit_reason);
        g->exit_reason = xstrdup(reason);
        guest_set_state(g,
                streq_ptr(guest_config_get(g->config, "lock"), "suspended") ? GUEST_SUSPENDED : GUEST_STOPPED);
        guest_bus_emit_changed(g, "Pid", "RunId", NULL);

        if (g->op)
                operation_on_exit(g->op);
        if (g->clean_result) {
                _cleanup_free_ char *result = TAKE_PTR(g->clean_result);
                _cleanup_free_ char *run_id = xstrdup(g->exit_run_id);
                qemu_on_run_clean(g, run_id, result);
        }
}

/*
 * guestd's view of a run lags the kernel's: QEMU's exit can be queued behind the call at hand.
 * Handles an exit the pidfd already tells of.
 */
static void guest_catch_up_exit(Guest *g)
{
        struct pollfd p = { .fd = g->pidfd, .events = POLLIN };

        if (g->pidfd >= 0 && poll(&p, 1, 0) > 0)
                guest_on_exit(g);
}

/*
 * Whether the run's QEMU, still there, is on its way out: it announced its SHUTDOWN, or /proc
 * shows it exiting, a zombie or doomed by a pending SIGKILL. A start need not wait for guestd to
 * see it go; cleanupd's PrepareStart waits for its cleanup.
 */
static bool guest_qemu_leaving(Guest *g)
{
        int r;

        if (g->pid <= 0 || g->shut_down)
                return true;
        r = proc_pid_exiting(g->pid);
        return r > 0 || r == -ESRCH;
}

static void operation_on_clean(Operation *op, const char *result);

void qemu_on_run_clean(Guest *g, const char *run_id, const char *result)
{
        /*
         * cleanupd can be done before our pidfd fires: a QEMU whose main thread has exited looks
         * gone while its other threads still wind down. Its exit comes first, and only it reaps.
         */
        if (g->pid > 0 && streq_ptr(g->run_id, run_id)) {
                free(g->clean_result);
                g->clean_result = xstrdup(result);
                return;
        }
        if (streq_ptr(g->exit_run_id, run_id)) {
                manager_bus_emit_guest_stopped(g->manager, g, run_id, g->exit_reason);
                g->exit_run_id = mfree(g->exit_run_id);
                g->exit_reason = mfree(g->exit_reason);
        }
        if (g->op && g->op->exited && streq_ptr(g->op->run_id, run_id))
                operation_on_clean(g->op, result);
}

static void operation_start_done(Operation *op, GuestState state);

static void on_query_status(
        Qmp *q, json_object *reply, const char *error_class, const char *error_desc, void *userdata)
{
        Guest *g = userdata;
        json_object *status;
        const char *s;

        if (error_class || !json_object_object_get_ex(reply, "status", &status))
                return;
        s = json_object_get_string(status);
        if (g->op && g->op->starting) {
                /* A restored guest comes back running or paused, as it was when it was saved. */
                if (streq(s, "running"))
                        operation_start_done(g->op, GUEST_RUNNING);
                else if (g->op->restored)
                        operation_start_done(g->op, GUEST_PAUSED);
                return;
        }
        if (streq(s, "running"))
                guest_set_state(g, GUEST_RUNNING);
        else if (streq(s, "paused") || streq(s, "suspended") || streq(s, "postmigrate"))
                guest_set_state(g, GUEST_PAUSED);
}

static json_object *migration_events_capability(void)
{
        json_object *args = json_object_new_object(), *caps = json_object_new_array(),
                    *cap = json_object_new_object();

        json_object_object_add(cap, "capability", json_object_new_string("events"));
        json_object_object_add(cap, "state", json_object_new_boolean(true));
        json_object_array_add(caps, cap);
        json_object_object_add(args, "capabilities", caps);
        return args;
}

static void on_restore_command_reply(
        Qmp *q, json_object *reply, const char *error_class, const char *error_desc, void *userdata);

static void on_qmp_ready(Qmp *q, void *userdata)
{
        Guest *g = userdata;
        Operation *op = g->op;

        if (op && op->starting && op->incoming_fd >= 0) {
                /* QEMU waits ("-incoming defer") until told where the state comes from; events say when it is in. */
                _cleanup_free_ char *uri = xasprintf("fd:%d", op->incoming_fd);
                json_object *args = json_object_new_object();

                json_object_object_add(args, "uri", json_object_new_string(uri));
                (void) qmp_command(q, "migrate-set-capabilities", migration_events_capability(),
                        on_restore_command_reply, g);
                (void) qmp_command(q, "migrate-incoming", args, on_restore_command_reply, g);
                return;
        }
        (void) qmp_command(q, "query-status", NULL, on_query_status, g);
}

static void operation_on_migration(Operation *op, const char *status);

static void on_qmp_event(Qmp *q, const char *name, json_object *data, void *userdata)
{
        Guest *g = userdata;
        json_object *v;

        if (streq(name, "SHUTDOWN")) {
                g->shut_down = true;
                g->powered_off = json_object_object_get_ex(data, "guest", &v) && json_object_get_boolean(v);
                log_debug("Guest %u: SHUTDOWN (guest initiated: %s)", g->vmid, g->powered_off ? "yes" : "no");
        } else if (streq(name, "STOP")) {
                if (!(g->op && g->op->starting))
                        guest_set_state(g, GUEST_PAUSED);
        } else if (streq(name, "RESUME")) {
                if (g->op && g->op->starting)
                        operation_start_done(g->op, GUEST_RUNNING);
                else
                        guest_set_state(g, GUEST_RUNNING);
        } else if (streq(name, "MIGRATION") && g->op && json_object_object_get_ex(data, "status", &v))
                operation_on_migration(g->op, json_object_get_string(v));
}

static void on_qmp_disconnected(Qmp *q, void *userdata)
{
        Guest *g = userdata;

        /* QEMU closing QMP means it is exiting; the pidfd tells us when it is gone. */
        log_debug("Guest %u: QMP connection closed.", g->vmid);
        qmp_free(g->qmp);
        g->qmp = NULL;
}

static int listen_unix(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 4) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

static void activate_volumes(Guest *g)
{
        GuestDisk *disks = NULL;
        size_t n = 0;

        if (guest_config_get_disks(g->config, &disks, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *volid = xasprintf("%s:%s", disks[i].storage, disks[i].volume);
                int r = storage_volume_activate(g->manager->storage, volid);
                if (r < 0)
                        log_warning_errno(r, "Guest %u: failed to activate %s, ignoring: %m", g->vmid, volid);
        }
        guest_disks_free(disks, n);
}

/*
 * Starts QEMU for a new run. guestd creates the QMP listening socket and hands
 * it to QEMU, so it can connect at once: no waiting for a socket file to appear.
 */
static int guest_spawn(Guest *g, int incoming_fd, char **ret_error)
{
        _cleanup_free_ char *dir = qemu_run_dir(g->vmid), *sock = xasprintf("%s/qmp.sock", dir),
                            *log = qemu_log_path(g->vmid), *runid_path = xasprintf("%s/run-id", dir),
                            *events = root_path("run/berth/events.sock"), *log_dir = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int listen_fd = -1;
        sd_id128_t id;
        pid_t pid;
        int r;

        /* PrepareStart has made sure the previous run is clean: whatever is left here is debris. */
        r = rm_rf(dir);
        if (r >= 0)
                r = mkdir_p(dir, 0750);
        if (r < 0)
                return r;
        /* Each run's log starts empty, so its tail is this run's. */
        log_dir = xstrndup(log, strrchr(log, '/') - log);
        r = mkdir_p(log_dir, 0750);
        if (r < 0)
                return r;
        if (unlink(log) < 0 && errno != ENOENT)
                return negative_errno();
        listen_fd = listen_unix(sock);
        if (listen_fd < 0)
                return listen_fd;

        QemuRenderContext ctx = {
                .qemu_binary = QEMU_SYSTEM_X86_64,
                .vmid = g->vmid,
                .run_dir = dir,
                .default_accel = g->manager->default_accel,
                .storage = g->manager->storage,
                .qmp_fd = listen_fd,
                .incoming_fd = incoming_fd,
                .events_socket = events,
        };
        r = qemu_render_argv(g->config, &ctx, &argv, ret_error);
        if (r < 0)
                return r;
        activate_volumes(g);

        int keep[] = { listen_fd, incoming_fd };
        SpawnOptions o = {
                .keep_fds = keep,
                .n_keep_fds = incoming_fd >= 0 ? 2 : 1,
                .log_path = log,
                .new_process_group = true,
        };
        r = spawn(argv, &o, &pid);
        if (r < 0)
                return r;

        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        free(g->run_id);
        g->run_id = xmalloc(SD_ID128_STRING_MAX);
        sd_id128_to_string(id, g->run_id);
        r = write_string_file_atomic(runid_path, g->run_id, 0640);
        if (r < 0)
                log_warning_errno(r, "Guest %u: failed to record run id, ignoring: %m", g->vmid);
        guest_bus_emit_changed(g, "RunId", NULL);

        r = guest_watch_pid(g, pid);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                return r;
        }
        r = guest_connect_qmp(g);
        if (r < 0)
                log_warning_errno(r, "Guest %u: failed to connect to QMP: %m", g->vmid);
        log_info("Guest %u: started QEMU %d (run %s).", g->vmid, (int) pid, g->run_id);
        return 0;
}

/* Opens the saved state of a suspended guest for QEMU to read. */
static int open_vmstate(Guest *g, char **ret_volid, int *ret_fd)
{
        const char *volid = guest_config_get(g->config, "vmstate");
        _cleanup_free_ char *path = NULL;
        int r, fd;

        if (!volid)
                return -ENOENT;
        r = storage_volume_path(g->manager->storage, volid, &path);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        *ret_volid = xstrdup(volid);
        *ret_fd = fd;
        return 0;
}

static void on_run_registered(const sd_bus_error *error, void *userdata)
{
        Operation *op = userdata;
        Guest *g = op->guest;

        op->call = sd_bus_slot_unref(op->call);
        if (!error)
                return;
        /* A QEMU that is already gone fails the start through its exit, with QEMU's own words. */
        if (streq(error->name, BERTH_ERROR_NOT_RUNNING))
                return;
        guest_kill(g, SIGKILL);
        op->starting = false;
        operation_fail(op, cleanupd_error_name(error), "cleanupd did not take run %s: %s",
                strempty(g->run_id), error->message);
}

static void operation_spawn(Operation *op)
{
        _cleanup_free_ char *error = NULL;
        Guest *g = op->guest;
        int r;

        if (g->state == GUEST_SUSPENDED) {
                r = open_vmstate(g, &op->state_volid, &op->state_fd);
                if (r < 0)
                        return operation_end(op, TASK_ERROR, "cannot open the saved state of guest %u: %s",
                                g->vmid, strerror(-r));
                task_log(op->task, "Restoring from %s", op->state_volid);
        }
        op->incoming_fd = op->state_fd;
        r = guest_spawn(g, op->state_fd, &error);
        op->state_fd = safe_close(op->state_fd);
        if (r < 0)
                return operation_end(op, TASK_ERROR, "failed to start QEMU: %s", error ? error : strerror(-r));
        task_log(op->task, "QEMU %d started, run %s", (int) g->pid, g->run_id);
        r = cleanupd_register_run(g->manager, g->vmid, g->run_id, g->pid, on_run_registered, op, &op->call);
        if (r < 0) {
                guest_kill(g, SIGKILL);
                op->starting = false;
                return operation_end(
                        op, TASK_ERROR, "cannot register run %s with cleanupd: %s", g->run_id, strerror(-r));
        }
        operation_arm_timer(op, START_TIMEOUT_SEC);
}

static void operation_run_hook(Operation *op, const char *phase, HookDoneHandler done)
{
        Guest *g = op->guest;
        const char *script = guest_config_get(g->config, "hookscript");
        _cleanup_free_ char *log = hook_log_path(g->vmid),
                            *env_run = xasprintf("BERTH_RUN_ID=%s", strempty(op->run_id ?: g->run_id));
        char *env[] = { env_run, NULL };
        HookOptions o = { .env = env, .log_path = log, .timeout_sec = g->manager->hook_timeout_sec };
        int r;

        task_log(op->task, "Running %s hook %s", phase, script);
        r = hook_start(g->manager->base, script, g->vmid, phase, &o, done, op, &op->hook);
        if (r < 0)
                /* Reported as the hook's own failure: the handler decides what that means for its phase. */
                done(NULL, r, false, op);
}

/* Why a hook failed, for the task: its exit status, its timeout, or why it could not run. */
static char *hook_failure(Operation *op, int status, bool timed_out)
{
        if (timed_out)
                return xasprintf("timed out after %u s and was killed", op->guest->manager->hook_timeout_sec);
        if (status < 0)
                return xasprintf("could not run: %s", strerror(-status));
        return xasprintf("exited with status %d", status);
}

static void on_pre_start_done(Hook *h, int status, bool timed_out, void *userdata)
{
        Operation *op = userdata;

        op->hook = hook_free(op->hook);
        if (status != 0 || timed_out) {
                _cleanup_free_ char *why = hook_failure(op, status, timed_out);
                op->starting = false;
                return operation_fail(
                        op, BERTH_ERROR_HOOK_FAILED, "pre-start hook of guest %u %s", op->guest->vmid, why);
        }
        operation_spawn(op);
}

/* The previous run is clean and its QEMU gone: the pre-start hook, then QEMU. */
static void operation_continue_start(Operation *op)
{
        if (guest_config_get(op->guest->config, "hookscript"))
                return operation_run_hook(op, "pre-start", on_pre_start_done);
        operation_spawn(op);
}

static void on_start_prepared(const sd_bus_error *error, void *userdata)
{
        Operation *op = userdata;
        Guest *g = op->guest;

        op->call = sd_bus_slot_unref(op->call);
        if (error) {
                op->starting = false;
                return operation_fail(op, cleanupd_error_name(error),
                        "the previous run of guest %u is not clean: %s", g->vmid, error->message);
        }
        op->prepared = true;
        guest_catch_up_exit(g);
        if (op->replacing) {
                /* cleanupd counts a QEMU whose main thread is a zombie as gone; its other threads still end. */
                task_log(op->task, "Waiting for QEMU %d of the previous run to exit", (int) g->pid);
                return operation_arm_timer(op, KILL_STEP_TIMEOUT_SEC);
        }
        operation_continue_start(op);
}

/* Start: cleanupd's PrepareStart, the pre-start hook, QEMU, RegisterRun, QEMU up, the post-start hook. */
static void operation_begin_start(Operation *op)
{
        Guest *g = op->guest;
        int r;

        op->starting = true;
        op->kill_step = KILL_NONE;
        task_log(op->task, "%s guest %u", g->state == GUEST_SUSPENDED ? "Restoring" : "Starting", g->vmid);
        r = cleanupd_prepare_start(g->manager, g->vmid, on_start_prepared, op, &op->call);
        if (r < 0) {
                op->starting = false;
                return operation_end(op, TASK_ERROR, "cannot ask cleanupd: %s", strerror(-r));
        }
}

static void operation_started(Operation *op, const char *hook_failure_text)
{
        Guest *g = op->guest;
        const char *what = op->state_volid ? "restored" : "started";

        manager_bus_emit_guest_started(g->manager, g);
        if (hook_failure_text)
                return operation_end(op, TASK_WARNINGS, "guest %u %s, but its post-start hook %s", g->vmid,
                        what, hook_failure_text);
        operation_end(op, TASK_OK, "guest %u %s", g->vmid, what);
}

static void on_post_start_done(Hook *h, int status, bool timed_out, void *userdata)
{
        Operation *op = userdata;
        _cleanup_free_ char *why = status != 0 || timed_out ? hook_failure(op, status, timed_out) : NULL;

        op->hook = hook_free(op->hook);
        operation_started(op, why);
}

static void operation_start_done(Operation *op, GuestState state)
{
        Guest *g = op->guest;

        op->starting = false;
        operation_disarm_timer(op);
        guest_set_state(g, state);
        if (op->state_volid) {
                (void) guest_config_set(g->config, "lock", NULL, NULL);
                (void) guest_config_set(g->config, "vmstate", NULL, NULL);
                int r = guest_save_config(g);
                if (r < 0)
                        log_warning_errno(r, "Guest %u: failed to clear the suspended lock: %m", g->vmid);
                r = storage_volume_free(g->manager->storage, op->state_volid);
                if (r < 0)
                        log_warning_errno(
                                r, "Guest %u: failed to remove %s, ignoring: %m", g->vmid, op->state_volid);
        }
        if (guest_config_get(g->config, "hookscript"))
                return operation_run_hook(op, "post-start", on_post_start_done);
        operation_started(op, NULL);
}

/* A start that cannot complete: QEMU goes, and the task says why. */
static void operation_fail_start(Operation *op, const char *why)
{
        Guest *g = op->guest;

        guest_kill(g, SIGKILL);
        op->starting = false;
        operation_end(op, TASK_ERROR, "%s", why);
}

static void on_restore_command_reply(
        Qmp *q, json_object *reply, const char *error_class, const char *error_desc, void *userdata)
{
        Guest *g = userdata;

        if (error_class && g->op && g->op->starting)
                operation_fail_start(g->op, strempty(error_desc));
}

static void operation_begin_shutdown(Operation *op)
{
        Guest *g = op->guest;
        unsigned timeout = op->opts.timeout ? op->opts.timeout : DEFAULT_SHUTDOWN_TIMEOUT_SEC;

        task_log(op->task, "Shutting down guest %u (timeout %u s)", g->vmid, timeout);
        if (!g->qmp || qmp_command(g->qmp, "system_powerdown", NULL, qmp_log_reply, g) < 0)
                task_log(op->task, "QMP is not connected: cannot ask the guest to power down");
        operation_arm_timer(op, timeout);
}

/* The pre-stop hook or cleanupd's SetStopIntent is under way; QEMU is not touched before they end. */
static bool operation_preparing_stop(const Operation *op)
{
        return op->hook || op->call;
}

/* QEMU went by itself while the stop got ready: a reboot starts it again, a stop ends with the clean run. */
static void operation_stop_after_exit(Operation *op)
{
        if (op->action == GUEST_ACTION_REBOOT) {
                task_log(op->task, "Guest %u is down; starting it again", op->guest->vmid);
                return operation_begin_start(op);
        }
        if (op->clean_result) {
                _cleanup_free_ char *result = TAKE_PTR(op->clean_result);
                operation_on_clean(op, result);
        }
}

/* The stop itself, once cleanupd knows why: ACPI power-down, the forced stop, or QEMU's quit after a save. */
static void operation_stop_now(Operation *op)
{
        if (op->guest->pid == 0)
                return operation_stop_after_exit(op);
        switch (op->action) {
        case GUEST_ACTION_SHUTDOWN:
        case GUEST_ACTION_REBOOT:
                return operation_begin_shutdown(op);
        default:
                return operation_kill_next(op);
        }
}

static void on_stop_intent_set(const sd_bus_error *error, void *userdata)
{
        Operation *op = userdata;

        op->call = sd_bus_slot_unref(op->call);
        /* Stopping must work without cleanupd; it cleans the run when it is back, without the intent. */
        if (error)
                task_log(op->task, "cleanupd did not record why the guest stops (%s); stopping anyway",
                        error->message);
        operation_stop_now(op);
}

/* Tells cleanupd why the run is about to end, before it ends: keep-active must hold for its cleanup. */
static void operation_set_stop_intent(Operation *op)
{
        Guest *g = op->guest;
        int r;

        if (g->pid == 0)
                return operation_stop_now(op);
        r = cleanupd_set_stop_intent(g->manager, g->vmid, op->run_id, guest_action_to_string(op->action),
                op->opts.keep_active, on_stop_intent_set, op, &op->call);
        if (r < 0) {
                task_log(op->task, "Cannot tell cleanupd why the guest stops: %s", strerror(-r));
                operation_stop_now(op);
        }
}

static void on_pre_stop_done(Hook *h, int status, bool timed_out, void *userdata)
{
        Operation *op = userdata;

        op->hook = hook_free(op->hook);
        if (status != 0 || timed_out) {
                _cleanup_free_ char *why = hook_failure(op, status, timed_out);
                task_log(op->task, "pre-stop hook %s; stopping anyway", why);
        }
        operation_set_stop_intent(op);
}

/* Shutdown, stop and reboot: the pre-stop hook, cleanupd's SetStopIntent, then the stop. */
static void operation_begin_stop(Operation *op)
{
        Guest *g = op->guest;

        op->run_id = xstrdup(strempty(g->run_id));
        if (guest_config_get(g->config, "hookscript"))
                return operation_run_hook(op, "pre-stop", on_pre_stop_done);
        operation_set_stop_intent(op);
}

static void on_stop_reply(
        Qmp *q, json_object *reply, const char *error_class, const char *error_desc, void *userdata)
{
        Operation *op = userdata;

        if (error_class)
                return operation_end(op, TASK_ERROR, "pausing failed: %s", strempty(error_desc));
        guest_set_state(op->guest, GUEST_PAUSED);
        operation_end(op, TASK_OK, "guest %u paused", op->guest->vmid);
}

static void on_cont_reply(
        Qmp *q, json_object *reply, const char *error_class, const char *error_desc, void *userdata)
{
        Operation *op = userdata;

        if (error_class)
                return operation_end(op, TASK_ERROR, "resuming failed: %s", strempty(error_desc));
        guest_set_state(op->guest, GUEST_RUNNING);
        operation_end(op, TASK_OK, "guest %u resumed", op->guest->vmid);
}

/* Suspend to disk, when saving failed: no lock, no state file, the guest as it was. */
static void operation_abort_save(Operation *op, const char *why)
{
        Guest *g = op->guest;

        op->state_fd = safe_close(op->state_fd);
        if (op->state_volid)
                (void) storage_volume_free(g->manager->storage, op->state_volid);
        (void) guest_config_set(g->config, "lock", NULL, NULL);
        (void) guest_save_config(g);
        if (op->was_running && g->qmp)
                (void) qmp_command(g->qmp, "cont", NULL, qmp_log_reply, g);
        operation_end(op, TASK_ERROR, "saving the state of guest %u failed: %s", g->vmid, why);
}

/* The save's commands go out together; the first failure ends the operation, so later replies look it up. */
static void on_save_command_reply(
        Qmp *q, json_object *reply, const char *error_class, const char *error_desc, void *userdata)
{
        Guest *g = userdata;
        Operation *op = g->op;

        if (error_class && op && op->action == GUEST_ACTION_SUSPEND && op->opts.to_disk && !op->saved)
                operation_abort_save(op, strempty(error_desc));
}

static void operation_on_migration(Operation *op, const char *status)
{
        Guest *g = op->guest;

        if (op->starting && op->incoming_fd >= 0) {
                if (streq(status, "failed"))
                        return operation_fail_start(op, "restoring the saved state failed");
                if (streq(status, "completed")) {
                        op->restored = true;
                        (void) qmp_command(g->qmp, "query-status", NULL, on_query_status, g);
                }
                return;
        }
        if (op->action != GUEST_ACTION_SUSPEND || !op->opts.to_disk || op->saved)
                return;
        if (streq(status, "failed") || streq(status, "cancelled"))
                return operation_abort_save(op, status);
        if (!streq(status, "completed"))
                return;
        if (fsync(op->state_fd) < 0)
                return operation_abort_save(op, strerror(errno));
        op->state_fd = safe_close(op->state_fd);
        op->saved = true;
        (void) guest_config_set(g->config, "lock", "suspended", NULL);
        (void) guest_config_set(g->config, "vmstate", op->state_volid, NULL);
        int r = guest_save_config(g);
        if (r < 0)
                return operation_abort_save(op, "cannot record the saved state in the config");
        task_log(op->task, "State saved to %s; stopping QEMU", op->state_volid);
        op->run_id = xstrdup(strempty(g->run_id));
        operation_set_stop_intent(op);
}

const Storage *manager_state_storage(Manager *m, const char *id)
{
        if (id)
                return storage_find(m->storage, id);
        for (size_t i = 0; i < m->storage->n_storages; i++) {
                const Storage *s = &m->storage->storages[i];
                if (!s->disabled && storage_has_content(s, STORAGE_CONTENT_IMAGES))
                        return s;
        }
        return NULL;
}

static void operation_begin_save(Operation *op)
{
        Guest *g = op->guest;
        const Storage *s = manager_state_storage(g->manager, op->opts.statestorage);
        _cleanup_free_ char *path = NULL, *dir = NULL;
        json_object *args;
        int r;

        if (!s)
                return operation_end(op, TASK_ERROR, "no storage for the saved state");
        op->state_volid = xasprintf("%s:%u/vm-%u-state-%s.raw", s->id, g->vmid, g->vmid, g->run_id);
        r = storage_volume_path(g->manager->storage, op->state_volid, &path);
        if (r < 0)
                return operation_end(op, TASK_ERROR, "cannot place the state on %s: %s", s->id, strerror(-r));
        dir = xstrndup(path, strrchr(path, '/') - path);
        (void) mkdir_p(dir, 0750);
        op->state_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (op->state_fd < 0) {
                r = -errno;
                free(op->state_volid);
                op->state_volid = NULL;
                return operation_end(op, TASK_ERROR, "cannot create %s: %s", path, strerror(-r));
        }
        (void) guest_config_set(g->config, "lock", "suspending", NULL);
        r = guest_save_config(g);
        if (r < 0)
                return operation_abort_save(op, "cannot lock the config");
        task_log(op->task, "Saving the state of guest %u to %s", g->vmid, op->state_volid);
        op->was_running = g->state == GUEST_RUNNING;

        /*
         * No pause before saving: the state then records whether the guest ran or was paused, and QEMU
         * restores it the same way. The migration stops the guest itself once the state is complete.
         */
        (void) qmp_command(
                g->qmp, "migrate-set-capabilities", migration_events_capability(), on_save_command_reply, g);
        args = json_object_new_object();
        json_object_object_add(args, "fdname", json_object_new_string("vmstate"));
        r = qmp_command_with_fd(g->qmp, "getfd", args, op->state_fd, on_save_command_reply, g);
        if (r < 0)
                return operation_abort_save(op, "QMP is not connected");
        args = json_object_new_object();
        json_object_object_add(args, "uri", json_object_new_string("fd:vmstate"));
        (void) qmp_command(g->qmp, "migrate", args, on_save_command_reply, g);
}

static void operation_on_exit(Operation *op)
{
        if (op->replacing) {
                op->replacing = false;
                task_log(op->task, "The previous run's QEMU has exited");
                if (op->prepared) {
                        operation_disarm_timer(op);
                        operation_continue_start(op);
                }
                return;
        }
        if (op->starting) {
                _cleanup_free_ char *log = TAKE_PTR(op->exit_log);
                return operation_end(op, TASK_ERROR, "QEMU exited while starting: %s", strempty(log));
        }
        switch (op->action) {
        case GUEST_ACTION_REBOOT:
                operation_disarm_timer(op);
                if (operation_preparing_stop(op))
                        return;
                /* PrepareStart waits for the old run's cleanup. */
                return operation_stop_after_exit(op);
        case GUEST_ACTION_SUSPEND:
                if (!op->saved)
                        return operation_end(op, TASK_ERROR, "QEMU exited unexpectedly");
                _fallthrough_;
        case GUEST_ACTION_SHUTDOWN:
        case GUEST_ACTION_STOP:
                op->exited = true;
                task_log(op->task, "QEMU is gone; waiting for cleanupd to clean run %s", op->run_id);
                operation_arm_timer(op, CLEANUP_WAIT_SEC);
                return;
        default:
                return operation_end(op, TASK_ERROR, "QEMU exited unexpectedly");
        }
}

/* The stopped run is clean: the stop's task ends, saying how the cleanup went when it did not go well. */
static void operation_on_clean(Operation *op, const char *result)
{
        Guest *g = op->guest;
        _cleanup_free_ char *what = NULL;

        if (operation_preparing_stop(op)) {
                op->clean_result = xstrdup(result);
                return;
        }
        operation_disarm_timer(op);
        if (op->action == GUEST_ACTION_SUSPEND)
                what = xasprintf("guest %u suspended to %s", g->vmid, op->state_volid);
        else if (op->forced)
                what = xasprintf("guest %u did not shut down within %u s and was stopped", g->vmid,
                        op->opts.timeout ? op->opts.timeout : DEFAULT_SHUTDOWN_TIMEOUT_SEC);
        else
                what = xasprintf("guest %u stopped", g->vmid);
        if (!streq(result, "ok"))
                return operation_end(op, TASK_WARNINGS, "%s; cleanup: %s", what, result);
        operation_end(op, op->forced ? TASK_WARNINGS : TASK_OK, "%s", what);
}

static void on_operation_timer(evutil_socket_t fd, short what, void *userdata)
{
        Operation *op = userdata;
        Guest *g = op->guest;

        if (op->exited)
                return operation_end(op, TASK_WARNINGS,
                        "guest %u stopped, but cleanupd did not report run %s clean within %u s", g->vmid,
                        op->run_id, CLEANUP_WAIT_SEC);
        if (op->replacing) {
                op->starting = false;
                return operation_end(op, TASK_ERROR, "QEMU %d of the previous run did not exit within %u s",
                        (int) g->pid, KILL_STEP_TIMEOUT_SEC);
        }
        if (op->starting) {
                _cleanup_free_ char *why = xasprintf("QEMU did not come up within %u s", START_TIMEOUT_SEC);
                return operation_fail_start(op, why);
        }
        if (op->kill_step != KILL_NONE || op->action == GUEST_ACTION_STOP)
                return operation_kill_next(op);
        /* A shutdown (or the first half of a reboot) ran out of time. */
        if (!op->opts.force_stop)
                return operation_end(op, TASK_ERROR, "guest %u did not shut down within %u s", g->vmid,
                        op->opts.timeout ? op->opts.timeout : DEFAULT_SHUTDOWN_TIMEOUT_SEC);
        task_log(op->task, "Guest %u did not shut down in time; stopping it", g->vmid);
        op->forced = true;
        operation_kill_next(op);
}

static void on_cancel(Task *t, void *userdata)
{
        Operation *op = userdata;

        /* Only waiting can be cancelled; a stop that has begun runs to its end. */
        if (op->kill_step != KILL_NONE || op->starting || op->exited || op->action == GUEST_ACTION_SUSPEND)
                return;
        operation_end(op, TASK_CANCELLED, "cancelled");
}

static int guest_check_action(Guest *g, GuestAction action, const GuestOptions *o)
{
        const char *lock = guest_config_get(g->config, "lock");
        bool active = g->state == GUEST_RUNNING || g->state == GUEST_PAUSED;
        bool restore = g->state == GUEST_SUSPENDED &&
                (action == GUEST_ACTION_START || action == GUEST_ACTION_RESUME);

        if (g->op)
                return -EBUSY;
        if (lock && !restore)
                return -ENOLCK;
        switch (action) {
        case GUEST_ACTION_START:
                return active && !guest_qemu_leaving(g) ? -EALREADY : 0;
        case GUEST_ACTION_RESUME:
                if (g->state == GUEST_RUNNING)
                        return -EALREADY;
                if (g->state == GUEST_STOPPED)
                        return -ESRCH;
                return g->state == GUEST_PAUSED && !g->qmp ? -ENOTCONN : 0;
        case GUEST_ACTION_SUSPEND:
                if (!active)
                        return -ESRCH;
                /* Pausing and saving are QMP commands; without QMP there is no way to do them. */
                if (!g->qmp)
                        return -ENOTCONN;
                if (!o->to_disk && g->state == GUEST_PAUSED)
                        return -EALREADY;
                if (o->to_disk && !manager_state_storage(g->manager, o->statestorage))
                        return -EINVAL;
                return 0;
        default:
                return active ? 0 : -ESRCH;
        }
}

Task *qemu_operation_task(const Guest *g)
{
        return g->op ? g->op->task : NULL;
}

int guest_act(Guest *g, GuestAction action, const GuestOptions *o, Task **ret)
{
        char id[16];
        Operation *op;
        int r;

        guest_catch_up_exit(g);
        r = guest_check_action(g, action, o);
        if (r < 0)
                return r;
        snprintf(id, sizeof id, "%u", g->vmid);
        op = new0(Operation, 1);
        op->guest = g;
        op->action = action;
        op->state_fd = -1;
        op->incoming_fd = -1;
        op->opts = *o;
        op->opts.statestorage = o->statestorage ? xstrdup(o->statestorage) : NULL;
        op->opts.user = xstrdup(o->user);
        /* A start allowed while QEMU is still there: it is leaving, and the start goes on once it has. */
        op->replacing = action == GUEST_ACTION_START && g->pid > 0;
        r = task_new(g->manager->tasks, guest_action_task_type(action), id, o->user, &op->task);
        if (r < 0) {
                operation_free(op);
                return r;
        }
        task_set_cancel_handler(op->task, on_cancel, op);
        g->op = op;
        *ret = op->task;

        switch (action) {
        case GUEST_ACTION_START:
                operation_begin_start(op);
                break;
        case GUEST_ACTION_RESUME:
                if (g->state == GUEST_SUSPENDED)
                        operation_begin_start(op);
                else
                        (void) qmp_command(g->qmp, "cont", NULL, on_cont_reply, op);
                break;
        case GUEST_ACTION_SHUTDOWN:
        case GUEST_ACTION_REBOOT:
        case GUEST_ACTION_STOP:
                operation_begin_stop(op);
                break;
        case GUEST_ACTION_SUSPEND:
                if (o->to_disk)
                        operation_begin_save(op);
                else
                        (void) qmp_command(g->qmp, "stop", NULL, on_stop_reply, op);
                break;
        default:
                assert_not_reached();
        }
        return 0;
}

/* Is pid the QEMU of this guest? Its process name is set to berth-<vmid> by the command line. */
static bool pid_is_guest_qemu(pid_t pid, uint32_t vmid)
{
        _cleanup_free_ char *path = xasprintf("/proc/%d/comm", (int) pid), *comm = NULL;
        char want[32];

        if (read_full_file(path, &comm, NULL) < 0)
                return false;
        snprintf(want, sizeof want, "berth-%u\n", vmid);
        return streq(comm, want);
}

void qemu_reattach(Guest *g)
{
        _cleanup_free_ char *dir = qemu_run_dir(g->vmid), *pidfile = xasprintf("%s/qemu.pid", dir),
                            *runid_path = xasprintf("%s/run-id", dir), *text = NULL, *run_id = NULL;
        int pid, r;

        if (read_full_file(pidfile, &text, NULL) < 0 || sscanf(text, "%d", &pid) != 1 || pid <= 0 ||
                !pid_is_guest_qemu(pid, g->vmid)) {
                /* cleanupd cleans the run that ended while we were away, now or once it is back. */
                if (access(dir, F_OK) == 0)
                        log_info("Guest %u: its QEMU is gone.", g->vmid);
                return;
        }
        r = guest_watch_pid(g, pid);
        if (r < 0) {
                log_warning_errno(r, "Guest %u: cannot watch QEMU %d: %m", g->vmid, pid);
                return;
        }
        if (read_full_file(runid_path, &run_id, NULL) >= 0)
                g->run_id = TAKE_PTR(run_id);
        /* Running until QMP tells whether it is paused. */
        g->state = GUEST_RUNNING;
        r = guest_connect_qmp(g);
        if (r < 0)
                log_warning_errno(r, "Guest %u: cannot connect to QMP of QEMU %d: %m", g->vmid, pid);
        log_info("Guest %u: re-attached to QEMU %d (run %s).", g->vmid, pid, strempty(g->run_id));
}
