/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "check-main.h"
#include "config-format.h"
#include "fileio.h"
#include "paths.h"
#include "storage.h"

/* Text → canonical text; the canonical text must format to itself. */
static const struct {
        const char *in;
        const char *out;
} round_trips[] = {
        { "", "" },
        { "dir: local\n"
          "\tpath /var/lib/berth/images\n"
          "\tcontent images,rootdir\n"
          "\n"
          "dir: fast\n"
          "\tpath /srv/fast\n"
          "\tnodes node1,node2\n"
          "\tdisable 1\n",
                "dir: local\n"
                "\tpath /var/lib/berth/images\n"
                "\tcontent images,rootdir\n"
                "\n"
                "dir: fast\n"
                "\tpath /srv/fast\n"
                "\tnodes node1,node2\n"
                "\tdisable 1\n" },
        /* Comments, space indentation, trailing blanks and slashes, settings at their defaults. */
        { "# storages of this node\n"
          "dir:   local  \n"
          "    path   /var/lib/berth/images/  \n"
          "# not a key\n"
          "  disable 0\n"
          "  shared 0\n"
          "\n\n\n",
                "dir: local\n"
                "\tpath /var/lib/berth/images\n" },
        /* Lists are sets: written in a fixed order. */
        { "dir: a\n"
          "\tcontent snippets,iso,images\n"
          "\tnodes zeta,alpha,mid-1\n"
          "\tshared 1\n"
          "\tpath /a\n",
                "dir: a\n"
                "\tpath /a\n"
                "\tcontent images,iso,snippets\n"
                "\tnodes alpha,mid-1,zeta\n"
                "\tshared 1\n" },
        /* A header may follow a section without a blank line. */
        { "dir: a\n\tpath /a\ndir: b\n\tpath /b b/c,d\n",
                "dir: a\n"
                "\tpath /a\n"
                "\n"
                "dir: b\n"
                "\tpath /b b/c,d\n" },
        { "dir: root\n\tpath /\n", "dir: root\n\tpath /\n" },
        /* A volume group on a LUN of a multipath storage: the chain multipathd-sync follows. */
        { "multipath: san\n"
          "\tnodes n2,n1\n"
          "\n"
          "lvm: vg1\n"
          "\tshared 1\n"
          "\tbase san:3600a098038303053453f463045727a56\n"
          "\tvgname vg.san-1\n",
                "multipath: san\n"
                "\tnodes n1,n2\n"
                "\n"
                "lvm: vg1\n"
                "\tvgname vg.san-1\n"
                "\tbase san:3600a098038303053453f463045727a56\n"
                "\tshared 1\n" },
        { "dir: u\n\tpath /srv/gr\xc3\xbc\xc3\x9f"
          "e/\xe2\x82\xac\n",
                "dir: u\n\tpath /srv/gr\xc3\xbc\xc3\x9f"
                "e/\xe2\x82\xac\n" },
};

START_TEST(test_round_trip)
{
        ASSERT_ROUND_TRIP(StorageConfig, storage_config_parse, storage_config_format, storage_config_freep,
                round_trips[_i].in, round_trips[_i].out);
}
END_TEST

