/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The etcd: backend, through etcd's v3 JSON gateway (grpc-gateway: keys and values
 * in base64, 64-bit numbers as strings, fields at their default value left out).
 *
 * Keys live below the namespace (default "berth/"); locks below
 * "<namespace>.locks/<name>/", which no store key can name (no component starts
 * with '.'), so listing and watching skip them. A key's revision is its
 * mod_revision; the store-wide revision is etcd's.
 *
 * Calls that complete before they return run on a private event_base, so the
 * daemon's loop never runs inside a store call and every call ends within the
 * timeout. Watches and lease renewals run on the daemon's event_base.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "base64.h"
#include "http-client.h"
#include "store-etcd.h"

#define ETCD_DEFAULT_NAMESPACE "berth/"

/* gRPC status codes etcd answers with. */
enum {
        GRPC_INVALID_ARGUMENT = 3,
        GRPC_DEADLINE_EXCEEDED = 4,
        GRPC_NOT_FOUND = 5,
        GRPC_RESOURCE_EXHAUSTED = 8,
        GRPC_UNAVAILABLE = 14,
};

uint64_t etcd_now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static json_object *json_b64(const char *s, size_t n)
{
        _cleanup_free_ char *b = base64_encode(s, n);
        return json_object_new_string(b);
}

json_object *etcd_json_b64(const char *s)
{
        return json_b64(s, strlen(s));
}

json_object *etcd_json_u64_new(uint64_t v)
{
        char buf[32];

        snprintf(buf, sizeof buf, "%" PRIu64, v);
        return json_object_new_string(buf);
}

