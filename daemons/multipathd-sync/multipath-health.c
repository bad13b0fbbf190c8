/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "multipath-health.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static const char *const multipath_apply_result_table[_MULTIPATH_APPLY_RESULT_MAX] = {
        [MULTIPATH_APPLY_NONE] = "none",
        [MULTIPATH_APPLY_OK] = "ok",
        [MULTIPATH_APPLY_FAILED] = "failed",
};
DEFINE_STRING_TABLE_LOOKUP(multipath_apply_result, MultipathApplyResult);

static const char *const multipath_health_state_table[_MULTIPATH_HEALTH_STATE_MAX] = {
        [MULTIPATH_HEALTH_OK] = "ok",
        [MULTIPATH_HEALTH_DEGRADED] = "degraded",
        [MULTIPATH_HEALTH_FAILED] = "failed",
        [MULTIPATH_HEALTH_MISSING] = "missing",
        [MULTIPATH_HEALTH_UNKNOWN] = "unknown",
};
DEFINE_STRING_TABLE_LOOKUP(multipath_health_state, MultipathHealthState);

static const char *const multipath_report_state_table[_MULTIPATH_REPORT_STATE_MAX] = {
        [MULTIPATH_REPORT_OK] = "ok",
        [MULTIPATH_REPORT_STALE] = "stale",
        [MULTIPATH_REPORT_MALFORMED] = "malformed",
        [MULTIPATH_REPORT_NONE] = "none",
};
DEFINE_STRING_TABLE_LOOKUP(multipath_report_state, MultipathReportState);

static int fail(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int fail(char **ret_error, const char *fmt, ...)
{
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                *ret_error = xvasprintf(fmt, ap);
                va_end(ap);
        }
        return -EBADMSG;
}

/* Readers of one JSON member each: -EBADMSG with a message naming it when it is missing or of the wrong type. */

static int parse_text(const char *text, json_object **ret, char **ret_error)
{
        json_tokener *tok = json_tokener_new();
        enum json_tokener_error e;
        json_object *o;

        /* Strict: trailing text is an error too. Everything ends up in D-Bus strings, which must be UTF-8. */
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, text, (int) MIN(strlen(text), (size_t) INT32_MAX));
        e = json_tokener_get_error(tok);
        json_tokener_free(tok);
        if (e == json_tokener_continue)
                return fail(ret_error, "not a complete JSON object");
        if (e != json_tokener_success)
                return fail(ret_error, "not JSON: %s", json_tokener_error_desc(e));
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return fail(ret_error, "not a JSON object");
        }
        *ret = o;
        return 0;
}

static int get_member(json_object *o, const char *key, json_type type, json_object **ret, char **ret_error)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return fail(ret_error, "'%s' is missing", key);
        if (!json_object_is_type(v, type))
                return fail(ret_error, "'%s' is not a %s", key, json_type_to_name(type));
        *ret = v;
        return 0;
}

static int get_string(json_object *o, const char *key, const char **ret, char **ret_error)
{
        json_object *v;
        int r = get_member(o, key, json_type_string, &v, ret_error);
        if (r < 0)
                return r;
        *ret = json_object_get_string(v);
        return 0;
}

static int get_number(json_object *o, const char *key, int64_t max, int64_t *ret, char **ret_error)
{
        json_object *v;
        int64_t i;
        int r = get_member(o, key, json_type_int, &v, ret_error);
        if (r < 0)
                return r;
        i = json_object_get_int64(v);
        if (i < 0 || i > max)
                return fail(ret_error, "'%s' is out of range", key);
        *ret = i;
        return 0;
}

void multipath_maps_free(MultipathMapHealth *maps, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(maps[i].wwid);
                free(maps[i].name);
                free(maps[i].dm_state);
                strv_free(maps[i].failed_paths);
        }
        free(maps);
}

static int compare_maps(const void *a, const void *b)
{
        return strcmp(((const MultipathMapHealth *) a)->wwid, ((const MultipathMapHealth *) b)->wwid);
}

