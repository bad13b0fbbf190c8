/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * guestd figures, each against a baseline measured in the same run:
 *   - Guest property read round trip vs the bus daemon's own GetId round trip;
 *   - ListGuests with 1000 guests, same baseline;
 *   - StartGuest → running for a firmware-only guest vs bare QEMU started by
 *     hand to the point where QMP reports it running;
 *   - idle RSS of berth-guestd vs the dbus-daemon's.
 * Usage: bench-guestd GUESTD-PID DBUS-PID (BERTH_BUS_ADDRESS set).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "bench.h"
#include "bus.h"

#define GUESTS 1000
#define FIRST_VMID 10000U

static void call(sd_bus *bus, const char *member, sd_bus_message **reply, const char *sig, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(
                bus, &m, "org.berth.guest1", "/org/berth/guest1", "org.berth.guest1.Manager", member);
        if (r < 0)
                bench_die(member, r);
        va_start(ap, sig);
        r = sd_bus_message_appendv(m, sig, ap);
        va_end(ap);
        if (r < 0)
                bench_die(member, r);
        r = sd_bus_call(bus, m, 0, &e, reply);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", member, e.message);
                exit(1);
        }
}

/* Starts a guest and returns how long until its task finished. */
static uint64_t time_start(sd_bus *bus, uint32_t vmid)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *state = NULL;
        const char *task;
        uint64_t start = now_ns();
        int r;

        call(bus, "StartGuest", &reply, "ua{sv}", vmid, 0);
        r = sd_bus_message_read(reply, "o", &task);
        if (r < 0)
                bench_die("StartGuest reply", r);
        for (;;) {
                r = sd_bus_get_property_string(
                        bus, "org.berth.guest1", task, "org.berth.Task1", "State", NULL, &state);
                if (r < 0)
                        bench_die("task state", r);
                if (!streq(state, "running"))
                        break;
                free(state);
                state = NULL;
                usleep(200);
        }
        uint64_t took = now_ns() - start;
        if (!streq(state, "ok")) {
                fprintf(stderr, "start of %u ended %s\n", vmid, state);
                exit(1);
        }
        return took;
}

static void stop(sd_bus *bus, uint32_t vmid)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *state = NULL;
        char path[64];

        call(bus, "StopGuest", &reply, "ua{sv}", vmid, 0);
        snprintf(path, sizeof path, "/org/berth/guest1/guest/%u", vmid);
        do {
                free(state);
                state = NULL;
                usleep(1000);
                (void) sd_bus_get_property_string(
                        bus, "org.berth.guest1", path, "org.berth.guest1.Guest", "State", NULL, &state);
        } while (!streq_ptr(state, "stopped"));
}

static int qmp_roundtrip(int fd, const char *cmd, char *buf, size_t size)
{
        size_t got = 0;
        if (cmd && write(fd, cmd, strlen(cmd)) < 0)
                return -errno;
        for (;;) {
                ssize_t n = read(fd, buf + got, size - got - 1);
                if (n <= 0)
                        return -EIO;
                got += (size_t) n;
                buf[got] = 0;
                if (strchr(buf, '\n'))
                        return 0;
        }
}

/* Bare QEMU: spawn, connect QMP, see it running. The same machine as the firmware guest. */
static uint64_t time_bare_qemu(const char *dir)
{
        char sock[256], buf[8192], qmparg[300];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint64_t start = now_ns();
        int fd;
        pid_t pid;

        snprintf(sock, sizeof sock, "%s/bare.sock", dir);
        snprintf(qmparg, sizeof qmparg, "unix:%s,server=on,wait=off", sock);
        unlink(sock);
        pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                dup2(null, 1);
                dup2(null, 2);
                execl(QEMU_SYSTEM_X86_64, QEMU_SYSTEM_X86_64, "-machine", "q35,accel=tcg", "-m", "64",
                        "-nodefaults", "-no-user-config", "-display", "none", "-qmp", qmparg, NULL);
                _exit(127);
        }
        strcpy(sa.sun_path, sock);
        for (;;) {
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0)
                        break;
                close(fd);
                usleep(200);
        }
        if (qmp_roundtrip(fd, NULL, buf, sizeof buf) < 0 ||
                qmp_roundtrip(fd, "{\"execute\":\"qmp_capabilities\"}\n", buf, sizeof buf) < 0 ||
                qmp_roundtrip(fd, "{\"execute\":\"query-status\"}\n", buf, sizeof buf) < 0 ||
                !strstr(buf, "\"running\""))
                bench_die("bare QEMU", EIO);
        uint64_t took = now_ns() - start;
        close(fd);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        unlink(sock);
        return took;
}

static long rss_kib(const char *pid)
{
        char path[64], line[256];
        long kib = -1;
        snprintf(path, sizeof path, "/proc/%s/status", pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

int main(int argc, char *argv[])
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        char dir[] = "/tmp/berth-bench-XXXXXX";
        uint64_t starts[9], bare[9];
        int r;

        if (argc != 3) {
                fprintf(stderr, "usage: bench-guestd GUESTD-PID DBUS-PID\n");
                return 2;
        }
        r = bus_open(NULL, &bus);
        if (r < 0)
                bench_die("bus", r);
        if (!mkdtemp(dir))
                bench_die("mkdtemp", errno);

        long rss = rss_kib(argv[1]), rss_bus = rss_kib(argv[2]);
        printf("idle RSS: berth-guestd %ld KiB, dbus-daemon %ld KiB (ratio %.2f)\n", rss, rss_bus,
                (double) rss / (double) rss_bus);

        call(bus, "CreateGuest", NULL, "usa{sv}", FIRST_VMID, "name: bench\nmemory: 64\naccel: tcg\n", 0);
        uint64_t ping = bench_time_calls(bus, 2000, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                "org.freedesktop.DBus", "GetId", NULL);
        uint64_t get = bench_time_calls(bus, 2000, "org.berth.guest1", "/org/berth/guest1/guest/10000",
                "org.freedesktop.DBus.Properties", "Get", "ss", "org.berth.guest1.Guest", "State");
        printf("property read: median %.1f µs; bus daemon GetId %.1f µs (ratio %.2f)\n", get / 1e3,
                ping / 1e3, (double) get / (double) ping);

        for (uint32_t v = FIRST_VMID + 1; v < FIRST_VMID + GUESTS; v++)
                call(bus, "CreateGuest", NULL, "usa{sv}", v, "memory: 64\naccel: tcg\n", 0);
        uint64_t list = bench_time_calls(bus, 200, "org.berth.guest1", "/org/berth/guest1",
                "org.berth.guest1.Manager", "ListGuests", NULL);
        printf("ListGuests(%d): median %.2f ms (ratio to GetId %.1f)\n", GUESTS, list / 1e6,
                (double) list / (double) ping);

        for (size_t i = 0; i < ELEMENTSOF(starts); i++) {
                bare[i] = time_bare_qemu(dir);
                starts[i] = time_start(bus, FIRST_VMID);
                stop(bus, FIRST_VMID);
        }
        uint64_t s = median(starts, ELEMENTSOF(starts)), b = median(bare, ELEMENTSOF(bare));
        printf("start to running (firmware guest): median %.1f ms; bare QEMU %.1f ms; overhead %.1f ms "
               "(ratio %.2f)\n",
                s / 1e6, b / 1e6, ((double) s - (double) b) / 1e6, (double) s / (double) b);
        rmdir(dir);
        return 0;
}
