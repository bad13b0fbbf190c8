/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "acl.h"
#include "alloc.h"
#include "utf8.h"

/* The most fields a line has, its type included (a user line). */
#define MAX_FIELDS 9

typedef struct Parser {
        AclConfig *config;
        unsigned line;
        /* root@pam is there before its line, as in Proxmox, and that line replaces it. */
        bool root_implicit;
        char *error;
} Parser;

static int fail(Parser *p, const char *fmt, ...) _printf_(2, 3);
static int fail(Parser *p, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        free(p->error);
        p->error = xasprintf("line %u: %s", p->line, msg);
        return -EBADMSG;
}

static void warn(Parser *p, const char *fmt, ...) _printf_(2, 3);
static void warn(Parser *p, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        _cleanup_free_ char *w = xasprintf("line %u: %s", p->line, msg);
        strv_push(&p->config->warnings, w);
}

AclUser *acl_find_user(const AclConfig *c, const char *id)
{
        for (size_t i = 0; i < c->n_users; i++)
                if (streq(c->users[i].id, id))
                        return c->users + i;
        return NULL;
}

AclToken *acl_find_token(const AclConfig *c, const char *id)
{
        for (size_t i = 0; i < c->n_tokens; i++)
                if (streq(c->tokens[i].id, id))
                        return c->tokens + i;
        return NULL;
}

AclGroup *acl_find_group(const AclConfig *c, const char *id)
{
        for (size_t i = 0; i < c->n_groups; i++)
                if (streq(c->groups[i].id, id))
                        return c->groups + i;
        return NULL;
}

AclRole *acl_find_role(const AclConfig *c, const char *id)
{
        for (size_t i = 0; i < c->n_roles; i++)
                if (streq(c->roles[i].id, id))
                        return c->roles + i;
        return NULL;
}

/* Strict decimal seconds; empty is 0 (never), as Proxmox reads it. */
static bool parse_expire(const char *s, int64_t *ret)
{
        int64_t v = 0;

        if (strlen(s) > 18 || (s[0] == '0' && s[1]))
                return false;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (*p - '0');
        }
        *ret = v;
        return true;
}

/* "0" or "1"; empty is 0, as Proxmox reads it. */
static int parse_bool(Parser *p, const char *field, const char *what, bool *ret)
{
        if (*field && !streq(field, "0") && !streq(field, "1"))
                return fail(p, "%s must be 0 or 1, not '%s'", what, field);
        *ret = field[0] == '1';
        return 0;
}

static void user_done(AclUser *u)
{
        free(u->id);
        free(u->firstname);
        free(u->lastname);
        free(u->email);
        free(u->comment);
        free(u->keys);
}

static int parse_user(Parser *p, char **f)
{
        AclConfig *c = p->config;
        AclUser u = {}, *old;

        if (!acl_userid_is_valid(f[1]))
                return fail(p, "invalid userid '%s'", f[1]);
        old = acl_find_user(c, f[1]);
        if (old && !(p->root_implicit && streq(f[1], "root@pam")))
                return fail(p, "duplicate user '%s'", f[1]);
        if (parse_bool(p, f[2], "enable", &u.enable) < 0)
                return -EBADMSG;
        if (!parse_expire(f[3], &u.expire))
                return fail(p, "invalid expire '%s'", f[3]);
        if (old) {
                p->root_implicit = false;
                user_done(old);
                c->n_users--;
                memmove(old, old + 1, (c->n_users - (old - c->users)) * sizeof(AclUser));
        }
        u.id = xstrdup(f[1]);
        u.firstname = xstrdup(f[4]);
        u.lastname = xstrdup(f[5]);
        u.email = xstrdup(f[6]);
        u.comment = xstrdup(f[7]);
        u.keys = xstrdup(f[8]);
        c->users = xrealloc(c->users, (c->n_users + 1) * sizeof(AclUser));
        c->users[c->n_users++] = u;
        return 0;
}

