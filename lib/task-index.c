/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cluster task index: tasks/<node>/<key> in the store, see task.h. */
#include <json-c/json.h>
/* For SHA256_Init() & co, see guest_config_digest(). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdio.h>

#include "alloc.h"
#include "errors.h"
#include "log.h"
#include "task-internal.h"

/* Operations per transaction while catching up: well below etcd's default limit of 128. */
#define INDEX_TXN_OPS 64
#define INDEX_RETRY_MIN_SEC 1
#define INDEX_RETRY_MAX_SEC 60

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

typedef struct IndexOp {
        char *key;
        char *value; /* NULL: a delete */
} IndexOp;

struct TaskIndex {
        TaskManager *manager;
        Store *store;
        char *prefix; /* tasks/<node>/ */
        struct event *retry;
        unsigned retry_sec;
        bool listed;
        /* The node's entries as far as this manager knows them, oldest first. */
        char **keys;
        size_t n_keys;
        /* Writes not done yet, one per key: its newest value, or its delete. */
        IndexOp *pending;
        size_t n_pending;
};

static const struct {
        const char *name;
        size_t offset;
} info_strings[] = {
        { "upid", offsetof(TaskInfo, upid) },
        { "node", offsetof(TaskInfo, node) },
        { "daemon", offsetof(TaskInfo, daemon) },
        { "type", offsetof(TaskInfo, type) },
        { "id", offsetof(TaskInfo, id) },
        { "user", offsetof(TaskInfo, user) },
        { "result", offsetof(TaskInfo, result) },
        { "error-name", offsetof(TaskInfo, error_name) },
};

static char **info_string(const TaskInfo *i, size_t n)
{
        return (char **) ((const char *) i + info_strings[n].offset);
}

void task_info_done(TaskInfo *i)
{
        for (size_t n = 0; n < ELEMENTSOF(info_strings); n++)
                free(*info_string(i, n));
        *i = (TaskInfo){};
}

char *task_info_format(const TaskInfo *i)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        for (size_t n = 0; n < ELEMENTSOF(info_strings); n++)
                json_object_object_add(
                        o, info_strings[n].name, json_object_new_string(strempty(*info_string(i, n))));
        json_object_object_add(o, "state", json_object_new_string(task_state_to_string(i->state)));
        json_object_object_add(o, "start-time", json_object_new_uint64(i->start_usec));
        json_object_object_add(o, "end-time", json_object_new_uint64(i->end_usec));
        return xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

static int json_get_time(json_object *o, const char *name, uint64_t *ret)
{
        json_object *v;

        if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_int) ||
                json_object_get_int64(v) < 0)
                return -EBADMSG;
        *ret = json_object_get_uint64(v);
        return 0;
}

int task_info_parse(const char *json, TaskInfo *ret)
{
        _cleanup_(json_object_putp) json_object *o = json_tokener_parse(json);
        _cleanup_(task_info_done) TaskInfo i = {};
        _cleanup_(upid_done) Upid u = {};
        json_object *v;

        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        for (size_t n = 0; n < ELEMENTSOF(info_strings); n++) {
                if (!json_object_object_get_ex(o, info_strings[n].name, &v) ||
                        !json_object_is_type(v, json_type_string))
                        return -EBADMSG;
                *info_string(&i, n) = xstrdup(json_object_get_string(v));
        }
        if (!json_object_object_get_ex(o, "state", &v) || !json_object_is_type(v, json_type_string))
                return -EBADMSG;
        i.state = task_state_from_string(json_object_get_string(v));
        if (i.state < 0 || upid_parse(i.upid, &u) < 0 || json_get_time(o, "start-time", &i.start_usec) < 0 ||
                json_get_time(o, "end-time", &i.end_usec) < 0)
                return -EBADMSG;
        *ret = i;
        i = (TaskInfo){};
        return 0;
}

static bool key_char_plain(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '@' || c == ':' || c == '-';
}

/* '_' and every byte a key cannot hold as "_XX": reversible, and no change at all to a host name. */
static char *key_escape(const char *s)
{
        char *e = xmalloc(strlen(s) * 3 + 1), *p = e;

        for (; *s; s++)
                if (key_char_plain(*s))
                        *p++ = *s;
                else
                        p += sprintf(p, "_%02X", (unsigned char) *s);
        *p = 0;
        return e;
}

