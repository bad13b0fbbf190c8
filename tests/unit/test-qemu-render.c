/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "check-main.h"
#include "fileio.h"
#include "golden.h"
#include "paths.h"
#include "qemu-render.h"
#include "spawn.h"

/*
 * Golden files: tests/golden/qemu/<case>.conf is the guest config,
 * <case>.argv the expected command line, one argument per line, rendered with
 * a fixed context. BERTH_UPDATE_GOLDEN=1 rewrites the .argv files instead.
 */
typedef struct Case {
        const char *name;
        uint32_t vmid;
        const char *default_accel;
        int qmp_fd;
        int incoming_fd;
} Case;

static const Case cases[] = {
        { "minimal", 100, "tcg", -1, -1 },
        { "kernel-boot", 101, "tcg", -1, -1 },
        { "disks", 102, "tcg", -1, -1 },
        { "nets-user", 103, "tcg", -1, -1 },
        { "nets-bridge", 104, "tcg", -1, -1 },
        { "machine-pc", 105, "tcg", -1, -1 },
        { "accel-kvm-default", 106, "kvm", -1, -1 },
        { "accel-config", 107, "kvm", -1, -1 },
        { "incoming", 108, "tcg", 4, 5 },
        { "microvm", 109, "tcg", -1, -1 },
        { "cpu-kvm64", 110, "kvm", -1, -1 },
        { "cpu-kvm64-tcg", 111, "kvm", -1, -1 },
        { "cpu-qemu64", 112, "kvm", -1, -1 },
        { "cpu-x86-64-v2", 113, "tcg", -1, -1 },
        { "cpu-x86-64-v3", 114, "kvm", -1, -1 },
        { "cpu-x86-64-v3-tcg", 115, "tcg", -1, -1 },
        { "cpu-x86-64-v4", 116, "kvm", -1, -1 },
        { "cpu-x86-64-v4-tcg", 117, "tcg", -1, -1 },
        { "cpu-host", 118, "kvm", -1, -1 },
        { "cpu-host-hidden", 119, "kvm", -1, -1 },
        { "cpu-max", 120, "kvm", -1, -1 },
        { "cpu-max-tcg", 121, "tcg", -1, -1 },
        { "cpu-flags", 122, "kvm", -1, -1 },
        { "cpu-flags-all-tcg", 123, "tcg", -1, -1 },
        { "cpu-hidden", 124, "kvm", -1, -1 },
        { "cpu-hidden-tcg", 125, "tcg", -1, -1 },
};

static GuestConfig *load_case(const Case *t)
{
        _cleanup_free_ char *path = golden_path("qemu", t->name, "conf"), *text = NULL, *error = NULL;
        GuestConfig *c = NULL;

        ck_assert_int_eq(read_full_file(path, &text, NULL), 0);
        ck_assert_msg(guest_config_parse(text, &c, &error) == 0, "%s: %s", path, error);
        return c;
}

static char *join_lines(char *const *argv)
{
        char *text = xstrdup("");

        STRV_FOREACH (a, argv) {
                char *t = xasprintf("%s%s\n", text, *a);
                free(text);
                text = t;
        }
        return text;
}

START_TEST(test_golden)
{
        const Case *t = &cases[_i];
        _cleanup_(guest_config_freep) GuestConfig *c = load_case(t);
        _cleanup_(storage_config_freep) StorageConfig *storage = storage_config_default();
        _cleanup_free_ char *run = xasprintf("/run/berth/qemu/%" PRIu32, t->vmid), *error = NULL, *text = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        QemuRenderContext ctx = {
                .qemu_binary = "/usr/bin/qemu-system-x86_64",
                .vmid = t->vmid,
                .run_dir = run,
                .default_accel = t->default_accel,
                .storage = storage,
                .qmp_fd = t->qmp_fd,
                .incoming_fd = t->incoming_fd,
                .events_socket = "/run/berth/events.sock",
        };

        ck_assert_int_eq(paths_set_root("/"), 0);
        ck_assert_msg(qemu_render_argv(c, &ctx, &argv, &error) == 0, "%s: %s", t->name, error);
        text = join_lines(argv);
        golden_check("qemu", t->name, "argv", text);
}
END_TEST

