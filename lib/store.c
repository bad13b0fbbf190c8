/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "store.h"

struct Store {
        const StoreOps *ops;
        void *data;
};

struct StoreWatch {
        Store *store;
        /* Kept apart from store so a watch freed late by its own handler needs nothing from the Store. */
        const StoreOps *ops;
        void *data;
        char *prefix;
        StoreWatchHandler handler;
        void *userdata;
        unsigned dispatching;
        bool freed;
};

struct StoreLock {
        const StoreOps *ops;
        void *data;
};

struct StoreLease {
        const StoreOps *ops;
        void *data;
        StoreLeaseLostHandler lost_handler;
        void *userdata;
        bool lost;
};

static const char *const store_event_type_table[_STORE_EVENT_TYPE_MAX] = {
        [STORE_EVENT_PUT] = "put",
        [STORE_EVENT_DELETE] = "delete",
};
DEFINE_STRING_TABLE_LOOKUP(store_event_type, StoreEventType);

static const StoreOps *const store_backends[] = {
        &store_file_ops,
        &store_etcd_ops,
};

void store_entries_free(StoreEntry *entries, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(entries[i].key);
                free(entries[i].value);
        }
        free(entries);
}

static bool key_char_is_valid(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                (c != 0 && strchr("._@:-", c));
}

bool store_key_is_valid(const char *key)
{
        if (!key || strlen(key) > STORE_KEY_MAX)
                return false;
        for (const char *c = key;;) {
                size_t l = strcspn(c, "/");

                if (l == 0 || l > STORE_KEY_COMPONENT_MAX || c[0] == '.' || memmem(c, l, ".tmp.", 5))
                        return false;
                for (size_t i = 0; i < l; i++)
                        if (!key_char_is_valid(c[i]))
                                return false;
                if (c[l] == 0)
                        return true;
                c += l + 1;
        }
}

bool store_prefix_is_valid(const char *prefix)
{
        if (!prefix)
                return false;
        if (isempty(prefix))
                return true;
        if (!endswith(prefix, "/"))
                return store_key_is_valid(prefix);
        _cleanup_free_ char *key = xstrndup(prefix, strlen(prefix) - 1);
        return store_key_is_valid(key);
}

/* RFC 3986 scheme syntax; the backend gets everything after the first ':'. */
static int url_scheme_length(const char *url, size_t *ret)
{
        const char *colon = strchr(url, ':');

        if (!colon || colon == url)
                return -EINVAL;
        for (const char *c = url; c < colon; c++) {
                bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z');
                if (!alpha && (c == url || !((*c >= '0' && *c <= '9') || strchr("+-.", *c))))
                        return -EINVAL;
        }
        *ret = (size_t) (colon - url);
        return 0;
}

