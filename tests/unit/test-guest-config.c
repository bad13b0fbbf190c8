/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "check-main.h"
#include "guest-config.h"

static const struct {
        const char *key;
        const char *value;
        int error; /* 0, -EBADMSG or -ENOKEY */
} value_cases[] = {
        { "name", "web1", 0 },
        { "name", "a", 0 },
        { "name", "Web-1.example", 0 },
        { "name", "123456789012345678901234567890123456789012345678901234567890123", 0 },
        { "name", "1234567890123456789012345678901234567890123456789012345678901234", -EBADMSG },
        { "name", "-web", -EBADMSG },
        { "name", ".web", -EBADMSG },
        { "name", "web_1", -EBADMSG },
        { "name", "web 1", -EBADMSG },
        { "name", "", -EBADMSG },
        { "name", " web", -EBADMSG },
        { "name", "web\t", -EBADMSG },
        { "memory", "16", 0 },
        { "memory", "512", 0 },
        { "memory", "4194304", 0 },
        { "memory", "15", -EBADMSG },
        { "memory", "4194305", -EBADMSG },
        { "memory", "0512", -EBADMSG },
        { "memory", "+512", -EBADMSG },
        { "memory", "-1", -EBADMSG },
        { "memory", "1G", -EBADMSG },
        { "memory", "99999999999999999999999", -EBADMSG },
        { "cores", "1", 0 },
        { "cores", "128", 0 },
        { "cores", "0", -EBADMSG },
        { "cores", "129", -EBADMSG },
        { "cpu", "x86-64-v2-AES", 0 },
        { "cpu", "cputype=host,flags=+pcid;-aes,hidden=1", 0 },
        { "cpu", "flags=+aes", 0 },
        { "cpu", "kvm32", -EBADMSG },
        { "cpu", "kvm64,flags=+nested-virt", -EBADMSG },
        { "cpu", "kvm64,phys-bits=host", -EBADMSG },
        { "sockets", "1", 0 },
        { "sockets", "4", 0 },
        { "sockets", "0", -EBADMSG },
        { "sockets", "5", -EBADMSG },
        { "machine", "pc", 0 },
        { "machine", "q35", 0 },
        { "machine", "microvm", 0 },
        { "machine", "pc-i440fx-7.2", 0 },
        { "machine", "pc-q35-2.12", 0 },
        { "machine", "pc-q35-8.0", 0 },
        { "machine", "pc-q35-8", -EBADMSG },
        { "machine", "pc-q35-.1", -EBADMSG },
        { "machine", "pc-q35-8.", -EBADMSG },
        { "machine", "pc-q35-8.1.1", -EBADMSG },
        { "machine", "pc-i440fx-100.0", -EBADMSG },
        { "machine", "virt", -EBADMSG },
        { "machine", "Q35", -EBADMSG },
        { "accel", "kvm", 0 },
        { "accel", "tcg", 0 },
        { "accel", "hvf", -EBADMSG },
        { "kernel", "/var/lib/berth/vmlinux", 0 },
        { "kernel", "/boot/vmlinuz 6.1", 0 },
        { "kernel", "vmlinux", -EBADMSG },
        { "kernel", "/boot/a,b", -EBADMSG },
        { "kernel", "/boot/a\x01", -EBADMSG },
        { "initrd", "/var/lib/berth/initrd.img", 0 },
        { "initrd", "./initrd", -EBADMSG },
        { "append", "console=ttyS0 quiet root=/dev/vda1 x=a,b", 0 },
        { "append", "énergie", 0 },
        { "append", "a\tb", -EBADMSG },
        { "append", "a\rb", -EBADMSG },
        { "append", "\xff\xfe", -EBADMSG },
        { "append", "\xc0\xaf", -EBADMSG },
        { "append", "\xed\xa0\x80", -EBADMSG },
        { "disk0", "local:vm-100-disk-0.qcow2", 0 },
        { "disk15", "local:100/vm-100-disk-0.raw,cache=none", 0 },
        { "disk1", "local:images/base.img,format=qcow2", 0 },
        { "disk2", "lvm1:vm-100-disk-1,format=raw,cache=writeback", 0 },
        { "disk3", "san:lun0,cache=unsafe,format=raw", 0 },
        { "disk4", "a:x.raw", 0 },
        { "disk5", "abcdefghijklmnopqrstuvwxyz012345:x.raw", 0 },
        { "disk5", "abcdefghijklmnopqrstuvwxyz0123456:x.raw", -EBADMSG },
        { "disk0", "local:vm-100-disk-0", -EBADMSG },
        { "disk0", "local:vm.qcow2,format=vmdk", -EBADMSG },
        { "disk0", "local:vm.qcow2,cache=fast", -EBADMSG },
        { "disk0", "local:vm.qcow2,cache=none,cache=none", -EBADMSG },
        { "disk0", "local:vm.qcow2,", -EBADMSG },
        { "disk0", "local:vm.qcow2,size=10G", -EBADMSG },
        { "disk0", "Local:vm.qcow2", -EBADMSG },
        { "disk0", "1local:vm.qcow2", -EBADMSG },
        { "disk0", ":vm.qcow2", -EBADMSG },
        { "disk0", "local:", -EBADMSG },
        { "disk0", "local", -EBADMSG },
        { "disk0", "local:../vm.qcow2", -EBADMSG },
        { "disk0", "local:a/../../etc/x.raw", -EBADMSG },
        { "disk0", "local:a/./x.raw", -EBADMSG },
        { "disk0", "local:a//x.raw", -EBADMSG },
        { "disk0", "local:a/", -EBADMSG },
        { "disk0", "local:/etc/x.raw", -EBADMSG },
        { "disk0", "local:a b.raw", -EBADMSG },
        { "disk0", "local:a:b.raw", -EBADMSG },
        { "disk16", "local:vm.qcow2", -ENOKEY },
        { "disk01", "local:vm.qcow2", -ENOKEY },
        { "disk", "local:vm.qcow2", -ENOKEY },
        { "net0", "model=virtio", 0 },
        { "net7", "model=e1000,macaddr=52:54:00:12:34:56,bridge=vmbr0", 0 },
        { "net1", "bridge=br-lan.10,model=rtl8139", 0 },
        { "net2", "model=virtio,macaddr=BC:24:11:AA:bb:0C", 0 },
        { "net0", "macaddr=52:54:00:12:34:56", -EBADMSG },
        { "net0", "model=ne2k_pci", -EBADMSG },
        { "net0", "model=virtio,macaddr=01:00:5e:00:00:01", -EBADMSG },
        { "net0", "model=virtio,macaddr=52:54:00:12:34", -EBADMSG },
        { "net0", "model=virtio,macaddr=52-54-00-12-34-56", -EBADMSG },
        { "net0", "model=virtio,macaddr=52:54:00:12:34:5g", -EBADMSG },
        { "net0", "model=virtio,bridge=a-very-long-bridge", -EBADMSG },
        { "net0", "model=virtio,bridge=", -EBADMSG },
        { "net0", "model=virtio,bridge=..", -EBADMSG },
        { "net0", "model=virtio,bridge=br/0", -EBADMSG },
        { "net0", "model=virtio,model=e1000", -EBADMSG },
        { "net0", "model=virtio,firewall=1", -EBADMSG },
        { "net8", "model=virtio", -ENOKEY },
        { "onboot", "0", 0 },
        { "onboot", "1", 0 },
        { "onboot", "yes", -EBADMSG },
        { "onboot", "2", -EBADMSG },
        { "autostart-once", "1", 0 },
        { "autostart-once", "true", -EBADMSG },
        { "startup", "order=1", 0 },
        { "startup", "up=30", 0 },
        { "startup", "down=86400,order=9999,up=0", 0 },
        { "startup", "order=0,up=5,down=60", 0 },
        { "startup", "order=10000", -EBADMSG },
        { "startup", "up=86401", -EBADMSG },
        { "startup", "order=1,order=2", -EBADMSG },
        { "startup", "order=1,", -EBADMSG },
        { "startup", "order=", -EBADMSG },
        { "startup", "order=-1", -EBADMSG },
        { "startup", "delay=5", -EBADMSG },
        { "tags", "prod", 0 },
        { "tags", "prod;db;eu-west_1;c++;v1.2", 0 },
        { "tags", "1234567890123456789012345678901234567890123456789012345678901234", 0 },
        { "tags", "12345678901234567890123456789012345678901234567890123456789012345", -EBADMSG },
        { "tags", "prod;;db", -EBADMSG },
        { "tags", "prod;", -EBADMSG },
        { "tags", "Prod", -EBADMSG },
        { "tags", "prod,db", -EBADMSG },
        { "tags", "prod db", -EBADMSG },
        { "hookscript", "/var/lib/berth/hooks/guest.sh", 0 },
        { "hookscript", "local:snippets/hook.sh", -EBADMSG },
        { "shutdown-policy", "save", 0 },
        { "shutdown-policy", "save,shutdown,poweroff", 0 },
        { "shutdown-policy", "poweroff,shutdown", 0 },
        { "shutdown-policy", "shutdown,shutdown", -EBADMSG },
        { "shutdown-policy", "hibernate", -EBADMSG },
        { "shutdown-policy", "save,", -EBADMSG },
        { "lock", "backup", 0 },
        { "lock", "suspended", 0 },
        { "lock", "suspending", 0 },
        { "lock", "migrate", 0 },
        { "lock", "locked", -EBADMSG },
        { "vmstate", "local:vm-100-state-suspend.raw", 0 },
        { "vmstate", "local:state", 0 },
        { "vmstate", "local:state.raw,format=raw", -EBADMSG },
        { "vmstate", "state.raw", -EBADMSG },
        { "description", "a guest", -ENOKEY },
        { "foo", "bar", -ENOKEY },
        { "Memory", "512", -ENOKEY },
        { "", "512", -ENOKEY },
};

