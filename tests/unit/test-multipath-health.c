/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>

#include "block-uevent.h"
#include "alloc.h"
#include "check-main.h"
#include "fileio.h"
#include "golden.h"
#include "multipath-health.h"

/*
 * From multipathd's JSON to the cluster's matrix. tests/golden/multipath-health/
 * <case>.json is "multipathd show maps json" as multipath-tools 0.9.4 prints
 * it (libmultipath/print.c, format 0.1); <case>.summary the expected summary,
 * one map a line: wwid, name, dm state, active/total paths, failed paths, state.
 */

static char *summary(const MultipathMapHealth *maps, size_t n)
{
        char *text = xstrdup("");

        for (size_t i = 0; i < n; i++) {
                const MultipathMapHealth *m = &maps[i];
                _cleanup_free_ char *failed = xstrdup(m->failed_paths ? "" : "-"), *old = text;

                STRV_FOREACH (p, m->failed_paths) {
                        char *f = failed;
                        failed = xasprintf("%s%s%s", f, p == m->failed_paths ? "" : ",", *p);
                        free(f);
                }
                text = xasprintf("%s%s %s %s %u/%u %s %s\n", old, m->wwid, m->name, m->dm_state,
                        m->paths_active, m->paths_total, failed,
                        multipath_health_state_to_string(multipath_map_health_state(m)));
        }
        return text;
}

static const char *const samples[] = { "two-paths", "one-path-offline", "all-paths-failed", "mixed",
        "no-maps" };

START_TEST(test_multipathd_golden)
{
        _cleanup_free_ char *path = golden_path("multipath-health", samples[_i], "json"), *json = NULL,
                            *error = NULL, *text = NULL;
        MultipathMapHealth *maps = NULL;
        size_t n = 0;

        ck_assert_int_eq(read_full_file(path, &json, NULL), 0);
        ck_assert_msg(multipath_health_parse_maps(json, &maps, &n, &error) == 0, "%s: %s", path, error);
        text = summary(maps, n);
        golden_check("multipath-health", samples[_i], "summary", text);
        multipath_maps_free(maps, n);
}
END_TEST

#define MAP_HEAD "{\"major_version\": 0, \"minor_version\": 1, \"maps\": ["
#define PATH_OK "{\"dev\": \"sda\", \"dm_st\": \"active\", \"chk_st\": \"ready\", \"dev_st\": \"running\"}"
#define MAP(uuid, paths) \
        "{\"name\": \"m\", \"uuid\": \"" uuid "\", \"dm_st\": \"active\", \"path_groups\": [" paths "]}"

static const struct {
        const char *json;
        const char *error;
} bad_multipathd[] = {
        { "", "not a complete JSON object" },
        { "error -104 receiving packet\n", "not JSON" },
        { "[]", "not a JSON object" },
        { "{\"major_version\": 1, \"maps\": []}", "unsupported format version 1" },
        { "{\"major_version\": \"0\", \"maps\": []}", "'major_version' is not a int" },
        { "{\"major_version\": 0}", "'maps' is missing" },
        { MAP_HEAD "]} trailing", "not JSON: unexpected character" },
        { MAP_HEAD "]}{}", "not JSON: unexpected character" },
        { MAP_HEAD "1]}", "a map is not an object" },
        { MAP_HEAD "{\"name\": \"m\", \"dm_st\": \"active\", \"path_groups\": []}]}", "'uuid' is missing" },
        { MAP_HEAD MAP("", "") "]}", "a map has an empty uuid" },
        { MAP_HEAD "{\"name\": \"m\", \"uuid\": \"w\", \"dm_st\": \"active\", \"path_groups\": {}}]}",
                "'path_groups' is not a array" },
        { MAP_HEAD MAP("w", "1") "]}", "map 'w': a path group is not an object" },
        { MAP_HEAD MAP("w", "{}") "]}", "'paths' is missing" },
        { MAP_HEAD MAP("w", "{\"paths\": [{\"dev\": \"sda\"}]}") "]}", "'dm_st' is missing" },
        { MAP_HEAD MAP("w", "{\"paths\": [7]}") "]}", "map 'w': a path is not an object" },
        { MAP_HEAD MAP("w", "{\"paths\": [" PATH_OK "]}") "," MAP("w", "") "]}", "map 'w' listed twice" },
        { MAP_HEAD "{\"name\": \"m\xff\", \"uuid\": \"w\", \"dm_st\": \"active\", \"path_groups\": []}]}",
                "not JSON" },
        { MAP_HEAD "]", "not a complete JSON object" },
        { MAP_HEAD, "not a complete JSON object" },
};

