/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <unistd.h>

#include "alloc.h"
#include "fileio.h"
#include "guest-status.h"
#include "log.h"
#include "proc.h"
#include "vmid.h"

/* The backoff of the retry: from the first to the longest wait between two tries. */
#define STATUS_RETRY_MIN_SEC 1U
#define STATUS_RETRY_MAX_SEC 10U

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

char *qemu_status_key(const Manager *m, uint32_t vmid)
{
        return xasprintf("nodes/%s/qemu-status/%u", m->node, vmid);
}

char *qemu_status_format(GuestState state, pid_t pid, const char *run_id, uint64_t start_time)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        json_object_object_add(o, "state", json_object_new_string(guest_state_to_string(state)));
        json_object_object_add(o, "pid", json_object_new_int(pid));
        json_object_object_add(o, "run-id", json_object_new_string(strempty(run_id)));
        json_object_object_add(o, "start-time", json_object_new_int64((int64_t) start_time));
        return xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

/* The kernel counts a process's start in clock ticks since boot; /proc/stat's btime is when that was. */
static uint64_t process_start_time(pid_t pid)
{
        _cleanup_free_ char *stat = NULL;
        unsigned long long btime;
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t ticks;
        const char *p;
        int r;

        r = proc_pid_start_time(pid, &ticks, NULL);
        if (r < 0) {
                log_debug_errno(r, "Cannot read the start time of QEMU %d, publishing none: %m", (int) pid);
                return 0;
        }
        if (hz <= 0 || read_full_file("/proc/stat", &stat, NULL) < 0)
                return 0;
        p = strstr(stat, "\nbtime ");
        if (!p || sscanf(p + strlen("\nbtime "), "%llu", &btime) != 1)
                return 0;
        return btime + ticks / (uint64_t) hz;
}

static char *guest_status_text(Guest *g)
{
        /* Read once per QEMU: a value computed again could be a second off, a change that is none. */
        if (g->status_pid != g->pid) {
                g->status_pid = g->pid;
                g->status_start_time = g->pid > 0 ? process_start_time(g->pid) : 0;
        }
        return qemu_status_format(g->state, g->pid, g->run_id, g->status_start_time);
}

static int guest_write_status(Guest *g)
{
        _cleanup_free_ char *key = qemu_status_key(g->manager, g->vmid), *text = guest_status_text(g);
        int r;

        /* It changed while the store was away, and changed back. */
        if (streq_ptr(text, g->status_written)) {
                g->status_pending = false;
                return 0;
        }
        r = store_put(g->manager->store, key, text, strlen(text), STORE_REVISION_ANY, NULL);
        if (r < 0)
                return r;
        free(g->status_written);
        g->status_written = TAKE_PTR(text);
        g->status_pending = false;
        return 0;
}

static int manager_remove_stale_statuses(Manager *m)
{
        _cleanup_free_ char *prefix = xasprintf("nodes/%s/qemu-status/", m->node);
        StoreEntry *entries = NULL;
        size_t n = 0;
        int r, k;

        r = store_list(m->store, prefix, &entries, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                uint32_t vmid;

                if (vmid_parse(entries[i].key + strlen(prefix), &vmid) < 0 || manager_find_guest(m, vmid))
                        continue;
                /* On the revision listed: what goes is the status seen stale, not one written since. */
                k = store_delete(m->store, entries[i].key, entries[i].revision);
                if (k == -ENOENT || k == -ESTALE)
                        continue;
                if (k < 0) {
                        r = k;
                        break;
                }
                log_info("Removed the status of guest %u, which this node no longer has.", vmid);
        }
        store_entries_free(entries, n);
        if (r < 0)
                return r;
        m->status_prune_pending = false;
        return 0;
}

static void on_status_retry(evutil_socket_t fd, short what, void *userdata);

static void manager_retry_statuses_later(Manager *m, int error)
{
        struct timeval tv;

        if (m->status_retry_sec == 0) {
                log_warning_errno(
                        error, "The store does not take the status of guests (%m): retrying until it does.");
                m->status_retry_sec = STATUS_RETRY_MIN_SEC;
        } else {
                m->status_retry_sec = MIN(m->status_retry_sec * 2, STATUS_RETRY_MAX_SEC);
                log_debug_errno(error,
                        "The store still does not take the status of guests (%m), next try in %u s.",
                        m->status_retry_sec);
        }
        if (!m->status_retry)
                m->status_retry = evtimer_new(m->base, on_status_retry, m);
        tv = (struct timeval){ .tv_sec = m->status_retry_sec };
        evtimer_add(m->status_retry, &tv);
}

static void manager_write_pending_statuses(Manager *m)
{
        int r = 0, k;

        if (m->status_prune_pending)
                r = manager_remove_stale_statuses(m);
        /* A store out of reach fails a call only at its timeout: after one, the rest wait for the retry. */
        for (size_t i = 0; r != -EHOSTDOWN && i < m->n_guests; i++) {
                if (!m->guests[i]->status_pending)
                        continue;
                k = guest_write_status(m->guests[i]);
                if (k < 0)
                        r = k;
        }
        if (r < 0)
                return manager_retry_statuses_later(m, r);
        if (m->status_retry_sec > 0)
                log_info("The store takes the status of guests again: all are up to date.");
        m->status_retry_sec = 0;
}

static void on_status_retry(evutil_socket_t fd, short what, void *userdata)
{
        manager_write_pending_statuses(userdata);
}

/* While the store does not take writes, only the retry tries: each try may last the store's timeout. */
static void manager_statuses_changed(Manager *m)
{
        if (m->status_retry_sec == 0)
                manager_write_pending_statuses(m);
}

void guest_publish_status(Guest *g)
{
        _cleanup_free_ char *text = NULL;

        if (!g->status_pending) {
                text = guest_status_text(g);
                if (streq_ptr(text, g->status_written))
                        return;
                g->status_pending = true;
        }
        manager_statuses_changed(g->manager);
}

void manager_publish_statuses(Manager *m)
{
        for (size_t i = 0; i < m->n_guests; i++)
                m->guests[i]->status_pending = true;
        m->status_prune_pending = true;
        manager_statuses_changed(m);
}

void manager_prune_statuses(Manager *m)
{
        m->status_prune_pending = true;
        manager_statuses_changed(m);
}