/* tasks/<node>/, or NULL when the node's name cannot be a key component. */
static char *index_prefix(const char *node)
{
        _cleanup_free_ char *e = key_escape(node);
        char *prefix = xasprintf("tasks/%s/", e);

        return store_prefix_is_valid(prefix) ? prefix : mfree(prefix);
}

static void sha256_hex(const char *s, char ret[2 * SHA256_DIGEST_LENGTH + 1])
{
        unsigned char md[SHA256_DIGEST_LENGTH];
        SHA256_CTX ctx;

        SHA256_Init(&ctx);
        SHA256_Update(&ctx, s, strlen(s));
        SHA256_Final(md, &ctx);
        for (unsigned i = 0; i < SHA256_DIGEST_LENGTH; i++)
                sprintf(ret + 2 * i, "%02x", md[i]);
}

int task_index_key(const char *upid, char **ret)
{
        _cleanup_(upid_done) Upid u = {};
        _cleanup_free_ char *prefix = NULL, *name = NULL, *key = NULL;

        if (upid_parse(upid, &u) < 0)
                return -EINVAL;
        prefix = index_prefix(u.node);
        if (!prefix)
                return -EINVAL;
        name = key_escape(upid);
        key = xasprintf("%s%s", prefix, name);
        if (!store_key_is_valid(key)) {
                char hex[2 * SHA256_DIGEST_LENGTH + 1];

                /* Encoded UPIDs start with "UPID:", so this cannot name another task's entry. */
                sha256_hex(upid, hex);
                free(key);
                key = xasprintf("%ssha256-%s", prefix, hex);
                if (!store_key_is_valid(key))
                        return -EINVAL;
        }
        *ret = TAKE_PTR(key);
        return 0;
}

/* Replaces what is pending for the key, so only the newest state gets written. Takes value. */
static void index_queue(TaskIndex *x, const char *key, char *value)
{
        for (size_t i = 0; i < x->n_pending; i++)
                if (streq(x->pending[i].key, key)) {
                        free(x->pending[i].value);
                        x->pending[i].value = value;
                        return;
                }
        x->pending = xrealloc(x->pending, (x->n_pending + 1) * sizeof(IndexOp));
        x->pending[x->n_pending++] = (IndexOp){ xstrdup(key), value };
}

static void index_unqueue(TaskIndex *x, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(x->pending[i].key);
                free(x->pending[i].value);
        }
        if (n < x->n_pending)
                memmove(x->pending, x->pending + n, (x->n_pending - n) * sizeof(IndexOp));
        x->n_pending -= n;
}

static bool index_knows(TaskIndex *x, const char *key)
{
        /* From the newest: a task's end finds its start at once. */
        for (size_t i = x->n_keys; i > 0; i--)
                if (streq(x->keys[i - 1], key))
                        return true;
        return false;
}

static void index_add_key(TaskIndex *x, const char *key)
{
        x->keys = xrealloc(x->keys, (x->n_keys + 1) * sizeof(char *));
        x->keys[x->n_keys++] = xstrdup(key);
}

/* A running task of ours keeps its entry: whoever follows it through the index must see it end. */
static bool index_key_runs_here(TaskIndex *x, const char *key)
{
        for (Task *t = x->manager->head; t; t = t->next)
                if (t->state == TASK_RUNNING && streq_ptr(t->index_key, key))
                        return true;
        return false;
}

static void index_prune(TaskIndex *x)
{
        for (size_t i = 0; x->n_keys > x->manager->index_limit && i < x->n_keys;) {
                if (index_key_runs_here(x, x->keys[i])) {
                        i++;
                        continue;
                }
                index_queue(x, x->keys[i], NULL);
                free(x->keys[i]);
                memmove(x->keys + i, x->keys + i + 1, (x->n_keys - i - 1) * sizeof(char *));
                x->n_keys--;
        }
}