START_TEST(test_multipathd_bad)
{
        _cleanup_free_ char *error = NULL;
        MultipathMapHealth *maps = (MultipathMapHealth *) 0x1;
        size_t n = 7;

        ck_assert_int_eq(multipath_health_parse_maps(bad_multipathd[_i].json, &maps, &n, &error), -EBADMSG);
        ck_assert_msg(startswith(error, bad_multipathd[_i].error), "%s", error);
        ck_assert_ptr_eq(maps, (MultipathMapHealth *) 0x1);
        ck_assert_uint_eq(n, 7);
        ck_assert_int_eq(multipath_health_parse_maps(bad_multipathd[_i].json, &maps, &n, NULL), -EBADMSG);
}
END_TEST

static const struct {
        unsigned active, total;
        bool failed;
        const char *dm_state;
        MultipathHealthState state;
} map_states[] = {
        { 2, 2, false, "active", MULTIPATH_HEALTH_OK },
        { 1, 1, false, "active", MULTIPATH_HEALTH_OK },
        { 1, 2, true, "active", MULTIPATH_HEALTH_DEGRADED },
        /* A path pending a check is neither active nor failed. */
        { 1, 2, false, "active", MULTIPATH_HEALTH_DEGRADED },
        { 2, 2, false, "suspend", MULTIPATH_HEALTH_DEGRADED },
        { 0, 2, true, "active", MULTIPATH_HEALTH_FAILED },
        { 0, 0, false, "active", MULTIPATH_HEALTH_FAILED },
};

START_TEST(test_map_state)
{
        char *failed[] = { (char *) "sdb", NULL };
        MultipathMapHealth m = {
                .wwid = (char *) "w",
                .name = (char *) "w",
                .dm_state = (char *) map_states[_i].dm_state,
                .paths_active = map_states[_i].active,
                .paths_total = map_states[_i].total,
                .failed_paths = map_states[_i].failed ? failed : NULL,
        };

        ck_assert_int_eq(multipath_map_health_state(&m), map_states[_i].state);
}
END_TEST

/* A report for a node: maps is "wwid:active/total" items, failed ones listed as sdX per missing path. */
static char *report(const char *node, uint64_t timestamp, const char *const *maps)
{
        _cleanup_(multipath_health_report_freep) MultipathHealthReport *r = new0(MultipathHealthReport, 1);
        size_t n = 0;

        while (maps && maps[n])
                n++;
        *r = (MultipathHealthReport){
                .node = xstrdup(node),
                .timestamp = timestamp,
                .interval = 60,
                .apply_generation = 5,
                .apply_result = MULTIPATH_APPLY_OK,
                .multipathd = true,
                .maps = new0(MultipathMapHealth, MAX(n, 1U)),
                .n_maps = n,
        };
        for (size_t i = 0; i < n; i++) {
                MultipathMapHealth *m = &r->maps[i];
                unsigned active, total;
                char wwid[64];

                ck_assert_int_eq(sscanf(maps[i], "%63[^:]:%u/%u", wwid, &active, &total), 3);
                m->wwid = xstrdup(wwid);
                m->name = xstrdup(wwid);
                m->dm_state = xstrdup("active");
                m->paths_active = active;
                m->paths_total = total;
                for (unsigned p = active; p < total; p++) {
                        _cleanup_free_ char *dev = xasprintf("sd%c", 'a' + p);
                        strv_push(&m->failed_paths, dev);
                }
        }
        return multipath_health_report_format(r);
}

