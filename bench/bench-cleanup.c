/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One sample of cleanupd's latency, for bench/cleanup-latency.sh: from the
 * moment a guest's QEMU exits (its pidfd turns readable) to the moment the
 * CleanupFinished signal of that run arrives; and, as the baseline, one
 * fork+exec of /bin/true to its exit, the way a hook is run, timed right after
 * the signal so that it meets the same load as the cleanup did.
 *
 * Usage: bench-cleanup VMID RUN-ID PID (BERTH_BUS_ADDRESS set). Prints
 * "ready" once it listens and watches the process; the caller then ends the
 * run however it likes. Prints "<exit to signal ns> <fork+exec ns>" at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "alloc.h"
#include "bench.h"
#include "bus.h"
#include "spawn.h"

#define WAIT_MSEC (60 * 1000)

typedef struct Sample {
        uint32_t vmid;
        const char *run_id;
        int pidfd;
        uint64_t exited;
        uint64_t finished;
        char *result;
} Sample;

static _noreturn_ void die(const char *what, int r)
{
        fprintf(stderr, "bench-cleanup: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(1);
}

/* The exit is taken when the pidfd is seen readable; a poll that returns for both fds sees it first. */
static void check_exited(Sample *s)
{
        struct pollfd p = { .fd = s->pidfd, .events = POLLIN };

        if (s->exited == 0 && poll(&p, 1, 0) > 0)
                s->exited = now_ns();
}

static int on_cleanup_finished(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Sample *s = userdata;
        uint64_t t = now_ns();
        const char *run_id, *result;
        uint32_t vmid;
        int r;

        r = sd_bus_message_read(m, "uss", &vmid, &run_id, &result);
        if (r < 0)
                die("CleanupFinished", r);
        if (vmid != s->vmid || !streq(run_id, s->run_id))
                return 0;
        /* The signal was already queued when the pidfd was last polled: the exit is no later than now. */
        check_exited(s);
        if (s->exited == 0)
                die("CleanupFinished before QEMU exited", EPROTO);
        s->finished = t;
        s->result = xstrdup(result);
        return 0;
}

static uint64_t time_true(void)
{
        char *argv[] = { (char *) "/bin/true", NULL };
        uint64_t start = now_ns();
        int r;

        r = spawn_and_wait(argv, &(SpawnOptions){});
        if (r != 0)
                die("/bin/true", r < 0 ? r : EIO);
        return now_ns() - start;
}

int main(int argc, char *argv[])
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        Sample s = { .pidfd = -1 };
        uint64_t baseline;
        int r;

        if (argc != 4) {
                fprintf(stderr, "usage: bench-cleanup VMID RUN-ID PID\n");
                return 2;
        }
        s.vmid = (uint32_t) strtoul(argv[1], NULL, 10);
        s.run_id = argv[2];
        r = bus_open(NULL, &bus);
        if (r < 0)
                die("bus", r);
        r = sd_bus_match_signal(bus, &slot, "org.berth.cleanup1", "/org/berth/cleanup1",
                "org.berth.cleanup1.Manager", "CleanupFinished", on_cleanup_finished, &s);
        if (r < 0)
                die("match", r);
        s.pidfd = pidfd_open((pid_t) atoi(argv[3]), 0);
        if (s.pidfd < 0)
                die("pidfd_open", -errno);
        puts("ready");
        fflush(stdout);

        while (s.finished == 0) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        die("bus", r);
                if (r > 0)
                        continue;
                struct pollfd p[] = {
                        { .fd = sd_bus_get_fd(bus), .events = (short) sd_bus_get_events(bus) },
                        { .fd = s.exited ? -1 : s.pidfd, .events = POLLIN },
                };
                r = poll(p, ELEMENTSOF(p), WAIT_MSEC);
                if (r < 0)
                        die("poll", -errno);
                if (r == 0)
                        die(s.exited ? "waiting for CleanupFinished" : "waiting for QEMU to exit", ETIMEDOUT);
                if (p[1].revents)
                        s.exited = now_ns();
        }
        baseline = time_true();
        if (!streq(s.result, "ok"))
                fprintf(stderr, "bench-cleanup: run %s of guest %u cleaned with result %s\n", s.run_id,
                        s.vmid, s.result);
        printf("%" PRIu64 " %" PRIu64 "\n", s.finished - s.exited, baseline);
        free(s.result);
        close(s.pidfd);
        return 0;
}
