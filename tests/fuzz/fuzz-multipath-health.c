/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "multipath-health.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A report that parses formats to a text that parses and formats to itself. */
static void check_report_round_trip(const MultipathHealthReport *r)
{
        _cleanup_(multipath_health_report_freep) MultipathHealthReport *again = NULL;
        _cleanup_free_ char *first = multipath_health_report_format(r), *second = NULL;

        if (multipath_health_report_parse(first, &again, NULL) < 0)
                abort();
        second = multipath_health_report_format(again);
        if (!streq(first, second))
                abort();
}

/*
 * The bytes as multipathd's answer and as a node's report: each parses or is
 * refused with a message; whatever parses survives a round trip through the
 * report format and feeds the matrix, whose every cell names a LUN and a node.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(multipath_health_report_freep) MultipathHealthReport *r = NULL;
        _cleanup_(multipath_health_matrix_freep) MultipathHealthMatrix *m = NULL;
        _cleanup_(multipath_config_freep) MultipathConfig *c = multipath_config_new();
        _cleanup_(storage_config_freep) StorageConfig *storage = NULL;
        _cleanup_free_ char *text = xmalloc(size + 1), *error = NULL;
        MultipathMapHealth *maps = NULL;
        size_t n = 0;

        memcpy(text, data, size);
        text[size] = 0;

        if (multipath_health_parse_maps(text, &maps, &n, &error) == 0) {
                MultipathHealthReport own = { .node = (char *) "n", .interval = 60, .maps = maps, .n_maps = n };
                check_report_round_trip(&own);
                multipath_maps_free(maps, n);
        } else if (isempty(error))
                abort();
        free(error);
        error = NULL;

        if (multipath_health_report_parse(text, &r, &error) < 0) {
                if (isempty(error))
                        abort();
                return 0;
        }
        check_report_round_trip(r);
        for (size_t i = 0; i < r->n_maps; i++)
                (void) multipath_config_add_wwid(c, r->maps[i].wwid, NULL);
        if (storage_config_parse("multipath: san\n\tnodes a,n\n", &storage, NULL) < 0)
                abort();
        m = multipath_health_matrix(
                c, storage, &(MultipathHealthInput){ .node = r->node, .report = text }, 1, r->timestamp);
        for (size_t i = 0; i < m->n_cells; i++)
                if (m->cells[i].lun >= m->n_luns || m->cells[i].node >= m->n_nodes)
                        abort();
        return 0;
}