#define CPU_MODELS "model must be kvm64, qemu64, x86-64-v2, x86-64-v2-AES, x86-64-v3, x86-64-v4, host or max"
#define CPU_OPTIONS "must be [cputype=]<model>, flags= and hidden=, each at most once"
#define CPU_FLAGS_SYNTAX "flags must be a ';'-separated list of +FLAG and -FLAG"
#define CPU_FLAGS_KNOWN \
        "flags must be md-clear, pcid, spec-ctrl, ssbd, ibpb, virt-ssbd, amd-ssbd, amd-no-ssb, pdpe1gb, " \
        "hv-tlbflush, hv-evmcs or aes"

/* The "cpu" key's values and what the validator says of them (NULL: valid). */
static const struct {
        const char *value;
        const char *error;
} cpu_cases[] = {
        { "kvm64", NULL },
        { "qemu64", NULL },
        { "x86-64-v2", NULL },
        { "x86-64-v2-AES", NULL },
        { "x86-64-v3", NULL },
        { "x86-64-v4", NULL },
        { "host", NULL },
        { "max", NULL },
        { "cputype=x86-64-v3", NULL },
        { "x86-64-v2-AES,flags=+pcid;-aes", NULL },
        { "flags=+md-clear;+pcid;+spec-ctrl;+ssbd;+ibpb;+virt-ssbd;+amd-ssbd;+amd-no-ssb;+pdpe1gb;+hv-"
          "tlbflush;"
          "+hv-evmcs;+aes",
                NULL },
        { "flags=-md-clear", NULL },
        { "hidden=1", NULL },
        { "host,hidden=0", NULL },
        { "flags=-pdpe1gb,hidden=1,cputype=max", NULL },
        { "hidden=1,kvm64", NULL },
        { "kvm32", CPU_MODELS },
        { "Kvm64", CPU_MODELS },
        { "x86-64-v2-aes", CPU_MODELS },
        { "x86-64-v1", CPU_MODELS },
        { "EPYC", CPU_MODELS },
        { "custom-mine", CPU_MODELS },
        { "cputype=", CPU_MODELS },
        { "cputype=kvm64=1", CPU_MODELS },
        { ",kvm64", CPU_MODELS },
        { "kvm64 ,hidden=1", CPU_MODELS },
        { "", "must not be empty" },
        { " kvm64", "must not start or end with whitespace" },
        { "kvm64,qemu64", CPU_OPTIONS },
        { "kvm64,cputype=qemu64", CPU_OPTIONS },
        { "cputype=kvm64,cputype=kvm64", CPU_OPTIONS },
        { "kvm64,", CPU_OPTIONS },
        { "kvm64,,hidden=1", CPU_OPTIONS },
        { "kvm64,phys-bits=host", CPU_OPTIONS },
        { "kvm64,hv-vendor-id=proxmox", CPU_OPTIONS },
        { "kvm64,reported-model=qemu64", CPU_OPTIONS },
        { "kvm64,Flags=+aes", CPU_OPTIONS },
        { "kvm64,flags=+aes,flags=+pcid", CPU_OPTIONS },
        { "kvm64,hidden=1,hidden=1", CPU_OPTIONS },
        { "kvm64,flags=", CPU_FLAGS_SYNTAX },
        { "kvm64,flags=aes", CPU_FLAGS_SYNTAX },
        { "kvm64,flags=+", CPU_FLAGS_SYNTAX },
        { "kvm64,flags=+aes;", CPU_FLAGS_SYNTAX },
        { "kvm64,flags=;+aes", CPU_FLAGS_SYNTAX },
        { "kvm64,flags=+aes -pcid", CPU_FLAGS_KNOWN },
        { "kvm64,flags=+avx2", CPU_FLAGS_KNOWN },
        { "kvm64,flags=+AES", CPU_FLAGS_KNOWN },
        { "kvm64,flags=+vmx", CPU_FLAGS_KNOWN },
        { "kvm64,flags=+aes;+aes", "flags must name each flag at most once" },
        { "kvm64,flags=+aes;-aes", "flags must name each flag at most once" },
        { "kvm64,flags=+nested-virt",
                "flag nested-virt is not supported: whether it means vmx or svm depends on the host's CPU" },
        { "flags=+pcid;-nested-virt",
                "flag nested-virt is not supported: whether it means vmx or svm depends on the host's CPU" },
        { "kvm64,hidden=yes", "hidden must be 0 or 1" },
        { "kvm64,hidden=", "hidden must be 0 or 1" },
        { "hidden=01", "hidden must be 0 or 1" },
};