static int parse_token(Parser *p, char **f)
{
        AclConfig *c = p->config;
        AclToken t = {};

        if (!acl_tokenid_is_valid(f[1]))
                return fail(p, "invalid tokenid '%s'", f[1]);
        if (acl_find_token(c, f[1]))
                return fail(p, "duplicate token '%s'", f[1]);
        if (!parse_expire(f[2], &t.expire))
                return fail(p, "invalid expire '%s'", f[2]);
        if (parse_bool(p, f[3], "privsep", &t.privsep) < 0)
                return -EBADMSG;
        if (!isempty(f[5]))
                return fail(p, "too many fields");

        _cleanup_free_ char *userid = xstrndup(f[1], strrchr(f[1], '!') - f[1]);
        if (!acl_find_user(c, userid)) {
                warn(p, "ignoring token '%s' of undefined user '%s'", f[1], userid);
                return 0;
        }
        t.id = xstrdup(f[1]);
        t.comment = xstrdup(f[4]);
        c->tokens = xrealloc(c->tokens, (c->n_tokens + 1) * sizeof(AclToken));
        c->tokens[c->n_tokens++] = t;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int parse_group(Parser *p, char **f)
{
        AclConfig *c = p->config;
        _cleanup_strv_free_ char **members = NULL;
        _cleanup_free_ char *list = xstrdup(f[2]);

        if (!acl_groupid_is_valid(f[1]))
                return fail(p, "invalid groupid '%s'", f[1]);
        if (acl_find_group(c, f[1]))
                return fail(p, "duplicate group '%s'", f[1]);
        if (!isempty(f[4]))
                return fail(p, "too many fields");
        for (char *s = list, *m; (m = strsep(&s, ","));) {
                if (!*m)
                        continue;
                if (!acl_userid_is_valid(m))
                        return fail(p, "invalid userid '%s' in group '%s'", m, f[1]);
                if (strv_contains(members, m))
                        continue;
                if (!acl_find_user(c, m))
                        warn(p, "group '%s' member '%s' is not a defined user", f[1], m);
                strv_push(&members, m);
        }
        if (members)
                qsort(members, strv_length(members), sizeof(char *), cmp_str);
        c->groups = xrealloc(c->groups, (c->n_groups + 1) * sizeof(AclGroup));
        c->groups[c->n_groups++] = (AclGroup){
                .id = xstrdup(f[1]),
                .members = TAKE_PTR(members),
                .comment = xstrdup(f[3]),
        };
        return 0;
}

static int parse_role(Parser *p, char **f)
{
        AclConfig *c = p->config;
        _cleanup_free_ char *list = xstrdup(f[2]);
        AclPrivSet privs = 0;
        AclPrivSet unused;

        if (!acl_roleid_is_valid(f[1]))
                return fail(p, "invalid roleid '%s'", f[1]);
        if (acl_role_is_builtin(f[1]))
                return fail(p, "role '%s' is built in and cannot be redefined", f[1]);
        if (acl_role_privs(c, f[1], &unused) >= 0)
                return fail(p, "duplicate role '%s'", f[1]);
        if (!isempty(f[3]))
                return fail(p, "too many fields");
        for (char *s = list, *name; (name = strsep(&s, ","));) {
                AclPriv priv;

                if (!*name)
                        continue;
                priv = acl_priv_from_string(name);
                if (priv < 0) {
                        /* A privilege name has the characters of a role name. */
                        if (!acl_roleid_is_valid(name))
                                return fail(p, "invalid privilege name '%s' in role '%s'", name, f[1]);
                        warn(p, "ignoring unknown privilege '%s' in role '%s'", name, f[1]);
                        continue;
                }
                privs |= ACL_PRIV_BIT(priv);
        }
        c->roles = xrealloc(c->roles, (c->n_roles + 1) * sizeof(AclRole));
        c->roles[c->n_roles++] = (AclRole){ .id = xstrdup(f[1]), .privs = privs };
        return 0;
}

static void add_entry(AclConfig *c, const char *path, const char *member, const char *role, bool propagate)
{
        /* As in Proxmox's ACL tree, a later line for the same path, member and role sets its propagation. */
        for (size_t i = 0; i < c->n_entries; i++)
                if (streq(c->entries[i].path, path) && streq(c->entries[i].member, member) &&
                        streq(c->entries[i].role, role)) {
                        c->entries[i].propagate = propagate;
                        return;
                }
        c->entries = xrealloc(c->entries, (c->n_entries + 1) * sizeof(AclEntry));
        c->entries[c->n_entries++] = (AclEntry){
                .path = xstrdup(path),
                .member = xstrdup(member),
                .role = xstrdup(role),
                .propagate = propagate,
        };
}

/* Whether member is well-formed; *ret_keep false when it is to be dropped. */
static int check_member(Parser *p, const char *m, bool *ret_keep)
{
        const AclConfig *c = p->config;

        *ret_keep = true;
        if (m[0] == '@') {
                if (!acl_groupid_is_valid(m + 1))
                        return fail(p, "invalid groupid '%s' in acl", m + 1);
                if (!acl_find_group(c, m + 1))
                        warn(p, "acl group '%s' is not defined", m + 1);
        } else if (streq(m, "root@pam")) {
                /* As Proxmox's writer leaves it out: root@pam has every privilege anyway. */
                warn(p, "ignoring acl entry for root@pam");
                *ret_keep = false;
        } else if (acl_userid_is_valid(m)) {
                if (!acl_find_user(c, m))
                        warn(p, "acl user '%s' is not defined", m);
        } else if (acl_tokenid_is_valid(m)) {
                if (!acl_find_token(c, m)) {
                        warn(p, "ignoring undefined acl token '%s'", m);
                        *ret_keep = false;
                }
        } else
                return fail(p, "invalid user, group or token '%s' in acl", m);
        return 0;
}

static int parse_acl(Parser *p, char **f)
{
        AclConfig *c = p->config;
        _cleanup_strv_free_ char **members = NULL, **roles = NULL;
        _cleanup_free_ char *path = NULL, *mlist = xstrdup(f[3]), *rlist = xstrdup(f[4]);
        AclPrivSet unused;
        bool propagate = false;
        int r;

        if (parse_bool(p, f[1], "propagate", &propagate) < 0)
                return -EBADMSG;
        path = acl_path_normalize(f[2]);
        if (!path || !acl_path_is_valid(path))
                return fail(p, "invalid acl path '%s'", f[2]);
        if (!isempty(f[5]))
                return fail(p, "too many fields");
        for (char *s = mlist, *m; (m = strsep(&s, ","));) {
                bool keep;

                if (!*m)
                        continue;
                r = check_member(p, m, &keep);
                if (r < 0)
                        return r;
                if (keep && !strv_contains(members, m))
                        strv_push(&members, m);
        }
        for (char *s = rlist, *role; (role = strsep(&s, ","));) {
                if (!*role)
                        continue;
                if (!acl_roleid_is_valid(role))
                        return fail(p, "invalid roleid '%s' in acl", role);
                if (acl_role_privs(c, role, &unused) < 0)
                        warn(p, "ignoring undefined acl role '%s'", role);
                else if (!strv_contains(roles, role))
                        strv_push(&roles, role);
        }
        if (isempty(f[3]))
                return fail(p, "acl without users, groups or tokens");
        if (isempty(f[4]))
                return fail(p, "acl without roles");
        STRV_FOREACH (m, members)
                STRV_FOREACH (role, roles)
                        add_entry(c, path, *m, *role, propagate);
        return 0;
}

static void strip(char **s)
{
        size_t n;

        *s += strspn(*s, " \t");
        n = strlen(*s);
        while (n > 0 && strchr(" \t", (*s)[n - 1]))
                n--;
        (*s)[n] = 0;
}

static int parse_line(Parser *p, char *line)
{
        char *f[MAX_FIELDS + 1] = {};
        size_t n = 0;

        if (utf8_check_printable(line, strlen(line), true) < 0)
                return fail(p, "not printable UTF-8 text");
        strip(&line);
        if (!*line)
                return 0;
        for (char *s = line, *field; (field = strsep(&s, ":"));) {
                strip(&field);
                if (n == MAX_FIELDS) {
                        /* Proxmox's writer ends every line with ':', an empty field after the last. */
                        if (*field || s)
                                return fail(p, "too many fields");
                        break;
                }
                f[n++] = field;
        }
        for (size_t i = n; i <= MAX_FIELDS; i++)
                f[i] = (char *) "";

        if (streq(f[0], "user"))
                return parse_user(p, f);
        if (streq(f[0], "token"))
                return parse_token(p, f);
        if (streq(f[0], "group"))
                return parse_group(p, f);
        if (streq(f[0], "role"))
                return parse_role(p, f);
        if (streq(f[0], "acl"))
                return parse_acl(p, f);
        if (streq(f[0], "pool"))
                return fail(p, "pools are not supported");
        return fail(p, "unknown line type '%s'", f[0]);
}

AclConfig *acl_config_free(AclConfig *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_users; i++)
                user_done(c->users + i);
        free(c->users);
        for (size_t i = 0; i < c->n_tokens; i++) {
                free(c->tokens[i].id);
                free(c->tokens[i].comment);
        }
        free(c->tokens);
        for (size_t i = 0; i < c->n_groups; i++) {
                free(c->groups[i].id);
                strv_free(c->groups[i].members);
                free(c->groups[i].comment);
        }
        free(c->groups);
        for (size_t i = 0; i < c->n_roles; i++)
                free(c->roles[i].id);
        free(c->roles);
        for (size_t i = 0; i < c->n_entries; i++) {
                free(c->entries[i].path);
                free(c->entries[i].member);
                free(c->entries[i].role);
        }
        free(c->entries);
        strv_free(c->warnings);
        return mfree(c);
}

