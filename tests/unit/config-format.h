/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <check.h>
#include <errno.h>

#include "alloc.h"

/*
 * Assertions shared by the tests of berth's section-config formats. Type,
 * parse, format and freep name one format's type and functions, e.g.
 * StorageConfig, storage_config_parse, storage_config_format and
 * storage_config_freep. They are macros because the formats share no type.
 */

/* parse → format → parse → format: the first text is out, the second the same again. */
#define ASSERT_ROUND_TRIP(Type, parse, format, freep, in, out) \
        do { \
                _cleanup_(freep) Type *_a = NULL, *_b = NULL; \
                _cleanup_free_ char *_first = NULL, *_second = NULL, *_error = NULL; \
\
                ck_assert_msg(parse((in), &_a, &_error) == 0, "%s", _error); \
                _first = format(_a); \
                ck_assert_str_eq(_first, (out)); \
                ck_assert_int_eq(parse(_first, &_b, &_error), 0); \
                _second = format(_b); \
                ck_assert_str_eq(_second, _first); \
                ck_assert_ptr_null(_error); \
        } while (0)

/* in is rejected with exactly this message and the result left alone; the message is optional. */
#define ASSERT_PARSE_ERROR(Type, parse, in, message) \
        do { \
                Type *_c = (Type *) 0x1; \
                _cleanup_free_ char *_error = NULL; \
\
                ck_assert_int_eq(parse((in), &_c, &_error), -EBADMSG); \
                ck_assert_str_eq(_error, (message)); \
                ck_assert_ptr_eq(_c, (Type *) 0x1); \
                ck_assert_int_eq(parse((in), &_c, NULL), -EBADMSG); \
        } while (0)
