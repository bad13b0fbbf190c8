/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Leases and locks of the etcd: backend.
 *
 * A lease is renewed every ttl/3 from the daemon's loop. Its deadline is the
 * time a renewal was sent plus the TTL etcd granted with it: the lease lives at
 * least until then. It counts as lost once the deadline is less than a renewal
 * period away, so its owner hears of it before it can expire.
 *
 * A lock is etcd's recipe: a key "<namespace>.locks/<name>/<lease>" on a lease of
 * its own; the key with the lowest create revision holds the lock, and a waiter
 * watches the key created just before its own until it is gone.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "store-etcd.h"

#define LOCK_TTL_SEC 15

typedef struct EtcdLease {
        EtcdStore *e;
        StoreLease *owner; /* NULL for a lock's own lease */
        uint64_t id;
        unsigned ttl_sec;
        uint64_t deadline_usec;
        struct event *timer;
        HttpRequest *renewing;
        uint64_t renewing_since_usec;
        bool lost;
} EtcdLease;

typedef struct EtcdLock {
        EtcdLease *lease;
        char *key;
        uint64_t created;
} EtcdLock;

static uint64_t renew_period_usec(const EtcdLease *l)
{
        return (uint64_t) l->ttl_sec * 1000000 / 3;
}

static void lease_lose(EtcdLease *l)
{
        if (l->lost)
                return;
        l->lost = true;
        evtimer_del(l->timer);
        http_request_cancel(l->renewing);
        l->renewing = NULL;
        if (l->owner)
                store_lease_report_lost(l->owner);
}

static void on_renewed(HttpRequest *req, int r, const HttpResponse *resp, void *userdata)
{
        EtcdLease *l = userdata;
        _cleanup_json_ json_object *response = NULL;
        uint64_t ttl;

        l->renewing = NULL;
        /* A renewal that did not get through changes nothing: the next tick looks at the deadline. */
        if (r < 0 || etcd_response_parse(resp->status, resp->body, resp->size, &response) < 0)
                return;
        ttl = etcd_json_u64(etcd_json_get(response, "result"), "TTL");
        if (ttl == 0)
                return lease_lose(l); /* etcd no longer knows it: it expired */
        l->deadline_usec = MAX(l->deadline_usec, l->renewing_since_usec + ttl * 1000000);
}

/* Renews through client, whose loop is the one running now. */
static void lease_tick(EtcdLease *l, HttpClient *client)
{
        _cleanup_json_ json_object *request = json_object_new_object();
        uint64_t now = etcd_now_usec();

        if (l->lost)
                return;
        if (now + renew_period_usec(l) >= l->deadline_usec)
                return lease_lose(l);
        /* A renewal still unanswered after a period is given up for a new one, perhaps on another member. */
        http_request_cancel(l->renewing);
        l->renewing = NULL;
        json_object_object_add(request, "ID", etcd_json_u64_new(l->id));
        l->renewing_since_usec = now;
        (void) http_client_post(client, "/v3/lease/keepalive",
                json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN), on_renewed, l, &l->renewing);
}

static void on_timer(evutil_socket_t fd, short what, void *userdata)
{
        EtcdLease *l = userdata;

        lease_tick(l, l->e->async);
}

static struct timeval period_tv(const EtcdLease *l)
{
        uint64_t p = renew_period_usec(l);
        return (struct timeval){ .tv_sec = (time_t) (p / 1000000), .tv_usec = (suseconds_t) (p % 1000000) };
}

