/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <event2/event.h>
#include <systemd/sd-bus.h>

#include "access.h"
#include "cluster-status.h"
#include "store.h"

typedef struct ClusterNode {
        char *name;
        bool online;
        bool member; /* has nodes/<node>/member: it joined once, and stays listed when offline */
        NodeStatus status;
        size_t n_guests;
} ClusterNode;

typedef struct ClusterGuest {
        uint32_t vmid;
        char *node; /* the owner: the node in its config key */
        char *name;
        char *tags; /* ';'-separated */
        uint64_t maxmem; /* bytes */
        unsigned maxcpu;
        bool has_status;
        GuestStatus status;
} ClusterGuest;

typedef struct Reservation {
        uint32_t vmid;
        uint64_t since_usec; /* CLOCK_MONOTONIC */
} Reservation;

typedef struct Manager {
        struct event_base *base;
        sd_bus *bus;
        Store *store;
        char *node;
        char *cluster_name;
        unsigned lease_ttl;

        /* This node's membership: its lease and the status last written with it. */
        StoreLease *lease;
        char *published;
        struct event *publish_timer;

        /* The cluster as seen through the watch on nodes/. */
        StoreWatch *watch;
        bool synced;
        ClusterNode *nodes; /* sorted by name */
        size_t n_nodes;
        ClusterGuest *guests; /* sorted by vmid */
        size_t n_guests;
        bool quorate;

        /* What is to be done again once the store answers, with backoff. */
        struct event *retry_timer;
        unsigned backoff_ms;

        Reservation *reservations;
        size_t n_reservations;

        Access *access; /* who may see and reserve what, from the store */
        sd_bus_slot *manager_slot;
} Manager;

int manager_new(struct event_base *base, sd_bus *bus, Store *store, const char *node, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Joins the cluster and reads it; what fails for want of the store is retried until it works. */
void manager_start(Manager *m);

const ClusterNode *manager_find_node(const Manager *m, const char *name);
/* -EHOSTDOWN without the store, -ENOSPC when every vmid is taken. */
int manager_next_id(Manager *m, uint32_t *ret);

/* In clusterd-bus.c. */
int manager_bus_register(Manager *m);
void manager_bus_emit_node(Manager *m, const char *signal, const char *node);
void manager_bus_emit_properties(Manager *m, const char *property);
