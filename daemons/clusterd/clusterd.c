/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * clusterd's model: this node's membership (a lease and the status key on it)
 * and the cluster as the watch on nodes/ shows it (every node's status, every
 * guest's config and runtime state). Whatever fails for want of the store is
 * done again once it answers: the retry takes the same path as the start, a
 * fresh listing of nodes/.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "berth-conf.h"
#include "clusterd.h"
#include "guest-config.h"
#include "log.h"
#include "sorted.h"
#include "vmid.h"

#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000
#define USEC_PER_SEC 1000000ULL
#define RESERVATION_SEC 300
#define RESERVATION_USEC (RESERVATION_SEC * USEC_PER_SEC)

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void node_done(ClusterNode *n)
{
        free(n->name);
        node_status_done(&n->status);
}

static void guest_done(ClusterGuest *g)
{
        free(g->node);
        free(g->name);
        free(g->tags);
        guest_status_done(&g->status);
}

static void manager_clear_view(Manager *m)
{
        for (size_t i = 0; i < m->n_nodes; i++)
                node_done(&m->nodes[i]);
        for (size_t i = 0; i < m->n_guests; i++)
                guest_done(&m->guests[i]);
        free(m->nodes);
        free(m->guests);
        m->nodes = NULL;
        m->guests = NULL;
        m->n_nodes = m->n_guests = 0;
}

static void manager_set_quorate(Manager *m, bool quorate)
{
        if (m->quorate == quorate)
                return;
        m->quorate = quorate;
        if (quorate)
                log_info("The store answers again.");
        else
                log_warning("The store does not answer: serving what was last seen.");
        manager_bus_emit_properties(m, "Quorate");
}

static int node_compare(const void *key, const void *element)
{
        return strcmp(key, ((const ClusterNode *) element)->name);
}

/* Where the node is, or would go: *ret_found says which. */
static size_t node_index(const Manager *m, const char *name, bool *ret_found)
{
        return sorted_index(m->nodes, m->n_nodes, sizeof(ClusterNode), name, node_compare, ret_found);
}

const ClusterNode *manager_find_node(const Manager *m, const char *name)
{
        bool found;
        size_t i = node_index(m, name, &found);

        return found ? &m->nodes[i] : NULL;
}

static ClusterNode *node_get(Manager *m, const char *name)
{
        bool found;
        size_t i = node_index(m, name, &found);

        if (!found) {
                m->nodes = xrealloc(m->nodes, (m->n_nodes + 1) * sizeof(ClusterNode));
                memmove(&m->nodes[i + 1], &m->nodes[i], (m->n_nodes - i) * sizeof(ClusterNode));
                m->nodes[i] = (ClusterNode){ .name = xstrdup(name) };
                m->n_nodes++;
                manager_bus_emit_properties(m, "Nodes");
        }
        return &m->nodes[i];
}

/* A node that is offline, owns no guest and never joined (only its keys were seen) is forgotten. */
static void node_forget_if_unused(Manager *m, const char *name)
{
        bool found;
        size_t i = node_index(m, name, &found);

        if (!found || m->nodes[i].online || m->nodes[i].member || m->nodes[i].n_guests > 0)
                return;
        node_done(&m->nodes[i]);
        memmove(&m->nodes[i], &m->nodes[i + 1], (m->n_nodes - i - 1) * sizeof(ClusterNode));
        m->n_nodes--;
        manager_bus_emit_properties(m, "Nodes");
}

static int guest_compare(const void *key, const void *element)
{
        uint32_t a = *(const uint32_t *) key, b = ((const ClusterGuest *) element)->vmid;
        return a < b ? -1 : a > b;
}

static size_t guest_index(const Manager *m, uint32_t vmid, bool *ret_found)
{
        return sorted_index(m->guests, m->n_guests, sizeof(ClusterGuest), &vmid, guest_compare, ret_found);
}

static ClusterGuest *guest_get(Manager *m, uint32_t vmid)
{
        bool found;
        size_t i = guest_index(m, vmid, &found);

        if (!found) {
                m->guests = xrealloc(m->guests, (m->n_guests + 1) * sizeof(ClusterGuest));
                memmove(&m->guests[i + 1], &m->guests[i], (m->n_guests - i) * sizeof(ClusterGuest));
                m->guests[i] = (ClusterGuest){ .vmid = vmid };
                m->n_guests++;
        }
        return &m->guests[i];
}

static void guest_remove(Manager *m, uint32_t vmid)
{
        bool found;
        size_t i = guest_index(m, vmid, &found);
        _cleanup_free_ char *owner = NULL;

        if (!found)
                return;
        owner = m->guests[i].node ? xstrdup(m->guests[i].node) : NULL;
        guest_done(&m->guests[i]);
        memmove(&m->guests[i], &m->guests[i + 1], (m->n_guests - i - 1) * sizeof(ClusterGuest));
        m->n_guests--;
        if (owner) {
                node_get(m, owner)->n_guests--;
                node_forget_if_unused(m, owner);
        }
}

/* The kinds of key below nodes/<node>/ that clusterd follows. */
typedef enum KeyKind {
        KEY_STATUS,
        KEY_MEMBER,
        KEY_CONFIG,
        KEY_GUEST_STATUS,
        KEY_OTHER,
} KeyKind;

/* Splits nodes/<node>/...; -EINVAL for a key that is not below a node. */
static int key_parse(const char *key, char **ret_node, KeyKind *ret_kind, uint32_t *ret_vmid)
{
        const char *rest = startswith(key, "nodes/"), *slash, *tail;
        _cleanup_free_ char *number = NULL;

        if (!rest || !(slash = strchr(rest, '/')) || slash == rest)
                return -EINVAL;
        tail = slash + 1;
        *ret_kind = KEY_OTHER;
        if (streq(tail, "status"))
                *ret_kind = KEY_STATUS;
        else if (streq(tail, "member"))
                *ret_kind = KEY_MEMBER;
        else if (startswith(tail, "qemu/") && endswith(tail, ".conf")) {
                number = xstrndup(tail + 5, strlen(tail) - 5 - 5);
                if (vmid_parse(number, ret_vmid) >= 0)
                        *ret_kind = KEY_CONFIG;
        } else if (startswith(tail, "qemu-status/") && vmid_parse(tail + 12, ret_vmid) >= 0)
                *ret_kind = KEY_GUEST_STATUS;
        *ret_node = xstrndup(rest, (size_t) (slash - rest));
        return 0;
}

static void node_set_status(Manager *m, const char *name, const char *value, bool announce)
{
        _cleanup_(node_status_done) NodeStatus s = {};
        ClusterNode *n;
        bool joined;

        if (node_status_parse(value, &s) < 0) {
                log_warning("Node %s: its status does not parse, ignoring it.", name);
                return;
        }
        n = node_get(m, name);
        joined = !n->online;
        n->online = true;
        node_status_done(&n->status);
        n->status = s;
        s = (NodeStatus){};
        if (!announce)
                return;
        if (joined)
                log_info("Node %s joined.", name);
        manager_bus_emit_node(m, joined ? "NodeJoined" : "NodeChanged", name);
}

static void node_set_offline(Manager *m, const char *name, bool announce)
{
        bool found;
        size_t i = node_index(m, name, &found);

        if (!found || !m->nodes[i].online)
                return;
        m->nodes[i].online = false;
        if (announce) {
                log_info("Node %s left.", name);
                manager_bus_emit_node(m, "NodeLeft", name);
        }
        node_forget_if_unused(m, name);
}

static void guest_set_config(Manager *m, const char *node, uint32_t vmid, const char *text)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        _cleanup_strv_free_ char **tags = NULL;
        ClusterGuest *g;

        if (guest_config_parse(text, &c, NULL) < 0) {
                log_warning("Guest %u on %s: its config does not parse, ignoring it.", vmid, node);
                return;
        }
        g = guest_get(m, vmid);
        if (!g->node || !streq(g->node, node)) {
                if (g->node) {
                        _cleanup_free_ char *before = TAKE_PTR(g->node);
                        node_get(m, before)->n_guests--;
                        node_forget_if_unused(m, before);
                }
                g->node = xstrdup(node);
                node_get(m, node)->n_guests++;
        }
        free(g->name);
        free(g->tags);
        g->name = xstrdup(strempty(guest_config_get(c, "name")));
        tags = guest_config_get_tags(c);
        g->tags = strv_join(tags, ";");
        g->maxmem = guest_config_get_memory_mib(c) * 1024 * 1024;
        g->maxcpu = guest_config_get_cores(c);
}