static int lease_new(EtcdStore *e, unsigned ttl_sec, StoreLease *owner, EtcdLease **ret)
{
        _cleanup_json_ json_object *request = json_object_new_object(), *response = NULL;
        uint64_t sent = etcd_now_usec(), id, ttl;
        struct timeval tv;
        int r;

        json_object_object_add(request, "TTL", etcd_json_u64_new(ttl_sec));
        r = etcd_call(e, "/v3/lease/grant", request, &response);
        if (r < 0)
                return r;
        id = etcd_json_u64(response, "ID");
        ttl = etcd_json_u64(response, "TTL");
        if (id == 0 || ttl == 0)
                return -EBADMSG;

        EtcdLease *l = new0(EtcdLease, 1);
        *l = (EtcdLease){
                .e = e,
                .owner = owner,
                .id = id,
                .ttl_sec = (unsigned) MIN(ttl, ttl_sec),
                .deadline_usec = sent + ttl * 1000000,
        };
        l->timer = event_new(e->base, -1, EV_PERSIST, on_timer, l);
        if (!l->timer)
                abort();
        tv = period_tv(l);
        evtimer_add(l->timer, &tv);
        *ret = l;
        return 0;
}

static void lease_free(EtcdLease *l, bool revoke)
{
        if (revoke && !l->lost) {
                _cleanup_json_ json_object *request = json_object_new_object(), *response = NULL;

                /* When etcd cannot be reached the lease expires on its own: nothing else to do. */
                json_object_object_add(request, "ID", etcd_json_u64_new(l->id));
                (void) etcd_call(l->e, "/v3/lease/revoke", request, &response);
        }
        http_request_cancel(l->renewing);
        event_free(l->timer);
        free(l);
}

int etcd_lease_grant(void *data, unsigned ttl_sec, StoreLease *owner, void **ret)
{
        return lease_new(data, ttl_sec, owner, (EtcdLease **) ret);
}

void etcd_lease_revoke(void *data)
{
        lease_free(data, true);
}

uint64_t etcd_lease_id(void *data)
{
        return ((EtcdLease *) data)->id;
}

