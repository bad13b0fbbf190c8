/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The parts of the etcd: backend shared by its files: store-etcd.c (keys, txn),
 * store-etcd-watch.c and store-etcd-lease.c (leases and locks). */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "http-client.h"
#include "store.h"

typedef struct EtcdStore {
        struct event_base *base; /* the daemon's: watches, lease renewals */
        struct event_base *sync_base;
        HttpClient *sync; /* on sync_base: the calls that complete before they return */
        HttpClient *async; /* on base */
        char *ns;
} EtcdStore;

static inline void json_object_putp(json_object **o)
{
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

uint64_t etcd_now_usec(void);

json_object *etcd_json_get(json_object *o, const char *key);
/* A 64-bit number of the gateway: a string, or a plain JSON number; 0 when missing or malformed. */
uint64_t etcd_json_u64(json_object *o, const char *key);
json_object *etcd_json_u64_new(uint64_t v);
json_object *etcd_json_b64(const char *s);

char *etcd_full_key(EtcdStore *e, const char *key);
/* The end of the range of every key starting with prefix. */
char *etcd_range_end(const char *prefix);

/* The error an answer of the gateway stands for (0 for a 200), and the answer as a JSON object. */
int etcd_response_error(int status, const char *body);
int etcd_response_parse(int status, const char *body, size_t size, json_object **ret);
/* Calls that did not get through: the store is out of reach. */
int etcd_transport_error(int r);
/* A call on the private loop; -EHOSTDOWN when etcd is out of reach or without quorum. */
int etcd_call(EtcdStore *e, const char *path, json_object *request, json_object **ret);

/* A kv of a response: its key below the namespace, value and mod revision; -EBADMSG when malformed. */
int etcd_kv_parse(EtcdStore *e, json_object *kv, char **ret_key, char **ret_value, size_t *ret_size,
        uint64_t *ret_revision);
/* Every store key starting with prefix (not sorted); keys only, or with values. The request and
 * the parsing of its answer apart, for the calls made on the daemon's loop. */
json_object *etcd_range_request(EtcdStore *e, const char *prefix, bool keys_only);
int etcd_range_parse(EtcdStore *e, json_object *response, bool keys_only, StoreEntry **ret, size_t *ret_n,
        uint64_t *ret_revision);
int etcd_range(EtcdStore *e, const char *prefix, bool keys_only, StoreEntry **ret, size_t *ret_n,
        uint64_t *ret_revision);

int etcd_watch(void *data, const char *prefix, StoreWatch *w, void **ret);
void etcd_watch_free(void *data);

int etcd_lease_grant(void *data, unsigned ttl_sec, StoreLease *l, void **ret);
void etcd_lease_revoke(void *data);
uint64_t etcd_lease_id(void *lease_data);
int etcd_lock(void *data, const char *name, bool wait, void **ret);
void etcd_unlock(void *data);
/* The lock's key in etcd and its create revision, which stay the same as long as the lock is held. */
const char *etcd_lock_key(void *lock_data, uint64_t *ret_create_revision);