START_TEST(test_validate_cpu)
{
        _cleanup_free_ char *error = NULL, *want = NULL;
        int r = guest_config_validate("cpu", cpu_cases[_i].value, &error);

        if (!cpu_cases[_i].error) {
                ck_assert_msg(r == 0, "%s → %s", cpu_cases[_i].value, strempty(error));
                ck_assert_ptr_null(error);
                return;
        }
        want = xasprintf("invalid value for 'cpu': %s", cpu_cases[_i].error);
        ck_assert_msg(r == -EBADMSG, "%s → %d", cpu_cases[_i].value, r);
        ck_assert_str_eq(error, want);
}
END_TEST

START_TEST(test_validate)
{
        const char *key = value_cases[_i].key, *value = value_cases[_i].value;
        _cleanup_free_ char *error = NULL, *prefix = NULL;

        ck_assert_msg(guest_config_validate(key, value, &error) == value_cases[_i].error, "%s: %s → %s", key,
                value, strempty(error));
        if (value_cases[_i].error == 0)
                ck_assert_ptr_null(error);
        else {
                prefix = value_cases[_i].error == -ENOKEY ? xasprintf("unknown key '%s'", key)
                                                          : xasprintf("invalid value for '%s': ", key);
                ck_assert_msg(startswith(error, prefix), "%s", error);
        }
}
END_TEST