START_TEST(test_report_round_trip)
{
        _cleanup_(multipath_health_report_freep) MultipathHealthReport *a = NULL, *b = NULL, *e = NULL;
        _cleanup_free_ char *text = report("n1", 1234567, (const char *const[]){ "w2:2/2", "w1:1/3", NULL }),
                            *again = NULL, *third = NULL, *error = NULL;
        MultipathHealthReport failed = {
                .node = (char *) "n2",
                .timestamp = 1,
                .interval = 86400,
                .apply_generation = UINT64_C(1) << 40,
                .apply_result = MULTIPATH_APPLY_FAILED,
                .apply_error = (char *) "multipath rejected the configuration: \"quoted\"\nline",
                .multipathd = true,
                .error = (char *) "multipathd show maps json failed: timeout",
        };

        ck_assert_int_eq(multipath_health_report_parse(text, &a, &error), 0);
        ck_assert_str_eq(a->node, "n1");
        ck_assert_uint_eq(a->timestamp, 1234567);
        ck_assert_uint_eq(a->n_maps, 2);
        /* Sorted by WWID, whatever the order written. */
        ck_assert_str_eq(a->maps[0].wwid, "w1");
        ck_assert_uint_eq(a->maps[0].paths_active, 1);
        ck_assert_uint_eq(a->maps[0].paths_total, 3);
        ck_assert_str_eq(a->maps[0].failed_paths[1], "sdc");
        /* format → parse → format writes the same text. */
        again = multipath_health_report_format(a);
        ck_assert_int_eq(multipath_health_report_parse(again, &b, NULL), 0);
        third = multipath_health_report_format(b);
        ck_assert_str_eq(third, again);

        free(text);
        text = multipath_health_report_format(&failed);
        ck_assert_int_eq(multipath_health_report_parse(text, &e, &error), 0);
        ck_assert_str_eq(e->apply_error, failed.apply_error);
        ck_assert_str_eq(e->error, failed.error);
        ck_assert_uint_eq(e->apply_generation, failed.apply_generation);
        ck_assert_int_eq(e->apply_result, MULTIPATH_APPLY_FAILED);
        ck_assert_ptr_null(e->maps);
}
END_TEST

#define REPORT_HEAD "{\"node\": \"n\", \"timestamp\": 1, \"interval\": 60, \"multipathd\": true, "
#define APPLY_OK "\"apply\": {\"generation\": 1, \"result\": \"ok\"}"

static const struct {
        const char *text;
        const char *error;
} bad_reports[] = {
        { "{}", "'node' is missing" },
        { "null", "not a complete JSON object" },
        { "[1]", "not a JSON object" },
        { "{\"node\": \"n\", \"timestamp\": -1}", "'timestamp' is out of range" },
        { "{\"node\": \"n\", \"timestamp\": 1, \"interval\": 0, \"multipathd\": true}",
                "'interval' is out of range" },
        { "{\"node\": \"n\", \"timestamp\": 1, \"interval\": 86401}", "'interval' is out of range" },
        { "{\"node\": 1}", "'node' is not a string" },
        { REPORT_HEAD "\"maps\": []}", "'apply' is missing" },
        { REPORT_HEAD "\"apply\": {\"generation\": 1, \"result\": \"maybe\"}, \"maps\": []}",
                "unknown apply result 'maybe'" },
        { REPORT_HEAD "\"apply\": {\"generation\": 1, \"result\": \"failed\", \"error\": 3}, \"maps\": []}",
                "'error' is not a string" },
        { REPORT_HEAD APPLY_OK "}", "'maps' is missing" },
        { REPORT_HEAD APPLY_OK ", \"error\": []}", "'error' is not a string" },
        { REPORT_HEAD APPLY_OK ", \"maps\": [{}]}", "'wwid' is missing" },
        { REPORT_HEAD APPLY_OK ", \"maps\": [{\"wwid\": \"w\", \"name\": \"w\", \"dm-state\": \"active\", "
                               "\"paths-active\": 3, \"paths-total\": 2, \"failed-paths\": []}]}",
                "map 'w' has more active paths than paths" },
        { REPORT_HEAD APPLY_OK ", \"maps\": [{\"wwid\": \"w\", \"name\": \"w\", \"dm-state\": \"active\", "
                               "\"paths-active\": 1, \"paths-total\": 2, \"failed-paths\": [1]}]}",
                "map 'w': a failed path is not a string" },
        { REPORT_HEAD APPLY_OK ", \"maps\": [{\"wwid\": \"w\", \"name\": \"w\", \"dm-state\": \"active\", "
                               "\"paths-active\": 1, \"paths-total\": 4294967296, \"failed-paths\": []}]}",
                "'paths-total' is out of range" },
};