/* An entry of this daemon that says running, of a task that no longer runs: its end from the log. */
static void index_reconcile(TaskIndex *x, const char *key, TaskInfo *listed)
{
        TaskManager *m = x->manager;
        _cleanup_(task_info_done) TaskInfo now = {};

        if (listed->state != TASK_RUNNING || !streq(listed->node, m->node) ||
                !streq(listed->daemon, m->daemon))
                return;
        if (task_manager_read_info(m, listed->upid, &now) >= 0) {
                if (now.state != TASK_RUNNING)
                        index_queue(x, key, task_info_format(&now));
                return;
        }
        /* Its log is gone too: that it ended, and when that was found out, is all there is to say. */
        listed->state = TASK_ERROR;
        free(listed->result);
        listed->result = xstrdup(TASK_LOST_RESULT);
        free(listed->error_name);
        listed->error_name = xstrdup(BERTH_ERROR_FAILED);
        listed->end_usec = now_realtime_usec();
        index_queue(x, key, task_info_format(listed));
}

typedef struct ListedKey {
        const char *key;
        uint64_t start_usec;
} ListedKey;

static int listed_key_compare(const void *a, const void *b)
{
        const ListedKey *x = a, *y = b;

        if (x->start_usec != y->start_usec)
                return x->start_usec < y->start_usec ? -1 : 1;
        return strcmp(x->key, y->key);
}

/* Learns the node's entries, oldest first, ahead of those this manager wrote (or queued) before. */
static int index_list(TaskIndex *x)
{
        _cleanup_free_ ListedKey *listed = NULL;
        StoreEntry *entries = NULL;
        size_t n, n_listed = 0;
        char **keys;
        int r;

        r = store_list(x->store, x->prefix, &entries, &n);
        if (r < 0)
                return r;
        listed = new0(ListedKey, MAX(n, 1u));
        for (size_t i = 0; i < n; i++) {
                _cleanup_(task_info_done) TaskInfo info = {};

                /* A key further down is no task's entry; one we know is one of ours. */
                if (strchr(entries[i].key + strlen(x->prefix), '/') || index_knows(x, entries[i].key))
                        continue;
                r = task_info_parse(entries[i].value, &info);
                if (r >= 0)
                        index_reconcile(x, entries[i].key, &info);
                /* One that does not parse goes first. */
                listed[n_listed++] = (ListedKey){ entries[i].key, r >= 0 ? info.start_usec : 0 };
        }
        qsort(listed, n_listed, sizeof(ListedKey), listed_key_compare);

        keys = new0(char *, n_listed + x->n_keys + 1);
        for (size_t i = 0; i < n_listed; i++)
                keys[i] = xstrdup(listed[i].key);
        if (x->n_keys > 0)
                memcpy(keys + n_listed, x->keys, x->n_keys * sizeof(char *));
        free(x->keys);
        x->keys = keys;
        x->n_keys += n_listed;
        store_entries_free(entries, n);
        x->listed = true;
        index_prune(x);
        return 0;
}

static int index_write(TaskIndex *x, size_t n)
{
        StoreTxnOp ops[INDEX_TXN_OPS];

        for (size_t i = 0; i < n; i++) {
                const IndexOp *p = &x->pending[i];

                ops[i] = p->value ? (StoreTxnOp){ .type = STORE_TXN_PUT,
                        .key = p->key,
                        .value = p->value,
                        .size = strlen(p->value) }
                                  : (StoreTxnOp){ .type = STORE_TXN_DELETE, .key = p->key };
        }
        return store_txn(x->store, NULL, 0, ops, n, NULL);
}

/* Writes what is pending, in order, a transaction at a time; stops at the first that fails. */
static int index_flush(TaskIndex *x)
{
        int r;

        if (!x->listed) {
                r = index_list(x);
                if (r < 0)
                        return r;
        }
        while (x->n_pending > 0) {
                size_t n = MIN(x->n_pending, (size_t) INDEX_TXN_OPS);

                r = index_write(x, n);
                if (r == -EINVAL && n > 1) {
                        /* One of them the store will never take: find it alone rather than lose the rest. */
                        n = 1;
                        r = index_write(x, n);
                }
                if (r == -EINVAL)
                        log_debug_errno(r, "The store refuses %s, dropping it: %m", x->pending[0].key);
                else if (r < 0)
                        return r;
                index_unqueue(x, n);
        }
        return 0;
}

