/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether s[0..n) is printable text: valid UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF, no sequence cut short) without ASCII
 * control characters, tabs excepted where allow_tab. Returns 0, -EILSEQ at
 * invalid UTF-8 or -EINVAL at a control character, whichever comes first.
 */
int utf8_check_printable(const char *s, size_t n, bool allow_tab);