/* The same cases through the parser, which reports every failure as -EBADMSG with the line number. */
START_TEST(test_parse_value)
{
        const char *key = value_cases[_i].key, *value = value_cases[_i].value;
        _cleanup_free_ char *text = NULL, *error = NULL, *formatted = NULL;
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        int r;

        /* The parser trims, so edge blanks cannot reach the validator from a file. */
        if (*value && (strchr(" \t", value[0]) || strchr(" \t", value[strlen(value) - 1])))
                return;
        if (!*key)
                return;
        text = xasprintf("#guest\n\n%s: %s\n", key, value);
        r = guest_config_parse(text, &c, &error);
        if (value_cases[_i].error == 0) {
                ck_assert_msg(r == 0, "%s", strempty(error));
                ck_assert_str_eq(guest_config_get(c, key), value);
                formatted = guest_config_format(c);
                /* Canonical form drops the blank line. */
                ck_assert_str_eq(formatted + strlen("#guest\n"), text + strlen("#guest\n\n"));
                ck_assert(startswith(formatted, "#guest\n"));
        } else {
                ck_assert_int_eq(r, -EBADMSG);
                ck_assert_ptr_null(c);
                ck_assert_msg(startswith(error, "line 3: "), "%s", error);
        }
}
END_TEST

static const struct {
        const char *text;
        const char *error;
} parse_error_cases[] = {
        { "memory: 512\nfoo: bar\n", "line 2: unknown key 'foo'" },
        { "memory: 512\nmemory: 1024\n", "line 2: duplicate key 'memory'" },
        { "memory: 512\n\ncores: 2\nmemory: 512\n", "line 4: duplicate key 'memory'" },
        { "#desc\nmemory: 1G\n", "line 2: invalid value for 'memory': must be an integer 16-4194304" },
        { "memory: 512\n# late comment\n",
                "line 2: '#' line after the first key; the description must come first" },
        { "memory 512\n", "line 1: expected 'key: value'" },
        { "\n\n: 512\n", "line 3: expected 'key: value'" },
        { "memory:\n", "line 1: invalid value for 'memory': must not be empty" },
        { "name:   \t \n", "line 1: invalid value for 'name': must not be empty" },
        { "[snapshot]\n", "line 1: expected 'key: value'" },
        { "description: a guest\n", "line 1: unknown key 'description'" },
        { "foo\x01\xff: x\n", "line 1: unknown key 'foo\\x01\\xff'" },
        { "#ok\n#bad\x01\n", "line 2: description must be UTF-8 text without control characters" },
        { "#\xe9t\xe9\n", "line 1: description must be UTF-8 text without control characters" },
        { "mem ory: 512\n", "line 1: unknown key 'mem ory'" },
        { "disk0: local:vm\n",
                "line 1: invalid value for 'disk0': format= is required when the volume does not end in "
                ".qcow2, .raw or "
                ".img" },
        { "\ncpu: kvm64,flags=+nested-virt\n",
                "line 2: invalid value for 'cpu': flag nested-virt is not supported: whether it means vmx "
                "or svm "
                "depends on the host's CPU" },
        { "net0: model=virtio,macaddr=03:00:00:00:00:01\n",
                "line 1: invalid value for 'net0': macaddr must be a unicast address aa:bb:cc:dd:ee:ff" },
};

START_TEST(test_parse_error)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        _cleanup_free_ char *error = NULL;

        ck_assert_int_eq(guest_config_parse(parse_error_cases[_i].text, &c, &error), -EBADMSG);
        ck_assert_ptr_null(c);
        ck_assert_str_eq(error, parse_error_cases[_i].error);
        /* The message is optional. */
        ck_assert_int_eq(guest_config_parse(parse_error_cases[_i].text, &c, NULL), -EBADMSG);
}
END_TEST

static const char every_key[] = "#Every key there is.\n"
                                "#  indented second line\n"
                                "#\n"
                                "#after an empty line\n"
                                "accel: kvm\n"
                                "append: console=ttyS0 quiet\n"
                                "cores: 4\n"
                                "cpu: x86-64-v3,flags=+pcid;-aes,hidden=1\n"
                                "disk0: local:vm-100-disk-0.qcow2,cache=none\n"
                                "disk1: lvm:vm-100-disk-1,format=raw\n"
                                "disk2: local:iso/data.img\n"
                                "disk10: san:lun10,format=raw,cache=directsync\n"
                                "disk15: local:last.raw\n"
                                "hookscript: /var/lib/berth/hooks/h.sh\n"
                                "initrd: /var/lib/berth/initrd.img\n"
                                "kernel: /var/lib/berth/vmlinux\n"
                                "lock: suspended\n"
                                "machine: pc-q35-7.2\n"
                                "memory: 2048\n"
                                "name: every-key\n"
                                "net0: model=virtio,bridge=vmbr0\n"
                                "net1: model=e1000,macaddr=52:54:00:00:00:01\n"
                                "onboot: 1\n"
                                "shutdown-policy: save,shutdown,poweroff\n"
                                "sockets: 2\n"
                                "startup: order=3,up=10,down=120\n"
                                "tags: prod;db\n"
                                "vmstate: local:vm-100-state.raw\n";