static const char error_storage[] = "dir: local\n"
                                    "\tpath /var/lib/berth/images\n"
                                    "\n"
                                    "dir: off\n"
                                    "\tpath /srv/off\n"
                                    "\tdisable 1\n";

static const struct {
        const char *config;
        const char *default_accel;
        const char *error;
} render_errors[] = {
        { "disk0: nosuch:100/vm-100-disk-0.raw\n", "tcg", "disk0: unknown storage 'nosuch'" },
        { "disk1: off:100/vm-100-disk-0.raw\n", "tcg", "disk1: storage 'off' is disabled" },
        { "disk0: local:100/sub/x.raw\n", "tcg", "disk0: invalid volume '100/sub/x.raw' on storage 'local'" },
        { "disk2: local:x.raw\n", "tcg", "disk2: invalid volume 'x.raw' on storage 'local'" },
        { "initrd: /boot/initrd.img\n", "tcg", "initrd needs a kernel" },
        { "append: console=ttyS0\n", "tcg", "append needs a kernel" },
        { "machine: microvm\nnet0: model=e1000\n", "tcg",
                "net0: model 'e1000' is not available on this machine type" },
        { "machine: microvm\nnet1: model=rtl8139\n", "tcg",
                "net1: model 'rtl8139' is not available on this machine type" },
        { "memory: 256\n", NULL, "no accelerator configured and no host default" },
        { "cpu: host\n", "tcg", "cpu model 'host' passes the host's CPU through, which needs accel=kvm" },
        { "cpu: cputype=host,hidden=1\naccel: tcg\n", "kvm",
                "cpu model 'host' passes the host's CPU through, which needs accel=kvm" },
};

START_TEST(test_render_error)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        _cleanup_(storage_config_freep) StorageConfig *storage = NULL;
        _cleanup_free_ char *error = NULL;
        char **argv = NULL;
        QemuRenderContext ctx = {
                .qemu_binary = "/usr/bin/qemu-system-x86_64",
                .vmid = 100,
                .run_dir = "/run/berth/qemu/100",
                .default_accel = render_errors[_i].default_accel,
                .qmp_fd = -1,
                .incoming_fd = -1,
        };

        ck_assert_int_eq(paths_set_root("/"), 0);
        ck_assert_int_eq(storage_config_parse(error_storage, &storage, NULL), 0);
        ctx.storage = storage;
        ck_assert_int_eq(guest_config_parse(render_errors[_i].config, &c, NULL), 0);
        ck_assert_int_eq(qemu_render_argv(c, &ctx, &argv, &error), -EBADMSG);
        ck_assert_ptr_null(argv);
        ck_assert_str_eq(error, render_errors[_i].error);
        ck_assert_int_eq(qemu_render_argv(c, &ctx, &argv, NULL), -EBADMSG);
}
END_TEST

static bool argv_contains(char *const *argv, const char *option, const char *value)
{
        for (char *const *a = argv; a[0] && a[1]; a++)
                if (streq(a[0], option) && streq(a[1], value))
                        return true;
        return false;
}

