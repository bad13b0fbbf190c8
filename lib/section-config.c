/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "alloc.h"
#include "section-config.h"
#include "utf8.h"

typedef struct Tokenizer {
        const SectionConfigParser *parser;
        void *userdata;
        bool in_section;
        unsigned section_line;
        char *error;
} Tokenizer;

static int fail(Tokenizer *t, unsigned line, const char *fmt, ...) _printf_(3, 4);
static int fail(Tokenizer *t, unsigned line, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        free(t->error);
        t->error = xasprintf("line %u: %s", line, msg);
        return -EBADMSG;
}

static int fail_callback(Tokenizer *t, unsigned line, int r, char *reason)
{
        _cleanup_free_ char *why = reason;

        if (r >= 0)
                return 0;
        return fail(t, line, "%s", strempty(why));
}

static int end_section(Tokenizer *t)
{
        char *reason = NULL;
        int r;

        if (!t->in_section)
                return 0;
        t->in_section = false;
        if (!t->parser->section_end)
                return 0;
        r = t->parser->section_end(t->userdata, &reason);
        return fail_callback(t, t->section_line, r, reason);
}

static int parse_header(Tokenizer *t, const char *line, unsigned line_no)
{
        const char *colon = strchr(line, ':'), *id;
        char *reason = NULL;
        size_t n;
        int r;

        r = end_section(t);
        if (r < 0)
                return r;

        if (!colon || colon == line || strcspn(line, " \t") < (size_t) (colon - line))
                return fail(t, line_no, "expected '<type>: <id>' or an indented 'key value'");
        id = colon + 1 + strspn(colon + 1, " \t");
        n = strcspn(id, " \t");
        if (id[n + strspn(id + n, " \t")])
                return fail(t, line_no, "trailing text after %s id", t->parser->what);

        _cleanup_free_ char *type = xstrndup(line, colon - line), *sid = xstrndup(id, n);
        r = t->parser->section(type, sid, t->userdata, &reason);
        r = fail_callback(t, line_no, r, reason);
        if (r < 0)
                return r;
        t->in_section = true;
        t->section_line = line_no;
        return 0;
}

static int parse_key(Tokenizer *t, const char *line, unsigned line_no)
{
        const char *k = line + strspn(line, " \t"), *v;
        size_t n = strcspn(k, " \t");
        char *reason = NULL;
        int r;

        if (!t->in_section)
                return fail(t, line_no, "indented line outside a section");

        _cleanup_free_ char *key = xstrndup(k, n);
        v = k + n + strspn(k + n, " \t");
        n = strlen(v);
        while (n > 0 && strchr(" \t", v[n - 1]))
                n--;
        _cleanup_free_ char *value = xstrndup(v, n);

        r = t->parser->key(key, value, t->userdata, &reason);
        return fail_callback(t, line_no, r, reason);
}

const char *section_config_check_line(const char *line)
{
        int r = utf8_check_printable(line, strlen(line), true);

        if (r == -EINVAL)
                return "control character in line";
        if (r < 0)
                return "invalid UTF-8";
        return NULL;
}

static int parse_line(Tokenizer *t, const char *line, unsigned line_no)
{
        const char *why = section_config_check_line(line);
        if (why)
                return fail(t, line_no, "%s", why);

        if (line[strspn(line, " \t")] == 0)
                return end_section(t);
        if (line[0] == '#')
                return 0;
        if (line[0] == ' ' || line[0] == '\t')
                return parse_key(t, line, line_no);
        return parse_header(t, line, line_no);
}

int section_config_parse(const char *text, const SectionConfigParser *p, void *userdata, char **ret_error)
{
        Tokenizer t = { .parser = p, .userdata = userdata };
        unsigned line_no = 0;
        int r = 0;

        for (const char *s = text; *s && r >= 0;) {
                size_t n = strcspn(s, "\n");
                _cleanup_free_ char *line = xstrndup(s, n);

                s += n;
                if (*s == '\n')
                        s++;
                r = parse_line(&t, line, ++line_no);
        }
        if (r >= 0)
                r = end_section(&t);
        if (r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(t.error);
                free(t.error);
                return r;
        }
        return 0;
}