static const struct {
        const char *in;
        const char *out; /* the canonical form */
} round_trip_cases[] = {
        { "", "" },
        { "\n\n  \n", "" },
        { "memory: 512\n", "memory: 512\n" },
        { "memory:512", "memory: 512\n" },
        { "  memory \t:  512  \r\n", "memory: 512\n" },
        { "name: b\r\nmemory: 64\r\n", "memory: 64\nname: b\n" },
        { "#only a description\n", "#only a description\n" },
        { "#\n", "#\n" },
        { "# spaced  \n\n  #second\nonboot: 0\n", "# spaced  \n#second\nonboot: 0\n" },
        { "#caf\xc3\xa9 \xe2\x82\xac\t1\nname: x\n", "#caf\xc3\xa9 \xe2\x82\xac\t1\nname: x\n" },
        { "net1: model=virtio\nnet0: model=e1000\ndisk10: a:b.raw\ndisk9: a:c.raw\ndisk1: a:d.raw\n",
                "disk1: a:d.raw\ndisk9: a:c.raw\ndisk10: a:b.raw\nnet0: model=e1000\nnet1: model=virtio\n" },
        { "tags: a;b\nstartup: up=5\nsockets: 1\nshutdown-policy: poweroff\n",
                "shutdown-policy: poweroff\nsockets: 1\nstartup: up=5\ntags: a;b\n" },
        { "append: a: b  c\n", "append: a: b  c\n" },
        { every_key, every_key },
};

START_TEST(test_round_trip)
{
        _cleanup_(guest_config_freep) GuestConfig *a = NULL, *b = NULL;
        _cleanup_free_ char *error = NULL, *first = NULL, *second = NULL;

        ck_assert_msg(guest_config_parse(round_trip_cases[_i].in, &a, &error) == 0, "%s", strempty(error));
        first = guest_config_format(a);
        ck_assert_str_eq(first, round_trip_cases[_i].out);
        ck_assert_int_eq(guest_config_parse(first, &b, NULL), 0);
        second = guest_config_format(b);
        ck_assert_str_eq(first, second);
        ck_assert_str_eq(strempty(a->description), strempty(b->description));
}
END_TEST

START_TEST(test_description)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        _cleanup_free_ char *text = NULL;

        ck_assert_int_eq(guest_config_parse("# one\n#two\n\n#\n#four \nname: x\n", &c, NULL), 0);
        ck_assert_str_eq(c->description, " one\ntwo\n\nfour ");
        ck_assert_uint_eq(c->n_entries, 1);
        guest_config_free(c);

        ck_assert_int_eq(guest_config_parse("name: x\n", &c, NULL), 0);
        ck_assert_ptr_null(c->description);
        c->description = xstrdup("set\nby hand");
        text = guest_config_format(c);
        ck_assert_str_eq(text, "#set\n#by hand\nname: x\n");
}
END_TEST

START_TEST(test_entries_keep_file_order)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;

        ck_assert_int_eq(guest_config_parse("name: x\nmemory: 64\naccel: tcg\n", &c, NULL), 0);
        ck_assert_uint_eq(c->n_entries, 3);
        ck_assert_str_eq(c->entries[0].key, "name");
        ck_assert_str_eq(c->entries[1].key, "memory");
        ck_assert_str_eq(c->entries[2].key, "accel");
        ck_assert_str_eq(c->entries[2].value, "tcg");
}
END_TEST

START_TEST(test_size_limits)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        _cleanup_free_ char *error = NULL, *big = xmalloc(GUEST_CONFIG_MAX_SIZE + 2);
        char value[GUEST_CONFIG_MAX_VALUE + 2], *text;
        size_t n;

        /* The whole config: a description line (too long itself, but the size is checked first). */
        memset(big, ' ', GUEST_CONFIG_MAX_SIZE + 1);
        big[0] = '#';
        big[GUEST_CONFIG_MAX_SIZE + 1] = 0;
        ck_assert_int_eq(guest_config_parse(big, &c, &error), -EBADMSG);
        ck_assert_str_eq(error, "config is larger than 262144 bytes");
        free(error);
        error = NULL;

        /* Exactly at the size limit is fine: blank lines and one key. */
        memset(big, '\n', GUEST_CONFIG_MAX_SIZE);
        memcpy(big + GUEST_CONFIG_MAX_SIZE - strlen("cores: 2\n"), "cores: 2\n", strlen("cores: 2\n"));
        big[GUEST_CONFIG_MAX_SIZE] = 0;
        ck_assert_int_eq(guest_config_parse(big, &c, NULL), 0);
        ck_assert_uint_eq(guest_config_get_cores(c), 2);
        c = guest_config_free(c);

        /* One value. */
        memset(value, 'x', sizeof value);
        value[GUEST_CONFIG_MAX_VALUE] = 0;
        text = xasprintf("append: %s\n", value);
        ck_assert_int_eq(guest_config_parse(text, &c, NULL), 0);
        ck_assert_uint_eq(strlen(guest_config_get(c, "append")), GUEST_CONFIG_MAX_VALUE);
        c = guest_config_free(c);
        free(text);
        value[GUEST_CONFIG_MAX_VALUE] = 'x';
        value[GUEST_CONFIG_MAX_VALUE + 1] = 0;
        text = xasprintf("\nappend: %s\n", value);
        ck_assert_int_eq(guest_config_parse(text, &c, &error), -EBADMSG);
        ck_assert_str_eq(error, "line 2: invalid value for 'append': longer than 4096 bytes");
        free(text);
        free(error);
        error = NULL;

        /* The description, counting the newlines between its lines. */
        n = GUEST_CONFIG_MAX_DESCRIPTION / 2;
        memset(big, 'd', GUEST_CONFIG_MAX_SIZE);
        big[0] = '#';
        big[n] = '\n';
        big[n + 1] = '#';
        big[GUEST_CONFIG_MAX_DESCRIPTION + 2] = '\n';
        big[GUEST_CONFIG_MAX_DESCRIPTION + 3] = 0;
        ck_assert_int_eq(guest_config_parse(big, &c, NULL), 0);
        ck_assert_uint_eq(strlen(c->description), GUEST_CONFIG_MAX_DESCRIPTION);
        c = guest_config_free(c);
        big[GUEST_CONFIG_MAX_DESCRIPTION + 2] = 'd';
        big[GUEST_CONFIG_MAX_DESCRIPTION + 3] = '\n';
        big[GUEST_CONFIG_MAX_DESCRIPTION + 4] = 0;
        ck_assert_int_eq(guest_config_parse(big, &c, &error), -EBADMSG);
        ck_assert_str_eq(error, "line 2: description is longer than 8192 bytes");
}
END_TEST

