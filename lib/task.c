/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "errors.h"
#include "fileio.h"
#include "paths.h"
#include "task-internal.h"

/* Finished tasks kept as objects; older ones are reachable through their log file. */
#define TASKS_KEPT_FINISHED 64

static const char *const task_state_table[_TASK_STATE_MAX] = {
        [TASK_RUNNING] = "running",
        [TASK_OK] = "ok",
        [TASK_WARNINGS] = "warnings",
        [TASK_ERROR] = "error",
        [TASK_CANCELLED] = "cancelled",
};
DEFINE_STRING_TABLE_LOOKUP(task_state, TaskState);

/* Before the "TASK ERROR" line: the error's D-Bus name. */
#define ERROR_NAME_PREFIX "error name: "

/* UPID fields are file-name safe: no ':' separator, no '/', printable ASCII. */
static bool upid_field_valid(const char *s, bool allow_empty)
{
        if (!s || (!allow_empty && !*s) || strlen(s) > 128)
                return false;
        for (const char *p = s; *p; p++)
                if (*p <= ' ' || *p >= 127 || *p == ':' || *p == '/')
                        return false;
        return true;
}

char *upid_format(const Upid *u)
{
        return xasprintf("UPID:%s:%s:%08X:%08X:%s:%s:%s:", u->node, u->daemon, u->seq, u->starttime, u->type,
                u->id, u->user);
}

void upid_done(Upid *u)
{
        free(u->node);
        free(u->daemon);
        free(u->type);
        free(u->id);
        free(u->user);
        *u = (Upid){};
}