/* Sorts by WWID; a WWID listed twice makes the list malformed. */
static int sort_maps(MultipathMapHealth *maps, size_t n, char **ret_error)
{
        qsort(maps, n, sizeof *maps, compare_maps);
        for (size_t i = 1; i < n; i++)
                if (streq(maps[i - 1].wwid, maps[i].wwid))
                        return fail(ret_error, "map '%s' listed twice", maps[i].wwid);
        return 0;
}

/* Counts the paths of one path group of multipathd's JSON into the map's summary. */
static int count_paths(json_object *group, MultipathMapHealth *m, char **ret_error)
{
        json_object *paths;
        int r;

        if (!json_object_is_type(group, json_type_object))
                return fail(ret_error, "map '%s': a path group is not an object", m->wwid);
        r = get_member(group, "paths", json_type_array, &paths, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(paths); i++) {
                json_object *p = json_object_array_get_idx(paths, i);
                const char *dev, *dm_st, *chk_st, *dev_st;

                if (!json_object_is_type(p, json_type_object))
                        return fail(ret_error, "map '%s': a path is not an object", m->wwid);
                if (get_string(p, "dev", &dev, ret_error) < 0 ||
                        get_string(p, "dm_st", &dm_st, ret_error) < 0 ||
                        get_string(p, "chk_st", &chk_st, ret_error) < 0 ||
                        get_string(p, "dev_st", &dev_st, ret_error) < 0)
                        return -EBADMSG;

                m->paths_total++;
                /* Paths pending a check or delayed as marginal count towards the total only. */
                if (streq(dm_st, "failed") || streq(dev_st, "offline") ||
                        strv_contains((char *const[]){ "faulty", "shaky", "i/o timeout", NULL }, chk_st))
                        strv_push(&m->failed_paths, dev);
                else if (streq(dm_st, "active") && (streq(chk_st, "ready") || streq(chk_st, "ghost")))
                        m->paths_active++;
        }
        return 0;
}

