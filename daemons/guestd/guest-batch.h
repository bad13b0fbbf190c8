/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Acting on many guests at once, through guest_act() and the tasks it returns:
 * items run group by group (ascending group number), up to a parallel limit
 * within a group, each item trying its steps in order until one succeeds. A
 * guest busy with another operation is waited for, up to the step's budget.
 * Host shutdown (save, else shut down, else power off) and boot (restore or
 * start) are both such batches.
 */

#include "guestd.h"

#define GUEST_BATCH_MAX_STEPS 3

typedef struct GuestBatch GuestBatch;

typedef struct GuestBatchStep {
        const char *name; /* for the log: "save", "shutdown", ... */
        GuestAction action;
        GuestOptions opts; /* owned by the batch once the item is added */
        unsigned budget; /* seconds the step may take; also how long a busy guest is waited for */
} GuestBatchStep;

typedef enum GuestBatchOutcome {
        GUEST_BATCH_PENDING,
        GUEST_BATCH_RUNNING,
        GUEST_BATCH_DONE, /* a step succeeded: item->step is the one */
        GUEST_BATCH_NOTHING, /* nothing to do: the guest already was where the steps lead, or is gone */
        GUEST_BATCH_FAILED, /* no step succeeded */
        GUEST_BATCH_SKIPPED, /* the batch was cancelled before the item began */
} GuestBatchOutcome;

typedef struct GuestBatchItem {
        GuestBatch *batch;
        uint32_t vmid;
        int group;
        unsigned delay_after; /* seconds to wait, once the item succeeded, before the next group begins */
        GuestBatchStep steps[GUEST_BATCH_MAX_STEPS];
        size_t n_steps;

        GuestBatchOutcome outcome;
        size_t step; /* the step under way or, once done, the one that succeeded */
        Task *task; /* of the step under way */
        bool task_ended;
        TaskState task_state;
        char *task_result;
        uint64_t step_start; /* CLOCK_MONOTONIC µs */
        uint64_t busy_since; /* when the guest was first found busy for this step, 0 when it was not */
        Task *busy_task; /* the other operation's task, whose end wakes the batch */
} GuestBatchItem;

typedef struct GuestBatchCallbacks {
        /* Something moved: a step began or ended. */
        void (*progress)(GuestBatch *b, void *userdata);
        /* An item ended: its outcome is set. */
        void (*item_done)(GuestBatch *b, GuestBatchItem *item, void *userdata);
        /* Every item has ended; the batch may be freed from here. */
        void (*finished)(GuestBatch *b, void *userdata);
} GuestBatchCallbacks;

struct GuestBatch {
        Manager *manager;
        Task *log; /* where progress is written */
        unsigned parallel;
        const GuestBatchCallbacks *callbacks;
        void *userdata;

        GuestBatchItem *items; /* sorted by group once started */
        size_t n_items;
        size_t n_ended;
        size_t group_start, group_end; /* the items of the group under way */
        uint64_t delay_until; /* the pause after a group, 0 when none is due */
        bool delayed; /* the current group's pause has been taken */
        bool cancelled;
        struct event *pump;
};

GuestBatch *guest_batch_new(
        Manager *m, Task *log, unsigned parallel, const GuestBatchCallbacks *cb, void *userdata);
GuestBatch *guest_batch_free(GuestBatch *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(GuestBatch *, guest_batch_free);

/* Adds an item (copied; its steps' options are taken over). Only before guest_batch_start(). */
void guest_batch_add(GuestBatch *b, const GuestBatchItem *item);
/* Begins, from the event loop: callbacks never run from within this call. */
void guest_batch_start(GuestBatch *b);
/* Items not begun are skipped, steps under way are cancelled where they can be, and no further step begins. */
void guest_batch_cancel(GuestBatch *b);
/* The longest time any step under way (or a pause between groups) may still take, in µs. */
uint64_t guest_batch_remaining_usec(const GuestBatch *b);
