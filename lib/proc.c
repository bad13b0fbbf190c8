/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fileio.h"
#include "macro.h"
#include "proc.h"

/* include/linux/sched.h: set as a task begins do_exit(), long before it is a zombie. */
#define PF_EXITING 0x00000004U

static int parse_field(const char *s, unsigned long long *ret)
{
        char *end;

        errno = 0;
        *ret = strtoull(s, &end, 10);
        if (errno != 0 || end == s || (*end != ' ' && *end != '\n' && *end != 0))
                return -EBADMSG;
        return 0;
}

int proc_stat_parse(const char *text, ProcStat *ret)
{
        unsigned long long flags = 0, start_time = 0;
        const char *p;
        char state;

        /* The command name (field 2) may contain spaces and ')': fields 3 on start after the last ')'. */
        p = strrchr(text, ')');
        if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
                return -EBADMSG;
        state = p[2];
        /* Each step lands on the space before field N: flags is field 9, starttime field 22. */
        for (unsigned field = 3; field <= 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EBADMSG;
                if ((field == 9 && parse_field(p + 1, &flags) < 0) ||
                        (field == 22 && parse_field(p + 1, &start_time) < 0))
                        return -EBADMSG;
        }
        if (flags > UINT32_MAX)
                return -EBADMSG;
        *ret = (ProcStat){ .state = state, .flags = (unsigned) flags, .start_time = start_time };
        return 0;
}

/* The hex signal mask of a "Name:\t<hex>" line of /proc/<pid>/status, 0 when absent or malformed. */
static uint64_t status_mask(const char *text, const char *name)
{
        size_t n = strlen(name);

        for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
                if (strncmp(line, name, n) == 0 && line[n] == ':') {
                        char *end;
                        errno = 0;
                        uint64_t mask = strtoull(line + n + 1, &end, 16);
                        return errno == 0 && end != line + n + 1 ? mask : 0;
                }
        return 0;
}

bool proc_status_sigkill_pending(const char *text)
{
        uint64_t bit = UINT64_C(1) << (SIGKILL - 1);

        return (status_mask(text, "SigPnd") & bit) || (status_mask(text, "ShdPnd") & bit);
}

static int read_proc_file(pid_t pid, const char *name, char **ret)
{
        _cleanup_free_ char *path = NULL;
        int r;

        if (pid <= 0)
                return -EINVAL;
        path = xasprintf("/proc/%d/%s", (int) pid, name);
        r = read_full_file(path, ret, NULL);
        return r == -ENOENT ? -ESRCH : r;
}

static int proc_pid_stat(pid_t pid, ProcStat *ret)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_proc_file(pid, "stat", &text);
        if (r < 0)
                return r;
        return proc_stat_parse(text, ret) < 0 ? -EIO : 0;
}

int proc_pid_start_time(pid_t pid, uint64_t *ret_start_time, char *ret_state)
{
        ProcStat st;
        int r;

        r = proc_pid_stat(pid, &st);
        if (r < 0)
                return r;
        if (ret_start_time)
                *ret_start_time = st.start_time;
        if (ret_state)
                *ret_state = st.state;
        return 0;
}

int proc_pid_exiting(pid_t pid)
{
        _cleanup_free_ char *status = NULL;
        ProcStat st;
        int r;

        r = proc_pid_stat(pid, &st);
        if (r < 0)
                return r;
        if (st.state == 'Z' || st.state == 'X' || st.state == 'x' || (st.flags & PF_EXITING))
                return 1;
        /*
         * Between kill(SIGKILL) and the first thread acting on it, /proc shows a live process; the
         * signal, pending in the group's set, already says how it ends.
         */
        r = read_proc_file(pid, "status", &status);
        if (r < 0)
                return r;
        return proc_status_sigkill_pending(status);
}