START_TEST(test_digest)
{
        char d[GUEST_CONFIG_DIGEST_LEN + 1];

        /* Values from printf '...' | sha256sum. */
        guest_config_digest("#web server\nmemory: 1024\nname: web1\n", d);
        ck_assert_str_eq(d, "a4f06462a9511df5a676a9efa9144d44973aedb5c43b36a229ca2a2ea5fb8eb2");
        guest_config_digest("memory: 512\n", d);
        ck_assert_str_eq(d, "7c5c4e0bc4d0afdea05ae491e6f1a670372d40e5ad124cabc16b903f5502769c");
        guest_config_digest("", d);
        ck_assert_str_eq(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_set)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        _cleanup_free_ char *error = NULL, *text = NULL;

        ck_assert_int_eq(guest_config_parse("#d\nname: a\nmemory: 64\ncores: 2\n", &c, NULL), 0);
        ck_assert_int_eq(guest_config_set(c, "memory", "128", NULL), 0);
        ck_assert_int_eq(guest_config_set(c, "disk10", "local:x.raw", NULL), 0);
        ck_assert_int_eq(guest_config_set(c, "disk2", "local:y.qcow2", NULL), 0);
        ck_assert_int_eq(guest_config_set(c, "name", NULL, NULL), 0);
        ck_assert_int_eq(guest_config_set(c, "tags", NULL, NULL), 0);
        ck_assert_uint_eq(c->n_entries, 4);
        ck_assert_str_eq(c->entries[0].key, "memory");
        ck_assert_ptr_null(guest_config_get(c, "name"));
        text = guest_config_format(c);
        ck_assert_str_eq(text, "#d\ncores: 2\ndisk2: local:y.qcow2\ndisk10: local:x.raw\nmemory: 128\n");

        ck_assert_int_eq(guest_config_set(c, "memory", "8", &error), -EBADMSG);
        ck_assert_str_eq(error, "invalid value for 'memory': must be an integer 16-4194304");
        free(error);
        ck_assert_int_eq(guest_config_set(c, "memory", " 128", &error), -EBADMSG);
        ck_assert_str_eq(error, "invalid value for 'memory': must not start or end with whitespace");
        free(error);
        ck_assert_int_eq(guest_config_set(c, "append", "quiet\n", &error), -EBADMSG);
        free(error);
        ck_assert_int_eq(guest_config_set(c, "colour", "blue", &error), -ENOKEY);
        ck_assert_str_eq(error, "unknown key 'colour'");
        free(error);
        ck_assert_int_eq(guest_config_set(c, "colour", NULL, &error), -ENOKEY);
        ck_assert_str_eq(error, "unknown key 'colour'");
        /* Failed sets change nothing. */
        ck_assert_str_eq(guest_config_get(c, "memory"), "128");
        ck_assert_uint_eq(c->n_entries, 4);
}
END_TEST

START_TEST(test_typed_accessors)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        _cleanup_strv_free_ char **tags = NULL;
        GuestStartup s;

        ck_assert_int_eq(guest_config_parse("", &c, NULL), 0);
        ck_assert_uint_eq(guest_config_get_memory_mib(c), 512);
        ck_assert_uint_eq(guest_config_get_cores(c), 1);
        ck_assert(guest_config_get_bool(c, "onboot", true));
        ck_assert(!guest_config_get_bool(c, "onboot", false));
        ck_assert_ptr_null(guest_config_get_tags(c));
        guest_config_get_startup(c, &s);
        ck_assert_int_eq(s.order, -1);
        ck_assert_uint_eq(s.up, 0);
        ck_assert_uint_eq(s.down, 0);
        c = guest_config_free(c);

        ck_assert_int_eq(guest_config_parse("memory: 4194304\ncores: 128\nonboot: 0\ntags: b;a;c-1\n"
                                            "startup: down=90,order=7\n",
                                 &c, NULL),
                0);
        ck_assert_uint_eq(guest_config_get_memory_mib(c), 4194304);
        ck_assert_uint_eq(guest_config_get_cores(c), 128);
        ck_assert(!guest_config_get_bool(c, "onboot", true));
        tags = guest_config_get_tags(c);
        ck_assert_uint_eq(strv_length(tags), 3);
        ck_assert_str_eq(tags[0], "b");
        ck_assert_str_eq(tags[1], "a");
        ck_assert_str_eq(tags[2], "c-1");
        guest_config_get_startup(c, &s);
        ck_assert_int_eq(s.order, 7);
        ck_assert_uint_eq(s.up, 0);
        ck_assert_uint_eq(s.down, 90);
        ck_assert_int_eq(guest_config_set(c, "startup", "up=30", NULL), 0);
        guest_config_get_startup(c, &s);
        ck_assert_int_eq(s.order, -1);
        ck_assert_uint_eq(s.up, 30);
        ck_assert_int_eq(guest_config_set(c, "startup", "order=0", NULL), 0);
        guest_config_get_startup(c, &s);
        ck_assert_int_eq(s.order, 0);
}
END_TEST

