/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What nodes and guests publish in the store, as JSON objects (pure: text in,
 * text out):
 *   nodes/<node>/status             a node's status, on its lease (NodeStatus)
 *   nodes/<node>/qemu-status/<vmid> a guest's runtime state, written by guestd:
 *                                   {"state":..,"pid":..,"run-id":..,"start-time":..}
 * Unknown members are ignored, so a newer writer does not break an older reader;
 * a missing member takes its zero value.
 */

#include <stdint.h>

#include "macro.h"

#define NODE_STATUS_MAX_SIZE 4096U

typedef struct NodeStatus {
        char *version;
        unsigned cpus;
        uint64_t memory; /* bytes */
        double load[3];
        uint64_t uptime; /* seconds */
        char *gateway_url;
        char *fingerprint;
} NodeStatus;

void node_status_done(NodeStatus *s);
char *node_status_format(const NodeStatus *s);
/* -EBADMSG unless text is a JSON object whose known members have the right types. */
int node_status_parse(const char *text, NodeStatus *ret);

typedef struct GuestStatus {
        char *state;
        uint32_t pid;
        char *run_id;
        uint64_t start_time; /* seconds since the epoch; 0 when not running */
} GuestStatus;

void guest_status_done(GuestStatus *s);
int guest_status_parse(const char *text, GuestStatus *ret);