START_TEST(test_report_bad)
{
        _cleanup_free_ char *error = NULL;
        MultipathHealthReport *r = (MultipathHealthReport *) 0x1;

        ck_assert_int_eq(multipath_health_report_parse(bad_reports[_i].text, &r, &error), -EBADMSG);
        ck_assert_msg(startswith(error, bad_reports[_i].error), "%s", error);
        ck_assert_ptr_eq(r, (MultipathHealthReport *) 0x1);
}
END_TEST

#define NOW (UINT64_C(1700000000) * 1000000)
#define W1 "3600a098038303053453f463045727a56"
#define W2 "3600a098038303053453f463045727a57"
#define W3 "3600a098038303053453f463045727a58"

/* san is on a, b, c; vg1 on W1 only on a and b; W2 and W3 are used by no lvm storage. */
static const char storage_text[] = "multipath: san\n"
                                   "\tnodes a,b,c\n"
                                   "\n"
                                   "lvm: vg1\n"
                                   "\tvgname vg1\n"
                                   "\tbase san:" W1 "\n"
                                   "\tnodes a,b,d\n"
                                   "\n"
                                   "lvm: vg2\n"
                                   "\tvgname vg2\n"
                                   "\tbase san:" W3 "\n"
                                   "\tdisable 1\n"
                                   "\n"
                                   "dir: local\n"
                                   "\tpath /var/lib/vz\n"
                                   "\tnodes e\n";

static MultipathConfig *config_of(const char *const *wwids)
{
        MultipathConfig *c = multipath_config_new();

        for (const char *const *w = wwids; *w; w++)
                ck_assert_int_eq(multipath_config_add_wwid(c, *w, NULL), 0);
        return c;
}

static const char *cell(const MultipathHealthMatrix *m, const char *wwid, const char *node)
{
        for (size_t i = 0; i < m->n_cells; i++)
                if (streq(m->luns[m->cells[i].lun].wwid, wwid) && streq(m->nodes[m->cells[i].node].node, node))
                        return multipath_health_state_to_string(m->cells[i].state);
        return "-";
}

static const char *lun_state(const MultipathHealthMatrix *m, const char *wwid)
{
        for (size_t i = 0; i < m->n_luns; i++)
                if (streq(m->luns[i].wwid, wwid))
                        return multipath_health_state_to_string(m->luns[i].state);
        return NULL;
}

