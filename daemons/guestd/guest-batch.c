/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "guest-batch.h"
#include "log.h"
#include "qemu.h"

#define USEC_PER_SEC 1000000ULL

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void on_pump(evutil_socket_t fd, short what, void *userdata);
static void on_task_finished(Task *t, void *userdata);
static void on_busy_task_finished(Task *t, void *userdata);

GuestBatch *guest_batch_new(
        Manager *m, Task *log, unsigned parallel, const GuestBatchCallbacks *cb, void *userdata)
{
        GuestBatch *b = new0(GuestBatch, 1);

        b->manager = m;
        b->log = log;
        b->parallel = parallel > 0 ? parallel : 1;
        b->callbacks = cb;
        b->userdata = userdata;
        b->pump = evtimer_new(m->base, on_pump, b);
        if (!b->pump)
                abort();
        return b;
}

GuestBatch *guest_batch_free(GuestBatch *b)
{
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n_items; i++) {
                GuestBatchItem *it = &b->items[i];
                if (it->task)
                        task_remove_finish_handler(it->task, on_task_finished, it);
                if (it->busy_task)
                        task_remove_finish_handler(it->busy_task, on_busy_task_finished, it);
                for (size_t s = 0; s < it->n_steps; s++)
                        guest_options_done(&it->steps[s].opts);
                free(it->task_result);
        }
        free(b->items);
        event_free(b->pump);
        free(b);
        return NULL;
}

void guest_batch_add(GuestBatch *b, const GuestBatchItem *item)
{
        b->items = xrealloc(b->items, (b->n_items + 1) * sizeof(GuestBatchItem));
        b->items[b->n_items++] = (GuestBatchItem){
                .vmid = item->vmid,
                .group = item->group,
                .delay_after = item->delay_after,
                .n_steps = MIN(item->n_steps, (size_t) GUEST_BATCH_MAX_STEPS),
        };
        memcpy(b->items[b->n_items - 1].steps, item->steps, sizeof item->steps);
}

static void batch_wake(GuestBatch *b)
{
        event_active(b->pump, EV_TIMEOUT, 1);
}

static void on_task_finished(Task *t, void *userdata)
{
        GuestBatchItem *it = userdata;

        /* The guest's operation is still being torn down here: the next step waits for the pump. */
        it->task = NULL;
        it->task_ended = true;
        it->task_state = task_get_state(t);
        free(it->task_result);
        it->task_result = xstrdup(task_get_result(t));
        batch_wake(it->batch);
}

static void on_busy_task_finished(Task *t, void *userdata)
{
        GuestBatchItem *it = userdata;

        /* The other operation is over: the step is tried again from the pump. */
        it->busy_task = NULL;
        batch_wake(it->batch);
}

static void item_end(GuestBatch *b, GuestBatchItem *it, GuestBatchOutcome outcome, const char *why)
{
        it->outcome = outcome;
        b->n_ended++;
        if (why)
                task_log(b->log, "Guest %u: %s", it->vmid, why);
        if (b->callbacks->item_done)
                b->callbacks->item_done(b, it, b->userdata);
}

/* Tries the item's steps from the current one until one is under way, the guest is busy, or none is left. */
static void item_begin(GuestBatch *b, GuestBatchItem *it)
{
        for (; it->step < it->n_steps; it->step++) {
                GuestBatchStep *s = &it->steps[it->step];
                Guest *g = manager_find_guest(b->manager, it->vmid);
                uint64_t now = now_usec();
                Task *t;
                int r;

                if (b->cancelled)
                        return item_end(b, it, GUEST_BATCH_FAILED, "cancelled");
                if (!g)
                        return item_end(b, it, GUEST_BATCH_NOTHING, "the guest is gone");
                r = guest_act(g, s->action, &s->opts, &t);
                if (r == -EBUSY) {
                        if (it->busy_since == 0) {
                                it->busy_since = now;
                                task_log(b->log, "Guest %u is busy with another operation; waiting up to %u s",
                                        it->vmid, s->budget);
                        }
                        if (now - it->busy_since < s->budget * USEC_PER_SEC) {
                                if (!it->busy_task) {
                                        it->busy_task = qemu_operation_task(g);
                                        task_add_finish_handler(it->busy_task, on_busy_task_finished, it);
                                }
                                return;
                        }
                        it->busy_since = 0;
                        if (it->busy_task) {
                                task_remove_finish_handler(it->busy_task, on_busy_task_finished, it);
                                it->busy_task = NULL;
                        }
                        task_log(b->log, "Guest %u: %s: the guest stayed busy", it->vmid, s->name);
                        continue;
                }
                it->busy_since = 0;
                if (r == -EALREADY)
                        return item_end(b, it, GUEST_BATCH_NOTHING, "already running");
                if (r == -ESRCH)
                        return item_end(b, it, GUEST_BATCH_NOTHING, "not running");
                if (r < 0) {
                        task_log(b->log, "Guest %u: %s failed: %s", it->vmid, s->name, strerror(-r));
                        continue;
                }
                task_log(b->log, "Guest %u: %s (%s)", it->vmid, s->name, task_get_upid(t));
                it->task = t;
                it->step_start = now;
                task_add_finish_handler(t, on_task_finished, it);
                return;
        }
        item_end(b, it, GUEST_BATCH_FAILED, "no step succeeded");
}

