/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _pure_ __attribute__((pure))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Hands ownership of a pointer (or fd) out of a _cleanup_ variable. */
#define TAKE_PTR(p) \
        ({ \
                __typeof__(p) _p_ = (p); \
                (p) = NULL; \
                _p_; \
        })
#define TAKE_FD(fd) \
        ({ \
                int _fd_ = (fd); \
                (fd) = -1; \
                _fd_; \
        })

/* Defines a function suitable for _cleanup_() that frees *p with func(*p) unless it is NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p) \
        { \
                if (*p) \
                        func(*p); \
        }

/* free() in an expression: p = mfree(p). */
static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

static inline void freep(void *p)
{
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -1;
}
static inline void closep(int *fd)
{
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* A NULL-terminated string vector. */
void strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)
size_t strv_length(char *const *l);
/* Appends a copy of s; returns the new vector (aborts on out-of-memory). */
void strv_push(char ***l, const char *s);
bool strv_contains(char *const *l, const char *s);
/* The strings with separator between them; "" for an empty or NULL list. */
char *strv_join(char *const *l, const char *separator);

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)

static inline bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return streq(a, b);
}
static inline const char *strempty(const char *s)
{
        return s ? s : "";
}
static inline bool isempty(const char *s)
{
        return !s || !*s;
}
/* Returns the rest of s after prefix, or NULL when s does not start with prefix. */
static inline const char *startswith(const char *s, const char *prefix)
{
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}
bool endswith(const char *s, const char *suffix);

/* errno-preserving negative errno for libc's -1 returns. */
static inline int negative_errno(void)
{
        return errno > 0 ? -errno : -EIO;
}

/* Maps an enum to its name and back through a string table. */
#define DEFINE_STRING_TABLE_LOOKUP(name, type) \
        const char *name##_to_string(type i) \
        { \
                if ((size_t) i >= ELEMENTSOF(name##_table)) \
                        return NULL; \
                return name##_table[i]; \
        } \
        type name##_from_string(const char *s) \
        { \
                if (!s) \
                        return (type) -EINVAL; \
                for (size_t i = 0; i < ELEMENTSOF(name##_table); i++) \
                        if (name##_table[i] && streq(name##_table[i], s)) \
                                return (type) i; \
                return (type) -EINVAL; \
        }

#define _fallthrough_ __attribute__((fallthrough))
#define assert_not_reached() abort()
