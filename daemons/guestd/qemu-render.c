/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "qemu-render.h"

/*
 * Each disk and NIC sits in a fixed PCI slot derived from its index, so its
 * guest-visible address does not move when other devices come and go, and
 * both ends of a migration lay the machine out alike. Slots 0-2 and 0x1f stay
 * with the chipset (and a display, should one ever be added).
 */
#define NET_SLOT_BASE 0x03U
#define NET_SLOTS 8U
#define DISK_SLOT_BASE (NET_SLOT_BASE + NET_SLOTS)
#define DISK_SLOTS 16U

/* How -drive's cache= modes map onto -blockdev nodes and the device's write cache. */
static const struct {
        const char *mode;
        bool direct;
        bool no_flush;
        bool write_cache;
} cache_modes[] = {
        { "none", true, false, true },
        { "writeback", false, false, true },
        { "writethrough", false, false, false },
        { "directsync", true, false, false },
        { "unsafe", false, true, true },
};

static const struct {
        const char *model;
        const char *pci_device;
        const char *mmio_device; /* NULL: the NIC needs PCI */
} net_models[] = {
        { "virtio", "virtio-net-pci", "virtio-net-device" },
        { "e1000", "e1000", NULL },
        { "rtl8139", "rtl8139", NULL },
};

/*
 * What Proxmox's CPU models are in QEMU (qemu-server's PVE/QemuServer/CPUConfig.pm): the x86-64-vN levels
 * are qemu64 plus the features of the level, so that a guest runs on, and migrates between, any hosts of
 * that level whatever their make.
 */
#define CPU_FLAGS_V2 "+popcnt;+pni;+sse4.1;+sse4.2;+ssse3"
#define CPU_FLAGS_V2_AES CPU_FLAGS_V2 ";+aes"
#define CPU_FLAGS_V3 CPU_FLAGS_V2_AES ";+avx;+avx2;+bmi1;+bmi2;+f16c;+fma;+abm;+movbe;+xsave"
#define CPU_FLAGS_V4 CPU_FLAGS_V3 ";+avx512f;+avx512bw;+avx512cd;+avx512dq;+avx512vl"

static const struct {
        const char *qemu_model;
        const char *flags; /* ';'-separated, as Proxmox writes them; NULL for none */
} cpu_models[_GUEST_CPU_MODEL_MAX] = {
        /* Proxmox adds these to kvm64 for Windows 8 and later. */
        [GUEST_CPU_KVM64] = { "kvm64", "+lahf_lm;+sep" },
        [GUEST_CPU_QEMU64] = { "qemu64", NULL },
        [GUEST_CPU_X86_64_V2] = { "qemu64", CPU_FLAGS_V2 },
        [GUEST_CPU_X86_64_V2_AES] = { "qemu64", CPU_FLAGS_V2_AES },
        [GUEST_CPU_X86_64_V3] = { "qemu64", CPU_FLAGS_V3 },
        [GUEST_CPU_X86_64_V4] = { "qemu64", CPU_FLAGS_V4 },
        [GUEST_CPU_HOST] = { "host", NULL },
        [GUEST_CPU_MAX] = { "max", NULL },
};

typedef struct Render {
        const GuestConfig *config;
        const QemuRenderContext *ctx;
        const char *pci_bus; /* NULL on machines without PCI: virtio devices go on virtio-mmio */
        char **argv;
        char *error;
} Render;

static void render_done(Render *r)
{
        strv_free(r->argv);
        free(r->error);
}

static void add(Render *r, const char *fmt, ...) _printf_(2, 3);
static void add(Render *r, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        strv_push(&r->argv, s);
}

