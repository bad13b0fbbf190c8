/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "spawn.h"

static SpawnDryRunHook dry_run_hook;
static void *dry_run_userdata;

void spawn_set_dry_run(SpawnDryRunHook hook, void *userdata)
{
        dry_run_hook = hook;
        dry_run_userdata = userdata;
}

static bool fd_is_kept(const SpawnOptions *o, int fd)
{
        for (size_t i = 0; i < o->n_keep_fds; i++)
                if (o->keep_fds[i] == fd)
                        return true;
        return false;
}

/* Closes every fd >= 3 but the kept ones, which lose FD_CLOEXEC so they survive the exec. */
static void close_all_fds_but(const SpawnOptions *o)
{
        unsigned from = 3;

        for (;;) {
                int next = -1;
                for (size_t i = 0; i < o->n_keep_fds; i++)
                        if (o->keep_fds[i] >= (int) from && (next < 0 || o->keep_fds[i] < next))
                                next = o->keep_fds[i];
                if (next < 0) {
                        close_range(from, ~0U, 0);
                        return;
                }
                if ((unsigned) next > from)
                        close_range(from, (unsigned) next - 1, 0);
                int flags = fcntl(next, F_GETFD);
                if (flags >= 0)
                        fcntl(next, F_SETFD, flags & ~FD_CLOEXEC);
                from = (unsigned) next + 1;
        }
}

static _noreturn_ void child(char *const argv[], const SpawnOptions *o, char **envp)
{
        sigset_t all;
        int null_fd, out_fd;

        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                (void) signal(sig, SIG_DFL);

        if (o->new_process_group)
                (void) setpgid(0, 0);

        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        out_fd = o->log_path ? open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640) : null_fd;
        if (null_fd < 0 || out_fd < 0)
                _exit(127);
        if (!fd_is_kept(o, 0))
                dup2(null_fd, 0);
        if (!fd_is_kept(o, 1))
                dup2(out_fd, 1);
        if (!fd_is_kept(o, 2))
                dup2(out_fd, 2);

        close_all_fds_but(o);
        execve(argv[0], argv, envp);
        _exit(127);
}

static char **build_env(const SpawnOptions *o)
{
        char **env = NULL;
        strv_push(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        strv_push(&env, "LC_ALL=C.UTF-8");
        STRV_FOREACH (e, o->env)
                strv_push(&env, *e);
        return env;
}

static void log_argv(char *const argv[])
{
        if (log_get_max_level() < LOG_DEBUG)
                return;
        size_t len = 1;
        for (char *const *a = argv; *a; a++)
                len += strlen(*a) + 1;
        _cleanup_free_ char *line = xcalloc(len, 1);
        for (char *const *a = argv; *a; a++) {
                if (a != argv)
                        strcat(line, " ");
                strcat(line, *a);
        }
        log_debug("Spawning: %s", line);
}

int spawn(char *const argv[], const SpawnOptions *o, pid_t *ret_pid)
{
        static const SpawnOptions defaults = {};
        _cleanup_strv_free_ char **env = NULL;

        if (!argv || !argv[0] || argv[0][0] != '/')
                return -EINVAL;
        if (!o)
                o = &defaults;
        log_argv(argv);
        if (dry_run_hook) {
                dry_run_hook(argv, dry_run_userdata);
                if (ret_pid)
                        *ret_pid = 0;
                return 0;
        }

        env = build_env(o);
        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                child(argv, o, env);
        if (o->new_process_group)
                (void) setpgid(pid, pid);
        if (ret_pid)
                *ret_pid = pid;
        return 0;
}

int spawn_wait(pid_t pid)
{
        int status;

        if (pid == 0)
                return 0;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
}

int spawn_and_wait(char *const argv[], const SpawnOptions *o)
{
        pid_t pid;
        int r = spawn(argv, o, &pid);
        if (r < 0)
                return r;
        return spawn_wait(pid);
}
