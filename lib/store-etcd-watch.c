/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Watches of the etcd: backend: one streamed /v3/watch per watch, on the daemon's
 * loop. The watch knows every key it has reported, with its revision: after a
 * dropped stream it resumes from the last revision seen + 1, and when etcd has
 * compacted that revision away it lists the prefix again and reports the
 * difference, so the handler ends up seeing every key in its current state.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "sorted.h"
#include "store-etcd.h"

#define RETRY_MIN_MS 50
#define RETRY_MAX_MS 2000

typedef struct Known {
        char *key;
        uint64_t revision;
} Known;

typedef struct EtcdWatch {
        EtcdStore *e;
        StoreWatch *owner;
        char *prefix;
        /* Sorted by key: every key the handler knows to exist. */
        Known *known;
        size_t n_known;
        uint64_t next_revision;
        HttpRequest *stream;
        HttpRequest *relist;
        struct event *retry;
        unsigned backoff_ms;
        bool compacted;
} EtcdWatch;

static int known_compare(const void *a, const void *b)
{
        return strcmp(((const Known *) a)->key, ((const Known *) b)->key);
}

static int entry_compare(const void *a, const void *b)
{
        return strcmp(((const StoreEntry *) a)->key, ((const StoreEntry *) b)->key);
}

static int known_key_compare(const void *key, const void *element)
{
        return strcmp(key, ((const Known *) element)->key);
}

static size_t known_find(const EtcdWatch *w, const char *key, bool *ret_found)
{
        return sorted_index(w->known, w->n_known, sizeof(Known), key, known_key_compare, ret_found);
}

static void known_set(EtcdWatch *w, const char *key, uint64_t revision)
{
        bool found;
        size_t i = known_find(w, key, &found);

        if (found) {
                w->known[i].revision = revision;
                return;
        }
        w->known = xrealloc(w->known, (w->n_known + 1) * sizeof(Known));
        memmove(&w->known[i + 1], &w->known[i], (w->n_known - i) * sizeof(Known));
        w->known[i] = (Known){ .key = xstrdup(key), .revision = revision };
        w->n_known++;
}

static void known_remove(EtcdWatch *w, const char *key)
{
        bool found;
        size_t i = known_find(w, key, &found);

        if (!found)
                return;
        free(w->known[i].key);
        memmove(&w->known[i], &w->known[i + 1], (w->n_known - i - 1) * sizeof(Known));
        w->n_known--;
}

static void known_clear(EtcdWatch *w)
{
        for (size_t i = 0; i < w->n_known; i++)
                free(w->known[i].key);
        free(w->known);
        w->known = NULL;
        w->n_known = 0;
}

/* Takes the entries of a listing as what is known. */
static void known_take(EtcdWatch *w, StoreEntry *entries, size_t n)
{
        known_clear(w);
        w->known = new0(Known, n ?: 1);
        for (size_t i = 0; i < n; i++) {
                w->known[i] = (Known){ .key = TAKE_PTR(entries[i].key), .revision = entries[i].revision };
                free(entries[i].value);
        }
        free(entries);
        w->n_known = n;
        qsort(w->known, n, sizeof(Known), known_compare);
}

typedef struct EventList {
        StoreEvent *events;
        size_t n;
} EventList;

static void report_add(EventList *l, StoreEventType type, const char *key, uint64_t revision)
{
        l->events = xrealloc(l->events, (l->n + 1) * sizeof(StoreEvent));
        l->events[l->n++] = (StoreEvent){ .type = type, .key = xstrdup(key), .revision = revision };
}

static void watch_stream_start(EtcdWatch *w);

static void watch_retry_later(EtcdWatch *w)
{
        struct timeval tv = { .tv_sec = w->backoff_ms / 1000, .tv_usec = (w->backoff_ms % 1000) * 1000 };

        evtimer_add(w->retry, &tv);
        w->backoff_ms = MIN(w->backoff_ms * 2, RETRY_MAX_MS);
}

static void watch_stream_stop(EtcdWatch *w)
{
        http_request_cancel(w->stream);
        w->stream = NULL;
}

/* The difference between what the handler knows and a fresh listing, as the events that bring it there. */
static void on_relisted(HttpRequest *req, int r, const HttpResponse *resp, void *userdata)
{
        EtcdWatch *w = userdata;
        _cleanup_json_ json_object *response = NULL;
        StoreEntry *entries;
        EventList report = {};
        uint64_t revision;
        size_t n, j = 0;

        w->relist = NULL;
        if (r >= 0)
                r = etcd_response_parse(resp->status, resp->body, resp->size, &response);
        if (r >= 0)
                r = etcd_range_parse(w->e, response, true, &entries, &n, &revision);
        if (r < 0)
                return watch_retry_later(w);

        qsort(entries, n, sizeof(StoreEntry), entry_compare);
        for (size_t i = 0; i < n; i++) {
                for (; j < w->n_known && strcmp(w->known[j].key, entries[i].key) < 0; j++)
                        report_add(&report, STORE_EVENT_DELETE, w->known[j].key, revision);
                if (j < w->n_known && streq(w->known[j].key, entries[i].key)) {
                        if (w->known[j].revision != entries[i].revision)
                                report_add(&report, STORE_EVENT_PUT, entries[i].key, entries[i].revision);
                        j++;
                } else
                        report_add(&report, STORE_EVENT_PUT, entries[i].key, entries[i].revision);
        }
        for (; j < w->n_known; j++)
                report_add(&report, STORE_EVENT_DELETE, w->known[j].key, revision);

        known_take(w, entries, n);
        w->next_revision = revision + 1;
        w->compacted = false;
        watch_stream_start(w);
        /* Last: the handler may free the watch. */
        if (report.n > 0)
                store_watch_dispatch(w->owner, report.events, report.n);
        else
                free(report.events);
}

