/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "fileio.h"
#include "ledger.h"
#include "paths.h"
#include "proc.h"
#include "utf8.h"
#include "vmid.h"

static const char *const run_state_table[_RUN_STATE_MAX] = {
        [RUN_RUNNING] = "running",
        [RUN_STOPPING] = "stopping",
        [RUN_CLEANING] = "cleaning",
        [RUN_CLEAN] = "clean",
};
DEFINE_STRING_TABLE_LOOKUP(run_state, RunState);

typedef enum LedgerKey {
        KEY_RUN_ID,
        KEY_PID,
        KEY_PID_START_TIME,
        KEY_STATE,
        KEY_KEEP_ACTIVE,
        KEY_REASON,
        KEY_SKIP_POST_STOP,
        KEY_REBOOT,
        KEY_RESULT,
        _KEY_MAX,
} LedgerKey;

static const char *const ledger_key_table[_KEY_MAX] = {
        [KEY_RUN_ID] = "run_id",
        [KEY_PID] = "pid",
        [KEY_PID_START_TIME] = "pid_start_time",
        [KEY_STATE] = "state",
        [KEY_KEEP_ACTIVE] = "keep_active",
        [KEY_REASON] = "reason",
        [KEY_SKIP_POST_STOP] = "skip_post_stop",
        [KEY_REBOOT] = "reboot",
        [KEY_RESULT] = "result",
};

/* run_format() writes every key but the optional ones, so a file missing one was not written by us. */
#define REQUIRED_KEYS \
        ((1U << KEY_RUN_ID) | (1U << KEY_PID) | (1U << KEY_PID_START_TIME) | (1U << KEY_STATE) | \
                (1U << KEY_KEEP_ACTIVE) | (1U << KEY_SKIP_POST_STOP) | (1U << KEY_REBOOT))

Run *run_free(Run *r)
{
        if (!r)
                return NULL;
        free(r->run_id);
        free(r->reason);
        free(r->result);
        free(r);
        return NULL;
}

/* Run ids end up in file contents, environment variables of hooks and D-Bus strings. */
static bool run_id_valid(const char *s)
{
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > RUN_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= ' ' || s[i] >= 127)
                        return false;
        return true;
}

/* One line of the file each, so no newline; printable so that logs and D-Bus can carry them. */
static bool text_valid(const char *s, size_t max)
{
        size_t n = strlen(s);
        return n > 0 && n <= max && utf8_check_printable(s, n, false) == 0;
}

static bool run_valid(const Run *r)
{
        return vmid_is_valid(r->vmid) && run_id_valid(r->run_id) && r->pid > 0 && r->state >= 0 &&
                r->state < _RUN_STATE_MAX && (!r->reason || text_valid(r->reason, RUN_REASON_MAX)) &&
                (!r->result || (r->state == RUN_CLEAN && text_valid(r->result, RUN_RESULT_MAX)));
}