static const struct {
        const char *in;
        const char *error;
} bad_inputs[] = {
        { "foo: x\n", "line 1: unknown storage type 'foo'" },
        { "zfspool: x\n\tpool tank\n", "line 1: unknown storage type 'zfspool'" },
        { "lvm: x\n\tbase san:lun\n", "line 1: lvm storage 'x' needs 'vgname'" },
        { "lvm: x\n\tvgname -vg\n", "line 2: invalid vgname '-vg': not a volume group name" },
        { "lvm: x\n\tvgname vg\n\tbase lun\n", "line 3: invalid base 'lun': expected '<storage>:<volume>'" },
        { "lvm: x\n\tvgname vg\n\tbase san:\n", "line 3: invalid base 'san:': expected '<storage>:<volume>'" },
        { "lvm: x\n\tvgname vg\n\tpath /a\n", "line 3: unknown key 'path' for lvm storage 'x'" },
        { "multipath: san\n\tbase a:b\n", "line 2: unknown key 'base' for multipath storage 'san'" },
        { "dir: local\n\tpath /a\n\tbogus 1\n", "line 3: unknown key 'bogus' for dir storage 'local'" },
        { "dir: local\n\tcontent images\n", "line 1: dir storage 'local' needs 'path'" },
        { "dir: local\n\tpath /a\n\ndir: x\n\ndir: y\n\tpath /y\n", "line 4: dir storage 'x' needs 'path'" },
        { "dir: local\n\tpath /a\n\ndir: local\n\tpath /b\n", "line 4: duplicate storage id 'local'" },
        { "dir: local\n\tpath /a\n\tpath /b\n", "line 3: duplicate key 'path' in storage 'local'" },
        { "dir: local\n\tpath a/b\n", "line 2: invalid path 'a/b': not an absolute path" },
        { "dir: local\n\tpath /a/../b\n",
                "line 2: invalid path '/a/../b': path has an empty, '.' or '..' component" },
        { "dir: local\n\tpath /a//b\n",
                "line 2: invalid path '/a//b': path has an empty, '.' or '..' component" },
        { "dir: local\n\tpath /a/.\n",
                "line 2: invalid path '/a/.': path has an empty, '.' or '..' component" },
        { "dir: local\n\tpath /a\n\tcontent images,disks\n",
                "line 3: invalid content 'images,disks': unknown content type 'disks'" },
        { "dir: local\n\tpath /a\n\tcontent images,\n", "line 3: invalid content 'images,': empty list item" },
        { "dir: local\n\tpath /a\n\tcontent iso,iso\n",
                "line 3: invalid content 'iso,iso': content type 'iso' listed twice" },
        { "dir: local\n\tpath /a\n\tnodes node_1\n",
                "line 3: invalid nodes 'node_1': invalid node name 'node_1'" },
        { "dir: local\n\tpath /a\n\tnodes b,a,b\n", "line 3: invalid nodes 'b,a,b': node 'b' listed twice" },
        { "dir: local\n\tpath /a\n\tdisable 2\n", "line 3: invalid disable '2': expected 0 or 1" },
        { "dir: local\n\tpath /a\n\tshared yes\n", "line 3: invalid shared 'yes': expected 0 or 1" },
        { "dir: local\n\tpath\n", "line 2: key 'path' needs a value" },
        { "\tpath /a\n", "line 1: indented line outside a section" },
        { "dir: local\n\tpath /a\n\n\tshared 1\n", "line 4: indented line outside a section" },
        { "dir local\n", "line 1: expected '<type>: <id>' or an indented 'key value'" },
        { ": local\n", "line 1: expected '<type>: <id>' or an indented 'key value'" },
        { "dir x: local\n", "line 1: expected '<type>: <id>' or an indented 'key value'" },
        { "dir:\n", "line 1: invalid storage id ''" },
        { "dir: 1st\n\tpath /a\n", "line 1: invalid storage id '1st'" },
        { "dir: Local\n\tpath /a\n", "line 1: invalid storage id 'Local'" },
        { "dir: a:b\n\tpath /a\n", "line 1: invalid storage id 'a:b'" },
        { "dir: abcdefghijklmnopqrstuvwxyz0123456\n\tpath /a\n",
                "line 1: invalid storage id 'abcdefghijklmnopqrstuvwxyz0123456'" },
        { "dir: local extra\n\tpath /a\n", "line 1: trailing text after storage id" },
        { "dir: local\r\n\tpath /a\n", "line 1: control character in line" },
        { "dir: local\n\tpath /a\x7f\n", "line 2: control character in line" },
        { "dir: local\n\tpath /a\xff\n", "line 2: invalid UTF-8" },
        { "dir: local\n\tpath /a\xc3\n", "line 2: invalid UTF-8" },
        { "dir: local\n\tpath /a\xc0\xaf\n", "line 2: invalid UTF-8" },
        { "dir: local\n\tpath /a\xed\xa0\x80\n", "line 2: invalid UTF-8" },
        { "dir: local\n\tpath /a /\n", "line 2: invalid path '/a /': path ends in whitespace" },
};

START_TEST(test_bad_input)
{
        ASSERT_PARSE_ERROR(StorageConfig, storage_config_parse, bad_inputs[_i].in, bad_inputs[_i].error);
}
END_TEST