static int parse_multipathd_map(json_object *o, MultipathMapHealth *m, char **ret_error)
{
        const char *wwid, *name, *dm_state;
        json_object *groups;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return fail(ret_error, "a map is not an object");
        if (get_string(o, "uuid", &wwid, ret_error) < 0 || get_string(o, "name", &name, ret_error) < 0 ||
                get_string(o, "dm_st", &dm_state, ret_error) < 0 ||
                get_member(o, "path_groups", json_type_array, &groups, ret_error) < 0)
                return -EBADMSG;
        if (isempty(wwid))
                return fail(ret_error, "a map has an empty uuid");
        m->wwid = xstrdup(wwid);
        m->name = xstrdup(name);
        m->dm_state = xstrdup(dm_state);
        for (size_t i = 0; i < json_object_array_length(groups); i++) {
                r = count_paths(json_object_array_get_idx(groups, i), m, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int multipath_health_parse_maps(const char *json, MultipathMapHealth **ret, size_t *ret_n, char **ret_error)
{
        _cleanup_(json_object_putp) json_object *root = NULL;
        json_object *maps;
        MultipathMapHealth *l;
        int64_t major;
        size_t n;
        int r;

        r = parse_text(json, &root, ret_error);
        if (r < 0)
                return r;
        r = get_number(root, "major_version", INT32_MAX, &major, ret_error);
        if (r < 0)
                return r;
        /* A new major version is an incompatible format. */
        if (major != 0)
                return fail(ret_error, "unsupported format version %" PRId64, major);
        r = get_member(root, "maps", json_type_array, &maps, ret_error);
        if (r < 0)
                return r;

        n = json_object_array_length(maps);
        l = new0(MultipathMapHealth, MAX(n, 1U));
        for (size_t i = 0; i < n && r >= 0; i++)
                r = parse_multipathd_map(json_object_array_get_idx(maps, i), &l[i], ret_error);
        if (r >= 0)
                r = sort_maps(l, n, ret_error);
        if (r < 0) {
                multipath_maps_free(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

MultipathHealthReport *multipath_health_report_free(MultipathHealthReport *r)
{
        if (!r)
                return NULL;
        free(r->node);
        free(r->apply_error);
        free(r->error);
        multipath_maps_free(r->maps, r->n_maps);
        free(r);
        return NULL;
}

static json_object *strv_to_json(char *const *l)
{
        json_object *a = json_object_new_array();

        STRV_FOREACH (s, l)
                json_object_array_add(a, json_object_new_string(*s));
        return a;
}

char *multipath_health_report_format(const MultipathHealthReport *r)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *apply = json_object_new_object();

        json_object_object_add(o, "node", json_object_new_string(r->node));
        json_object_object_add(o, "timestamp", json_object_new_int64((int64_t) r->timestamp));
        json_object_object_add(o, "interval", json_object_new_int64(r->interval));
        json_object_object_add(apply, "generation", json_object_new_int64((int64_t) r->apply_generation));
        json_object_object_add(
                apply, "result", json_object_new_string(multipath_apply_result_to_string(r->apply_result)));
        if (r->apply_error)
                json_object_object_add(apply, "error", json_object_new_string(r->apply_error));
        json_object_object_add(o, "apply", apply);
        json_object_object_add(o, "multipathd", json_object_new_boolean(r->multipathd));
        if (r->error) {
                json_object_object_add(o, "error", json_object_new_string(r->error));
                return xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE));
        }

        json_object *maps = json_object_new_array();
        for (size_t i = 0; i < r->n_maps; i++) {
                const MultipathMapHealth *m = &r->maps[i];
                json_object *j = json_object_new_object();

                json_object_object_add(j, "wwid", json_object_new_string(m->wwid));
                json_object_object_add(j, "name", json_object_new_string(m->name));
                json_object_object_add(j, "dm-state", json_object_new_string(m->dm_state));
                json_object_object_add(j, "paths-active", json_object_new_int64(m->paths_active));
                json_object_object_add(j, "paths-total", json_object_new_int64(m->paths_total));
                json_object_object_add(j, "failed-paths", strv_to_json(m->failed_paths));
                json_object_array_add(maps, j);
        }
        json_object_object_add(o, "maps", maps);
        return xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int parse_report_map(json_object *o, MultipathMapHealth *m, char **ret_error)
{
        const char *wwid, *name, *dm_state;
        json_object *failed;
        int64_t active, total;

        if (!json_object_is_type(o, json_type_object))
                return fail(ret_error, "a map is not an object");
        if (get_string(o, "wwid", &wwid, ret_error) < 0 || get_string(o, "name", &name, ret_error) < 0 ||
                get_string(o, "dm-state", &dm_state, ret_error) < 0 ||
                get_number(o, "paths-active", UINT32_MAX, &active, ret_error) < 0 ||
                get_number(o, "paths-total", UINT32_MAX, &total, ret_error) < 0 ||
                get_member(o, "failed-paths", json_type_array, &failed, ret_error) < 0)
                return -EBADMSG;
        if (isempty(wwid))
                return fail(ret_error, "a map has an empty wwid");
        if (active > total)
                return fail(ret_error, "map '%s' has more active paths than paths", wwid);
        m->wwid = xstrdup(wwid);
        m->name = xstrdup(name);
        m->dm_state = xstrdup(dm_state);
        m->paths_active = (unsigned) active;
        m->paths_total = (unsigned) total;
        for (size_t i = 0; i < json_object_array_length(failed); i++) {
                json_object *d = json_object_array_get_idx(failed, i);
                if (!json_object_is_type(d, json_type_string))
                        return fail(ret_error, "map '%s': a failed path is not a string", wwid);
                strv_push(&m->failed_paths, json_object_get_string(d));
        }
        return 0;
}

static int parse_report_maps(json_object *root, MultipathHealthReport *r, char **ret_error)
{
        json_object *maps;
        int k;

        k = get_member(root, "maps", json_type_array, &maps, ret_error);
        if (k < 0)
                return k;
        r->n_maps = json_object_array_length(maps);
        r->maps = new0(MultipathMapHealth, MAX(r->n_maps, 1U));
        for (size_t i = 0; i < r->n_maps; i++) {
                k = parse_report_map(json_object_array_get_idx(maps, i), &r->maps[i], ret_error);
                if (k < 0)
                        return k;
        }
        return sort_maps(r->maps, r->n_maps, ret_error);
}

static int parse_report_apply(json_object *root, MultipathHealthReport *r, char **ret_error)
{
        json_object *apply, *error;
        const char *result;
        int64_t generation;

        if (get_member(root, "apply", json_type_object, &apply, ret_error) < 0 ||
                get_number(apply, "generation", INT64_MAX, &generation, ret_error) < 0 ||
                get_string(apply, "result", &result, ret_error) < 0)
                return -EBADMSG;
        r->apply_generation = (uint64_t) generation;
        r->apply_result = multipath_apply_result_from_string(result);
        if (r->apply_result < 0)
                return fail(ret_error, "unknown apply result '%s'", result);
        if (json_object_object_get_ex(apply, "error", &error)) {
                if (!json_object_is_type(error, json_type_string))
                        return fail(ret_error, "'error' is not a string");
                r->apply_error = xstrdup(json_object_get_string(error));
        }
        return 0;
}

int multipath_health_report_parse(const char *text, MultipathHealthReport **ret, char **ret_error)
{
        _cleanup_(multipath_health_report_freep) MultipathHealthReport *r = new0(MultipathHealthReport, 1);
        _cleanup_(json_object_putp) json_object *root = NULL;
        json_object *multipathd, *error;
        int64_t timestamp, interval;
        const char *node;
        int k;

        k = parse_text(text, &root, ret_error);
        if (k < 0)
                return k;
        if (get_string(root, "node", &node, ret_error) < 0 ||
                get_number(root, "timestamp", INT64_MAX, &timestamp, ret_error) < 0 ||
                get_number(root, "interval", 86400, &interval, ret_error) < 0 ||
                get_member(root, "multipathd", json_type_boolean, &multipathd, ret_error) < 0)
                return -EBADMSG;
        if (interval == 0)
                return fail(ret_error, "'interval' is out of range");
        r->node = xstrdup(node);
        r->timestamp = (uint64_t) timestamp;
        r->interval = (unsigned) interval;
        r->multipathd = json_object_get_boolean(multipathd);
        k = parse_report_apply(root, r, ret_error);
        if (k < 0)
                return k;

        if (json_object_object_get_ex(root, "error", &error)) {
                if (!json_object_is_type(error, json_type_string))
                        return fail(ret_error, "'error' is not a string");
                r->error = xstrdup(json_object_get_string(error));
        } else {
                k = parse_report_maps(root, r, ret_error);
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

MultipathHealthState multipath_map_health_state(const MultipathMapHealth *m)
{
        if (m->paths_active == 0)
                return MULTIPATH_HEALTH_FAILED;
        if (m->paths_active < m->paths_total || m->failed_paths || !streq(m->dm_state, "active"))
                return MULTIPATH_HEALTH_DEGRADED;
        return MULTIPATH_HEALTH_OK;
}

MultipathHealthMatrix *multipath_health_matrix_free(MultipathHealthMatrix *m)
{
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_luns; i++) {
                free(m->luns[i].wwid);
                free(m->luns[i].alias);
        }
        for (size_t i = 0; i < m->n_nodes; i++) {
                free(m->nodes[i].node);
                multipath_health_report_free(m->nodes[i].report);
                free(m->nodes[i].problem);
        }
        free(m->luns);
        free(m->nodes);
        free(m->cells);
        free(m);
        return NULL;
}

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The inputs' nodes and every node storage.cfg names, sorted and each once. */
static char **collect_nodes(const StorageConfig *storage, const MultipathHealthInput *inputs, size_t n_inputs)
{
        char **l = NULL;
        size_t n, k = 0;

        for (size_t i = 0; i < n_inputs; i++)
                strv_push(&l, inputs[i].node);
        for (size_t i = 0; storage && i < storage->n_storages; i++)
                STRV_FOREACH (node, storage->storages[i].nodes)
                        strv_push(&l, *node);
        n = strv_length(l);
        if (n == 0)
                return l;
        qsort(l, n, sizeof(char *), compare_strings);
        for (size_t i = 1; i < n; i++) {
                if (streq(l[i], l[k])) {
                        free(l[i]);
                        continue;
                }
                l[++k] = l[i];
        }
        l[k + 1] = NULL;
        return l;
}

static const MultipathHealthInput *find_input(const MultipathHealthInput *inputs, size_t n, const char *node)
{
        for (size_t i = 0; i < n; i++)
                if (streq(inputs[i].node, node))
                        return &inputs[i];
        return NULL;
}

static void node_load(MultipathHealthNode *n, const MultipathHealthInput *input, uint64_t now_usec)
{
        if (!input || !input->report) {
                n->report_state = MULTIPATH_REPORT_NONE;
                return;
        }
        if (multipath_health_report_parse(input->report, &n->report, &n->problem) < 0) {
                n->report_state = MULTIPATH_REPORT_MALFORMED;
                return;
        }
        /* Three intervals of its own: a node on a longer interval is not stale sooner. */
        if (n->report->timestamp + 3ULL * n->report->interval * 1000000ULL < now_usec)
                n->report_state = MULTIPATH_REPORT_STALE;
        else
                n->report_state = MULTIPATH_REPORT_OK;
        if (n->report->error)
                n->problem = xstrdup(n->report->error);
}

static bool available_on(const Storage *s, const char *node)
{
        return !s->disabled && (!s->nodes || strv_contains(s->nodes, node));
}

char **multipath_wwid_consumers(const StorageConfig *storage, const char *wwid)
{
        char **l = NULL;

        for (size_t i = 0; storage && i < storage->n_storages; i++)
                if (multipath_storage_base(storage, &storage->storages[i], wwid))
                        strv_push(&l, storage->storages[i].id);
        return l;
}

const Storage *multipath_storage_base(const StorageConfig *storage, const Storage *s, const char *wwid)
{
        const char *colon;
        const Storage *base;

        if (s->type != STORAGE_TYPE_LVM || !s->base)
                return NULL;
        colon = strchr(s->base, ':');
        if (!colon || !streq(colon + 1, wwid))
                return NULL;
        _cleanup_free_ char *id = xstrndup(s->base, colon - s->base);
        base = storage_find(storage, id);
        return base && base->type == STORAGE_TYPE_MULTIPATH ? base : NULL;
}

/* Marks the nodes expected to carry the LUN, as multipath_health_matrix() explains. */
static void mark_expected(
        const StorageConfig *storage, const char *wwid, const MultipathHealthMatrix *m, bool *expected)
{
        bool consumed = false;

        if (!storage)
                return;
        for (size_t i = 0; i < storage->n_storages; i++) {
                const Storage *lvm = &storage->storages[i], *base = multipath_storage_base(storage, lvm, wwid);

                if (!base || lvm->disabled || base->disabled)
                        continue;
                consumed = true;
                for (size_t n = 0; n < m->n_nodes; n++)
                        expected[n] |= available_on(lvm, m->nodes[n].node) &&
                                available_on(base, m->nodes[n].node);
        }
        if (consumed)
                return;
        for (size_t i = 0; i < storage->n_storages; i++) {
                const Storage *s = &storage->storages[i];

                if (s->type != STORAGE_TYPE_MULTIPATH)
                        continue;
                for (size_t n = 0; n < m->n_nodes; n++)
                        expected[n] |= available_on(s, m->nodes[n].node);
        }
}

static const MultipathMapHealth *report_find(const MultipathHealthReport *r, const char *wwid)
{
        const MultipathMapHealth key = { .wwid = (char *) wwid };

        if (!r || r->n_maps == 0)
                return NULL;
        return bsearch(&key, r->maps, r->n_maps, sizeof key, compare_maps);
}

/* The cell of a LUN on a node, or -ENOENT when there is none. */
static int cell_state(const MultipathHealthNode *n, const MultipathMapHealth *map, bool expected)
{
        switch (n->report_state) {
        case MULTIPATH_REPORT_MALFORMED:
                return expected ? MULTIPATH_HEALTH_UNKNOWN : -ENOENT;
        case MULTIPATH_REPORT_STALE:
                return expected || map ? MULTIPATH_HEALTH_UNKNOWN : -ENOENT;
        case MULTIPATH_REPORT_OK:
                if (n->report->error)
                        return expected ? MULTIPATH_HEALTH_UNKNOWN : -ENOENT;
                _fallthrough_;
        case MULTIPATH_REPORT_NONE:
                if (map)
                        return multipath_map_health_state(map);
                return expected ? MULTIPATH_HEALTH_MISSING : -ENOENT;
        default:
                assert_not_reached();
        }
}

static MultipathHealthState roll_up(const MultipathHealthCell *cells, size_t n)
{
        size_t count[_MULTIPATH_HEALTH_STATE_MAX] = {}, known;

        for (size_t i = 0; i < n; i++)
                count[cells[i].state]++;
        known = n - count[MULTIPATH_HEALTH_UNKNOWN];
        if (known == 0)
                return MULTIPATH_HEALTH_UNKNOWN;
        if (count[MULTIPATH_HEALTH_OK] == known)
                return MULTIPATH_HEALTH_OK;
        if (count[MULTIPATH_HEALTH_MISSING] == known)
                return MULTIPATH_HEALTH_MISSING;
        if (count[MULTIPATH_HEALTH_OK] + count[MULTIPATH_HEALTH_DEGRADED] == 0)
                return MULTIPATH_HEALTH_FAILED;
        return MULTIPATH_HEALTH_DEGRADED;
}

MultipathHealthMatrix *multipath_health_matrix(const MultipathConfig *config, const StorageConfig *storage,
        const MultipathHealthInput *inputs, size_t n_inputs, uint64_t now_usec)
{
        MultipathHealthMatrix *m = new0(MultipathHealthMatrix, 1);
        _cleanup_strv_free_ char **names = collect_nodes(storage, inputs, n_inputs);
        _cleanup_free_ bool *expected = NULL;

        m->n_nodes = strv_length(names);
        m->nodes = new0(MultipathHealthNode, MAX(m->n_nodes, 1U));
        for (size_t i = 0; i < m->n_nodes; i++) {
                m->nodes[i].node = xstrdup(names[i]);
                node_load(&m->nodes[i], find_input(inputs, n_inputs, names[i]), now_usec);
        }

        m->n_luns = config->n_luns;
        m->luns = new0(MultipathHealthLun, MAX(m->n_luns, 1U));
        m->cells = new0(MultipathHealthCell, MAX(m->n_luns * m->n_nodes, 1U));
        expected = new0(bool, MAX(m->n_nodes, 1U));
        for (size_t l = 0; l < m->n_luns; l++) {
                const MultipathLun *lun = config->luns[l];
                size_t first = m->n_cells;

                m->luns[l].wwid = xstrdup(lun->wwid);
                m->luns[l].alias = lun->alias ? xstrdup(lun->alias) : NULL;
                memset(expected, 0, m->n_nodes * sizeof(bool));
                mark_expected(storage, lun->wwid, m, expected);
                for (size_t n = 0; n < m->n_nodes; n++) {
                        const MultipathHealthNode *node = &m->nodes[n];
                        const MultipathMapHealth *map = report_find(node->report, lun->wwid);
                        int state = cell_state(node, map, expected[n]);

                        if (state < 0)
                                continue;
                        m->cells[m->n_cells++] = (MultipathHealthCell){
                                .lun = l,
                                .node = n,
                                .state = state,
                                .map = node->report_state == MULTIPATH_REPORT_OK ? map : NULL,
                        };
                }
                m->luns[l].state = roll_up(m->cells + first, m->n_cells - first);
        }
        return m;
}