static int parse_hex32(const char *s, uint32_t *ret)
{
        if (strlen(s) != 8)
                return -EINVAL;
        uint32_t v = 0;
        for (const char *p = s; *p; p++) {
                int d = (*p >= '0' && *p <= '9') ? *p - '0' : (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10 : -1;
                if (d < 0)
                        return -EINVAL;
                v = v << 4 | (uint32_t) d;
        }
        *ret = v;
        return 0;
}

int upid_parse(const char *s, Upid *ret)
{
        _cleanup_free_ char *copy = NULL;
        char *fields[9];
        size_t n = 0;
        Upid u = {};

        /* Longer would parse but could never name its log file. */
        if (!s || strlen(s) > NAME_MAX || !endswith(s, ":"))
                return -EINVAL;
        copy = xstrdup(s);
        copy[strlen(copy) - 1] = 0;
        for (char *p = copy, *f; (f = strsep(&p, ":"));) {
                if (n == ELEMENTSOF(fields))
                        return -EINVAL;
                fields[n++] = f;
        }
        if (n != 8 || !streq(fields[0], "UPID"))
                return -EINVAL;
        for (size_t i = 1; i < 8; i++)
                if (i != 3 && i != 4 && !upid_field_valid(fields[i], i == 6))
                        return -EINVAL;
        if (parse_hex32(fields[3], &u.seq) < 0 || parse_hex32(fields[4], &u.starttime) < 0)
                return -EINVAL;
        u.node = xstrdup(fields[1]);
        u.daemon = xstrdup(fields[2]);
        u.type = xstrdup(fields[5]);
        u.id = xstrdup(fields[6]);
        u.user = xstrdup(fields[7]);
        *ret = u;
        return 0;
}

static void task_free(Task *t)
{
        if (!t)
                return;
        safe_close(t->log_fd);
        free(t->upid);
        free(t->path);
        free(t->type);
        free(t->id);
        free(t->user);
        free(t->log_path);
        free(t->index_key);
        free(t->result);
        free(t->finish_hooks);
        free(t->error_name);
        free(t);
}

static void task_unlink(TaskManager *m, Task *t)
{
        if (t->prev)
                t->prev->next = t->next;
        else
                m->head = t->next;
        if (t->next)
                t->next->prev = t->prev;
        else
                m->tail = t->prev;
        if (t->state != TASK_RUNNING)
                m->n_finished--;
}

static void task_append(TaskManager *m, Task *t)
{
        t->prev = m->tail;
        if (m->tail)
                m->tail->next = t;
        else
                m->head = t;
        m->tail = t;
        if (t->state != TASK_RUNNING)
                m->n_finished++;
}

/* Drops the oldest finished tasks beyond the retention limit. */
static void task_manager_trim(TaskManager *m)
{
        for (Task *t = m->head, *next; t && m->n_finished > TASKS_KEPT_FINISHED; t = next) {
                next = t->next;
                if (t->state == TASK_RUNNING)
                        continue;
                task_bus_emit_removed(t);
                task_unlink(m, t);
                task_free(t);
        }
}

int task_manager_new(
        sd_bus *bus, const char *node, const char *daemon, const char *manager_path, TaskManager **ret)
{
        _cleanup_(task_manager_freep) TaskManager *m = new0(TaskManager, 1);
        int r;

        if (!upid_field_valid(node, false) || !upid_field_valid(daemon, false))
                return -EINVAL;
        m->bus = sd_bus_ref(bus);
        m->node = xstrdup(node);
        m->daemon = xstrdup(daemon);
        m->manager_path = xstrdup(manager_path);
        m->task_prefix = xasprintf("%s/task", manager_path);
        m->log_dir = root_path("var/log/berth/tasks");
        m->index_limit = TASK_INDEX_LIMIT;
        r = mkdir_p(m->log_dir, 0755);
        if (r < 0)
                return r;
        r = task_bus_register(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

TaskManager *task_manager_free(TaskManager *m)
{
        if (!m)
                return NULL;
        task_index_free(m->index);
        while (m->head) {
                Task *t = m->head;
                task_unlink(m, t);
                task_free(t);
        }
        sd_bus_slot_unref(m->tasks_slot);
        sd_bus_slot_unref(m->vtable_slot);
        sd_bus_slot_unref(m->enumerator_slot);
        sd_bus_unref(m->bus);
        free(m->node);
        free(m->daemon);
        free(m->manager_path);
        free(m->task_prefix);
        free(m->log_dir);
        free(m);
        return NULL;
}

static char *task_object_path(TaskManager *m, const Upid *u)
{
        return xasprintf("%s/%08x%08x", m->task_prefix, u->starttime, u->seq);
}

int task_new(TaskManager *m, const char *type, const char *id, const char *user, Task **ret)
{
        Upid u = {
                .node = m->node,
                .daemon = m->daemon,
                .starttime = (uint32_t) time(NULL),
                .type = (char *) type,
                .id = (char *) id,
                .user = (char *) user,
        };
        Task *t;

        if (!upid_field_valid(type, false) || !upid_field_valid(id, true) || !upid_field_valid(user, false))
                return -EINVAL;

        t = new0(Task, 1);
        t->manager = m;
        t->log_fd = -1;
        /* A UPID names a log file for good: skip numbers a previous run of the daemon already used. */
        for (;;) {
                u.seq = ++m->seq;
                t->upid = upid_format(&u);
                t->log_path = xasprintf("%s/%s", m->log_dir, t->upid);
                t->log_fd = open(t->log_path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
                if (t->log_fd >= 0 || errno != EEXIST)
                        break;
                free(t->upid);
                free(t->log_path);
        }
        if (t->log_fd < 0) {
                int r = negative_errno();
                task_free(t);
                return r;
        }
        t->path = task_object_path(m, &u);
        t->type = xstrdup(type);
        t->id = xstrdup(id);
        t->user = xstrdup(user);
        t->state = TASK_RUNNING;
        t->result = xstrdup("");
        t->error_name = xstrdup("");
        t->start_usec = now_realtime_usec();
        task_append(m, t);
        task_bus_emit_added(t);
        if (m->index)
                task_index_publish(m->index, t);
        *ret = t;
        return 0;
}

void task_set_cancel_handler(Task *t, TaskCancelHandler cb, void *userdata)
{
        t->cancel = cb;
        t->cancel_userdata = userdata;
}

int task_cancel(Task *t)
{
        if (t->state != TASK_RUNNING)
                return -ESRCH;
        if (!t->cancel)
                return -EOPNOTSUPP;
        t->cancel(t, t->cancel_userdata);
        return 0;
}

void task_add_finish_handler(Task *t, TaskFinishHandler cb, void *userdata)
{
        if (t->state != TASK_RUNNING) {
                cb(t, userdata);
                return;
        }
        t->finish_hooks = xrealloc(t->finish_hooks, (t->n_finish_hooks + 1) * sizeof(TaskFinishHook));
        t->finish_hooks[t->n_finish_hooks++] = (TaskFinishHook){ cb, userdata };
}

void task_remove_finish_handler(Task *t, TaskFinishHandler cb, void *userdata)
{
        for (size_t i = 0; i < t->n_finish_hooks; i++)
                if (t->finish_hooks[i].cb == cb && t->finish_hooks[i].userdata == userdata) {
                        memmove(t->finish_hooks + i, t->finish_hooks + i + 1,
                                (t->n_finish_hooks - i - 1) * sizeof(TaskFinishHook));
                        t->n_finish_hooks--;
                        return;
                }
}

/* One at a time off the live list, so a handler may remove those after it. */
static void task_run_finish_handlers(Task *t)
{
        while (t->n_finish_hooks > 0) {
                TaskFinishHook h = t->finish_hooks[0];
                task_remove_finish_handler(t, h.cb, h.userdata);
                h.cb(t, h.userdata);
        }
}

static void task_write_line(Task *t, const char *line)
{
        size_t len = strlen(line);
        _cleanup_free_ char *buf = xmalloc(len + 1);

        /* One line per entry: a newline inside a message would break GetLog's numbering. */
        for (size_t i = 0; i < len; i++)
                buf[i] = line[i] == '\n' ? ' ' : line[i];
        buf[len] = '\n';
        if (t->log_fd >= 0)
                (void) !write(t->log_fd, buf, len + 1);
}

void task_log(Task *t, const char *fmt, ...)
{
        _cleanup_free_ char *line = NULL;
        va_list ap;

        va_start(ap, fmt);
        line = xvasprintf(fmt, ap);
        va_end(ap);
        task_write_line(t, line);
}

static void task_finishv(Task *t, TaskState state, const char *error_name, const char *fmt, va_list ap)
        _printf_(4, 0);
static void task_finishv(Task *t, TaskState state, const char *error_name, const char *fmt, va_list ap)
{
        _cleanup_free_ char *end = NULL;

        if (t->state != TASK_RUNNING || state == TASK_RUNNING)
                return;
        free(t->result);
        t->result = xvasprintf(fmt, ap);
        free(t->error_name);
        t->error_name = xstrdup(state == TASK_ERROR ? error_name : "");
        t->state = state;
        t->end_usec = now_realtime_usec();

        switch (state) {
        case TASK_OK:
                end = xstrdup("TASK OK");
                break;
        case TASK_WARNINGS:
                end = xasprintf("TASK WARNINGS: %s", t->result);
                break;
        case TASK_CANCELLED:
                end = xstrdup("TASK CANCELLED");
                break;
        default:
                /* The name goes on the line before, where task_state_from_log() finds it again. */
                end = xasprintf(ERROR_NAME_PREFIX "%s", t->error_name);
                task_write_line(t, end);
                free(end);
                end = xasprintf("TASK ERROR: %s", t->result);
                break;
        }
        task_write_line(t, end);
        t->log_fd = safe_close(t->log_fd);
        t->manager->n_finished++;
        /* Before Finished: whoever acts on the signal finds the end in the index too. */
        if (t->manager->index)
                task_index_publish(t->manager->index, t);
        task_bus_emit_finished(t);
        task_run_finish_handlers(t);
        task_manager_trim(t->manager);
}

void task_finish(Task *t, TaskState state, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        task_finishv(t, state, BERTH_ERROR_FAILED, fmt, ap);
        va_end(ap);
}

void task_fail(Task *t, const char *error_name, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        task_finishv(t, TASK_ERROR, error_name, fmt, ap);
        va_end(ap);
}

const char *task_get_path(const Task *t)
{
        return t->path;
}

const char *task_get_upid(const Task *t)
{
        return t->upid;
}

TaskState task_get_state(const Task *t)
{
        return t->state;
}

const char *task_get_result(const Task *t)
{
        return t->result;
}

const char *task_get_error_name(const Task *t)
{
        return t->error_name;
}

Task *task_manager_find_by_path(TaskManager *m, const char *path)
{
        for (Task *t = m->head; t; t = t->next)
                if (streq(t->path, path))
                        return t;
        return NULL;
}

Task *task_manager_find_by_upid(TaskManager *m, const char *upid)
{
        for (Task *t = m->head; t; t = t->next)
                if (streq(t->upid, upid))
                        return t;
        return NULL;
}

int task_read_log(const Task *t, char ***ret_lines)
{
        _cleanup_free_ char *text = NULL;
        char **lines = NULL;
        int r;

        r = read_full_file(t->log_path, &text, NULL);
        if (r < 0)
                return r;
        for (char *p = text, *line; (line = strsep(&p, "\n"));)
                if (*line || p)
                        strv_push(&lines, line);
        *ret_lines = lines;
        return 0;
}

/*
 * The state a log file records in its last line, and for an error the name on
 * the line before; a log without one belongs to a task its daemon lost.
 */
static TaskState task_state_from_log(char **lines, char **ret_result, char **ret_error_name)
{
        size_t n = strv_length(lines);
        const char *last = n > 0 ? lines[n - 1] : "", *rest, *name;

        *ret_error_name = xstrdup("");
        if (streq(last, "TASK OK")) {
                *ret_result = xstrdup("");
                return TASK_OK;
        }
        if (streq(last, "TASK CANCELLED")) {
                *ret_result = xstrdup("");
                return TASK_CANCELLED;
        }
        if ((rest = startswith(last, "TASK WARNINGS: "))) {
                *ret_result = xstrdup(rest);
                return TASK_WARNINGS;
        }
        free(*ret_error_name);
        name = n > 1 ? startswith(lines[n - 2], ERROR_NAME_PREFIX) : NULL;
        *ret_error_name = xstrdup(name ?: BERTH_ERROR_FAILED);
        if ((rest = startswith(last, "TASK ERROR: "))) {
                *ret_result = xstrdup(rest);
                return TASK_ERROR;
        }
        *ret_result = xstrdup(TASK_LOST_RESULT);
        return TASK_ERROR;
}

/* A finished task of ours brought back from its log file, not yet on the manager's list. */
static int task_from_log(TaskManager *m, const char *upid, Task **ret)
{
        _cleanup_(upid_done) Upid u = {};
        _cleanup_strv_free_ char **lines = NULL;
        struct stat st;
        Task *t;
        int r;

        if (upid_parse(upid, &u) < 0)
                return -EINVAL;
        if (!streq(u.node, m->node) || !streq(u.daemon, m->daemon))
                return -ENXIO;

        t = new0(Task, 1);
        t->manager = m;
        t->log_fd = -1;
        t->upid = upid_format(&u);
        t->log_path = xasprintf("%s/%s", m->log_dir, t->upid);
        if (stat(t->log_path, &st) < 0 || (r = task_read_log(t, &lines)) < 0) {
                task_free(t);
                return -ENXIO;
        }
        t->path = task_object_path(m, &u);
        t->type = xstrdup(u.type);
        t->id = xstrdup(u.id);
        t->user = xstrdup(u.user);
        t->state = task_state_from_log(lines, &t->result, &t->error_name);
        t->start_usec = (uint64_t) u.starttime * 1000000ULL;
        t->end_usec = (uint64_t) st.st_mtim.tv_sec * 1000000ULL + (uint64_t) st.st_mtim.tv_nsec / 1000;
        *ret = t;
        return 0;
}

int task_manager_load(TaskManager *m, const char *upid, Task **ret)
{
        Task *t;
        int r;

        r = task_from_log(m, upid, &t);
        if (r < 0)
                return r;
        task_append(m, t);
        task_bus_emit_added(t);
        task_manager_trim(m);
        *ret = t;
        return 0;
}

void task_get_info(const Task *t, TaskInfo *ret)
{
        *ret = (TaskInfo){
                .upid = xstrdup(t->upid),
                .node = xstrdup(t->manager->node),
                .daemon = xstrdup(t->manager->daemon),
                .type = xstrdup(t->type),
                .id = xstrdup(t->id),
                .user = xstrdup(t->user),
                .state = t->state,
                .result = xstrdup(t->result),
                .error_name = xstrdup(t->error_name),
                .start_usec = t->start_usec,
                .end_usec = t->end_usec,
        };
}

int task_manager_read_info(TaskManager *m, const char *upid, TaskInfo *ret)
{
        Task *t = task_manager_find_by_upid(m, upid);
        int r;

        if (t) {
                task_get_info(t, ret);
                return 0;
        }
        r = task_from_log(m, upid, &t);
        if (r < 0)
                return r;
        task_get_info(t, ret);
        task_free(t);
        return 0;
}