START_TEST(test_default_and_content)
{
        _cleanup_(storage_config_freep) StorageConfig *d = storage_config_default(), *c = NULL;
        _cleanup_free_ char *text = storage_config_format(d);
        const Storage *s;

        ck_assert_str_eq(text, "dir: local\n\tpath /var/lib/berth/images\n");
        s = storage_find(d, "local");
        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(s->type, STORAGE_TYPE_DIR);
        ck_assert_ptr_null(storage_find(d, "loca"));
        /* dir holds images and container roots unless configured otherwise. */
        ck_assert(storage_has_content(s, STORAGE_CONTENT_IMAGES));
        ck_assert(storage_has_content(s, STORAGE_CONTENT_ROOTDIR));
        ck_assert(!storage_has_content(s, STORAGE_CONTENT_ISO));

        ck_assert_int_eq(storage_config_parse("dir: iso\n\tpath /iso\n\tcontent iso,vztmpl\n", &c, NULL), 0);
        s = storage_find(c, "iso");
        ck_assert(storage_has_content(s, STORAGE_CONTENT_ISO));
        ck_assert(storage_has_content(s, STORAGE_CONTENT_VZTMPL));
        ck_assert(!storage_has_content(s, STORAGE_CONTENT_IMAGES));
        ck_assert_str_eq(storage_content_to_string(STORAGE_CONTENT_SNIPPETS), "snippets");
        ck_assert_int_eq(storage_content_from_string("backup"), STORAGE_CONTENT_BACKUP);
        ck_assert_int_eq(storage_type_from_string("lvm"), STORAGE_TYPE_LVM);
        ck_assert_int_eq(storage_type_from_string("zfspool"), -EINVAL);
}
END_TEST

static const char volume_cfg[] = "dir: local\n"
                                 "\tpath /var/lib/berth/images\n"
                                 "\n"
                                 "dir: off\n"
                                 "\tpath /srv/off\n"
                                 "\tdisable 1\n"
                                 "\n"
                                 "dir: isos\n"
                                 "\tpath /srv/iso\n"
                                 "\tcontent iso\n"
                                 "\n"
                                 "multipath: san\n"
                                 "\n"
                                 "lvm: vg\n"
                                 "\tvgname vg\n"
                                 "\tbase san:3600a0980383030\n";

static char *tmpdir;
static StorageConfig *cfg;

static void setup(void)
{
        tmpdir = test_tmpdir_new();
        ck_assert_int_eq(paths_set_root(tmpdir), 0);
        ck_assert_int_eq(storage_config_parse(volume_cfg, &cfg, NULL), 0);
}

static void teardown(void)
{
        cfg = storage_config_free(cfg);
        ck_assert_int_eq(paths_set_root("/"), 0);
        test_tmpdir_free(tmpdir);
}

START_TEST(test_volume_path)
{
        _cleanup_free_ char *p = NULL, *want = NULL;

        ck_assert_int_eq(storage_volume_path(cfg, "local:100/vm-100-disk-0.qcow2", &p), 0);
        want = xasprintf("%s/var/lib/berth/images/100/vm-100-disk-0.qcow2", tmpdir);
        ck_assert_str_eq(p, want);
        free(p);
        ck_assert_int_eq(storage_volume_path(cfg, "isos:999999999/a+b_c-d.iso", &p), 0);
        free(want);
        want = xasprintf("%s/srv/iso/999999999/a+b_c-d.iso", tmpdir);
        ck_assert_str_eq(p, want);
        /* Resolving a path neither creates nor needs anything. */
        ck_assert_int_eq(access(want, F_OK), -1);
}
END_TEST

/* Every volume operation rejects these before touching anything. */
static const struct {
        const char *volid;
        int error;
} bad_volids[] = {
        { "nosuch:100/vm-100-disk-0.raw", -ENOENT },
        { "off:100/vm-100-disk-0.raw", -ENOMEDIUM },
        { "local", -EINVAL },
        { "local:", -EINVAL },
        { ":100/x.raw", -EINVAL },
        { "Local:100/x.raw", -EINVAL },
        { "local:100", -EINVAL },
        { "local:100/", -EINVAL },
        { "local:100/..", -EINVAL },
        { "local:100/../101/x.raw", -EINVAL },
        { "local:../100/x.raw", -EINVAL },
        { "local:100/.hidden", -EINVAL },
        { "local:100/a/b.raw", -EINVAL },
        { "local:100/a b.raw", -EINVAL },
        { "local:100/a,b.raw", -EINVAL },
        { "local:99/x.raw", -EINVAL },
        { "local:0100/x.raw", -EINVAL },
        { "local:1000000000/x.raw", -EINVAL },
        { "local:x/y.raw", -EINVAL },
        { "san:3600a0980383030", -EOPNOTSUPP },
        { "vg:vm-100-disk-0", -EOPNOTSUPP },
};