START_TEST(test_matrix)
{
        _cleanup_(multipath_config_freep)
                MultipathConfig *c = config_of((const char *const[]){ W1, W2, W3, NULL });
        _cleanup_(storage_config_freep) StorageConfig *storage = NULL;
        _cleanup_(multipath_health_matrix_freep) MultipathHealthMatrix *m = NULL;
        /* a: fresh; b: fresh, W1 degraded, W2 absent; c: none; d: 181 s old; f: malformed. */
        _cleanup_free_ char *a = report(
                                    "a", NOW - 1000000, (const char *const[]){ W1 ":2/2", W2 ":2/2", NULL }),
                            *b = report("b", NOW, (const char *const[]){ W1 ":1/2", NULL }),
                            *d = report("d", NOW - 181000000, (const char *const[]){ W1 ":2/2", NULL });
        const MultipathHealthInput inputs[] = {
                { "f", "{\"node\": " },
                { "d", d },
                { "b", b },
                { "a", a },
                { "g", NULL },
        };

        ck_assert_int_eq(storage_config_parse(storage_text, &storage, NULL), 0);
        m = multipath_health_matrix(c, storage, inputs, ELEMENTSOF(inputs), NOW);

        /* The nodes given and those storage.cfg names, sorted. */
        ck_assert_uint_eq(m->n_nodes, 7);
        const char *const names[] = { "a", "b", "c", "d", "e", "f", "g" };
        const MultipathReportState reports[] = { MULTIPATH_REPORT_OK, MULTIPATH_REPORT_OK,
                MULTIPATH_REPORT_NONE, MULTIPATH_REPORT_STALE, MULTIPATH_REPORT_NONE,
                MULTIPATH_REPORT_MALFORMED, MULTIPATH_REPORT_NONE };
        for (size_t i = 0; i < m->n_nodes; i++) {
                ck_assert_str_eq(m->nodes[i].node, names[i]);
                ck_assert_int_eq(m->nodes[i].report_state, reports[i]);
        }
        ck_assert_ptr_nonnull(m->nodes[5].problem);
        ck_assert_ptr_null(m->nodes[5].report);

        /*
         * W1: vg1 is on a, b, d but san only on a, b, c: expected on a and b; d's stale map is unknown.
         * W2: no lvm storage, so expected wherever san is: a, b, c. W3: its only lvm storage is disabled,
         * so san's nodes again. "-": no cell.
         */
        static const struct {
                const char *wwid, *node, *state;
        } cells[] = {
                { W1, "a", "ok" },
                { W1, "b", "degraded" },
                { W1, "c", "-" },
                { W1, "d", "unknown" },
                { W1, "f", "-" },
                { W2, "a", "ok" },
                { W2, "b", "missing" },
                { W2, "c", "missing" },
                { W2, "d", "-" },
                { W2, "e", "-" },
                { W3, "a", "missing" },
                { W3, "b", "missing" },
                { W3, "c", "missing" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cells); i++)
                ck_assert_msg(streq(cell(m, cells[i].wwid, cells[i].node), cells[i].state), "%s on %s: %s",
                        cells[i].wwid, cells[i].node, cell(m, cells[i].wwid, cells[i].node));
        ck_assert_str_eq(lun_state(m, W1), "degraded");
        ck_assert_str_eq(lun_state(m, W2), "degraded");
        ck_assert_str_eq(lun_state(m, W3), "missing");

        /* Cells carry the map only from fresh reports. */
        for (size_t i = 0; i < m->n_cells; i++)
                if (m->cells[i].state == MULTIPATH_HEALTH_UNKNOWN ||
                        m->cells[i].state == MULTIPATH_HEALTH_MISSING)
                        ck_assert_ptr_null(m->cells[i].map);
                else
                        ck_assert_ptr_nonnull(m->cells[i].map);
}
END_TEST

/* Roll-ups of one LUN over the cells of nodes n1..n3, all expected (san without node restrictions). */
static const struct {
        const char *maps[3]; /* "active/total" per node, "" when it reports no map, NULL when it has no report */
        bool stale[3];
        const char *lun;
} roll_ups[] = {
        { { "2/2", "2/2", "2/2" }, {}, "ok" },
        { { "2/2", "1/2", "2/2" }, {}, "degraded" },
        { { "2/2", "0/2", "2/2" }, {}, "degraded" },
        { { "2/2", "", "2/2" }, {}, "degraded" },
        { { "0/2", "", "0/2" }, {}, "failed" },
        { { "0/2", "0/2", "0/2" }, {}, "failed" },
        { { "", NULL, "" }, {}, "missing" },
        { { "2/2", "2/2", "2/2" }, { false, true, true }, "ok" },
        { { "1/2", "2/2", "2/2" }, { true, true, true }, "unknown" },
        { { "2/2", "", "2/2" }, { true, false, true }, "missing" },
};