static void on_retry(evutil_socket_t fd, short what, void *userdata)
{
        EtcdWatch *w = userdata;

        if (!w->compacted)
                return watch_stream_start(w);
        _cleanup_json_ json_object *request = etcd_range_request(w->e, w->prefix, true);
        if (http_client_post(w->e->async, "/v3/kv/range",
                    json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN), on_relisted, w,
                    &w->relist) < 0)
                watch_retry_later(w);
}

/* One line of the stream: one watch response. */
static void on_line(HttpRequest *req, const char *line, size_t size, void *userdata)
{
        EtcdWatch *w = userdata;
        _cleanup_json_ json_object *o = json_tokener_parse(line);
        json_object *result = etcd_json_get(o, "result"), *events, *canceled;
        EventList report = {};
        size_t n;

        if (!result) {
                /* An error of the gateway, or nothing etcd would send: start over. */
                watch_stream_stop(w);
                return watch_retry_later(w);
        }
        canceled = etcd_json_get(result, "canceled");
        if (canceled && json_object_get_boolean(canceled)) {
                watch_stream_stop(w);
                if (etcd_json_u64(result, "compact_revision") > 0) {
                        w->compacted = true;
                        w->backoff_ms = RETRY_MIN_MS;
                }
                return watch_retry_later(w);
        }
        if (etcd_json_get(result, "created")) {
                w->backoff_ms = RETRY_MIN_MS;
                return;
        }

        events = etcd_json_get(result, "events");
        n = events ? json_object_array_length(events) : 0;
        if (n == 0) {
                /* A progress notification: every change up to its revision has been sent. */
                uint64_t revision = etcd_json_u64(etcd_json_get(result, "header"), "revision");
                w->next_revision = MAX(w->next_revision, revision + 1);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *ev = json_object_array_get_idx(events, i), *type = etcd_json_get(ev, "type");
                bool deleted = type && streq(json_object_get_string(type), "DELETE");
                _cleanup_free_ char *key = NULL;
                uint64_t revision;

                if (etcd_kv_parse(w->e, etcd_json_get(ev, "kv"), &key, NULL, NULL, &revision) < 0)
                        continue;
                w->next_revision = MAX(w->next_revision, revision + 1);
                if (!store_key_is_valid(key))
                        continue;
                if (deleted)
                        known_remove(w, key);
                else
                        known_set(w, key, revision);
                report_add(&report, deleted ? STORE_EVENT_DELETE : STORE_EVENT_PUT, key, revision);
        }
        /* Last: the handler may free the watch. */
        if (report.n > 0)
                store_watch_dispatch(w->owner, report.events, report.n);
}

static void on_stream_end(HttpRequest *req, int r, const HttpResponse *resp, void *userdata)
{
        EtcdWatch *w = userdata;

        w->stream = NULL;
        watch_retry_later(w);
}

static void watch_stream_start(EtcdWatch *w)
{
        _cleanup_free_ char *full = etcd_full_key(w->e, w->prefix), *end = etcd_range_end(full);
        _cleanup_json_ json_object *request = json_object_new_object();
        json_object *create = json_object_new_object();

        json_object_object_add(create, "key", etcd_json_b64(full));
        json_object_object_add(create, "range_end", etcd_json_b64(end));
        json_object_object_add(create, "start_revision", etcd_json_u64_new(w->next_revision));
        json_object_object_add(request, "create_request", create);
        if (http_client_post_stream(w->e->async, "/v3/watch",
                    json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN), on_line, on_stream_end,
                    w, &w->stream) < 0)
                watch_retry_later(w);
}

int etcd_watch(void *data, const char *prefix, StoreWatch *owner, void **ret)
{
        EtcdStore *e = data;
        StoreEntry *entries;
        uint64_t revision;
        size_t n;
        int r;

        /* What exists now is what the handler is taken to know: changes are reported from here on. */
        r = etcd_range(e, prefix, true, &entries, &n, &revision);
        if (r < 0)
                return r;

        EtcdWatch *w = new0(EtcdWatch, 1);
        *w = (EtcdWatch){
                .e = e,
                .owner = owner,
                .prefix = xstrdup(prefix),
                .next_revision = revision + 1,
                .backoff_ms = RETRY_MIN_MS,
        };
        known_take(w, entries, n);
        w->retry = evtimer_new(e->base, on_retry, w);
        if (!w->retry)
                abort();
        watch_stream_start(w);
        *ret = w;
        return 0;
}

void etcd_watch_free(void *data)
{
        EtcdWatch *w = data;

        watch_stream_stop(w);
        http_request_cancel(w->relist);
        event_free(w->retry);
        known_clear(w);
        free(w->prefix);
        free(w);
}