static EtcdLock *lock_free(EtcdLock *k)
{
        if (!k)
                return NULL;
        if (k->lease)
                lease_free(k->lease, true);
        free(k->key);
        free(k);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(EtcdLock *, lock_free);

/* The lock key created last before ours: NULL when ours is the oldest, and the lock is ours. */
static int lock_predecessor(EtcdLock *k, const char *prefix, char **ret, uint64_t *ret_revision)
{
        EtcdStore *e = k->lease->e;
        _cleanup_free_ char *end = etcd_range_end(prefix);
        _cleanup_json_ json_object *request = json_object_new_object(), *response = NULL;
        json_object *kvs, *key;
        const char *text;
        int r;

        json_object_object_add(request, "key", etcd_json_b64(prefix));
        json_object_object_add(request, "range_end", etcd_json_b64(end));
        json_object_object_add(request, "max_create_revision", etcd_json_u64_new(k->created - 1));
        json_object_object_add(request, "sort_order", json_object_new_string("DESCEND"));
        json_object_object_add(request, "sort_target", json_object_new_string("CREATE"));
        json_object_object_add(request, "limit", etcd_json_u64_new(1));
        json_object_object_add(request, "keys_only", json_object_new_boolean(true));
        r = etcd_call(e, "/v3/kv/range", request, &response);
        if (r < 0)
                return r;
        *ret_revision = etcd_json_u64(etcd_json_get(response, "header"), "revision");
        kvs = etcd_json_get(response, "kvs");
        if (!kvs || json_object_array_length(kvs) == 0) {
                *ret = NULL;
                return 0;
        }
        key = etcd_json_get(json_object_array_get_idx(kvs, 0), "key");
        text = key ? json_object_get_string(key) : NULL;
        if (!text)
                return -EBADMSG;
        *ret = xstrdup(text); /* base64, as a watch wants it */
        return 0;
}

typedef struct LockWait {
        EtcdLease *lease;
        bool gone;
        bool ended;
} LockWait;

static void on_wait_line(HttpRequest *req, const char *line, size_t size, void *userdata)
{
        LockWait *w = userdata;
        _cleanup_json_ json_object *o = json_tokener_parse(line);
        json_object *result = etcd_json_get(o, "result"), *events, *canceled;

        if (!result) {
                w->ended = true;
                return;
        }
        canceled = etcd_json_get(result, "canceled");
        if (canceled && json_object_get_boolean(canceled))
                w->ended = true;
        events = etcd_json_get(result, "events");
        for (size_t i = 0; events && i < json_object_array_length(events); i++) {
                json_object *type = etcd_json_get(json_object_array_get_idx(events, i), "type");
                if (type && streq(json_object_get_string(type), "DELETE"))
                        w->gone = true;
        }
}

static void on_wait_end(HttpRequest *req, int r, const HttpResponse *resp, void *userdata)
{
        LockWait *w = userdata;

        w->ended = true;
}

static void on_wait_timer(evutil_socket_t fd, short what, void *userdata)
{
        LockWait *w = userdata;

        lease_tick(w->lease, w->lease->e->sync);
}

/* Blocks until the key (base64) is deleted after revision, renewing the lease meanwhile. */
static int lock_wait_for(EtcdLock *k, const char *key, uint64_t revision)
{
        EtcdStore *e = k->lease->e;
        _cleanup_json_ json_object *request = json_object_new_object();
        json_object *create = json_object_new_object();
        LockWait w = { .lease = k->lease };
        HttpRequest *stream = NULL;
        struct event *timer;
        struct timeval tv = period_tv(k->lease);
        int r;

        json_object_object_add(create, "key", json_object_new_string(key));
        json_object_object_add(create, "start_revision", etcd_json_u64_new(revision + 1));
        json_object_object_add(request, "create_request", create);
        r = http_client_post_stream(e->sync, "/v3/watch",
                json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN), on_wait_line, on_wait_end,
                &w, &stream);
        if (r < 0)
                return etcd_transport_error(r);
        timer = event_new(e->sync_base, -1, EV_PERSIST, on_wait_timer, &w);
        if (!timer)
                abort();
        evtimer_add(timer, &tv);
        while (!w.gone && !w.ended && !k->lease->lost)
                if (event_base_loop(e->sync_base, EVLOOP_ONCE) < 0)
                        abort();
        event_free(timer);
        if (!w.ended)
                http_request_cancel(stream);
        if (k->lease->lost)
                return -ENOLCK;
        return w.gone ? 0 : -EHOSTDOWN;
}

int etcd_lock(void *data, const char *name, bool wait, void **ret)
{
        EtcdStore *e = data;
        _cleanup_free_ char *prefix = xasprintf("%s.locks/%s/", e->ns, name);
        _cleanup_json_ json_object *put = json_object_new_object(), *response = NULL;
        _cleanup_(lock_freep) EtcdLock *k = new0(EtcdLock, 1);
        int r;

        r = lease_new(e, LOCK_TTL_SEC, NULL, &k->lease);
        if (r < 0)
                return r;
        k->key = xasprintf("%s%016" PRIx64, prefix, k->lease->id);
        json_object_object_add(put, "key", etcd_json_b64(k->key));
        json_object_object_add(put, "lease", etcd_json_u64_new(k->lease->id));
        r = etcd_call(e, "/v3/kv/put", put, &response);
        if (r < 0)
                return r;
        k->created = etcd_json_u64(etcd_json_get(response, "header"), "revision");

        for (;;) {
                _cleanup_free_ char *before = NULL;
                uint64_t revision;

                r = lock_predecessor(k, prefix, &before, &revision);
                if (r < 0)
                        return r;
                if (!before)
                        break;
                if (!wait)
                        return -EWOULDBLOCK;
                r = lock_wait_for(k, before, revision);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(k);
        return 0;
}

void etcd_unlock(void *data)
{
        lock_free(data);
}

const char *etcd_lock_key(void *data, uint64_t *ret_create_revision)
{
        EtcdLock *k = data;

        *ret_create_revision = k->created;
        return k->key;
}