START_TEST(test_roll_up)
{
        _cleanup_(multipath_config_freep) MultipathConfig *c = config_of((const char *const[]){ W1, NULL });
        _cleanup_(storage_config_freep) StorageConfig *storage = NULL;
        _cleanup_(multipath_health_matrix_freep) MultipathHealthMatrix *m = NULL;
        char *texts[3] = {};
        MultipathHealthInput inputs[3];

        ck_assert_int_eq(storage_config_parse("multipath: san\n", &storage, NULL), 0);
        for (size_t i = 0; i < 3; i++) {
                const char *map = roll_ups[_i].maps[i];
                _cleanup_free_ char *item = map && *map ? xasprintf(W1 ":%s", map) : NULL;
                const char *items[] = { item, NULL };
                char node[] = { 'n', (char) ('1' + i), 0 };

                if (map)
                        texts[i] = report(node, roll_ups[_i].stale[i] ? NOW - 200000000 : NOW, items);
                inputs[i] = (MultipathHealthInput){ .node = xstrdup(node), .report = texts[i] };
        }
        m = multipath_health_matrix(c, storage, inputs, 3, NOW);
        ck_assert_str_eq(lun_state(m, W1), roll_ups[_i].lun);
        for (size_t i = 0; i < 3; i++) {
                free((char *) inputs[i].node);
                free(texts[i]);
        }
}
END_TEST

START_TEST(test_matrix_without_storage)
{
        _cleanup_(multipath_config_freep)
                MultipathConfig *c = config_of((const char *const[]){ W1, W2, NULL });
        _cleanup_(multipath_health_matrix_freep) MultipathHealthMatrix *m = NULL;
        _cleanup_free_ char *a = report(
                "a", NOW, (const char *const[]){ W1 ":2/2", "not-allow-listed:1/1", NULL });
        const MultipathHealthInput inputs[] = { { "a", a }, { "b", NULL } };

        /* Nobody is expected to carry anything: only reported maps make cells, only allow-listed LUNs rows. */
        m = multipath_health_matrix(c, NULL, inputs, ELEMENTSOF(inputs), NOW);
        ck_assert_uint_eq(m->n_luns, 2);
        ck_assert_uint_eq(m->n_cells, 1);
        ck_assert_str_eq(cell(m, W1, "a"), "ok");
        ck_assert_str_eq(lun_state(m, W1), "ok");
        ck_assert_str_eq(lun_state(m, W2), "unknown");
}
END_TEST

START_TEST(test_multipathd_error_is_unknown)
{
        _cleanup_(multipath_config_freep) MultipathConfig *c = config_of((const char *const[]){ W1, NULL });
        _cleanup_(storage_config_freep) StorageConfig *storage = NULL;
        _cleanup_(multipath_health_matrix_freep) MultipathHealthMatrix *m = NULL;
        MultipathHealthReport r = {
                .node = (char *) "a",
                .timestamp = NOW,
                .interval = 60,
                .apply_result = MULTIPATH_APPLY_OK,
                .multipathd = true,
                .error = (char *) "multipathd show maps json failed with exit status 1",
        };
        _cleanup_free_ char *text = multipath_health_report_format(&r);
        const MultipathHealthInput inputs[] = { { "a", text } };

        ck_assert_int_eq(storage_config_parse("multipath: san\n", &storage, NULL), 0);
        m = multipath_health_matrix(c, storage, inputs, 1, NOW);
        ck_assert_str_eq(cell(m, W1, "a"), "unknown");
        ck_assert_str_eq(m->nodes[0].problem, r.error);
        ck_assert_int_eq(m->nodes[0].report_state, MULTIPATH_REPORT_OK);
}
END_TEST

