/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A real etcd for tests: 1 or 3 members on free loopback ports, their data
 * below a temporary directory, killed with SIGKILL at the end (a member that
 * lost quorum can take seconds to stop on SIGTERM).
 */

#include <arpa/inet.h>
#include <dirent.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "check-main.h"
#include "fileio.h"
#include "store.h"

#define ETCD_TEST_MAX_MEMBERS 3

typedef struct EtcdTest {
        char *dir;
        size_t n;
        pid_t pids[ETCD_TEST_MAX_MEMBERS];
        int client_ports[ETCD_TEST_MAX_MEMBERS];
        int peer_ports[ETCD_TEST_MAX_MEMBERS];
        char *cluster; /* --initial-cluster */
        char *endpoints; /* every member's client URL, separated by ',' */
        /* With TLS: the certificates below dir, and the store URL options that name them ("" without). */
        bool tls;
        char *options;
} EtcdTest;

/* A port nothing listens on now. The kernel hands out ports in turn, so it stays free long enough. */
static inline int etcd_test_free_port(void)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t n = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &n), 0);
        close(fd);
        return ntohs(a.sin_port);
}

static inline void etcd_test_spawn(EtcdTest *t, size_t i, const char *state)
{
        _cleanup_free_ char *name = xasprintf("m%zu", i), *data = xasprintf("%s/%s", t->dir, name),
                            *client = xasprintf(
                                    "%s://127.0.0.1:%d", t->tls ? "https" : "http", t->client_ports[i]),
                            *cert = xasprintf("%s/server.pem", t->dir),
                            *key = xasprintf("%s/server.key", t->dir), *ca = xasprintf("%s/ca.pem", t->dir),
                            *peer = xasprintf("http://127.0.0.1:%d", t->peer_ports[i]),
                            *log = xasprintf("%s/%s.log", t->dir, name);
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                /* Gone with the test process, whatever ends it. */
                FILE *f = freopen(log, "a", stderr);
                if (!f || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                        _exit(127);
                if (t->tls)
                        execlp("etcd", "etcd", "--name", name, "--data-dir", data, "--listen-client-urls",
                                client, "--advertise-client-urls", client, "--listen-peer-urls", peer,
                                "--initial-advertise-peer-urls", peer, "--initial-cluster", t->cluster,
                                "--initial-cluster-state", state, "--heartbeat-interval", "50",
                                "--election-timeout", "500", "--log-level", "warn", "--cert-file", cert,
                                "--key-file", key, "--trusted-ca-file", ca, "--client-cert-auth",
                                (char *) NULL);
                else
                        execlp("etcd", "etcd", "--name", name, "--data-dir", data, "--listen-client-urls",
                                client, "--advertise-client-urls", client, "--listen-peer-urls", peer,
                                "--initial-advertise-peer-urls", peer, "--initial-cluster", t->cluster,
                                "--initial-cluster-state", state, "--heartbeat-interval", "50",
                                "--election-timeout", "500", "--log-level", "warn", (char *) NULL);
                _exit(127);
        }
        t->pids[i] = pid;
}

/* Whether the store at url answers: a read that needs quorum. */
static inline bool etcd_test_answers(const char *url)
{
        struct event_base *b = event_base_new();
        Store *s = NULL;
        int r;

        ck_assert_ptr_nonnull(b);
        r = store_open(url, b, &s);
        if (r >= 0)
                r = store_get(s, "ready", NULL, NULL, NULL);
        store_free(s);
        event_base_free(b);
        return r == 0 || r == -ENOENT;
}

/* Polls until the cluster answers; a test failure after 60 s (a bound, not a guess). */
static inline void etcd_test_wait(const EtcdTest *t)
{
        _cleanup_free_ char *url = xasprintf("etcd:%s?timeout=1000%s", t->endpoints, t->options);
        time_t deadline = time(NULL) + 60;

        while (!etcd_test_answers(url)) {
                ck_assert_msg(time(NULL) < deadline, "etcd at %s did not come up (logs in %s)", t->endpoints,
                        t->dir);
                usleep(50 * 1000);
        }
}

/*
 * A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl(1) in dir:
 * ca.pem, server.{pem,key}, client.{pem,key}.
 */