START_TEST(test_bad_volid)
{
        char *p = NULL;

        ck_assert_int_eq(storage_volume_path(cfg, bad_volids[_i].volid, &p), bad_volids[_i].error);
        ck_assert_ptr_null(p);
        ck_assert_int_eq(storage_volume_free(cfg, bad_volids[_i].volid), bad_volids[_i].error);
        ck_assert_int_eq(storage_volume_activate(cfg, bad_volids[_i].volid), bad_volids[_i].error);
        ck_assert_int_eq(storage_volume_deactivate(cfg, bad_volids[_i].volid), bad_volids[_i].error);
}
END_TEST

static uint64_t file_size(const char *path)
{
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        return (uint64_t) st.st_size;
}

/* The virtual size in a qcow2 header: magic "QFI\xfb", then the big-endian size at offset 24. */
static uint64_t qcow2_virtual_size(const char *path)
{
        unsigned char h[32];
        uint64_t size;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(read(fd, h, sizeof h), sizeof h);
        close(fd);
        ck_assert_mem_eq(h, "QFI\xfb", 4);
        memcpy(&size, h + 24, sizeof size);
        return be64toh(size);
}

START_TEST(test_alloc_and_free)
{
        _cleanup_free_ char *q = NULL, *r = NULL, *named = NULL, *qp = NULL, *rp = NULL, *np = NULL,
                            *dir = xasprintf("%s/var/lib/berth/images/100", tmpdir);

        ck_assert_int_eq(storage_volume_alloc(cfg, "local", 100, NULL, DISK_FORMAT_QCOW2, 1 << 20, &q), 0);
        ck_assert_str_eq(q, "local:100/vm-100-disk-0.qcow2");
        ck_assert_int_eq(storage_volume_path(cfg, q, &qp), 0);
        ck_assert_uint_eq(qcow2_virtual_size(qp), 1 << 20);

        /* Disk numbers are shared between formats. */
        ck_assert_int_eq(storage_volume_alloc(cfg, "local", 100, NULL, DISK_FORMAT_RAW, 3 << 20, &r), 0);
        ck_assert_str_eq(r, "local:100/vm-100-disk-1.raw");
        ck_assert_int_eq(storage_volume_path(cfg, r, &rp), 0);
        ck_assert_uint_eq(file_size(rp), 3 << 20);

        ck_assert_int_eq(
                storage_volume_alloc(cfg, "local", 100, "data.qcow2", DISK_FORMAT_QCOW2, 4096, &named), 0);
        ck_assert_str_eq(named, "local:100/data.qcow2");
        ck_assert_int_eq(storage_volume_path(cfg, named, &np), 0);
        ck_assert_uint_eq(qcow2_virtual_size(np), 4096);

        ck_assert_int_eq(storage_volume_activate(cfg, q), 0);
        ck_assert_int_eq(storage_volume_deactivate(cfg, q), 0);

        ck_assert_int_eq(storage_volume_free(cfg, q), 0);
        ck_assert_int_eq(access(qp, F_OK), -1);
        ck_assert_int_eq(storage_volume_free(cfg, q), -ENOENT);
        /* The freed number is the first free one again. */
        free(q);
        ck_assert_int_eq(storage_volume_alloc(cfg, "local", 100, NULL, DISK_FORMAT_RAW, 512, &q), 0);
        ck_assert_str_eq(q, "local:100/vm-100-disk-0.raw");

        ck_assert_int_eq(storage_volume_free(cfg, q), 0);
        ck_assert_int_eq(storage_volume_free(cfg, r), 0);
        ck_assert_int_eq(access(dir, F_OK), 0);
        ck_assert_int_eq(storage_volume_free(cfg, named), 0);
        /* The guest's directory goes with its last volume. */
        ck_assert_int_eq(access(dir, F_OK), -1);
}
END_TEST