START_TEST(test_consumers)
{
        _cleanup_(storage_config_freep) StorageConfig *storage = NULL;
        _cleanup_strv_free_ char **w1 = NULL, **w2 = NULL, **w3 = NULL;

        ck_assert_int_eq(storage_config_parse(storage_text, &storage, NULL), 0);
        w1 = multipath_wwid_consumers(storage, W1);
        w2 = multipath_wwid_consumers(storage, W2);
        w3 = multipath_wwid_consumers(storage, W3);
        ck_assert_uint_eq(strv_length(w1), 1);
        ck_assert_str_eq(w1[0], "vg1");
        ck_assert_ptr_null(w2);
        /* Disabled, it still sits on the LUN. */
        ck_assert_str_eq(w3[0], "vg2");
        ck_assert_ptr_null(multipath_wwid_consumers(NULL, W1));
}
END_TEST

START_TEST(test_consumers_need_multipath_base)
{
        _cleanup_(storage_config_freep) StorageConfig *storage = NULL;

        ck_assert_int_eq(storage_config_parse("dir: san\n\tpath /san\n\n"
                                              "lvm: vg1\n\tvgname vg1\n\tbase san:" W1 "\n\n"
                                              "lvm: vg2\n\tvgname vg2\n\tbase gone:" W1 "\n",
                                 &storage, NULL),
                0);
        ck_assert_ptr_null(multipath_wwid_consumers(storage, W1));
}
END_TEST

static const struct {
        const char *name;
        const char *msg; /* entries separated by '|', which stands for NUL */
        bool matches;
} uevents[] = {
        { "dm path failed", "change@/devices/virtual/block/dm-0|ACTION=change|SUBSYSTEM=block|DM_ACTION=PATH_FAILED|DM_NAME=db1",
                true },
        { "path added", "add@/devices/x/block/sdb|ACTION=add|SUBSYSTEM=block|DEVNAME=sdb", true },
        { "network", "add@/devices/virtual/net/tap0|ACTION=add|SUBSYSTEM=net", false },
        { "subsystem prefix only", "add@/x|SUBSYSTEM=blocks", false },
        { "truncated key", "add@/x|SUBSYSTEM=bloc", false },
        { "no header", "SUBSYSTEM=block", false },
        { "header without @", "libudev|SUBSYSTEM=block", false },
        { "empty", "", false },
};

START_TEST(test_block_uevent)
{
        _cleanup_free_ char *msg = xstrdup(uevents[_i].msg);
        size_t n = strlen(msg);

        for (char *p = msg; *p; p++)
                if (*p == '|')
                        *p = 0;
        ck_assert_msg(block_uevent_matches(msg, n) == uevents[_i].matches, "%s", uevents[_i].name);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("multipath-health");
        TCase *multipathd = tcase_create("multipathd");
        TCase *reports = tcase_create("reports");
        TCase *matrix = tcase_create("matrix");

        tcase_add_loop_test(multipathd, test_multipathd_golden, 0, ELEMENTSOF(samples));
        tcase_add_loop_test(multipathd, test_multipathd_bad, 0, ELEMENTSOF(bad_multipathd));
        tcase_add_loop_test(multipathd, test_map_state, 0, ELEMENTSOF(map_states));
        tcase_add_loop_test(multipathd, test_block_uevent, 0, ELEMENTSOF(uevents));
        suite_add_tcase(s, multipathd);

        tcase_add_test(reports, test_report_round_trip);
        tcase_add_loop_test(reports, test_report_bad, 0, ELEMENTSOF(bad_reports));
        suite_add_tcase(s, reports);

        tcase_add_test(matrix, test_matrix);
        tcase_add_loop_test(matrix, test_roll_up, 0, ELEMENTSOF(roll_ups));
        tcase_add_test(matrix, test_matrix_without_storage);
        tcase_add_test(matrix, test_multipathd_error_is_unknown);
        tcase_add_test(matrix, test_consumers);
        tcase_add_test(matrix, test_consumers_need_multipath_base);
        suite_add_tcase(s, matrix);

        return run_suite(s);
}
