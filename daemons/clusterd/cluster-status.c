/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "cluster-status.h"

void node_status_done(NodeStatus *s)
{
        free(s->version);
        free(s->gateway_url);
        free(s->fingerprint);
        *s = (NodeStatus){};
}

char *node_status_format(const NodeStatus *s)
{
        json_object *o = json_object_new_object(), *load = json_object_new_array();
        char *text;

        json_object_object_add(o, "version", json_object_new_string(strempty(s->version)));
        json_object_object_add(o, "cpus", json_object_new_int64(s->cpus));
        json_object_object_add(o, "memory", json_object_new_uint64(s->memory));
        for (size_t i = 0; i < ELEMENTSOF(s->load); i++)
                json_object_array_add(load, json_object_new_double(s->load[i]));
        json_object_object_add(o, "load", load);
        json_object_object_add(o, "uptime", json_object_new_uint64(s->uptime));
        json_object_object_add(o, "gateway-url", json_object_new_string(strempty(s->gateway_url)));
        json_object_object_add(o, "fingerprint", json_object_new_string(strempty(s->fingerprint)));
        text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return text;
}

/* The member, or NULL when it is absent; -EBADMSG through *bad when it has another type. */
static json_object *member(json_object *o, const char *key, json_type type, bool *bad)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !v)
                return NULL;
        /* A whole number is a number of either kind. */
        if (json_object_is_type(v, type) ||
                (type == json_type_double && json_object_is_type(v, json_type_int)))
                return v;
        *bad = true;
        return NULL;
}

static bool get_u64(json_object *o, const char *key, uint64_t max, uint64_t *ret, bool *bad)
{
        json_object *v = member(o, key, json_type_int, bad);
        int64_t n;

        if (!v)
                return false;
        n = json_object_get_int64(v);
        if (n < 0 || (uint64_t) n > max) {
                *bad = true;
                return false;
        }
        *ret = (uint64_t) n;
        return true;
}

static char *get_string(json_object *o, const char *key, bool *bad)
{
        json_object *v = member(o, key, json_type_string, bad);
        return v ? xstrdup(json_object_get_string(v)) : NULL;
}

static int parse_object(const char *text, json_object **ret)
{
        json_tokener *tok = json_tokener_new();
        size_t n = strlen(text);
        json_object *o;
        bool whole;

        if (!tok)
                abort();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, text, (int) n);
        whole = json_tokener_get_error(tok) == json_tokener_success && (size_t) tok->char_offset == n;
        json_tokener_free(tok);
        if (!whole || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        *ret = o;
        return 0;
}

int node_status_parse(const char *text, NodeStatus *ret)
{
        _cleanup_(node_status_done) NodeStatus s = {};
        json_object *o, *load;
        uint64_t v = 0;
        bool bad = false;
        int r;

        if (strlen(text) > NODE_STATUS_MAX_SIZE)
                return -EBADMSG;
        r = parse_object(text, &o);
        if (r < 0)
                return r;
        s.version = get_string(o, "version", &bad);
        s.gateway_url = get_string(o, "gateway-url", &bad);
        s.fingerprint = get_string(o, "fingerprint", &bad);
        if (get_u64(o, "cpus", 1u << 20, &v, &bad))
                s.cpus = (unsigned) v;
        (void) get_u64(o, "memory", INT64_MAX, &s.memory, &bad);
        (void) get_u64(o, "uptime", INT64_MAX, &s.uptime, &bad);
        load = member(o, "load", json_type_array, &bad);
        if (load) {
                if (json_object_array_length(load) != ELEMENTSOF(s.load))
                        bad = true;
                for (size_t i = 0; !bad && i < ELEMENTSOF(s.load); i++) {
                        json_object *x = json_object_array_get_idx(load, i);
                        if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int))
                                bad = true;
                        else
                                s.load[i] = json_object_get_double(x);
                        if (!isfinite(s.load[i]) || s.load[i] < 0)
                                bad = true;
                }
        }
        json_object_put(o);
        if (bad)
                return -EBADMSG;
        *ret = s;
        s = (NodeStatus){};
        return 0;
}

void guest_status_done(GuestStatus *s)
{
        free(s->state);
        free(s->run_id);
        *s = (GuestStatus){};
}

int guest_status_parse(const char *text, GuestStatus *ret)
{
        _cleanup_(guest_status_done) GuestStatus s = {};
        json_object *o;
        uint64_t pid = 0;
        bool bad = false;
        int r;

        if (strlen(text) > NODE_STATUS_MAX_SIZE)
                return -EBADMSG;
        r = parse_object(text, &o);
        if (r < 0)
                return r;
        s.state = get_string(o, "state", &bad);
        s.run_id = get_string(o, "run-id", &bad);
        if (get_u64(o, "pid", INT32_MAX, &pid, &bad))
                s.pid = (uint32_t) pid;
        (void) get_u64(o, "start-time", INT64_MAX, &s.start_time, &bad);
        json_object_put(o);
        if (bad || !s.state)
                return -EBADMSG;
        *ret = s;
        s = (GuestStatus){};
        return 0;
}
