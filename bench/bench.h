/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"

/* Timing helpers of the benchmarks: a monotonic clock in ns and the median of a run's samples. */

static inline uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static inline int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* Sorts v. */
static inline uint64_t median(uint64_t *v, size_t n)
{
        qsort(v, n, sizeof *v, cmp_u64);
        return v[n / 2];
}

static inline void bench_die(const char *what, int r)
{
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(r < 0 ? -r : r));
        exit(1);
}

/* The median round trip of n calls of member (arguments as sig says), in ns; exits on a failed call. */
static inline uint64_t bench_time_calls(sd_bus *bus, size_t n, const char *dest, const char *path,
        const char *iface, const char *member, const char *sig, ...)
{
        _cleanup_free_ uint64_t *t = new0(uint64_t, n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
                sd_bus_error e = SD_BUS_ERROR_NULL;
                int r = sd_bus_message_new_method_call(bus, &m, dest, path, iface, member);
                if (r < 0)
                        bench_die(member, r);
                if (sig) {
                        va_list ap;
                        va_start(ap, sig);
                        r = sd_bus_message_appendv(m, sig, ap);
                        va_end(ap);
                        if (r < 0)
                                bench_die(member, r);
                }
                uint64_t start = now_ns();
                r = sd_bus_call(bus, m, 0, &e, &reply);
                t[i] = now_ns() - start;
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", member, e.message);
                        exit(1);
                }
                sd_bus_error_free(&e);
        }
        return median(t, n);
}
