/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <unistd.h>

#include "alloc.h"
#include "fileio.h"
#include "golden.h"

char *golden_path(const char *area, const char *name, const char *suffix)
{
        const char *root = getenv("BERTH_SOURCE_ROOT");

        ck_assert_msg(root, "BERTH_SOURCE_ROOT is not set");
        return xasprintf("%s/tests/golden/%s/%s.%s", root, area, name, suffix);
}

/* Reports the first differing line, which is what a reviewer of a failure wants to see. */
static void assert_same_lines(const char *file, const char *want, const char *got)
{
        for (unsigned line = 1;; line++) {
                size_t a = strcspn(want, "\n"), b = strcspn(got, "\n");

                ck_assert_msg(a == b && memcmp(want, got, a) == 0,
                        "%s line %u: expected '%.*s', rendered '%.*s'", file, line, (int) a, want, (int) b,
                        got);
                if (!want[a] || !got[b]) {
                        ck_assert_msg(!want[a] && !got[b], "%s: line count differs after line %u", file, line);
                        return;
                }
                want += a + 1;
                got += b + 1;
        }
}

void golden_check(const char *area, const char *name, const char *suffix, const char *text)
{
        _cleanup_free_ char *path = golden_path(area, name, suffix), *want = NULL;

        if (streq_ptr(getenv("BERTH_UPDATE_GOLDEN"), "1")) {
                if (text)
                        ck_assert_int_eq(write_string_file_atomic(path, text, 0644), 0);
                else
                        ck_assert_int_eq(unlink_if_exists(path), 0);
                return;
        }
        if (!text) {
                ck_assert_msg(access(path, F_OK) < 0, "%s exists but nothing was rendered", path);
                return;
        }
        ck_assert_msg(read_full_file(path, &want, NULL) == 0, "cannot read %s", path);
        assert_same_lines(path, want, text);
}