static void guest_set_status(Manager *m, const char *node, uint32_t vmid, const char *text)
{
        _cleanup_(guest_status_done) GuestStatus s = {};
        bool found;
        size_t i = guest_index(m, vmid, &found);

        /* A status without its config (the config is on its way, or gone) waits for the config. */
        if (!found || !streq_ptr(m->guests[i].node, node))
                return;
        if (guest_status_parse(text, &s) < 0) {
                log_warning("Guest %u on %s: its status does not parse, ignoring it.", vmid, node);
                return;
        }
        guest_status_done(&m->guests[i].status);
        m->guests[i].status = s;
        m->guests[i].has_status = true;
        s = (GuestStatus){};
}

static void guest_clear_status(Manager *m, const char *node, uint32_t vmid)
{
        bool found;
        size_t i = guest_index(m, vmid, &found);

        if (found && streq_ptr(m->guests[i].node, node)) {
                guest_status_done(&m->guests[i].status);
                m->guests[i].has_status = false;
        }
}

/* A key's value (NULL: it is gone) into the view. */
static void manager_apply_key(Manager *m, const char *key, const char *value, bool announce)
{
        _cleanup_free_ char *node = NULL;
        uint32_t vmid = 0;
        KeyKind kind;

        if (key_parse(key, &node, &kind, &vmid) < 0)
                return;
        switch (kind) {
        case KEY_STATUS:
                if (value)
                        node_set_status(m, node, value, announce);
                else
                        node_set_offline(m, node, announce);
                break;
        case KEY_MEMBER:
                if (value)
                        node_get(m, node)->member = true;
                else if (manager_find_node(m, node)) {
                        node_get(m, node)->member = false;
                        node_forget_if_unused(m, node);
                }
                break;
        case KEY_CONFIG:
                if (value)
                        guest_set_config(m, node, vmid, value);
                else {
                        bool found;
                        size_t i = guest_index(m, vmid, &found);
                        if (found && streq_ptr(m->guests[i].node, node))
                                guest_remove(m, vmid);
                }
                break;
        case KEY_GUEST_STATUS:
                if (value)
                        guest_set_status(m, node, vmid, value);
                else
                        guest_clear_status(m, node, vmid);
                break;
        case KEY_OTHER:
                break;
        }
}

