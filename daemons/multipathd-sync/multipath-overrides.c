/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "alloc.h"
#include "multipath-config.h"
#include "section-config.h"

/*
 * A structural check of multipath.conf syntax as multipath-tools 0.9.4 reads
 * it: per line, words, double-quoted strings ("" is a quote inside one) and
 * the braces '{' and '}'; '#' and '!' outside quotes start a comment. A
 * section opens with "<name> {" on one line and closes with a '}' alone on
 * its line. Which keywords a section takes is left to multipath -t.
 */

/* multipath reads lines into a 1024-byte buffer and splits longer ones, mangling them. */
#define LINE_MAX_BYTES 1023U
#define DEPTH_MAX 2U

static const char *const top_sections[] = { "devices", "overrides", "blacklist" };

typedef struct Token {
        char kind; /* 'w' word, 'q' quoted string, '{', '}' */
        const char *start;
        size_t len;
} Token;

typedef struct Line {
        Token *tokens;
        size_t n;
} Line;

static int fail(char **ret_error, int r, unsigned line, const char *fmt, ...) _printf_(4, 5);
static int fail(char **ret_error, int r, unsigned line, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        *ret_error = xasprintf("line %u: %s", line, msg);
        return r;
}

static void line_add(Line *l, char kind, const char *start, size_t len)
{
        l->tokens = xrealloc(l->tokens, (l->n + 1) * sizeof(Token));
        l->tokens[l->n++] = (Token){ kind, start, len };
}

/* Returns NULL or why the line cannot be split. */
static const char *split_line(const char *p, Line *ret)
{
        for (;;) {
                p += strspn(p, " \t");
                if (!*p || *p == '#' || *p == '!')
                        return NULL;
                if (*p == '{' || *p == '}') {
                        line_add(ret, *p, p, 1);
                        p++;
                } else if (*p == '"') {
                        const char *start = ++p;
                        for (;; p++) {
                                if (!*p)
                                        return "missing closing quote";
                                if (*p == '"' && p[1] == '"')
                                        p++;
                                else if (*p == '"')
                                        break;
                        }
                        line_add(ret, 'q', start, p - start);
                        p++;
                } else {
                        size_t n = strcspn(p, " \t\"{}#!");
                        line_add(ret, 'w', p, n);
                        p += n;
                }
        }
}

static bool token_is(const Token *t, const char *word)
{
        return t->kind == 'w' && t->len == strlen(word) && memcmp(t->start, word, t->len) == 0;
}

typedef struct OverridesState {
        unsigned depth;
        unsigned open_line[DEPTH_MAX];
        char *open_name[DEPTH_MAX];
        bool seen[ELEMENTSOF(top_sections)];
} OverridesState;

static int check_open(OverridesState *st, const Line *l, unsigned line_no, char **ret_error)
{
        const Token *name = &l->tokens[0];

        if (l->n != 2 || name->kind != 'w')
                return fail(ret_error, -EBADMSG, line_no, "a section opens with '<name> {' on its own line");
        if (st->depth == DEPTH_MAX)
                return fail(ret_error, -EBADMSG, line_no, "sections nest at most %u levels deep", DEPTH_MAX);
        if (st->depth == 0) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(top_sections); i++)
                        if (token_is(name, top_sections[i]))
                                break;
                if (i == ELEMENTSOF(top_sections))
                        return fail(ret_error, -EBADMSG, line_no,
                                "section '%.*s' is not allowed; only devices, overrides and blacklist are",
                                (int) name->len, name->start);
                if (st->seen[i])
                        return fail(ret_error, -EBADMSG, line_no,
                                "section '%s' repeated; multipath rejects that within one file",
                                top_sections[i]);
                st->seen[i] = true;
        }
        st->open_line[st->depth] = line_no;
        st->open_name[st->depth] = xstrndup(name->start, name->len);
        st->depth++;
        return 0;
}

static int check_line(OverridesState *st, const Line *l, unsigned line_no, char **ret_error)
{
        if (l->n == 0)
                return 0;
        if (l->tokens[0].kind == '}') {
                if (l->n != 1)
                        return fail(ret_error, -EBADMSG, line_no, "'}' must be alone on its line");
                if (st->depth == 0)
                        return fail(ret_error, -EBADMSG, line_no, "'}' closes no section");
                st->depth--;
                free(st->open_name[st->depth]);
                st->open_name[st->depth] = NULL;
                return 0;
        }
        if (l->tokens[l->n - 1].kind == '{')
                return check_open(st, l, line_no, ret_error);
        for (size_t i = 0; i < l->n; i++)
                if (l->tokens[i].kind == '{' || l->tokens[i].kind == '}')
                        return fail(ret_error, -EBADMSG, line_no, "unexpected '%c'", l->tokens[i].kind);
        if (st->depth == 0)
                return fail(ret_error, -EBADMSG, line_no, "'%.*s' outside a section", (int) l->tokens[0].len,
                        l->tokens[0].start);
        if (l->tokens[0].kind != 'w')
                return fail(ret_error, -EBADMSG, line_no, "expected a keyword, not a quoted string");
        return 0;
}

int multipath_overrides_check(const char *text, char **ret_error)
{
        OverridesState st = {};
        unsigned line_no = 0;
        int r = 0;

        if (strlen(text) > MULTIPATH_OVERRIDES_MAX) {
                if (ret_error)
                        *ret_error = xasprintf("overrides are larger than %u bytes", MULTIPATH_OVERRIDES_MAX);
                return -EFBIG;
        }
        for (const char *p = text; *p && r >= 0;) {
                size_t n = strcspn(p, "\n");
                _cleanup_free_ char *line = xstrndup(p, n);
                const char *why;
                Line l = {};

                p += n;
                if (*p == '\n')
                        p++;
                line_no++;
                why = section_config_check_line(line) ?: split_line(line, &l);
                if (why)
                        r = fail(ret_error, -EBADMSG, line_no, "%s", why);
                else if (n > LINE_MAX_BYTES)
                        r = fail(ret_error, -EBADMSG, line_no, "longer than %u bytes", LINE_MAX_BYTES);
                else
                        r = check_line(&st, &l, line_no, ret_error);
                free(l.tokens);
        }
        if (r >= 0 && st.depth > 0)
                r = fail(ret_error, -EBADMSG, st.open_line[st.depth - 1], "section '%s' is not closed",
                        st.open_name[st.depth - 1]);
        for (unsigned i = 0; i < DEPTH_MAX; i++)
                free(st.open_name[i]);
        return r < 0 ? r : 0;
}