/* Canonical decimal only (no sign, no leading zeros), so that parse and format agree byte for byte. */
static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;

        if (!*s || (s[0] == '0' && s[1]))
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                unsigned d;

                if (*p < '0' || *p > '9')
                        return -EINVAL;
                d = (unsigned) (*p - '0');
                if (v > (max - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

static int parse_bool01(const char *s, bool *ret)
{
        if (streq(s, "0"))
                *ret = false;
        else if (streq(s, "1"))
                *ret = true;
        else
                return -EINVAL;
        return 0;
}

static int ledger_key_from_string(const char *s)
{
        for (size_t i = 0; i < ELEMENTSOF(ledger_key_table); i++)
                if (streq(ledger_key_table[i], s))
                        return (int) i;
        return -EINVAL;
}

static int run_parse_value(Run *r, LedgerKey key, const char *value)
{
        uint64_t u;

        switch (key) {
        case KEY_RUN_ID:
                if (!run_id_valid(value))
                        return -EINVAL;
                r->run_id = xstrdup(value);
                return 0;
        case KEY_PID:
                if (parse_u64(value, INT32_MAX, &u) < 0 || u == 0)
                        return -EINVAL;
                r->pid = (pid_t) u;
                return 0;
        case KEY_PID_START_TIME:
                return parse_u64(value, UINT64_MAX, &r->pid_start_time);
        case KEY_STATE:
                r->state = run_state_from_string(value);
                return r->state < 0 ? -EINVAL : 0;
        case KEY_KEEP_ACTIVE:
                return parse_bool01(value, &r->keep_active);
        case KEY_REASON:
                if (!text_valid(value, RUN_REASON_MAX))
                        return -EINVAL;
                r->reason = xstrdup(value);
                return 0;
        case KEY_SKIP_POST_STOP:
                return parse_bool01(value, &r->skip_post_stop);
        case KEY_REBOOT:
                return parse_bool01(value, &r->reboot);
        case KEY_RESULT:
                if (!text_valid(value, RUN_RESULT_MAX))
                        return -EINVAL;
                r->result = xstrdup(value);
                return 0;
        default:
                assert_not_reached();
        }
}

int run_parse(uint32_t vmid, const char *text, Run **ret)
{
        _cleanup_(run_freep) Run *r = NULL;
        unsigned seen = 0;

        if (!vmid_is_valid(vmid))
                return -EINVAL;
        if (strlen(text) > RUN_LEDGER_MAX_SIZE)
                return -EBADMSG;

        r = new0(Run, 1);
        r->vmid = vmid;
        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n');
                _cleanup_free_ char *line = xstrndup(p, (size_t) (eol - p));
                char *eq = strchr(line, '=');
                int key;

                p = *eol ? eol + 1 : eol;
                if (!eq)
                        return -EBADMSG;
                *eq = 0;
                key = ledger_key_from_string(line);
                if (key < 0 || (seen & (1U << key)))
                        return -EBADMSG;
                seen |= 1U << key;
                if (run_parse_value(r, (LedgerKey) key, eq + 1) < 0)
                        return -EBADMSG;
        }
        if ((seen & REQUIRED_KEYS) != REQUIRED_KEYS || !run_valid(r))
                return -EBADMSG;

        *ret = TAKE_PTR(r);
        return 0;
}

char *run_format(const Run *r)
{
        _cleanup_free_ char *reason = r->reason ? xasprintf("reason=%s\n", r->reason) : NULL,
                            *result = r->result ? xasprintf("result=%s\n", r->result) : NULL;

        return xasprintf("run_id=%s\n"
                         "pid=%d\n"
                         "pid_start_time=%" PRIu64 "\n"
                         "state=%s\n"
                         "keep_active=%d\n"
                         "%s"
                         "skip_post_stop=%d\n"
                         "reboot=%d\n"
                         "%s",
                r->run_id, (int) r->pid, r->pid_start_time, run_state_to_string(r->state), r->keep_active,
                strempty(reason), r->skip_post_stop, r->reboot, strempty(result));
}

int run_new(uint32_t vmid, const char *run_id, pid_t pid, Run **ret)
{
        _cleanup_(run_freep) Run *r = NULL;
        uint64_t start_time;
        int k;

        if (!vmid_is_valid(vmid) || !run_id_valid(run_id) || pid <= 0)
                return -EINVAL;
        k = proc_pid_start_time(pid, &start_time, NULL);
        if (k < 0)
                return k;

        r = new0(Run, 1);
        r->vmid = vmid;
        r->run_id = xstrdup(run_id);
        r->pid = pid;
        r->pid_start_time = start_time;
        r->state = RUN_RUNNING;
        *ret = TAKE_PTR(r);
        return 0;
}

int run_transition(Run *r, RunState to)
{
        static const bool allowed[_RUN_STATE_MAX][_RUN_STATE_MAX] = {
                [RUN_RUNNING][RUN_STOPPING] = true,
                [RUN_RUNNING][RUN_CLEANING] = true, /* a crash: nobody asked it to stop */
                [RUN_STOPPING][RUN_CLEANING] = true,
                [RUN_CLEANING][RUN_CLEAN] = true,
        };

        if (r->state < 0 || r->state >= _RUN_STATE_MAX || to < 0 || to >= _RUN_STATE_MAX ||
                !allowed[r->state][to])
                return -EINVAL;
        r->state = to;
        return 0;
}

int run_finish(Run *r, const char *result)
{
        int k;

        if (result && !text_valid(result, RUN_RESULT_MAX))
                return -EINVAL;
        k = run_transition(r, RUN_CLEAN);
        if (k < 0)
                return k;
        free(r->result);
        r->result = result ? xstrdup(result) : NULL;
        return 0;
}

int run_set_stop_intent(Run *r, const RunStopIntent *i)
{
        if (r->state != RUN_RUNNING && r->state != RUN_STOPPING)
                return -EINVAL;
        if (!isempty(i->reason) && !text_valid(i->reason, RUN_REASON_MAX))
                return -EINVAL;

        r->keep_active = i->keep_active;
        free(r->reason);
        r->reason = isempty(i->reason) ? NULL : xstrdup(i->reason);
        r->skip_post_stop = i->skip_post_stop;
        r->reboot = i->reboot;
        return 0;
}

int run_claim_cleanup(Run *r)
{
        RunState old = r->state;
        int k;

        if (old == RUN_CLEANING || old == RUN_CLEAN)
                return 0;
        k = run_transition(r, RUN_CLEANING);
        if (k < 0)
                return k;
        /* Persisted before the caller acts, so a restart never runs the cleanup a second time. */
        k = ledger_save(r);
        if (k < 0) {
                r->state = old;
                return k;
        }
        return 1;
}

int run_process_alive(const Run *r)
{
        uint64_t start_time;
        char state;
        int k;

        k = proc_pid_start_time(r->pid, &start_time, &state);
        if (k == -ESRCH)
                return 0;
        if (k < 0)
                return k;
        /* A zombie's QEMU has exited: only its parent has not reaped it yet. */
        if (state == 'Z' || state == 'X')
                return 0;
        return start_time == r->pid_start_time;
}

static char *ledger_dir(void)
{
        return root_path("run/berth/cleanup");
}

static char *ledger_path(uint32_t vmid)
{
        return root_path("run/berth/cleanup/%" PRIu32 ".run", vmid);
}

int ledger_load(uint32_t vmid, Run **ret)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size;
        int r;

        if (!vmid_is_valid(vmid))
                return -EINVAL;
        path = ledger_path(vmid);
        r = read_full_file(path, &text, &size);
        if (r < 0)
                return r;
        if (strlen(text) != size)
                return -EBADMSG;
        return run_parse(vmid, text, ret);
}