static void manager_retry_later(Manager *m)
{
        struct timeval tv = { .tv_sec = m->backoff_ms / 1000, .tv_usec = (m->backoff_ms % 1000) * 1000 };

        if (evtimer_pending(m->retry_timer, NULL))
                return;
        evtimer_add(m->retry_timer, &tv);
        m->backoff_ms = MIN(m->backoff_ms * 2, RETRY_MAX_MS);
}

static void manager_resync(Manager *m);

static void on_nodes_changed(Store *s, StoreEventType type, const char *key, uint64_t revision, void *userdata)
{
        Manager *m = userdata;
        _cleanup_free_ char *value = NULL;
        int r = 0;

        if (!m->synced)
                return;
        if (type == STORE_EVENT_PUT) {
                r = store_get(m->store, key, &value, NULL, NULL);
                if (r == -ENOENT)
                        r = 0;
        }
        if (r < 0) {
                /* What happened meanwhile is read with the next listing. */
                manager_set_quorate(m, false);
                m->synced = false;
                return manager_retry_later(m);
        }
        manager_apply_key(m, key, value, true);
}

/* Reads nodes/ afresh into the view; nodes that came or went since are announced. */
static int manager_list(Manager *m)
{
        _cleanup_strv_free_ char **online_before = NULL;
        StoreEntry *entries;
        size_t n;
        int r;

        r = store_list(m->store, "nodes/", &entries, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_nodes; i++)
                if (m->nodes[i].online)
                        strv_push(&online_before, m->nodes[i].name);
        manager_clear_view(m);
        /* Configs first: a guest's status is taken only with its config. */
        for (size_t i = 0; i < n; i++)
                if (endswith(entries[i].key, ".conf"))
                        manager_apply_key(m, entries[i].key, entries[i].value, false);
        for (size_t i = 0; i < n; i++)
                if (!endswith(entries[i].key, ".conf"))
                        manager_apply_key(m, entries[i].key, entries[i].value, false);
        store_entries_free(entries, n);

        for (size_t i = 0; i < m->n_nodes; i++)
                if (m->nodes[i].online && !strv_contains(online_before, m->nodes[i].name))
                        manager_bus_emit_node(m, "NodeJoined", m->nodes[i].name);
        for (char **name = online_before; name && *name; name++) {
                const ClusterNode *now = manager_find_node(m, *name);
                if (!now || !now->online)
                        manager_bus_emit_node(m, "NodeLeft", *name);
        }
        manager_bus_emit_properties(m, "Nodes");
        return 0;
}

static void node_status_of_host(Manager *m, NodeStatus *ret)
{
        struct sysinfo si = {};
        double load[3] = {};
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        (void) sysinfo(&si);
        if (getloadavg(load, 3) != 3)
                memset(load, 0, sizeof load);
        *ret = (NodeStatus){
                .version = xstrdup(BERTH_VERSION),
                .cpus = cpus > 0 ? (unsigned) cpus : 1,
                .memory = (uint64_t) si.totalram * si.mem_unit,
                .uptime = (uint64_t) si.uptime,
        };
        /* Two decimals, as uptime(1) shows them: finer would change the key at every publish for nothing. */
        for (size_t i = 0; i < 3; i++)
                ret->load[i] = (double) (long) (load[i] * 100 + 0.5) / 100;
}