START_TEST(test_commas_escaped)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        _cleanup_(storage_config_freep) StorageConfig *storage = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        QemuRenderContext ctx = {
                .qemu_binary = "/usr/bin/qemu-system-x86_64",
                .vmid = 100,
                .run_dir = "/run/a,b",
                .default_accel = "tcg",
                .qmp_fd = -1,
                .incoming_fd = -1,
        };

        ck_assert_int_eq(paths_set_root("/"), 0);
        ck_assert_int_eq(storage_config_parse("dir: local\n\tpath /srv/x,y\n", &storage, NULL), 0);
        ctx.storage = storage;
        ck_assert_int_eq(guest_config_parse("disk0: local:100/d.raw\nappend: console=ttyS0,115200\n"
                                            "kernel: /boot/vmlinuz\n",
                                 &c, NULL),
                0);
        ck_assert_int_eq(qemu_render_argv(c, &ctx, &argv, NULL), 0);
        ck_assert(argv_contains(argv, "-qmp", "unix:/run/a,,b/qmp.sock,server=on,wait=off"));
        ck_assert(argv_contains(argv, "-chardev", "file,id=serial0,path=/run/a,,b/serial.log"));
        ck_assert(argv_contains(
                argv, "-blockdev", "driver=file,node-name=file-disk0,filename=/srv/x,,y/100/d.raw"));
        /* These options take their argument whole. */
        ck_assert(argv_contains(argv, "-pidfile", "/run/a,b/qemu.pid"));
        ck_assert(argv_contains(argv, "-append", "console=ttyS0,115200"));
}
END_TEST

/* QEMU's "<program>: warning: ..." line saying the host (or TCG) lacks a feature the CPU model asks for. */
static bool is_host_feature_warning(const char *line, size_t n)
{
        _cleanup_free_ char *l = xstrndup(line, n);
        const char *w = strstr(l, "warning: ");

        /* Nothing before the warning but the program's name: "qemu-system-x86_64: ". */
        if (!w || (w != l && (w - l < 2 || w[-2] != ':' || w[-1] != ' ' || memchr(l, ' ', w - l - 1))))
                return false;
        return startswith(w, "warning: host doesn't support requested feature: ") ||
                startswith(w, "warning: TCG doesn't support requested feature: ");
}

/*
 * Splits QEMU's output into what is about the host — the features of the CPU
 * model its KVM or TCG lacks, which say nothing about our command line — and
 * the rest, which is returned.
 */
static char *qemu_output_not_about_host(const char *out, char **ret_host)
{
        char *rest = xstrdup(""), *host = xstrdup("");

        for (const char *p = out; *p;) {
                size_t n = strcspn(p, "\n"), len = n + (p[n] == '\n');
                char **to = is_host_feature_warning(p, n) ? &host : &rest;
                char *t = xasprintf("%s%.*s", *to, (int) len, p);

                free(*to);
                *to = t;
                p += len;
        }
        if (ret_host)
                *ret_host = host;
        else
                free(host);
        return rest;
}

static const struct {
        const char *out;
        const char *rest;
        const char *host;
} host_output_cases[] = {
        { "", "", "" },
        { "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]\n",
                "", "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]\n" },
        { "qemu-system-x86_64: warning: TCG doesn't support requested feature: CPUID.07H:EBX.avx512f [bit "
          "16]\n"
          "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.aes [bit 25]",
                "",
                "qemu-system-x86_64: warning: TCG doesn't support requested feature: CPUID.07H:EBX.avx512f "
                "[bit 16]\n"
                "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.aes "
                "[bit 25]" },
        { "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]\n"
          "qemu-system-x86_64: -machine pc-i440fx-2.12: warning: Machine type 'pc-i440fx-2.12' is "
          "deprecated\n",
                "qemu-system-x86_64: -machine pc-i440fx-2.12: warning: Machine type 'pc-i440fx-2.12' is "
                "deprecated\n",
                "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni "
                "[bit 0]\n" },
        { "qemu-system-x86_64: -cpu qemu65: unable to find CPU model 'qemu65'\n",
                "qemu-system-x86_64: -cpu qemu65: unable to find CPU model 'qemu65'\n", "" },
        /* Only QEMU's own warning line counts, not the words anywhere in a line. */
        { "guest said: warning: host doesn't support requested feature: x\n",
                "guest said: warning: host doesn't support requested feature: x\n", "" },
        { "warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]\n", "",
                "warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]\n" },
};

START_TEST(test_host_output)
{
        _cleanup_free_ char *host = NULL,
                            *rest = qemu_output_not_about_host(host_output_cases[_i].out, &host),
                            *alone = qemu_output_not_about_host(host_output_cases[_i].out, NULL);

        ck_assert_str_eq(rest, host_output_cases[_i].rest);
        ck_assert_str_eq(host, host_output_cases[_i].host);
        ck_assert_str_eq(alone, rest);
}
END_TEST