int store_open(const char *url, struct event_base *base, Store **ret)
{
        const StoreOps *ops = NULL;
        size_t n;
        int r;

        if (!url || !base)
                return -EINVAL;
        r = url_scheme_length(url, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(store_backends); i++)
                if (strlen(store_backends[i]->scheme) == n &&
                        strncasecmp(store_backends[i]->scheme, url, n) == 0)
                        ops = store_backends[i];
        if (!ops)
                return -EPROTONOSUPPORT;

        _cleanup_free_ Store *s = new0(Store, 1);
        s->ops = ops;
        r = ops->open(url + n + 1, base, &s->data);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_free(Store *s)
{
        if (!s)
                return NULL;
        s->ops->close(s->data);
        free(s);
        return NULL;
}

int store_get(Store *s, const char *key, char **ret_value, size_t *ret_size, uint64_t *ret_revision)
{
        if (!store_key_is_valid(key))
                return -EINVAL;
        return s->ops->get(s->data, key, ret_value, ret_size, ret_revision);
}

int store_put(Store *s, const char *key, const void *value, size_t size, uint64_t expected_revision,
        uint64_t *ret_revision)
{
        if (!store_key_is_valid(key) || (!value && size > 0))
                return -EINVAL;
        return s->ops->put(s->data, key, value, size, expected_revision, ret_revision);
}

int store_delete(Store *s, const char *key, uint64_t expected_revision)
{
        if (!store_key_is_valid(key))
                return -EINVAL;
        return s->ops->delete (s->data, key, expected_revision);
}

static int entry_compare(const void *a, const void *b)
{
        return strcmp(((const StoreEntry *) a)->key, ((const StoreEntry *) b)->key);
}

int store_list(Store *s, const char *prefix, StoreEntry **ret, size_t *ret_n)
{
        StoreEntry *entries = NULL;
        size_t n = 0;
        int r;

        if (!store_prefix_is_valid(prefix))
                return -EINVAL;
        r = s->ops->list(s->data, prefix, &entries, &n);
        if (r < 0)
                return r;
        if (n > 0)
                qsort(entries, n, sizeof(StoreEntry), entry_compare);
        *ret = entries;
        *ret_n = n;
        return 0;
}

int store_watch(Store *s, const char *prefix, StoreWatchHandler handler, void *userdata, StoreWatch **ret)
{
        int r;

        if (!store_prefix_is_valid(prefix) || !handler)
                return -EINVAL;

        _cleanup_free_ StoreWatch *w = new0(StoreWatch, 1);
        *w = (StoreWatch){
                .store = s,
                .ops = s->ops,
                .handler = handler,
                .userdata = userdata,
        };
        r = s->ops->watch(s->data, prefix, w, &w->data);
        if (r < 0)
                return r;
        w->prefix = xstrdup(prefix);
        *ret = TAKE_PTR(w);
        return 0;
}

static void store_watch_destroy(StoreWatch *w)
{
        w->ops->watch_free(w->data);
        free(w->prefix);
        free(w);
}

StoreWatch *store_watch_free(StoreWatch *w)
{
        if (!w)
                return NULL;
        if (w->dispatching > 0)
                w->freed = true;
        else
                store_watch_destroy(w);
        return NULL;
}

void store_watch_dispatch(StoreWatch *w, StoreEvent *events, size_t n)
{
        w->dispatching++;
        for (size_t i = 0; i < n; i++) {
                if (!w->freed && startswith(events[i].key, w->prefix))
                        w->handler(w->store, events[i].type, events[i].key, events[i].revision, w->userdata);
                free(events[i].key);
        }
        free(events);
        w->dispatching--;
        if (w->freed && w->dispatching == 0)
                store_watch_destroy(w);
}

int store_lock(Store *s, const char *name, bool wait, StoreLock **ret)
{
        int r;

        if (!store_key_is_valid(name))
                return -EINVAL;

        _cleanup_free_ StoreLock *l = new0(StoreLock, 1);
        l->ops = s->ops;
        r = s->ops->lock(s->data, name, wait, &l->data);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

StoreLock *store_unlock(StoreLock *l)
{
        if (!l)
                return NULL;
        l->ops->unlock(l->data);
        free(l);
        return NULL;
}

void *store_lock_data(const StoreLock *l)
{
        return l->data;
}

int store_lease_grant(Store *s, unsigned ttl_sec, StoreLeaseLostHandler lost, void *userdata, StoreLease **ret)
{
        int r;

        if (ttl_sec < 1 || ttl_sec > 86400)
                return -EINVAL;

        _cleanup_free_ StoreLease *l = new0(StoreLease, 1);
        *l = (StoreLease){ .ops = s->ops, .lost_handler = lost, .userdata = userdata };
        r = s->ops->lease_grant(s->data, ttl_sec, l, &l->data);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

StoreLease *store_lease_revoke(StoreLease *l)
{
        if (!l)
                return NULL;
        l->ops->lease_revoke(l->data);
        free(l);
        return NULL;
}

bool store_lease_is_lost(const StoreLease *l)
{
        return l->lost;
}

void store_lease_report_lost(StoreLease *l)
{
        if (l->lost)
                return;
        l->lost = true;
        if (l->lost_handler)
                l->lost_handler(l, l->userdata);
}

void *store_lease_data(const StoreLease *l)
{
        return l->data;
}

int store_txn(Store *s, const StoreCompare *compares, size_t n_compares, const StoreTxnOp *ops, size_t n_ops,
        uint64_t *ret_revision)
{
        if ((n_compares > 0 && !compares) || (n_ops > 0 && !ops))
                return -EINVAL;
        for (size_t i = 0; i < n_compares; i++)
                if (!!compares[i].lock == !!compares[i].key ||
                        (compares[i].key && !store_key_is_valid(compares[i].key)))
                        return -EINVAL;
        for (size_t i = 0; i < n_ops; i++) {
                const StoreTxnOp *op = &ops[i];

                if (!store_key_is_valid(op->key) ||
                        (op->type != STORE_TXN_PUT && op->type != STORE_TXN_DELETE) ||
                        (op->type == STORE_TXN_PUT && !op->value && op->size > 0) ||
                        (op->type == STORE_TXN_DELETE && op->lease))
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (streq(ops[j].key, op->key))
                                return -EINVAL;
                if (op->lease && op->lease->lost)
                        return -EKEYEXPIRED;
        }
        return s->ops->txn(s->data, compares, n_compares, ops, n_ops, ret_revision);
}
