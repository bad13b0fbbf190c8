/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Out-of-memory policy for all of berth: allocation failure aborts the process.
 * A daemon that cannot allocate a few bytes cannot do anything useful, and
 * systemd restarts it; guests keep running because they never depend on a
 * daemon staying up. Use these functions instead of malloc() and friends, and
 * do not check their results.
 */

#include <stdarg.h>
#include <stddef.h>

#include "macro.h"

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);
void *xmemdup(const void *p, size_t n);

#define new0(type, n) ((type *) xcalloc((n), sizeof(type)))