int acl_config_parse(const char *text, AclConfig **ret, char **ret_error)
{
        _cleanup_(acl_config_freep) AclConfig *c = new0(AclConfig, 1);
        _cleanup_free_ char *copy = xstrdup(text);
        Parser p = { .config = c, .root_implicit = true };
        char *s = copy;
        int r = 0;

        /* Proxmox adds root@pam when the file has not got it: it must be able to log in. */
        c->users = new0(AclUser, 1);
        c->users[c->n_users++] = (AclUser){
                .id = xstrdup("root@pam"),
                .enable = true,
                .firstname = xstrdup(""),
                .lastname = xstrdup(""),
                .email = xstrdup(""),
                .comment = xstrdup(""),
                .keys = xstrdup(""),
        };

        for (char *line; r >= 0 && (line = strsep(&s, "\n"));) {
                p.line++;
                r = parse_line(&p, line);
        }
        if (r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(p.error);
                free(p.error);
                return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* Proxmox's ACL tree order: "/a", "/a/b", "/a-b", each level sorted by name. */
static int cmp_path(const char *a, const char *b)
{
        for (; *a && *a == *b; a++, b++)
                ;
        if (*a == *b)
                return 0;
        if (*a == 0 || *b == 0)
                return *a ? 1 : -1;
        if (*a == '/' || *b == '/')
                return *a == '/' ? -1 : 1;
        return (unsigned char) *a - (unsigned char) *b;
}

static int cmp_path_ptr(const void *a, const void *b)
{
        return cmp_path(*(char *const *) a, *(char *const *) b);
}

static int cmp_user(const void *a, const void *b)
{
        return strcmp(((const AclUser *) a)->id, ((const AclUser *) b)->id);
}

static int cmp_token(const void *a, const void *b)
{
        return strcmp(((const AclToken *) a)->id, ((const AclToken *) b)->id);
}

static int cmp_group(const void *a, const void *b)
{
        return strcmp(((const AclGroup *) a)->id, ((const AclGroup *) b)->id);
}

static int cmp_role(const void *a, const void *b)
{
        return strcmp(((const AclRole *) a)->id, ((const AclRole *) b)->id);
}

/* One member's roles on one path with one propagation, as a line of the file groups them. */
typedef struct AclLine {
        bool propagate;
        char *roles;
        const char *member;
} AclLine;

static int cmp_line(const void *a, const void *b)
{
        const AclLine *x = a, *y = b;
        int r;

        if (x->propagate != y->propagate)
                return x->propagate ? 1 : -1;
        r = strcmp(x->roles, y->roles);
        return r != 0 ? r : strcmp(x->member, y->member);
}

static bool same_line(const AclLine *a, const AclLine *b)
{
        return a->propagate == b->propagate && streq(a->roles, b->roles);
}

/* Privilege names sorted as Proxmox writes them, comma-separated. */
static char *privs_list(AclPrivSet privs)
{
        _cleanup_strv_free_ char **names = NULL;

        for (AclPriv p = 0; p < _ACL_PRIV_MAX; p++)
                if (acl_priv_set_has(privs, p))
                        strv_push(&names, acl_priv_to_string(p));
        if (names)
                qsort(names, strv_length(names), sizeof(char *), cmp_str);
        return strv_join(names, ",");
}

/* The sorted roles member has on path with propagate, comma-separated; NULL for none. */
static char *member_roles(const AclConfig *c, const char *path, const char *member, bool propagate)
{
        _cleanup_strv_free_ char **roles = NULL;

        for (size_t i = 0; i < c->n_entries; i++)
                if (c->entries[i].propagate == propagate && streq(c->entries[i].path, path) &&
                        streq(c->entries[i].member, member))
                        strv_push(&roles, c->entries[i].role);
        if (!roles)
                return NULL;
        qsort(roles, strv_length(roles), sizeof(char *), cmp_str);
        return strv_join(roles, ",");
}

static void format_path(const AclConfig *c, const char *path, FILE *f)
{
        _cleanup_strv_free_ char **members = NULL;
        AclLine *lines = NULL;
        size_t n = 0;

        for (size_t i = 0; i < c->n_entries; i++)
                if (streq(c->entries[i].path, path) && !strv_contains(members, c->entries[i].member))
                        strv_push(&members, c->entries[i].member);
        lines = new0(AclLine, 2 * strv_length(members) + 1);
        STRV_FOREACH (m, members)
                for (int propagate = 0; propagate <= 1; propagate++) {
                        char *roles = member_roles(c, path, *m, propagate);
                        if (roles)
                                lines[n++] = (AclLine){ .propagate = propagate, .roles = roles, .member = *m };
                }
        qsort(lines, n, sizeof(AclLine), cmp_line);
        for (size_t i = 0; i < n; i++) {
                bool first = i == 0 || !same_line(lines + i - 1, lines + i);
                bool last = i + 1 == n || !same_line(lines + i, lines + i + 1);

                if (first)
                        fprintf(f, "acl:%d:%s:", lines[i].propagate, path);
                else
                        fputc(',', f);
                fputs(lines[i].member, f);
                if (last)
                        fprintf(f, ":%s:\n", lines[i].roles);
        }
        for (size_t i = 0; i < n; i++)
                free(lines[i].roles);
        free(lines);
}

/* A shallow copy to sort; never NULL, as memcpy() and qsort() want even for no elements. */
static void *copy_array(const void *p, size_t n, size_t size)
{
        void *q = xcalloc(n, size);

        if (n > 0)
                memcpy(q, p, n * size);
        return q;
}

char *acl_config_format(const AclConfig *c)
{
        _cleanup_free_ AclUser *users = copy_array(c->users, c->n_users, sizeof(AclUser));
        _cleanup_free_ AclToken *tokens = copy_array(c->tokens, c->n_tokens, sizeof(AclToken));
        _cleanup_free_ AclGroup *groups = copy_array(c->groups, c->n_groups, sizeof(AclGroup));
        _cleanup_free_ AclRole *roles = copy_array(c->roles, c->n_roles, sizeof(AclRole));
        _cleanup_free_ char **paths = new0(char *, c->n_entries + 1);
        size_t n_paths = 0, size = 0;
        char *text = NULL;
        FILE *f;

        qsort(users, c->n_users, sizeof(AclUser), cmp_user);
        qsort(tokens, c->n_tokens, sizeof(AclToken), cmp_token);
        qsort(groups, c->n_groups, sizeof(AclGroup), cmp_group);
        qsort(roles, c->n_roles, sizeof(AclRole), cmp_role);

        f = open_memstream(&text, &size);
        if (!f)
                abort();
        for (size_t i = 0; i < c->n_users; i++) {
                const AclUser *u = users + i;
                size_t l = strlen(u->id);

                fprintf(f, "user:%s:%d:%lld:%s:%s:%s:%s:%s:\n", u->id, u->enable, (long long) u->expire,
                        u->firstname, u->lastname, u->email, u->comment, u->keys);
                for (size_t k = 0; k < c->n_tokens; k++)
                        if (strncmp(tokens[k].id, u->id, l) == 0 && tokens[k].id[l] == '!')
                                fprintf(f, "token:%s:%lld:%d:%s:\n", tokens[k].id,
                                        (long long) tokens[k].expire, tokens[k].privsep, tokens[k].comment);
        }
        fputc('\n', f);
        for (size_t i = 0; i < c->n_groups; i++) {
                _cleanup_free_ char *list = strv_join(groups[i].members, ",");
                fprintf(f, "group:%s:%s:%s:\n", groups[i].id, list, groups[i].comment);
        }
        /* Where Proxmox writes its pools. */
        fputs("\n\n", f);
        for (size_t i = 0; i < c->n_roles; i++) {
                _cleanup_free_ char *list = privs_list(roles[i].privs);
                fprintf(f, "role:%s:%s:\n", roles[i].id, list);
        }
        fputc('\n', f);
        for (size_t i = 0; i < c->n_entries; i++) {
                bool seen = false;
                for (size_t k = 0; k < n_paths && !seen; k++)
                        seen = streq(paths[k], c->entries[i].path);
                if (!seen)
                        paths[n_paths++] = c->entries[i].path;
        }
        qsort(paths, n_paths, sizeof(char *), cmp_path_ptr);
        for (size_t i = 0; i < n_paths; i++)
                format_path(c, paths[i], f);
        if (fclose(f) != 0)
                abort();
        return text;
}