json_object *etcd_json_get(json_object *o, const char *key)
{
        json_object *v = NULL;

        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

uint64_t etcd_json_u64(json_object *o, const char *key)
{
        json_object *v = etcd_json_get(o, key);
        const char *s;
        char *end;
        uint64_t n;

        if (!v)
                return 0;
        if (json_object_is_type(v, json_type_int))
                return json_object_get_int64(v) < 0 ? 0 : json_object_get_uint64(v);
        if (!json_object_is_type(v, json_type_string))
                return 0;
        s = json_object_get_string(v);
        errno = 0;
        n = strtoull(s, &end, 10);
        return errno != 0 || end == s || *end != 0 || s[0] == '-' ? 0 : n;
}

/* prefix with its last byte incremented, as etcd's clients do. */
char *etcd_range_end(const char *prefix)
{
        char *end = xstrdup(prefix);
        size_t n = strlen(end);

        /* Keys below a namespace are never empty nor all 0xff bytes: there is a byte to increment. */
        while (n > 0 && (unsigned char) end[n - 1] == 0xff)
                end[--n] = 0;
        if (n == 0)
                abort();
        end[n - 1]++;
        return end;
}

char *etcd_full_key(EtcdStore *e, const char *key)
{
        return xasprintf("%s%s", e->ns, key);
}

int etcd_response_error(int status, const char *body)
{
        _cleanup_json_ json_object *o = NULL;

        if (status == 200)
                return 0;
        if (status == 503 || status == 504)
                return -EHOSTDOWN;
        o = json_tokener_parse(body);
        switch (etcd_json_u64(o, "code")) {
        case GRPC_UNAVAILABLE:
        case GRPC_DEADLINE_EXCEEDED:
                return -EHOSTDOWN;
        case GRPC_INVALID_ARGUMENT:
                return -EINVAL;
        case GRPC_NOT_FOUND:
                return -ENOENT;
        case GRPC_RESOURCE_EXHAUSTED:
                return -ENOSPC;
        default:
                return -EIO;
        }
}

int etcd_response_parse(int status, const char *body, size_t size, json_object **ret)
{
        json_tokener *tok;
        json_object *o;
        int r;

        r = etcd_response_error(status, body);
        if (r < 0)
                return r;
        tok = json_tokener_new();
        if (!tok)
                abort();
        o = json_tokener_parse_ex(tok, body, (int) size);
        r = json_tokener_get_error(tok) == json_tokener_success && tok->char_offset == (int) size;
        json_tokener_free(tok);
        if (!r || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        *ret = o;
        return 0;
}

int etcd_transport_error(int r)
{
        return r == -EINVAL ? r : -EHOSTDOWN;
}

int etcd_call(EtcdStore *e, const char *path, json_object *request, json_object **ret)
{
        _cleanup_free_ char *body = NULL;
        size_t size;
        int status, r;

        r = http_client_post_sync(e->sync, path,
                json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN), &status, &body, &size);
        if (r < 0)
                return etcd_transport_error(r);
        return etcd_response_parse(status, body, size, ret);
}

int etcd_kv_parse(EtcdStore *e, json_object *kv, char **ret_key, char **ret_value, size_t *ret_size,
        uint64_t *ret_revision)
{
        json_object *k = etcd_json_get(kv, "key"), *v = etcd_json_get(kv, "value");
        _cleanup_free_ char *key = NULL, *value = NULL;
        size_t key_size, size = 0;
        const char *text;

        if (!k || !json_object_is_type(k, json_type_string))
                return -EBADMSG;
        text = json_object_get_string(k);
        if (base64_decode(text, strlen(text), &key, &key_size) < 0 || strlen(key) != key_size ||
                !startswith(key, e->ns))
                return -EBADMSG;
        if (ret_value) {
                text = v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
                if (base64_decode(text, strlen(text), &value, &size) < 0)
                        return -EBADMSG;
                *ret_value = TAKE_PTR(value);
                *ret_size = size;
        }
        *ret_key = xstrdup(key + strlen(e->ns));
        if (ret_revision)
                *ret_revision = etcd_json_u64(kv, "mod_revision");
        return 0;
}

static int etcd_open(const char *location, struct event_base *base, void **ret)
{
        _cleanup_free_ char *spec = xstrdup(location), *ns = xstrdup(ETCD_DEFAULT_NAMESPACE);
        _cleanup_strv_free_ char **endpoints = NULL;
        HttpClientOptions o = {};
        char *query = strchr(spec, '?'), *cursor = spec, *opt;
        int r;

        if (query)
                *query++ = 0;
        while ((opt = strsep(&cursor, ",")))
                strv_push(&endpoints, opt);
        while (query && (opt = strsep(&query, "&"))) {
                char *value = strchr(opt, '=');
                char *end;

                if (!value)
                        return -EINVAL;
                *value++ = 0;
                if (streq(opt, "namespace")) {
                        if (!endswith(value, "/") || !store_prefix_is_valid(value))
                                return -EINVAL;
                        free(ns);
                        ns = xstrdup(value);
                } else if (streq(opt, "timeout")) {
                        unsigned long ms = strtoul(value, &end, 10);
                        if (end == value || *end != 0 || ms < 1 || ms > 600000)
                                return -EINVAL;
                        o.timeout_ms = (unsigned) ms;
                } else if (streq(opt, "cacert"))
                        o.ca_file = value;
                else if (streq(opt, "cert"))
                        o.cert_file = value;
                else if (streq(opt, "key"))
                        o.key_file = value;
                else
                        return -EINVAL;
        }

        EtcdStore *e = new0(EtcdStore, 1);
        e->base = base;
        e->ns = TAKE_PTR(ns);
        e->sync_base = event_base_new();
        if (!e->sync_base)
                abort();
        r = http_client_new(e->sync_base, endpoints, strv_length(endpoints), &o, &e->sync);
        if (r >= 0)
                r = http_client_new(base, endpoints, strv_length(endpoints), &o, &e->async);
        if (r < 0) {
                http_client_free(e->sync);
                event_base_free(e->sync_base);
                free(e->ns);
                free(e);
                return r;
        }
        *ret = e;
        return 0;
}

static void etcd_close(void *data)
{
        EtcdStore *e = data;

        http_client_free(e->async);
        http_client_free(e->sync);
        event_base_free(e->sync_base);
        free(e->ns);
        free(e);
}

static int etcd_get(void *data, const char *key, char **ret_value, size_t *ret_size, uint64_t *ret_revision)
{
        EtcdStore *e = data;
        _cleanup_free_ char *full = etcd_full_key(e, key), *k = NULL, *value = NULL;
        _cleanup_json_ json_object *request = json_object_new_object(), *response = NULL;
        json_object *kvs;
        uint64_t revision;
        size_t size;
        int r;

        json_object_object_add(request, "key", etcd_json_b64(full));
        r = etcd_call(e, "/v3/kv/range", request, &response);
        if (r < 0)
                return r;
        kvs = etcd_json_get(response, "kvs");
        if (!kvs || json_object_array_length(kvs) == 0)
                return -ENOENT;
        r = etcd_kv_parse(e, json_object_array_get_idx(kvs, 0), &k, &value, &size, &revision);
        if (r < 0)
                return r;
        if (ret_value)
                *ret_value = TAKE_PTR(value);
        if (ret_size)
                *ret_size = size;
        if (ret_revision)
                *ret_revision = revision;
        return 0;
}

/* A compare of the key's mod revision; 0 stands for a key that does not exist, as in etcd. */
static json_object *compare_revision(const char *full, uint64_t revision)
{
        json_object *c = json_object_new_object();

        json_object_object_add(c, "key", etcd_json_b64(full));
        json_object_object_add(c, "target", json_object_new_string("MOD"));
        json_object_object_add(c, "result", json_object_new_string("EQUAL"));
        json_object_object_add(c, "mod_revision", etcd_json_u64_new(revision));
        return c;
}

static json_object *request_op(const char *name, json_object *body)
{
        json_object *op = json_object_new_object();

        json_object_object_add(op, name, body);
        return op;
}

static json_object *put_op(const char *full, const void *value, size_t size, uint64_t lease)
{
        json_object *put = json_object_new_object();

        json_object_object_add(put, "key", etcd_json_b64(full));
        json_object_object_add(put, "value", json_b64(value, size));
        if (lease != 0)
                json_object_object_add(put, "lease", etcd_json_u64_new(lease));
        return request_op("request_put", put);
}

static json_object *key_op(const char *name, const char *full)
{
        json_object *body = json_object_new_object();

        json_object_object_add(body, "key", etcd_json_b64(full));
        return request_op(name, body);
}

/* Runs {compare, success, failure}; whether it succeeded, its revision and the responses of the branch run. */
static int etcd_txn_call(EtcdStore *e, json_object *compare, json_object *success, json_object *failure,
        bool *ret_succeeded, uint64_t *ret_revision, json_object **ret_responses)
{
        _cleanup_json_ json_object *request = json_object_new_object(), *response = NULL;
        json_object *succeeded;
        int r;

        json_object_object_add(request, "compare", compare);
        json_object_object_add(request, "success", success);
        if (failure)
                json_object_object_add(request, "failure", failure);
        r = etcd_call(e, "/v3/kv/txn", request, &response);
        if (r < 0)
                return r;
        succeeded = etcd_json_get(response, "succeeded");
        *ret_succeeded = succeeded && json_object_get_boolean(succeeded);
        if (ret_revision)
                *ret_revision = etcd_json_u64(etcd_json_get(response, "header"), "revision");
        if (ret_responses)
                *ret_responses = json_object_get(etcd_json_get(response, "responses"));
        return 0;
}

static int etcd_put(void *data, const char *key, const void *value, size_t size, uint64_t expected_revision,
        uint64_t *ret_revision)
{
        EtcdStore *e = data;
        _cleanup_free_ char *full = etcd_full_key(e, key);
        json_object *compare = json_object_new_array(), *success = json_object_new_array();
        uint64_t revision;
        bool succeeded;
        int r;

        if (expected_revision != STORE_REVISION_ANY)
                json_object_array_add(compare, compare_revision(full, expected_revision));
        json_object_array_add(success, put_op(full, value ?: "", size, 0));
        r = etcd_txn_call(e, compare, success, NULL, &succeeded, &revision, NULL);
        if (r < 0)
                return r;
        if (!succeeded)
                return -ESTALE;
        if (ret_revision)
                *ret_revision = revision;
        return 0;
}

static json_object *response_in(json_object *responses, const char *name)
{
        return etcd_json_get(json_object_array_get_idx(responses, 0), name);
}

static int etcd_delete(void *data, const char *key, uint64_t expected_revision)
{
        EtcdStore *e = data;
        _cleanup_free_ char *full = etcd_full_key(e, key);
        _cleanup_json_ json_object *responses = NULL;
        json_object *compare = json_object_new_array(), *success = json_object_new_array(),
                    *failure = json_object_new_array();
        bool succeeded;
        int r;

        if (expected_revision != STORE_REVISION_ANY)
                json_object_array_add(compare, compare_revision(full, expected_revision));
        json_object_array_add(success, key_op("request_delete_range", full));
        /* On a failed compare, whether the key exists tells -ENOENT from -ESTALE. */
        json_object_array_add(failure, key_op("request_range", full));
        r = etcd_txn_call(e, compare, success, failure, &succeeded, NULL, &responses);
        if (r < 0)
                return r;
        if (succeeded)
                return etcd_json_u64(response_in(responses, "response_delete_range"), "deleted") > 0
                        ? 0
                        : -ENOENT;
        return etcd_json_u64(response_in(responses, "response_range"), "count") > 0 ? -ESTALE : -ENOENT;
}

json_object *etcd_range_request(EtcdStore *e, const char *prefix, bool keys_only)
{
        _cleanup_free_ char *full = etcd_full_key(e, prefix), *end = etcd_range_end(full);
        json_object *request = json_object_new_object();

        json_object_object_add(request, "key", etcd_json_b64(full));
        json_object_object_add(request, "range_end", etcd_json_b64(end));
        if (keys_only)
                json_object_object_add(request, "keys_only", json_object_new_boolean(true));
        return request;
}

int etcd_range_parse(EtcdStore *e, json_object *response, bool keys_only, StoreEntry **ret, size_t *ret_n,
        uint64_t *ret_revision)
{
        json_object *kvs = etcd_json_get(response, "kvs");
        size_t n = 0, count = kvs ? json_object_array_length(kvs) : 0;
        StoreEntry *entries = new0(StoreEntry, count ?: 1);
        int r;

        for (size_t i = 0; i < count; i++) {
                StoreEntry *x = &entries[n];

                r = etcd_kv_parse(e, json_object_array_get_idx(kvs, i), &x->key,
                        keys_only ? NULL : &x->value, &x->size, &x->revision);
                if (r < 0) {
                        store_entries_free(entries, n);
                        return r;
                }
                if (!store_key_is_valid(x->key)) {
                        free(x->key);
                        free(x->value);
                        continue;
                }
                n++;
        }
        if (ret_revision)
                *ret_revision = etcd_json_u64(etcd_json_get(response, "header"), "revision");
        *ret = entries;
        *ret_n = n;
        return 0;
}

int etcd_range(EtcdStore *e, const char *prefix, bool keys_only, StoreEntry **ret, size_t *ret_n,
        uint64_t *ret_revision)
{
        _cleanup_json_ json_object *request = etcd_range_request(e, prefix, keys_only), *response = NULL;
        int r;

        r = etcd_call(e, "/v3/kv/range", request, &response);
        if (r < 0)
                return r;
        return etcd_range_parse(e, response, keys_only, ret, ret_n, ret_revision);
}

static int etcd_list(void *data, const char *prefix, StoreEntry **ret, size_t *ret_n)
{
        return etcd_range(data, prefix, false, ret, ret_n, NULL);
}

static int etcd_txn(void *data, const StoreCompare *compares, size_t n_compares, const StoreTxnOp *ops,
        size_t n_ops, uint64_t *ret_revision)
{
        EtcdStore *e = data;
        json_object *compare = json_object_new_array(), *success = json_object_new_array();
        uint64_t revision;
        bool succeeded;
        int r;

        for (size_t i = 0; i < n_compares; i++) {
                const StoreCompare *c = &compares[i];

                if (c->lock) {
                        /* The lock's key, still there with the create revision it got: the lock is held. */
                        uint64_t created;
                        const char *key = etcd_lock_key(store_lock_data(c->lock), &created);
                        json_object *x = json_object_new_object();

                        json_object_object_add(x, "key", etcd_json_b64(key));
                        json_object_object_add(x, "target", json_object_new_string("CREATE"));
                        json_object_object_add(x, "result", json_object_new_string("EQUAL"));
                        json_object_object_add(x, "create_revision", etcd_json_u64_new(created));
                        json_object_array_add(compare, x);
                } else {
                        _cleanup_free_ char *full = etcd_full_key(e, c->key);
                        json_object_array_add(compare, compare_revision(full, c->revision));
                }
        }
        for (size_t i = 0; i < n_ops; i++) {
                _cleanup_free_ char *full = etcd_full_key(e, ops[i].key);

                json_object_array_add(success,
                        ops[i].type == STORE_TXN_PUT
                                ? put_op(full, ops[i].value ?: "", ops[i].size,
                                          ops[i].lease ? etcd_lease_id(store_lease_data(ops[i].lease)) : 0)
                                : key_op("request_delete_range", full));
        }
        r = etcd_txn_call(e, compare, success, NULL, &succeeded, &revision, NULL);
        /* A lease etcd no longer knows: expired before its loss was seen. */
        if (r == -ENOENT)
                return -EKEYEXPIRED;
        if (r < 0)
                return r;
        if (!succeeded)
                return -ESTALE;
        if (ret_revision && n_ops > 0)
                *ret_revision = revision;
        return 0;
}

const StoreOps store_etcd_ops = {
        .scheme = "etcd",
        .open = etcd_open,
        .close = etcd_close,
        .get = etcd_get,
        .put = etcd_put,
        .delete = etcd_delete,
        .list = etcd_list,
        .watch = etcd_watch,
        .watch_free = etcd_watch_free,
        .lock = etcd_lock,
        .unlock = etcd_unlock,
        .txn = etcd_txn,
        .lease_grant = etcd_lease_grant,
        .lease_revoke = etcd_lease_revoke,
};