static inline void etcd_test_make_certs(const char *dir)
{
        _cleanup_free_ char *script = xasprintf(
                "set -e; cd '%s'\n"
                "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out \"$1\" "
                "2>/dev/null; }\n"
                "key ca.key; openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj "
                "/CN=berth-test-ca\n"
                "for who in server client; do\n"
                "  key $who.key; openssl req -new -key $who.key -out $who.csr -subj /CN=$who\n"
                /* etcd's gateway shows the server certificate to etcd itself: it is a client's too. */
                "  printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=clientAuth%%s\\n' "
                "$([ $who = server ] && echo ,serverAuth) >$who.ext\n"
                "  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
                "-extfile $who.ext -out $who.pem 2>/dev/null\n"
                "done\n",
                dir);
        pid_t pid = fork();
        int status;

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                execl("/bin/sh", "sh", "-c", script, (char *) NULL);
                _exit(127);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "openssl could not make the test certificates");
}

/* n members; with tls, clients must speak TLS and show a certificate of the test CA. */
static inline void etcd_test_start_full(EtcdTest *t, size_t n, bool tls)
{
        ck_assert(n >= 1 && n <= ETCD_TEST_MAX_MEMBERS);
        *t = (EtcdTest){ .dir = test_tmpdir_new(),
                .n = n,
                .cluster = xstrdup(""),
                .endpoints = xstrdup(""),
                .tls = tls,
                .options = xstrdup("") };
        if (tls) {
                etcd_test_make_certs(t->dir);
                free(t->options);
                t->options = xasprintf(
                        "&cacert=%s/ca.pem&cert=%s/client.pem&key=%s/client.key", t->dir, t->dir, t->dir);
        }
        for (size_t i = 0; i < n; i++) {
                char *cluster, *endpoints;

                t->client_ports[i] = etcd_test_free_port();
                t->peer_ports[i] = etcd_test_free_port();
                cluster = xasprintf(
                        "%s%sm%zu=http://127.0.0.1:%d", t->cluster, i ? "," : "", i, t->peer_ports[i]);
                endpoints = xasprintf("%s%s%s://127.0.0.1:%d", t->endpoints, i ? "," : "",
                        tls ? "https" : "http", t->client_ports[i]);
                free(t->cluster);
                free(t->endpoints);
                t->cluster = cluster;
                t->endpoints = endpoints;
        }
        for (size_t i = 0; i < n; i++)
                etcd_test_spawn(t, i, "new");
        etcd_test_wait(t);
}

static inline void etcd_test_start(EtcdTest *t, size_t n)
{
        etcd_test_start_full(t, n, false);
}

static inline void etcd_test_kill(EtcdTest *t, size_t i)
{
        if (t->pids[i] <= 0)
                return;
        kill(t->pids[i], SIGKILL);
        waitpid(t->pids[i], NULL, 0);
        t->pids[i] = 0;
}

/* Whether every thread of the process is stopped (or traced). */
static inline bool etcd_test_all_stopped(pid_t pid)
{
        _cleanup_free_ char *dir = xasprintf("/proc/%d/task", (int) pid);
        DIR *d = opendir(dir);
        struct dirent *de;
        bool stopped = d != NULL;

        while (d && stopped && (de = readdir(d))) {
                _cleanup_free_ char *stat = NULL, *path = NULL;
                const char *paren;

                if (de->d_name[0] == '.')
                        continue;
                path = xasprintf("%s/%s/stat", dir, de->d_name);
                if (read_full_file(path, &stat, NULL) < 0)
                        continue;
                paren = strrchr(stat, ')');
                stopped = paren && (paren[2] == 'T' || paren[2] == 't');
        }
        if (d)
                closedir(d);
        return stopped;
}

/* SIGSTOP, and back only once no thread of the member runs any more. */
static inline void etcd_test_freeze(EtcdTest *t, size_t i)
{
        time_t deadline = time(NULL) + 60;

        ck_assert_int_eq(kill(t->pids[i], SIGSTOP), 0);
        while (!etcd_test_all_stopped(t->pids[i])) {
                ck_assert(time(NULL) < deadline);
                usleep(10 * 1000);
        }
}

/* Starts a killed member again, on its data. */
static inline void etcd_test_restart(EtcdTest *t, size_t i)
{
        ck_assert_int_eq(t->pids[i], 0);
        etcd_test_spawn(t, i, "existing");
}

static inline void etcd_test_stop(EtcdTest *t)
{
        for (size_t i = 0; i < t->n; i++)
                etcd_test_kill(t, i);
        test_tmpdir_free(t->dir);
        free(t->cluster);
        free(t->endpoints);
        free(t->options);
}