static void on_lease_lost(StoreLease *l, void *userdata)
{
        Manager *m = userdata;

        /* Ended on the next try, outside the lease's own callback. */
        log_warning("This node's lease is lost (it could not be renewed in time): joining again.");
        free(m->published);
        m->published = NULL;
        manager_set_quorate(m, false);
        manager_retry_later(m);
}

/* Writes this node's status on its lease, granting one first if need be. */
static int manager_publish(Manager *m)
{
        _cleanup_(node_status_done) NodeStatus s = {};
        _cleanup_free_ char *key = xasprintf("nodes/%s/status", m->node), *text = NULL;
        int r;

        if (m->lease && store_lease_is_lost(m->lease))
                m->lease = store_lease_revoke(m->lease);
        if (!m->lease) {
                _cleanup_free_ char *member = xasprintf("nodes/%s/member", m->node);

                /* Without a lease: the node stays a member, listed offline, when its status lapses. */
                r = store_put(m->store, member, m->cluster_name, strlen(m->cluster_name), STORE_REVISION_ANY,
                        NULL);
                if (r >= 0)
                        r = store_lease_grant(m->store, m->lease_ttl, on_lease_lost, m, &m->lease);
                if (r < 0)
                        return r;
        }
        node_status_of_host(m, &s);
        text = node_status_format(&s);
        if (streq_ptr(text, m->published))
                return 0;
        StoreTxnOp put[] = {
                { .type = STORE_TXN_PUT, .key = key, .value = text, .size = strlen(text), .lease = m->lease }
        };
        r = store_txn(m->store, NULL, 0, put, 1, NULL);
        if (r == -EKEYEXPIRED) {
                /* The lease ended in the store before its loss was seen here. */
                m->lease = store_lease_revoke(m->lease);
                return -EHOSTDOWN;
        }
        if (r < 0)
                return r;
        free(m->published);
        m->published = TAKE_PTR(text);
        return 0;
}

/* Does what is not done yet: the watch, the listing, this node's status. */
static void manager_resync(Manager *m)
{
        int r = 0;

        if (!m->watch)
                r = store_watch(m->store, "nodes/", on_nodes_changed, m, &m->watch);
        if (r >= 0 && !m->synced) {
                r = manager_list(m);
                m->synced = r >= 0;
        }
        if (r >= 0)
                r = manager_publish(m);
        if (r < 0) {
                if (r != -EHOSTDOWN)
                        log_warning_errno(r, "Failed to take part in the cluster, trying again: %m");
                manager_set_quorate(m, false);
                return manager_retry_later(m);
        }
        m->backoff_ms = RETRY_MIN_MS;
        manager_set_quorate(m, true);
}

static void on_retry(evutil_socket_t fd, short what, void *userdata)
{
        manager_resync(userdata);
}

static void on_publish(evutil_socket_t fd, short what, void *userdata)
{
        Manager *m = userdata;
        int r;

        if (!m->synced || !m->lease || store_lease_is_lost(m->lease)) {
                manager_retry_later(m);
                return;
        }
        r = manager_publish(m);
        if (r < 0) {
                manager_set_quorate(m, false);
                manager_retry_later(m);
        } else
                manager_set_quorate(m, true);
}

void manager_start(Manager *m)
{
        struct timeval tv = { .tv_sec = m->lease_ttl };

        manager_resync(m);
        evtimer_add(m->publish_timer, &tv);
}

int manager_new(struct event_base *base, sd_bus *bus, Store *store, const char *node, Manager **ret)
{
        _cleanup_free_ char *error = NULL;
        BerthConf conf;
        int r;

        r = berth_conf_load(&conf, &error);
        if (r < 0)
                return log_error_errno(r, "Invalid berth.conf: %s", error ?: strerror(-r));

        Manager *m = new0(Manager, 1);
        *m = (Manager){
                .base = base,
                .bus = bus,
                .store = store,
                .node = xstrdup(node),
                .cluster_name = xstrdup(conf.cluster_name),
                .lease_ttl = conf.node_lease_ttl,
                .backoff_ms = RETRY_MIN_MS,
        };
        m->retry_timer = evtimer_new(base, on_retry, m);
        m->publish_timer = event_new(base, -1, EV_PERSIST, on_publish, m);
        if (!m->retry_timer || !m->publish_timer)
                abort();
        r = access_new(store, &m->access);
        if (r < 0) {
                manager_free(m);
                return log_error_errno(r, "Failed to read the access config: %m");
        }
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        /* Leaving on purpose: the others see this node go at once, not after its lease runs out. */
        store_lease_revoke(m->lease);
        store_watch_free(m->watch);
        event_free(m->retry_timer);
        event_free(m->publish_timer);
        manager_clear_view(m);
        sd_bus_slot_unref(m->manager_slot);
        access_free(m->access);
        free(m->reservations);
        free(m->published);
        free(m->cluster_name);
        free(m->node);
        free(m);
        return NULL;
}