static int fail(Render *r, const char *fmt, ...) _printf_(2, 3);
static int fail(Render *r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        free(r->error);
        r->error = xvasprintf(fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* QEMU's option parsers split on ','; a literal comma is written ",,". */
static char *escape(const char *s)
{
        char *e = xmalloc(strlen(s) * 2 + 1), *p = e;

        for (; *s; s++) {
                *p++ = *s;
                if (*s == ',')
                        *p++ = ',';
        }
        *p = 0;
        return e;
}

/* The name a -cpu flag sets: "+name", "-name" or "name=value". */
static size_t cpu_flag_name(const char *flag, const char **ret_name)
{
        *ret_name = flag + (flag[0] == '+' || flag[0] == '-');
        return strcspn(*ret_name, "=");
}

static int cpu_flag_cmp(const void *a, const void *b)
{
        const char *x, *y;
        size_t nx = cpu_flag_name(*(char *const *) a, &x), ny = cpu_flag_name(*(char *const *) b, &y);
        int k = strncmp(x, y, MIN(nx, ny));

        return k != 0 ? k : (nx > ny) - (nx < ny);
}

/* A later setting of a flag replaces an earlier one, as in Proxmox's resolve_cpu_flags(). */
static void cpu_flag_set(char ***flags, const char *flag)
{
        for (size_t i = 0; *flags && (*flags)[i]; i++)
                if (cpu_flag_cmp(&(*flags)[i], &flag) == 0) {
                        free((*flags)[i]);
                        (*flags)[i] = xstrdup(flag);
                        return;
                }
        strv_push(flags, flag);
}

static void cpu_flag_set_list(char ***flags, const char *list)
{
        for (const char *p = list; p;) {
                size_t n = strcspn(p, ";");
                _cleanup_free_ char *flag = xstrndup(p, n);

                cpu_flag_set(flags, flag);
                p = p[n] ? p + n + 1 : NULL;
        }
}

static int render_cpu(Render *r, const char *accel)
{
        _cleanup_strv_free_ char **flags = NULL;
        _cleanup_free_ char *text = NULL;
        bool kvm = streq(accel, "kvm");
        GuestCpu cpu;

        if (guest_config_get_cpu(r->config, &cpu) < 0)
                return fail(r, "invalid cpu entry");
        if (cpu.model == GUEST_CPU_HOST && !kvm)
                return fail(r, "cpu model 'host' passes the host's CPU through, which needs accel=kvm");

        /* Proxmox's own additions first, then the model's, then the config's: later ones win. */
        if (kvm) {
                /* Paravirtual end-of-interrupt and spinlocks: cheaper interrupts and lock waits in Linux guests. */
                cpu_flag_set(&flags, "+kvm_pv_eoi");
                cpu_flag_set(&flags, "+kvm_pv_unhalt");
        }
        if (cpu_models[cpu.model].flags)
                cpu_flag_set_list(&flags, cpu_models[cpu.model].flags);
        for (GuestCpuFlag f = 0; f < _GUEST_CPU_FLAG_MAX; f++)
                if (cpu.flags[f]) {
                        _cleanup_free_ char *flag = xasprintf(
                                "%c%s", cpu.flags[f], guest_cpu_flag_to_string(f));
                        cpu_flag_set(&flags, flag);
                }
        if (cpu.hidden)
                cpu_flag_set(&flags, "kvm=off");
        /*
         * Proxmox also adds "enforce" under KVM, which makes QEMU refuse to start when the host's KVM lacks
         * a feature of the model. berth does not: such a host still runs the guest, with QEMU's warning
         * about the missing feature in the guest's QEMU log, rather than not at all.
         */
        if (flags)
                qsort(flags, strv_length(flags), sizeof(char *), cpu_flag_cmp);

        text = xstrdup(cpu_models[cpu.model].qemu_model);
        for (size_t i = 0; flags && flags[i]; i++) {
                char *t = xasprintf("%s,%s", text, flags[i]);
                free(text);
                text = t;
        }
        add(r, "-cpu");
        add(r, "%s", text);
        return 0;
}

static int render_machine(Render *r)
{
        const char *machine = guest_config_get(r->config, "machine") ?: "q35";
        const char *accel = guest_config_get(r->config, "accel") ?: r->ctx->default_accel;
        const char *name = guest_config_get(r->config, "name"),
                   *sockets = guest_config_get(r->config, "sockets");
        _cleanup_free_ char *n = name ? escape(name) : xasprintf("vm%" PRIu32, r->ctx->vmid);
        unsigned cores = guest_config_get_cores(r->config),
                 n_sockets = sockets ? strtoul(sockets, NULL, 10) : 1;
        int k;

        if (streq(machine, "q35") || startswith(machine, "pc-q35-"))
                r->pci_bus = "pcie.0";
        else if (streq(machine, "pc") || startswith(machine, "pc-i440fx-"))
                r->pci_bus = "pci.0";
        else if (!streq(machine, "microvm"))
                return fail(r, "machine type '%s' is not supported", machine);
        if (!accel)
                return fail(r, "no accelerator configured and no host default");
        if (n_sockets == 0)
                return fail(r, "invalid sockets '%s'", sockets);

        add(r, "%s", r->ctx->qemu_binary);
        add(r, "-name");
        add(r, "%s,process=berth-%" PRIu32, n, r->ctx->vmid);
        add(r, "-nodefaults");
        add(r, "-no-user-config");
        add(r, "-display");
        add(r, "none");
        add(r, "-machine");
        add(r, "%s,accel=%s", machine, accel);
        k = render_cpu(r, accel);
        if (k < 0)
                return k;
        add(r, "-m");
        add(r, "%" PRIu64, guest_config_get_memory_mib(r->config));
        add(r, "-smp");
        add(r, "%u,sockets=%u,cores=%u", n_sockets * cores, n_sockets, cores);
        return 0;
}

static void render_run_files(Render *r)
{
        _cleanup_free_ char *run = escape(r->ctx->run_dir);

        add(r, "-pidfile");
        add(r, "%s/qemu.pid", r->ctx->run_dir);
        if (r->ctx->qmp_fd >= 0) {
                add(r, "-chardev");
                add(r, "socket,id=qmp,fd=%d,server=on,wait=off", r->ctx->qmp_fd);
                add(r, "-mon");
                add(r, "chardev=qmp,mode=control");
        } else {
                add(r, "-qmp");
                add(r, "unix:%s/qmp.sock,server=on,wait=off", run);
        }
        if (r->ctx->events_socket) {
                _cleanup_free_ char *events = escape(r->ctx->events_socket);
                /* Reconnecting: a cleanupd restarted while the guest runs gets the connection back within a second. */
                add(r, "-chardev");
                add(r, "socket,id=berth-events,path=%s,reconnect=1", events);
                add(r, "-mon");
                add(r, "chardev=berth-events,mode=control");
        }
        add(r, "-chardev");
        add(r, "file,id=serial0,path=%s/serial.log", run);
        add(r, "-serial");
        add(r, "chardev:serial0");
}

/* -kernel, -initrd and -append take their argument whole: no option parsing, so no escaping. */
static int render_kernel(Render *r)
{
        const char *kernel = guest_config_get(r->config, "kernel");
        const char *initrd = guest_config_get(r->config, "initrd");
        const char *append = guest_config_get(r->config, "append");

        if (!kernel) {
                if (initrd || append)
                        return fail(r, "%s needs a kernel", initrd ? "initrd" : "append");
                return 0;
        }
        add(r, "-kernel");
        add(r, "%s", kernel);
        if (initrd) {
                add(r, "-initrd");
                add(r, "%s", initrd);
        }
        if (append) {
                add(r, "-append");
                add(r, "%s", append);
        }
        return 0;
}

/* Where a device sits: a fixed PCI slot, or the virtio-mmio bus of a machine without PCI. */
static char *device_address(const Render *r, unsigned slot)
{
        if (!r->pci_bus)
                return xstrdup("");
        return xasprintf(",bus=%s,addr=0x%x", r->pci_bus, slot);
}

static int render_disk(Render *r, const GuestDisk *d)
{
        _cleanup_free_ char *volid = xasprintf("%s:%s", d->storage, d->volume), *path = NULL, *file = NULL,
                            *cache = xstrdup(""), *write_cache = xstrdup(""), *where = NULL;
        const char *format = disk_format_to_string(d->format);
        int k;

        if (d->index >= DISK_SLOTS)
                return fail(r, "disk%u: at most %u disks are supported", d->index, DISK_SLOTS);
        if (!format)
                return fail(r, "disk%u: invalid format", d->index);
        k = storage_volume_path(r->ctx->storage, volid, &path);
        if (k == -ENOENT)
                return fail(r, "disk%u: unknown storage '%s'", d->index, d->storage);
        if (k == -ENOMEDIUM)
                return fail(r, "disk%u: storage '%s' is disabled", d->index, d->storage);
        if (k < 0)
                return fail(r, "disk%u: invalid volume '%s' on storage '%s'", d->index, d->volume, d->storage);

        if (d->cache) {
                size_t i = 0;
                while (i < ELEMENTSOF(cache_modes) && !streq(cache_modes[i].mode, d->cache))
                        i++;
                if (i == ELEMENTSOF(cache_modes))
                        return fail(r, "disk%u: unknown cache mode '%s'", d->index, d->cache);
                free(cache);
                free(write_cache);
                cache = xasprintf(",cache.direct=%s,cache.no-flush=%s", cache_modes[i].direct ? "on" : "off",
                        cache_modes[i].no_flush ? "on" : "off");
                write_cache = xasprintf(",write-cache=%s", cache_modes[i].write_cache ? "on" : "off");
        }

        file = escape(path);
        add(r, "-blockdev");
        add(r, "driver=file,node-name=file-disk%u,filename=%s%s", d->index, file, cache);
        add(r, "-blockdev");
        add(r, "driver=%s,node-name=drive-disk%u,file=file-disk%u%s", format, d->index, d->index, cache);

        where = device_address(r, DISK_SLOT_BASE + d->index);
        add(r, "-device");
        add(r, "%s%s,drive=drive-disk%u,id=disk%u%s%s", r->pci_bus ? "virtio-blk-pci" : "virtio-blk-device",
                where, d->index, d->index, write_cache, d->index == 0 ? ",bootindex=0" : "");
        return 0;
}

static int render_disks(Render *r)
{
        GuestDisk *disks = NULL;
        size_t n = 0;
        int k = 0;

        if (guest_config_get_disks(r->config, &disks, &n) < 0)
                return fail(r, "invalid disk entry");
        for (size_t i = 0; i < n && k >= 0; i++)
                k = render_disk(r, &disks[i]);
        guest_disks_free(disks, n);
        return k;
}

static int render_net(Render *r, const GuestNet *net)
{
        _cleanup_free_ char *where = NULL, *mac = NULL;
        const char *device = NULL;
        uint32_t vmid = r->ctx->vmid;

        if (net->index >= NET_SLOTS)
                return fail(r, "net%u: at most %u NICs are supported", net->index, NET_SLOTS);
        for (size_t i = 0; i < ELEMENTSOF(net_models); i++)
                if (streq(net_models[i].model, net->model))
                        device = r->pci_bus ? net_models[i].pci_device : net_models[i].mmio_device;
        if (!device)
                return fail(r, "net%u: model '%s' is not available on this machine type", net->index,
                        net->model);

        /*
         * Without a configured address: locally administered unicast (02:...) made of the
         * cluster-unique vmid and the NIC index, so it is stable across restarts and migrations.
         */
        mac = net->mac ? escape(net->mac)
                       : xasprintf("02:%02x:%02x:%02x:%02x:%02x", vmid >> 24 & 0xff, vmid >> 16 & 0xff,
                                 vmid >> 8 & 0xff, vmid & 0xff, net->index);

        add(r, "-netdev");
        if (net->bridge) {
                _cleanup_free_ char *br = escape(net->bridge);
                add(r, "bridge,id=net%u,br=%s", net->index, br);
        } else
                add(r, "user,id=net%u", net->index);
        where = device_address(r, NET_SLOT_BASE + net->index);
        add(r, "-device");
        add(r, "%s%s,netdev=net%u,mac=%s,id=net%u", device, where, net->index, mac, net->index);
        return 0;
}

static int render_nets(Render *r)
{
        GuestNet *nets = NULL;
        size_t n = 0;
        int k = 0;

        if (guest_config_get_nets(r->config, &nets, &n) < 0)
                return fail(r, "invalid net entry");
        if (n == 0) {
                add(r, "-nic");
                add(r, "none");
        }
        for (size_t i = 0; i < n && k >= 0; i++)
                k = render_net(r, &nets[i]);
        guest_nets_free(nets, n);
        return k;
}

int qemu_render_argv(const GuestConfig *c, const QemuRenderContext *ctx, char ***ret_argv, char **ret_error)
{
        _cleanup_(render_done) Render r = { .config = c, .ctx = ctx };
        int k;

        k = render_machine(&r);
        if (k >= 0) {
                render_run_files(&r);
                k = render_kernel(&r);
        }
        if (k >= 0)
                k = render_disks(&r);
        if (k >= 0)
                k = render_nets(&r);
        if (k < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(r.error);
                return k;
        }
        /*
         * The state is fed later with QMP migrate-incoming, after migration events are turned on, so the
         * end of the restore is an event whether the guest comes back running or paused.
         */
        if (ctx->incoming_fd >= 0) {
                add(&r, "-incoming");
                add(&r, "defer");
        }
        *ret_argv = TAKE_PTR(r.argv);
        return 0;
}
