/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * multipathd-sync figures, each against a baseline measured in the same run:
 *   - render + multipath -t of a 10,000-WWID configuration (aliases, knobs)
 *     vs multipath -t of the defaults-only drop-in;
 *   - a configuration write on node A (AddWwid over A's bus) until node B
 *     signals Applied vs a plain store put of the same multipath.cfg.
 * Usage: bench-multipath VALIDATE-HELPER BUS-A BUS-B STORE-URL
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "bench.h"
#include "bus.h"
#include "multipath-config.h"
#include "multipath-render.h"
#include "multipath-validate.h"
#include "store.h"

#define WWIDS 10000
#define VALIDATE_RUNS 5
#define APPLY_RUNS 20

static double median_ms(uint64_t *v, size_t n)
{
        return (double) median(v, n) / 1e6;
}

static void die(const char *what, int r)
{
        fprintf(stderr, "bench-multipath: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(1);
}

/* Median time of rendering (when c is given) and checking a configuration with multipath -t. */
static double time_validate(
        const char *helper, const MultipathConfig *c, const char *config, double *ret_render_ms)
{
        uint64_t total[VALIDATE_RUNS], render[VALIDATE_RUNS];

        for (size_t i = 0; i < VALIDATE_RUNS; i++) {
                _cleanup_free_ char *rendered = NULL, *error = NULL;
                uint64_t start = now_ns();
                int r;

                rendered = c ? multipath_render_config(c) : xstrdup(config);
                render[i] = now_ns() - start;
                r = multipath_validate(helper, rendered, NULL, &error);
                total[i] = now_ns() - start;
                if (r < 0) {
                        fprintf(stderr, "bench-multipath: multipath -t: %s\n", strempty(error));
                        exit(1);
                }
        }
        if (ret_render_ms)
                *ret_render_ms = median_ms(render, VALIDATE_RUNS);
        return median_ms(total, VALIDATE_RUNS);
}

static void bench_validate(const char *helper)
{
        _cleanup_(multipath_config_freep) MultipathConfig *empty = multipath_config_new(), *c = NULL;
        _cleanup_free_ char *text = NULL, *baseline = NULL, *error = NULL;
        double render_ms, big_ms, base_ms;
        size_t size;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                die("open_memstream", errno);
        fputs("defaults: defaults\n\tno-path-retry 12\n", f);
        for (unsigned i = 0; i < WWIDS; i++)
                fprintf(f, "\nwwid: 3600a098038303053453f4630%08x\n\talias lun%05u\n%s", i, i,
                        i % 10 == 0 ? "\tfailback immediate\n" : "");
        if (fclose(f) != 0)
                die("fclose", errno);
        if (multipath_config_parse(text, &c, &error) < 0) {
                fprintf(stderr, "bench-multipath: %s\n", error);
                exit(1);
        }
        baseline = multipath_render_config(empty);
        base_ms = time_validate(helper, NULL, baseline, NULL);
        big_ms = time_validate(helper, c, NULL, &render_ms);
        printf("render + multipath -t, %u WWIDs:      %8.1f ms (render %.1f ms)\n", WWIDS, big_ms, render_ms);
        printf("baseline multipath -t, defaults only:  %8.1f ms\n", base_ms);
        printf("ratio:                                 %8.1fx\n\n", big_ms / base_ms);
}

static int on_applied(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        uint64_t *generation = userdata;
        int ok;
        const char *message;

        if (sd_bus_message_read(m, "tbs", generation, &ok, &message) < 0 || !ok) {
                fprintf(stderr, "bench-multipath: node B failed to apply: %s\n", strempty(message));
                exit(1);
        }
        return 0;
}

static void bench_apply(const char *bus_a, const char *bus_b, const char *store_url)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *a = NULL, *b = NULL;
        _cleanup_(store_freep) Store *store = NULL;
        uint64_t applied[APPLY_RUNS], put[APPLY_RUNS], generation = 0;
        struct event_base *base = event_base_new();
        int r;

        if (bus_open(bus_a, &a) < 0 || bus_open(bus_b, &b) < 0)
                die("connect", EIO);
        r = store_open(store_url, base, &store);
        if (r < 0)
                die("open the store", r);
        r = sd_bus_match_signal(b, NULL, "org.berth.multipath1", "/org/berth/multipath1",
                "org.berth.multipath1.Manager", "Applied", on_applied, &generation);
        if (r < 0)
                die("match Applied", r);

        for (size_t i = 0; i < APPLY_RUNS; i++) {
                _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *wwid = xasprintf("3600a0980383030bench%04zu", i), *text = NULL;
                uint64_t revision, start;

                start = now_ns();
                r = sd_bus_call_method(a, "org.berth.multipath1", "/org/berth/multipath1",
                        "org.berth.multipath1.Manager", "AddWwid", &error, NULL, "sa{sv}", wwid, 0);
                if (r < 0) {
                        fprintf(stderr, "bench-multipath: AddWwid: %s\n", error.message);
                        exit(1);
                }
                r = store_get(store, "multipath.cfg", &text, NULL, &revision);
                if (r < 0)
                        die("read multipath.cfg", r);
                /* Node B applied this write once it signals its revision or a later one. */
                while (generation < revision) {
                        r = sd_bus_process(b, NULL);
                        if (r < 0)
                                die("process the bus", r);
                        if (r == 0 && sd_bus_wait(b, UINT64_MAX) < 0)
                                die("wait on the bus", r);
                }
                applied[i] = now_ns() - start;

                start = now_ns();
                r = store_put(store, "bench-multipath.cfg", text, strlen(text), STORE_REVISION_ANY, NULL);
                put[i] = now_ns() - start;
                if (r < 0)
                        die("store put", r);
        }
        store = store_free(store);
        event_base_free(base);

        double applied_ms = median_ms(applied, APPLY_RUNS), put_ms = median_ms(put, APPLY_RUNS);
        printf("write on node A -> Applied on node B:  %8.2f ms (median of %d)\n", applied_ms, APPLY_RUNS);
        printf("baseline plain store put:              %8.2f ms\n", put_ms);
        printf("ratio:                                 %8.1fx\n", applied_ms / put_ms);
}

int main(int argc, char *argv[])
{
        if (argc != 5) {
                fprintf(stderr, "usage: bench-multipath VALIDATE-HELPER BUS-A BUS-B STORE-URL\n");
                return 1;
        }
        bench_validate(argv[1]);
        bench_apply(argv[2], argv[3], argv[4]);
        return 0;
}