/* After a flush: what could not be written is tried again later, each time a while longer after. */
static void index_schedule(TaskIndex *x, int r)
{
        if (r >= 0) {
                x->retry_sec = INDEX_RETRY_MIN_SEC;
                return;
        }
        log_debug_errno(r, "Cannot write the task index, trying again in %u s: %m", x->retry_sec);
        evtimer_add(x->retry, &(struct timeval){ .tv_sec = x->retry_sec });
        x->retry_sec = MIN(x->retry_sec * 2, (unsigned) INDEX_RETRY_MAX_SEC);
}

static void on_retry(evutil_socket_t fd _unused_, short what _unused_, void *userdata)
{
        TaskIndex *x = userdata;

        index_schedule(x, index_flush(x));
}

/* Writes now, unless a retry is due: that writes this too, so no task waits for a store that is gone. */
static void index_sync(TaskIndex *x)
{
        if (evtimer_pending(x->retry, NULL))
                return;
        index_schedule(x, index_flush(x));
}

static void index_queue_task(TaskIndex *x, Task *t)
{
        _cleanup_(task_info_done) TaskInfo i = {};

        /* Cannot fail: the node was checked when the store was set, and a long UPID gets a hashed key. */
        if (!t->index_key && task_index_key(t->upid, &t->index_key) < 0)
                return;
        task_get_info(t, &i);
        index_queue(x, t->index_key, task_info_format(&i));
        if (!index_knows(x, t->index_key)) {
                index_add_key(x, t->index_key);
                index_prune(x);
        }
}

void task_index_publish(TaskIndex *x, Task *t)
{
        index_queue_task(x, t);
        index_sync(x);
}

int task_manager_set_store(TaskManager *m, Store *s, struct event_base *base)
{
        _cleanup_free_ char *prefix = index_prefix(m->node);
        TaskIndex *x;

        if (!prefix)
                return -EINVAL;
        if (m->index)
                return -EALREADY;
        x = new0(TaskIndex, 1);
        x->manager = m;
        x->store = s;
        x->prefix = TAKE_PTR(prefix);
        x->retry = evtimer_new(base, on_retry, x);
        if (!x->retry)
                abort();
        x->retry_sec = INDEX_RETRY_MIN_SEC;
        m->index = x;
        for (Task *t = m->head; t; t = t->next)
                index_queue_task(x, t);
        index_sync(x);
        return 0;
}

void task_manager_set_index_limit(TaskManager *m, size_t limit)
{
        m->index_limit = limit;
}

TaskIndex *task_index_free(TaskIndex *x)
{
        if (!x)
                return NULL;
        event_free(x->retry);
        free(x->prefix);
        for (size_t i = 0; i < x->n_keys; i++)
                free(x->keys[i]);
        free(x->keys);
        index_unqueue(x, x->n_pending);
        free(x->pending);
        free(x);
        return NULL;
}

static int index_lookup(TaskIndex *x, const char *upid, TaskInfo *ret)
{
        _cleanup_free_ char *key = NULL, *value = NULL;
        _cleanup_(task_info_done) TaskInfo i = {};
        int r;

        /* A UPID whose node cannot be a key is in no index. */
        if (task_index_key(upid, &key) < 0)
                return -ENXIO;
        r = store_get(x->store, key, &value, NULL, NULL);
        if (r == -ENOENT)
                return -ENXIO;
        if (r < 0)
                return r;
        r = task_info_parse(value, &i);
        if (r < 0)
                return r;
        /* An entry written by hand under another task's key answers for that one only. */
        if (!streq(i.upid, upid))
                return -ENXIO;
        *ret = i;
        i = (TaskInfo){};
        return 0;
}

int task_manager_get_info(TaskManager *m, const char *upid, TaskInfo *ret)
{
        int r = task_manager_read_info(m, upid, ret);

        if (r != -ENXIO || !m->index)
                return r;
        return index_lookup(m->index, upid, ret);
}