START_TEST(test_cpu)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        GuestCpu cpu;

        ck_assert_int_eq(guest_config_parse("name: x\n", &c, NULL), 0);
        ck_assert_int_eq(guest_config_get_cpu(c, &cpu), 0);
        ck_assert_int_eq(cpu.model, GUEST_CPU_X86_64_V2_AES);
        ck_assert_int_eq(cpu.model, GUEST_CPU_MODEL_DEFAULT);
        for (GuestCpuFlag f = 0; f < _GUEST_CPU_FLAG_MAX; f++)
                ck_assert_int_eq(cpu.flags[f], 0);
        ck_assert(!cpu.hidden);

        /* Flags and hidden without a model keep the default model. */
        ck_assert_int_eq(guest_config_set(c, "cpu", "flags=+pcid;-aes,hidden=1", NULL), 0);
        ck_assert_int_eq(guest_config_get_cpu(c, &cpu), 0);
        ck_assert_int_eq(cpu.model, GUEST_CPU_MODEL_DEFAULT);
        ck_assert_int_eq(cpu.flags[GUEST_CPU_FLAG_PCID], '+');
        ck_assert_int_eq(cpu.flags[GUEST_CPU_FLAG_AES], '-');
        ck_assert_int_eq(cpu.flags[GUEST_CPU_FLAG_MD_CLEAR], 0);
        ck_assert(cpu.hidden);

        ck_assert_int_eq(guest_config_set(c, "cpu", "hidden=0,cputype=host", NULL), 0);
        ck_assert_int_eq(guest_config_get_cpu(c, &cpu), 0);
        ck_assert_int_eq(cpu.model, GUEST_CPU_HOST);
        ck_assert(!cpu.hidden);

        ck_assert_int_eq(guest_config_set(c, "cpu", "kvm64", NULL), 0);
        ck_assert_int_eq(guest_config_get_cpu(c, &cpu), 0);
        ck_assert_int_eq(cpu.model, GUEST_CPU_KVM64);

        /* A failed set leaves the entry alone. */
        ck_assert_int_eq(guest_config_set(c, "cpu", "kvm64,flags=+vmx", NULL), -EBADMSG);
        ck_assert_str_eq(guest_config_get(c, "cpu"), "kvm64");
}
END_TEST

START_TEST(test_cpu_tables)
{
        ck_assert_str_eq(guest_cpu_model_to_string(GUEST_CPU_X86_64_V2_AES), "x86-64-v2-AES");
        ck_assert_ptr_null(guest_cpu_model_to_string(_GUEST_CPU_MODEL_MAX));
        ck_assert_int_eq(guest_cpu_model_from_string("max"), GUEST_CPU_MAX);
        ck_assert_int_eq(guest_cpu_model_from_string("x86-64-v2-aes"), -EINVAL);
        for (GuestCpuModel m = 0; m < _GUEST_CPU_MODEL_MAX; m++)
                ck_assert_int_eq(guest_cpu_model_from_string(guest_cpu_model_to_string(m)), m);
        ck_assert_str_eq(guest_cpu_flag_to_string(GUEST_CPU_FLAG_AMD_NO_SSB), "amd-no-ssb");
        ck_assert_int_eq(guest_cpu_flag_from_string("nested-virt"), -EINVAL);
        for (GuestCpuFlag f = 0; f < _GUEST_CPU_FLAG_MAX; f++)
                ck_assert_int_eq(guest_cpu_flag_from_string(guest_cpu_flag_to_string(f)), f);
}
END_TEST

START_TEST(test_disks)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        GuestDisk *d = NULL;
        size_t n = 99;

        ck_assert_int_eq(guest_config_parse("name: x\n", &c, NULL), 0);
        ck_assert_int_eq(guest_config_get_disks(c, &d, &n), 0);
        ck_assert_uint_eq(n, 0);
        guest_disks_free(d, n);
        c = guest_config_free(c);

        ck_assert_int_eq(guest_config_parse("disk10: san:lun/10,format=raw,cache=directsync\n"
                                            "name: x\n"
                                            "disk2: local:100/base.img,format=qcow2\n"
                                            "disk0: local:vm-100-disk-0.qcow2,cache=none\n"
                                            "disk3: lvm1:vm.raw\n",
                                 &c, NULL),
                0);
        ck_assert_int_eq(guest_config_get_disks(c, &d, &n), 0);
        ck_assert_uint_eq(n, 4);
        ck_assert_uint_eq(d[0].index, 0);
        ck_assert_str_eq(d[0].storage, "local");
        ck_assert_str_eq(d[0].volume, "vm-100-disk-0.qcow2");
        ck_assert_int_eq(d[0].format, DISK_FORMAT_QCOW2);
        ck_assert_str_eq(d[0].cache, "none");
        ck_assert_uint_eq(d[1].index, 2);
        ck_assert_str_eq(d[1].volume, "100/base.img");
        ck_assert_int_eq(d[1].format, DISK_FORMAT_QCOW2);
        ck_assert_ptr_null(d[1].cache);
        ck_assert_uint_eq(d[2].index, 3);
        ck_assert_str_eq(d[2].storage, "lvm1");
        ck_assert_int_eq(d[2].format, DISK_FORMAT_RAW);
        ck_assert_uint_eq(d[3].index, 10);
        ck_assert_str_eq(d[3].storage, "san");
        ck_assert_str_eq(d[3].volume, "lun/10");
        ck_assert_int_eq(d[3].format, DISK_FORMAT_RAW);
        ck_assert_str_eq(d[3].cache, "directsync");
        guest_disks_free(d, n);
}
END_TEST

