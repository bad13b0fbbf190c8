/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store's latency through berth's client: N gets, N puts (compare-and-swap,
 * as daemons write) and N watch propagations (a put through one Store until the
 * watch handler of another Store, on its own connection, sees it). Prints one
 * line per measure: "<name> <median ns> <p99 ns>". Usage: bench-store URL N
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "bench.h"
#include "store.h"

static struct event_base *base;
static uint64_t seen_at;
static uint64_t waiting_for;

static void on_event(Store *s, StoreEventType type, const char *key, uint64_t revision, void *userdata)
{
        if (revision >= waiting_for && seen_at == 0)
                seen_at = now_ns();
}

static int fail(const char *what)
{
        fprintf(stderr, "bench-store: a %s failed\n", what);
        return 1;
}

static void report(const char *name, uint64_t *v, size_t n)
{
        uint64_t med = median(v, n);
        printf("%s %llu %llu\n", name, (unsigned long long) med, (unsigned long long) v[n * 99 / 100]);
}

int main(int argc, char *argv[])
{
        Store *a = NULL, *b = NULL;
        StoreWatch *w = NULL;
        size_t n;
        uint64_t rev = 0, *samples;

        if (argc != 3 || (n = strtoul(argv[2], NULL, 10)) < 1) {
                fprintf(stderr, "usage: bench-store URL N\n");
                return 2;
        }
        base = event_base_new();
        if (!base || store_open(argv[1], base, &a) < 0 || store_open(argv[1], base, &b) < 0 ||
                store_put(a, "bench/key", "v", 1, STORE_REVISION_ANY, &rev) < 0) {
                fprintf(stderr, "bench-store: cannot use the store at %s\n", argv[1]);
                return 1;
        }
        samples = new0(uint64_t, n);

        for (size_t i = 0; i < n; i++) {
                uint64_t t0 = now_ns();
                if (store_get(a, "bench/key", NULL, NULL, NULL) < 0)
                        return fail("get");
                samples[i] = now_ns() - t0;
        }
        report("get", samples, n);

        for (size_t i = 0; i < n; i++) {
                uint64_t t0 = now_ns();
                if (store_put(a, "bench/key", "v", 1, rev, &rev) < 0)
                        return fail("put");
                samples[i] = now_ns() - t0;
        }
        report("put-cas", samples, n);

        if (store_watch(b, "bench/", on_event, NULL, &w) < 0)
                return fail("watch");
        for (size_t i = 0; i < n; i++) {
                uint64_t t0 = now_ns();

                seen_at = 0;
                if (store_put(a, "bench/key", "v", 1, STORE_REVISION_ANY, &waiting_for) < 0)
                        return fail("put");
                while (seen_at == 0)
                        if (event_base_loop(base, EVLOOP_ONCE) < 0)
                                return fail("loop");
                samples[i] = seen_at - t0;
        }
        report("watch", samples, n);

        store_watch_free(w);
        store_free(a);
        store_free(b);
        event_base_free(base);
        free(samples);
        return 0;
}