/*
 * The golden command lines are real: each case is rendered again under a
 * temporary root (whose run and image directories contain commas, to exercise
 * escaping) and run by QEMU, stopped before the guest starts (-S). A QMP
 * monitor on a socket we hold lets us check what QEMU made of the arguments
 * and quit it. Cases needing a host bridge, or KVM where the host has none,
 * are left out. What QEMU prints must be nothing but its notes about CPU
 * features this host lacks.
 */

static char *tmpdir;

static void live_setup(void)
{
        tmpdir = test_tmpdir_new();
        ck_assert_int_eq(paths_set_root(tmpdir), 0);
}

static void live_teardown(void)
{
        ck_assert_int_eq(paths_set_root("/"), 0);
        test_tmpdir_free(tmpdir);
}

static bool case_needs_bridge(const GuestConfig *c)
{
        GuestNet *nets;
        size_t n;
        bool bridged = false;

        ck_assert_int_eq(guest_config_get_nets(c, &nets, &n), 0);
        for (size_t i = 0; i < n; i++)
                bridged = bridged || nets[i].bridge;
        guest_nets_free(nets, n);
        return bridged;
}

/* Under KVM, host and max hand the guest what the host's KVM offers, which some KVMs then fail to set up. */
static bool case_passes_cpu_through(const GuestConfig *c)
{
        GuestCpu cpu;

        ck_assert_int_eq(guest_config_get_cpu(c, &cpu), 0);
        return cpu.model == GUEST_CPU_HOST || cpu.model == GUEST_CPU_MAX;
}

static char *host_kernel(void)
{
        const char *k = getenv("BERTH_TEST_KERNEL");
        char *found = NULL;
        glob_t g;

        if (k)
                return xstrdup(k);
        if (glob("/boot/vmlinuz-*", 0, NULL, &g) == 0) {
                found = xstrdup(g.gl_pathv[0]);
                globfree(&g);
        }
        return found;
}

/* Gives the config real files to boot and open: the host's kernel, a dummy initrd, empty disk images. */
static bool prepare_files(GuestConfig *c, const StorageConfig *storage)
{
        GuestDisk *disks;
        size_t n;

        if (guest_config_get(c, "kernel")) {
                _cleanup_free_ char *kernel = host_kernel(), *initrd = xasprintf("%s/initrd.img", tmpdir);
                if (!kernel) {
                        fprintf(stderr, "No kernel in /boot and BERTH_TEST_KERNEL unset, skipping.\n");
                        return false;
                }
                ck_assert_int_eq(guest_config_set(c, "kernel", kernel, NULL), 0);
                ck_assert_int_eq(write_string_file_atomic(initrd, "initrd", 0644), 0);
                if (guest_config_get(c, "initrd"))
                        ck_assert_int_eq(guest_config_set(c, "initrd", initrd, NULL), 0);
        }

        ck_assert_int_eq(guest_config_get_disks(c, &disks, &n), 0);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *volid = xasprintf("%s:%s", disks[i].storage, disks[i].volume),
                                    *path = NULL, *dir = NULL;
                ck_assert_int_eq(storage_volume_path(storage, volid, &path), 0);
                dir = xstrndup(path, strrchr(path, '/') - path);
                ck_assert_int_eq(mkdir_p(dir, 0755), 0);
                char *argv[] = { QEMU_IMG, "create", "-q", "-f",
                        (char *) disk_format_to_string(disks[i].format), path, "1M", NULL };
                ck_assert_int_eq(spawn_and_wait(argv, NULL), 0);
        }
        guest_disks_free(disks, n);
        return true;
}

static int listen_unix(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(listen(fd, 1), 0);
        return fd;
}

static int connect_unix(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        return fd;
}