START_TEST(test_nets)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        GuestNet *nets = NULL;
        size_t n = 0;

        ck_assert_int_eq(guest_config_parse("net3: bridge=vmbr1,model=rtl8139\n"
                                            "net0: model=virtio,macaddr=52:54:00:ab:cd:ef\n"
                                            "net1: model=e1000,bridge=vmbr0,macaddr=02:00:00:00:00:01\n",
                                 &c, NULL),
                0);
        ck_assert_int_eq(guest_config_get_nets(c, &nets, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_uint_eq(nets[0].index, 0);
        ck_assert_str_eq(nets[0].model, "virtio");
        ck_assert_str_eq(nets[0].mac, "52:54:00:ab:cd:ef");
        ck_assert_ptr_null(nets[0].bridge);
        ck_assert_uint_eq(nets[1].index, 1);
        ck_assert_str_eq(nets[1].model, "e1000");
        ck_assert_str_eq(nets[1].mac, "02:00:00:00:00:01");
        ck_assert_str_eq(nets[1].bridge, "vmbr0");
        ck_assert_uint_eq(nets[2].index, 3);
        ck_assert_str_eq(nets[2].model, "rtl8139");
        ck_assert_ptr_null(nets[2].mac);
        ck_assert_str_eq(nets[2].bridge, "vmbr1");
        guest_nets_free(nets, n);
}
END_TEST

START_TEST(test_natural_order)
{
        static const char *const keys[] = { "disk10", "net0", "disk1", "disk0", "disk9", "disk15", "disk2",
                "cores", "accel" };
        _cleanup_(guest_config_freep) GuestConfig *c = new0(GuestConfig, 1);
        _cleanup_free_ char *text = NULL;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *v = startswith(keys[i], "disk") ? "s:v.raw"
                        : startswith(keys[i], "net")        ? "model=virtio"
                        : streq(keys[i], "accel")           ? "tcg"
                                                            : "1";
                ck_assert_int_eq(guest_config_set(c, keys[i], v, NULL), 0);
        }
        text = guest_config_format(c);
        ck_assert_str_eq(text,
                "accel: tcg\ncores: 1\ndisk0: s:v.raw\ndisk1: s:v.raw\ndisk2: s:v.raw\n"
                "disk9: s:v.raw\ndisk10: s:v.raw\ndisk15: s:v.raw\nnet0: model=virtio\n");
}
END_TEST

START_TEST(test_disk_format_table)
{
        ck_assert_str_eq(disk_format_to_string(DISK_FORMAT_QCOW2), "qcow2");
        ck_assert_str_eq(disk_format_to_string(DISK_FORMAT_RAW), "raw");
        ck_assert_ptr_null(disk_format_to_string(_DISK_FORMAT_MAX));
        ck_assert_int_eq(disk_format_from_string("raw"), DISK_FORMAT_RAW);
        ck_assert_int_eq(disk_format_from_string("qcow2"), DISK_FORMAT_QCOW2);
        ck_assert_int_eq(disk_format_from_string("vmdk"), -EINVAL);
        ck_assert_int_eq(disk_format_from_string(NULL), -EINVAL);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("guest-config");
        TCase *tc = tcase_create("guest-config");

        tcase_add_loop_test(tc, test_validate, 0, ELEMENTSOF(value_cases));
        tcase_add_loop_test(tc, test_validate_cpu, 0, ELEMENTSOF(cpu_cases));
        tcase_add_loop_test(tc, test_parse_value, 0, ELEMENTSOF(value_cases));
        tcase_add_loop_test(tc, test_parse_error, 0, ELEMENTSOF(parse_error_cases));
        tcase_add_loop_test(tc, test_round_trip, 0, ELEMENTSOF(round_trip_cases));
        tcase_add_test(tc, test_description);
        tcase_add_test(tc, test_entries_keep_file_order);
        tcase_add_test(tc, test_size_limits);
        tcase_add_test(tc, test_digest);
        tcase_add_test(tc, test_set);
        tcase_add_test(tc, test_typed_accessors);
        tcase_add_test(tc, test_cpu);
        tcase_add_test(tc, test_cpu_tables);
        tcase_add_test(tc, test_disks);
        tcase_add_test(tc, test_nets);
        tcase_add_test(tc, test_natural_order);
        tcase_add_test(tc, test_disk_format_table);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