START_TEST(test_alloc_errors)
{
        _cleanup_free_ char *path = xasprintf("%s/var/lib/berth/images/100/x.qcow2", tmpdir),
                            *dir = xasprintf("%s/var/lib/berth/images/100", tmpdir), *existing = NULL;
        char *v = NULL;

        ck_assert_int_eq(storage_volume_alloc(cfg, "nosuch", 100, NULL, DISK_FORMAT_RAW, 512, &v), -ENOENT);
        ck_assert_int_eq(storage_volume_alloc(cfg, "off", 100, NULL, DISK_FORMAT_RAW, 512, &v), -ENOMEDIUM);
        ck_assert_int_eq(storage_volume_alloc(cfg, "isos", 100, NULL, DISK_FORMAT_RAW, 512, &v), -EMEDIUMTYPE);
        ck_assert_int_eq(storage_volume_alloc(cfg, "vg", 100, NULL, DISK_FORMAT_RAW, 512, &v), -EOPNOTSUPP);
        ck_assert_int_eq(storage_volume_alloc(cfg, "local", 99, NULL, DISK_FORMAT_RAW, 512, &v), -EINVAL);
        ck_assert_int_eq(storage_volume_alloc(cfg, "local", 100, NULL, DISK_FORMAT_RAW, 0, &v), -EINVAL);
        ck_assert_int_eq(storage_volume_alloc(cfg, "local", 100, NULL, _DISK_FORMAT_MAX, 512, &v), -EINVAL);
        ck_assert_int_eq(
                storage_volume_alloc(cfg, "local", 100, "x.raw", DISK_FORMAT_QCOW2, 512, &v), -EINVAL);
        ck_assert_int_eq(
                storage_volume_alloc(cfg, "local", 100, "qcow2", DISK_FORMAT_QCOW2, 512, &v), -EINVAL);
        ck_assert_int_eq(
                storage_volume_alloc(cfg, "local", 100, "../x.qcow2", DISK_FORMAT_QCOW2, 512, &v), -EINVAL);
        ck_assert_int_eq(
                storage_volume_alloc(cfg, "local", 100, "a/x.qcow2", DISK_FORMAT_QCOW2, 512, &v), -EINVAL);
        ck_assert_ptr_null(v);
        /* Nothing was created by the rejected calls. */
        ck_assert_int_eq(access(dir, F_OK), -1);

        /* qemu-img refuses sizes above INT64_MAX: the reserved file must not stay behind. */
        ck_assert_int_eq(
                storage_volume_alloc(cfg, "local", 100, "x.qcow2", DISK_FORMAT_QCOW2, UINT64_MAX, &v), -EIO);
        ck_assert_ptr_null(v);
        ck_assert_int_eq(access(path, F_OK), -1);

        ck_assert_int_eq(
                storage_volume_alloc(cfg, "local", 100, "x.qcow2", DISK_FORMAT_QCOW2, 512, &existing), 0);
        ck_assert_int_eq(
                storage_volume_alloc(cfg, "local", 100, "x.qcow2", DISK_FORMAT_QCOW2, 512, &v), -EEXIST);
        ck_assert_ptr_null(v);
        /* The existing volume was not overwritten. */
        ck_assert_uint_eq(qcow2_virtual_size(path), 512);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("storage");
        TCase *tc = tcase_create("config");
        TCase *vol = tcase_create("volumes");

        tcase_add_loop_test(tc, test_round_trip, 0, ELEMENTSOF(round_trips));
        tcase_add_loop_test(tc, test_bad_input, 0, ELEMENTSOF(bad_inputs));
        tcase_add_test(tc, test_default_and_content);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(vol, setup, teardown);
        tcase_add_test(vol, test_volume_path);
        tcase_add_loop_test(vol, test_bad_volid, 0, ELEMENTSOF(bad_volids));
        tcase_add_test(vol, test_alloc_and_free);
        tcase_add_test(vol, test_alloc_errors);
        suite_add_tcase(s, vol);

        return run_suite(s);
}