/* Drops the reservations whose guest now exists, or that are old; the store's copies go too. */
static void reservations_prune(Manager *m, char **used)
{
        uint64_t now = now_usec();
        size_t j = 0;

        for (size_t i = 0; i < m->n_reservations; i++) {
                Reservation *r = &m->reservations[i];
                char number[16];

                snprintf(number, sizeof number, "%u", r->vmid);
                if (now - r->since_usec < RESERVATION_USEC && !strv_contains(used, number)) {
                        m->reservations[j++] = *r;
                        continue;
                }
                _cleanup_free_ char *key = xasprintf("vmid-reservations/%u", r->vmid);
                (void) store_delete(m->store, key, STORE_REVISION_ANY);
        }
        m->n_reservations = j;
}

/* The last path component of every key below prefix. */
static int list_names(Manager *m, const char *prefix, char ***ret)
{
        _cleanup_strv_free_ char **names = NULL;
        StoreEntry *entries;
        size_t n;
        int r;

        r = store_list(m->store, prefix, &entries, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                strv_push(&names, entries[i].key + strlen(prefix));
        store_entries_free(entries, n);
        *ret = TAKE_PTR(names);
        return 0;
}

/* Whether a reservation of vmid holds at now; *ret_stale is the revision of one that ran out, 0 when there is none. */
static bool reservation_holds(
        const StoreEntry *reserved, size_t n, uint32_t vmid, time_t now, uint64_t *ret_stale)
{
        char name[32];

        snprintf(name, sizeof name, "vmid-reservations/%u", vmid);
        *ret_stale = 0;
        for (size_t i = 0; i < n; i++) {
                long long until;

                if (!streq(reserved[i].key, name))
                        continue;
                /* "<node> <until, seconds since the epoch>"; one that does not parse has run out. */
                if (sscanf(reserved[i].value, "%*s %lld", &until) == 1 && until > now)
                        return true;
                *ret_stale = reserved[i].revision;
                return false;
        }
        return false;
}

int manager_next_id(Manager *m, uint32_t *ret)
{
        _cleanup_strv_free_ char **used = NULL;
        StoreEntry *reserved = NULL;
        size_t n_reserved = 0;
        time_t now = time(NULL);
        char number[16];
        bool found = false;
        int r;

        r = list_names(m, "guests/", &used);
        if (r >= 0)
                r = store_list(m->store, "vmid-reservations/", &reserved, &n_reserved);
        if (r < 0)
                return r;
        reservations_prune(m, used);

        for (uint32_t vmid = VMID_MIN; vmid <= VMID_MAX; vmid++) {
                _cleanup_free_ char *index = xasprintf("guests/%u", vmid),
                                    *key = xasprintf("vmid-reservations/%u", vmid),
                                    *value = xasprintf(
                                            "%s %lld\n", m->node, (long long) now + RESERVATION_SEC);
                uint64_t stale;

                snprintf(number, sizeof number, "%u", vmid);
                if (strv_contains(used, number) || reservation_holds(reserved, n_reserved, vmid, now, &stale))
                        continue;
                /* Taken meanwhile by a create or another reservation: the next one, then. */
                StoreCompare free_now[] = { { .key = index, .revision = 0 },
                        { .key = key, .revision = stale } };
                StoreTxnOp reserve[] = {
                        { .type = STORE_TXN_PUT, .key = key, .value = value, .size = strlen(value) }
                };
                r = store_txn(m->store, free_now, ELEMENTSOF(free_now), reserve, 1, NULL);
                if (r == -ESTALE)
                        continue;
                if (r < 0)
                        break;
                m->reservations = xrealloc(m->reservations, (m->n_reservations + 1) * sizeof(Reservation));
                m->reservations[m->n_reservations++] = (Reservation){ .vmid = vmid, .since_usec = now_usec() };
                *ret = vmid;
                found = true;
                break;
        }
        store_entries_free(reserved, n_reserved);
        if (r < 0 && r != -ESTALE)
                return r;
        return found ? 0 : -ENOSPC;
}
