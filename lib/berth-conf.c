/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdint.h>
#include <unistd.h>

#include "alloc.h"
#include "berth-conf.h"
#include "fileio.h"
#include "paths.h"
#include "utf8.h"

static const char *const shutdown_step_table[_SHUTDOWN_STEP_MAX] = {
        [SHUTDOWN_STEP_SAVE] = "save",
        [SHUTDOWN_STEP_SHUTDOWN] = "shutdown",
        [SHUTDOWN_STEP_POWEROFF] = "poweroff",
};
DEFINE_STRING_TABLE_LOOKUP(shutdown_step, ShutdownStep);

bool shutdown_policy_has(const ShutdownPolicy *p, ShutdownStep s)
{
        for (size_t i = 0; i < p->n_steps; i++)
                if (p->steps[i] == s)
                        return true;
        return false;
}

int shutdown_policy_parse(const char *s, ShutdownPolicy *ret)
{
        ShutdownPolicy p = {};

        for (const char *start = s;;) {
                const char *end = strchrnul(start, ',');
                _cleanup_free_ char *name = xstrndup(start, end - start);
                ShutdownStep step = shutdown_step_from_string(name);

                if (step < 0 || shutdown_policy_has(&p, step))
                        return -EINVAL;
                p.steps[p.n_steps++] = step;
                if (!*end)
                        break;
                start = end + 1;
        }
        if (ret)
                *ret = p;
        return 0;
}

void berth_conf_defaults(BerthConf *ret)
{
        *ret = (BerthConf){
                .shutdown_policy = { { SHUTDOWN_STEP_SHUTDOWN, SHUTDOWN_STEP_POWEROFF }, 2 },
                .shutdown_timeout = BERTH_CONF_DEFAULT_SHUTDOWN_TIMEOUT,
                .cluster_name = BERTH_CONF_DEFAULT_CLUSTER_NAME,
                .node_lease_ttl = BERTH_CONF_DEFAULT_NODE_LEASE_TTL,
        };
}

static bool cluster_name_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > BERTH_CONF_MAX_CLUSTER_NAME ||
                !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                            *p == '-'))
                        return false;
        return true;
}

/* Strict decimal within [min, max]: digits only, no sign, no leading zero. */
static bool parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret)
{
        uint64_t v = 0;
        size_t n = strlen(s);

        if (n == 0 || n > 10 || (s[0] == '0' && n > 1))
                return false;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        if (v < min || v > max)
                return false;
        *ret = (unsigned) v;
        return true;
}

static int fail(char **ret_error, unsigned line, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, unsigned line, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                msg = xvasprintf(fmt, ap);
                va_end(ap);
                *ret_error = xasprintf("line %u: %s", line, msg);
        }
        return -EBADMSG;
}

/* Bits of the keys already seen, so a second one is an error. */
enum {
        SEEN_POLICY = 1 << 0,
        SEEN_TIMEOUT = 1 << 1,
        SEEN_PARALLEL = 1 << 2,
        SEEN_CLUSTER_NAME = 1 << 3,
        SEEN_LEASE_TTL = 1 << 4,
};

static int parse_line(
        const char *key, const char *value, BerthConf *c, unsigned *seen, unsigned line, char **ret_error)
{
        unsigned bit;

        if (streq(key, "shutdown-policy")) {
                bit = SEEN_POLICY;
                if (shutdown_policy_parse(value, &c->shutdown_policy) < 0)
                        return fail(ret_error, line,
                                "shutdown-policy must be a comma-separated list of distinct steps save, "
                                "shutdown, poweroff");
        } else if (streq(key, "shutdown-timeout")) {
                bit = SEEN_TIMEOUT;
                if (!parse_unsigned(value, 1, BERTH_CONF_MAX_SHUTDOWN_TIMEOUT, &c->shutdown_timeout))
                        return fail(ret_error, line, "shutdown-timeout must be an integer 1-%u",
                                BERTH_CONF_MAX_SHUTDOWN_TIMEOUT);
        } else if (streq(key, "shutdown-parallel")) {
                bit = SEEN_PARALLEL;
                if (!parse_unsigned(value, 1, BERTH_CONF_MAX_PARALLEL, &c->shutdown_parallel))
                        return fail(ret_error, line, "shutdown-parallel must be an integer 1-%u",
                                BERTH_CONF_MAX_PARALLEL);
        } else if (streq(key, "cluster-name")) {
                bit = SEEN_CLUSTER_NAME;
                if (!cluster_name_is_valid(value))
                        return fail(ret_error, line,
                                "cluster-name must be 1-%u letters, digits and '-', starting with a letter",
                                BERTH_CONF_MAX_CLUSTER_NAME);
                strcpy(c->cluster_name, value);
        } else if (streq(key, "node-lease-ttl")) {
                bit = SEEN_LEASE_TTL;
                if (!parse_unsigned(value, BERTH_CONF_MIN_NODE_LEASE_TTL, BERTH_CONF_MAX_NODE_LEASE_TTL,
                            &c->node_lease_ttl))
                        return fail(ret_error, line, "node-lease-ttl must be an integer %u-%u",
                                BERTH_CONF_MIN_NODE_LEASE_TTL, BERTH_CONF_MAX_NODE_LEASE_TTL);
        } else
                return fail(ret_error, line, "unknown key '%s'", key);
        if (*seen & bit)
                return fail(ret_error, line, "duplicate key '%s'", key);
        *seen |= bit;
        return 0;
}

int berth_conf_parse(const char *text, BerthConf *ret, char **ret_error)
{
        _cleanup_free_ char *copy = NULL;
        unsigned seen = 0, line = 0;
        BerthConf c;
        char *p;
        int r;

        berth_conf_defaults(&c);
        if (strlen(text) > BERTH_CONF_MAX_SIZE)
                return fail(ret_error, 1, "the file is larger than %u bytes", BERTH_CONF_MAX_SIZE);
        p = copy = xstrdup(text);
        for (char *l; (l = strsep(&p, "\n"));) {
                char *colon, *key, *value;

                line++;
                if (utf8_check_printable(l, strlen(l), true) < 0)
                        return fail(ret_error, line, "not printable UTF-8 text");
                key = l + strspn(l, " \t");
                if (*key == 0 || *key == '#')
                        continue;
                colon = strchr(key, ':');
                if (!colon)
                        return fail(ret_error, line, "expected 'key: value'");
                value = colon + 1 + strspn(colon + 1, " \t");
                while (colon > key && (colon[-1] == ' ' || colon[-1] == '\t'))
                        colon--;
                *colon = 0;
                for (size_t n = strlen(value); n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'); n--)
                        value[n - 1] = 0;
                r = parse_line(key, value, &c, &seen, line, ret_error);
                if (r < 0)
                        return r;
        }
        *ret = c;
        return 0;
}

int berth_conf_load(BerthConf *ret, char **ret_error)
{
        _cleanup_free_ char *path = root_path("etc/berth/berth.conf"), *text = NULL;
        int r;

        r = read_full_file(path, &text, NULL);
        if (r == -ENOENT) {
                berth_conf_defaults(ret);
                return 0;
        }
        if (r < 0)
                return r;
        return berth_conf_parse(text, ret, ret_error);
}

unsigned berth_conf_parallel(const BerthConf *c)
{
        long n;

        if (c->shutdown_parallel > 0)
                return c->shutdown_parallel;
        n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (unsigned) n : 1;
}