/* Sends a command and returns its reply line (events in between are skipped); NULL when QEMU went away. */
static char *qmp(FILE *f, const char *command)
{
        char *line = NULL;
        size_t n = 0;

        if (fputs(command, f) < 0 || fflush(f) != 0)
                return NULL;
        while (getline(&line, &n, f) > 0)
                if (strstr(line, "\"return\"") || strstr(line, "\"error\""))
                        return line;
        free(line);
        return NULL;
}

static void assert_qmp_ok(FILE *f, const char *command, const char *log)
{
        _cleanup_free_ char *reply = qmp(f, command), *out = NULL;

        if (!reply)
                (void) read_full_file(log, &out, NULL);
        ck_assert_msg(reply, "QEMU exited: %s", strempty(out));
        ck_assert_msg(startswith(reply, "{\"return\""), "%s → %s", command, reply);
}

static void assert_exists(const char *path)
{
        ck_assert_msg(access(path, F_OK) == 0, "%s does not exist", path);
}

START_TEST(test_qemu_accepts)
{
        const Case *t = &cases[_i];
        _cleanup_(guest_config_freep) GuestConfig *c = load_case(t);
        _cleanup_(storage_config_freep) StorageConfig *storage = NULL;
        _cleanup_free_ char *run = xasprintf("%s/run/berth,qemu/%" PRIu32, tmpdir, t->vmid),
                            *log = xasprintf("%s/qemu.log", tmpdir),
                            *sock = xasprintf("%s/check.sock", tmpdir),
                            *events = xasprintf("%s/ev,ents.sock", tmpdir), *path = NULL, *out = NULL,
                            *error = NULL, *line = NULL, *rest = NULL, *host = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        const char *accel = guest_config_get(c, "accel") ?: t->default_accel;
        int pipefd[2] = { -1, -1 }, listen_fd, client_fd, events_fd;
        size_t n = 0;
        pid_t pid;

        if (case_needs_bridge(c)) {
                fprintf(stderr, "%s: needs a host bridge, skipping.\n", t->name);
                return;
        }
        if (streq(accel, "kvm") && access("/dev/kvm", R_OK | W_OK) < 0) {
                fprintf(stderr, "%s: no usable /dev/kvm, skipping.\n", t->name);
                return;
        }
        /* host and max under KVM are the host's CPU as it is: some KVMs cannot take theirs back (QEMU aborts). */
        if (startswith(t->name, "cpu-host") || (streq(t->name, "cpu-max") && streq(accel, "kvm"))) {
                fprintf(stderr, "%s: host passthrough depends on the host's KVM, skipping.\n", t->name);
                return;
        }
        ck_assert_int_eq(storage_config_parse("dir: local\n\tpath /srv/im,ages\n", &storage, NULL), 0);
        if (!prepare_files(c, storage))
                return;
        ck_assert_int_eq(mkdir_p(run, 0755), 0);

        listen_fd = listen_unix(sock);
        client_fd = connect_unix(sock);
        events_fd = listen_unix(events);
        if (t->incoming_fd >= 0)
                ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
        QemuRenderContext ctx = {
                .qemu_binary = QEMU_SYSTEM_X86_64,
                .vmid = t->vmid,
                .run_dir = run,
                .default_accel = t->default_accel,
                .storage = storage,
                .qmp_fd = t->qmp_fd >= 0 ? listen_fd : -1,
                .incoming_fd = pipefd[0],
                .events_socket = events,
        };
        ck_assert_msg(qemu_render_argv(c, &ctx, &argv, &error) == 0, "%s: %s", t->name, error);
        if (ctx.qmp_fd < 0) {
                _cleanup_free_ char *chardev = xasprintf(
                        "socket,id=check,fd=%d,server=on,wait=off", listen_fd);
                strv_push(&argv, "-chardev");
                strv_push(&argv, chardev);
                strv_push(&argv, "-mon");
                strv_push(&argv, "chardev=check,mode=control");
        }
        strv_push(&argv, "-S");

        SpawnOptions o = { .keep_fds = (int[]){ listen_fd, pipefd[0] },
                .n_keep_fds = pipefd[0] >= 0 ? 2 : 1,
                .log_path = log };
        ck_assert_int_eq(spawn(argv, &o, &pid), 0);
        safe_close(listen_fd);
        safe_close(pipefd[0]);

        FILE *f = fdopen(client_fd, "r+");
        ck_assert_ptr_nonnull(f);
        if (getline(&line, &n, f) <= 0) {
                (void) read_full_file(log, &out, NULL);
                /* Seen with a paravirtual KVM that offers IA32_ARCH_CAPABILITIES but refuses to set it. */
                if (streq(accel, "kvm") && case_passes_cpu_through(c) &&
                        strstr(strempty(out), "failed to set MSR")) {
                        fprintf(stderr, "%s: this host's KVM cannot run its own CPU in a guest, skipping: %s",
                                t->name, out);
                        fclose(f);
                        ck_assert_int_ne(spawn_wait(pid), 0);
                        safe_close(events_fd);
                        safe_close(pipefd[1]);
                        return;
                }
        }
        ck_assert_msg(line && strstr(line, "\"QMP\""), "%s: QEMU exited: %s", t->name, strempty(out));
        assert_qmp_ok(f, "{\"execute\":\"qmp_capabilities\"}\n", log);

        /* The second monitor connects to the event socket and greets like the first. */
        FILE *ev = fdopen(accept4(events_fd, NULL, NULL, SOCK_CLOEXEC), "r");
        ck_assert_ptr_nonnull(ev);
        free(line);
        line = NULL;
        ck_assert_int_gt(getline(&line, &n, ev), 0);
        ck_assert_msg(strstr(line, "\"QMP\""), "event socket greeting: %s", line);

        /* The files named on the command line are where the context says. */
        path = xasprintf("%s/qemu.pid", run);
        assert_exists(path);
        free(path);
        path = xasprintf("%s/serial.log", run);
        assert_exists(path);
        if (ctx.qmp_fd < 0) {
                free(path);
                path = xasprintf("%s/qmp.sock", run);
                assert_exists(path);
        }
        if (guest_config_get(c, "append")) {
                _cleanup_free_ char *reply = qmp(
                        f, "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine\",\"property\":\"append\"}}\n");
                _cleanup_free_ char *want = xasprintf("{\"return\": \"%s\"}", guest_config_get(c, "append"));
                ck_assert_ptr_nonnull(reply);
                ck_assert_msg(startswith(reply, want), "append became %s", reply);
        }

        assert_qmp_ok(f, "{\"execute\":\"quit\"}\n", log);
        while (getline(&line, &n, f) > 0)
                ;
        fclose(f);
        safe_close(pipefd[1]);
        ck_assert_int_eq(spawn_wait(pid), 0);
        fclose(ev);
        safe_close(events_fd);
        /* Not even a warning: deprecated or ignored options would show here. */
        ck_assert_int_eq(read_full_file(log, &out, NULL), 0);
        rest = qemu_output_not_about_host(out, &host);
        if (!isempty(host))
                fprintf(stderr, "%s: note: this host lacks CPU features the model asks for:\n%s", t->name,
                        host);
        ck_assert_msg(isempty(rest), "%s: QEMU said: %s", t->name, rest);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("qemu-render");
        TCase *golden = tcase_create("golden");
        TCase *live = tcase_create("qemu");

        tcase_add_loop_test(golden, test_golden, 0, ELEMENTSOF(cases));
        tcase_add_loop_test(golden, test_render_error, 0, ELEMENTSOF(render_errors));
        tcase_add_test(golden, test_commas_escaped);
        tcase_add_loop_test(golden, test_host_output, 0, ELEMENTSOF(host_output_cases));
        suite_add_tcase(s, golden);

        tcase_add_checked_fixture(live, live_setup, live_teardown);
        tcase_add_loop_test(live, test_qemu_accepts, 0, ELEMENTSOF(cases));
        suite_add_tcase(s, live);

        return run_suite(s);
}