int ledger_save(const Run *r)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
        int k;

        if (!run_valid(r))
                return -EINVAL;
        dir = ledger_dir();
        k = mkdir_p(dir, 0755);
        if (k < 0)
                return k;
        path = ledger_path(r->vmid);
        text = run_format(r);
        return write_string_file_atomic(path, text, 0600);
}

int ledger_remove(uint32_t vmid)
{
        _cleanup_free_ char *path = NULL;

        if (!vmid_is_valid(vmid))
                return -EINVAL;
        path = ledger_path(vmid);
        return unlink_if_exists(path);
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

int ledger_list(uint32_t **ret_vmids, size_t *ret_n)
{
        _cleanup_free_ char *dir = ledger_dir();
        _cleanup_(closedirp) DIR *d = opendir(dir);
        _cleanup_free_ uint32_t *vmids = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!d) {
                if (errno != ENOENT)
                        return negative_errno();
                *ret_vmids = NULL;
                *ret_n = 0;
                return 0;
        }
        while ((errno = 0, de = readdir(d))) {
                const char *suffix = strrchr(de->d_name, '.');
                _cleanup_free_ char *stem = NULL;
                uint32_t vmid;

                if (!suffix || !streq(suffix, ".run"))
                        continue;
                stem = xstrndup(de->d_name, (size_t) (suffix - de->d_name));
                if (vmid_parse(stem, &vmid) < 0)
                        continue;
                vmids = xrealloc(vmids, (n + 1) * sizeof(uint32_t));
                vmids[n++] = vmid;
        }
        if (errno != 0)
                return negative_errno();

        qsort(vmids, n, sizeof(uint32_t), cmp_u32);
        *ret_vmids = TAKE_PTR(vmids);
        *ret_n = n;
        return 0;
}