static void item_step_ended(GuestBatch *b, GuestBatchItem *it)
{
        GuestBatchStep *s = &it->steps[it->step];
        double secs = (double) (now_usec() - it->step_start) / USEC_PER_SEC;

        it->task_ended = false;
        if (it->task_state == TASK_OK || it->task_state == TASK_WARNINGS) {
                task_log(b->log, "Guest %u: %s done in %.2f s: %s", it->vmid, s->name, secs, it->task_result);
                return item_end(b, it, GUEST_BATCH_DONE, NULL);
        }
        task_log(b->log, "Guest %u: %s %s after %.2f s: %s", it->vmid, s->name,
                it->task_state == TASK_CANCELLED ? "cancelled" : "failed", secs, it->task_result);
        it->step++;
        item_begin(b, it);
}

static size_t group_end_of(const GuestBatch *b, size_t start)
{
        size_t e = start;

        while (e < b->n_items && b->items[e].group == b->items[start].group)
                e++;
        return e;
}

/* Begins what the parallel limit allows in the group under way; moves on to the next group once it is over. */
static bool batch_launch(GuestBatch *b)
{
        bool moved = false;

        while (b->group_start < b->n_items) {
                size_t running = 0;
                unsigned delay = 0;

                for (size_t i = b->group_start; i < b->group_end; i++)
                        if (b->items[i].outcome == GUEST_BATCH_RUNNING)
                                running++;
                for (size_t i = b->group_start; i < b->group_end && running < b->parallel; i++) {
                        GuestBatchItem *it = &b->items[i];
                        if (it->outcome != GUEST_BATCH_PENDING)
                                continue;
                        if (b->cancelled) {
                                item_end(b, it, GUEST_BATCH_SKIPPED, "skipped: cancelled");
                                continue;
                        }
                        it->outcome = GUEST_BATCH_RUNNING;
                        item_begin(b, it);
                        running += it->outcome == GUEST_BATCH_RUNNING;
                        moved = true;
                }
                for (size_t i = b->group_start; i < b->group_end; i++) {
                        GuestBatchItem *it = &b->items[i];
                        if (it->outcome == GUEST_BATCH_RUNNING || it->outcome == GUEST_BATCH_PENDING)
                                return moved;
                        if (it->outcome == GUEST_BATCH_DONE)
                                delay = MAX(delay, it->delay_after);
                }
                if (!b->delayed && delay > 0 && !b->cancelled && b->group_end < b->n_items) {
                        b->delayed = true;
                        b->delay_until = now_usec() + delay * USEC_PER_SEC;
                        task_log(b->log, "Waiting %u s before the next guests", delay);
                }
                if (b->delay_until > now_usec() && !b->cancelled)
                        return moved;
                b->delay_until = 0;
                b->delayed = false;
                b->group_start = b->group_end;
                b->group_end = group_end_of(b, b->group_start);
        }
        return moved;
}

static void batch_arm(GuestBatch *b)
{
        uint64_t now = now_usec(), next = UINT64_MAX;

        /* A busy guest's operation wakes the batch when it ends; the timer is for its budget running out. */
        for (size_t i = b->group_start; i < b->group_end; i++) {
                const GuestBatchItem *it = &b->items[i];
                if (it->outcome == GUEST_BATCH_RUNNING && it->busy_since > 0)
                        next = MIN(next, it->busy_since + it->steps[it->step].budget * USEC_PER_SEC);
        }
        if (b->delay_until > 0)
                next = MIN(next, b->delay_until);
        if (next == UINT64_MAX)
                return;
        uint64_t rel = next > now ? next - now : 0;
        struct timeval tv = { .tv_sec = (time_t) (rel / USEC_PER_SEC),
                .tv_usec = (suseconds_t) (rel % USEC_PER_SEC) };
        evtimer_add(b->pump, &tv);
}

static void on_pump(evutil_socket_t fd, short what, void *userdata)
{
        GuestBatch *b = userdata;
        bool moved = false;

        for (size_t i = b->group_start; i < b->group_end; i++) {
                GuestBatchItem *it = &b->items[i];
                if (it->outcome != GUEST_BATCH_RUNNING)
                        continue;
                if (it->task_ended) {
                        item_step_ended(b, it);
                        moved = true;
                } else if (!it->task && it->busy_since > 0)
                        item_begin(b, it);
        }
        moved |= batch_launch(b);
        if (moved && b->callbacks->progress)
                b->callbacks->progress(b, b->userdata);
        if (b->n_ended == b->n_items) {
                b->callbacks->finished(b, b->userdata);
                return;
        }
        batch_arm(b);
}

static int item_compare(const void *a, const void *b)
{
        const GuestBatchItem *x = a, *y = b;

        if (x->group != y->group)
                return x->group < y->group ? -1 : 1;
        return x->vmid < y->vmid ? -1 : x->vmid > y->vmid;
}

void guest_batch_start(GuestBatch *b)
{
        qsort(b->items, b->n_items, sizeof(GuestBatchItem), item_compare);
        for (size_t i = 0; i < b->n_items; i++)
                b->items[i].batch = b;
        b->group_start = 0;
        b->group_end = group_end_of(b, 0);
        batch_wake(b);
}

void guest_batch_cancel(GuestBatch *b)
{
        if (b->cancelled)
                return;
        b->cancelled = true;
        task_log(b->log, "Cancelled: no further guest is begun");
        for (size_t i = 0; i < b->n_items; i++)
                if (b->items[i].task)
                        (void) task_cancel(b->items[i].task);
        batch_wake(b);
}

uint64_t guest_batch_remaining_usec(const GuestBatch *b)
{
        uint64_t now = now_usec(), end = now;

        for (size_t i = b->group_start; i < b->group_end; i++) {
                const GuestBatchItem *it = &b->items[i];
                if (it->outcome != GUEST_BATCH_RUNNING)
                        continue;
                uint64_t since = it->busy_since > 0 ? it->busy_since : it->step_start;
                end = MAX(end, since + it->steps[it->step].budget * USEC_PER_SEC);
        }
        end = MAX(end, b->delay_until);
        return end - now;
}
