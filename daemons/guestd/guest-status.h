/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * nodes/<node>/qemu-status/<vmid>: a guest's runtime state for the rest of the cluster, the JSON object
 * {"state":<State property>,"pid":<QEMU's pid or 0>,"run-id":<run id or "">,"start-time":<QEMU's start,
 * seconds since the epoch, or 0>}. It is written when it changes. A store that does not take it leaves
 * guestd running from memory: what it did not take is written again, with backoff, once it does.
 */

#include "guestd.h"

char *qemu_status_key(const Manager *m, uint32_t vmid);
/* The status of a guest in state with the given QEMU (pid 0: none; run_id NULL: none). Pure. */
char *qemu_status_format(GuestState state, pid_t pid, const char *run_id, uint64_t start_time);

/* Writes the guest's status unless the store already has it as it is now. */
void guest_publish_status(Guest *g);
/* At start: every guest's status, and none of a guest this node no longer has. */
void manager_publish_statuses(Manager *m);
/* A guest left the manager without a store transaction that removed its status: the status goes too. */
void manager_prune_statuses(Manager *m);
