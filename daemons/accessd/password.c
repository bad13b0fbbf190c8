/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <crypt.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <unistd.h>

#include "alloc.h"
#include "password.h"
#include "ticket.h"

typedef struct Check {
        /* Set on the loop, read by the thread. */
        char *confdir, *service, *login, *hash;
        char *password; /* secret */
        int pipe[2];
        struct event *event;
        PasswordDone done;
        void *userdata;
        /* Set by the thread before it writes to the pipe. */
        int result;
} Check;

static void check_free(Check *c)
{
        free(c->confdir);
        free(c->service);
        free(c->login);
        ticket_secret_free(c->hash);
        ticket_secret_free(c->password);
        safe_close(c->pipe[0]);
        safe_close(c->pipe[1]);
        if (c->event)
                event_free(c->event);
        free(c);
}

static int conversation(int n, const struct pam_message **msg, struct pam_response **ret, void *userdata)
{
        struct pam_response *resp = calloc((size_t) n, sizeof *resp);

        if (!resp)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF)
                        continue;
                resp[i].resp = strdup(userdata);
                if (!resp[i].resp) {
                        for (int j = 0; j < i; j++)
                                ticket_secret_free(resp[j].resp);
                        free(resp);
                        return PAM_BUF_ERR;
                }
        }
        *ret = resp;
        return PAM_SUCCESS;
}

/* The answer's delay is accessd's, per user and source: no module's fixed one on top. */
static void no_fail_delay(int status, unsigned delay, void *appdata)
{
}

static int run_pam(Check *c)
{
        struct pam_conv conv = { conversation, c->password };
        pam_handle_t *pamh = NULL;
        int r;

        r = pam_start_confdir(c->service, c->login, &conv, c->confdir, &pamh);
        if (r != PAM_SUCCESS)
                return -EIO;
        r = pam_set_item(pamh, PAM_FAIL_DELAY, (const void *) no_fail_delay);
        if (r == PAM_SUCCESS)
                r = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
        if (r == PAM_SUCCESS)
                r = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
        int result = r == PAM_SUCCESS ? 0
                : r == PAM_AUTH_ERR || r == PAM_USER_UNKNOWN || r == PAM_ACCT_EXPIRED ||
                        r == PAM_PERM_DENIED || r == PAM_MAXTRIES || r == PAM_NEW_AUTHTOK_REQD ||
                        r == PAM_CRED_INSUFFICIENT
                ? -EACCES
                : -EIO;
        pam_end(pamh, r);
        return result;
}

static int run_hash(Check *c)
{
        void *data = NULL;
        int size = 0;
        const char *h = crypt_ra(c->password, c->hash, &data, &size);
        size_t n = strlen(c->hash);
        int r;

        if (!h || h[0] == '*')
                r = -EACCES;
        else
                r = strlen(h) == n && CRYPTO_memcmp(h, c->hash, n) == 0 ? 0 : -EACCES;
        if (data) {
                explicit_bzero(data, (size_t) size);
                free(data);
        }
        return r;
}

static void *thread_main(void *userdata)
{
        Check *c = userdata;
        char byte = 0;

        c->result = c->hash ? run_hash(c) : run_pam(c);
        /* The last thing the thread does: from here on the loop owns c. */
        (void) !write(c->pipe[1], &byte, 1);
        return NULL;
}

static void on_done(evutil_socket_t fd, short what, void *userdata)
{
        Check *c = userdata;
        PasswordDone done = c->done;
        void *done_userdata = c->userdata;
        int r = c->result;

        check_free(c);
        done(r, done_userdata);
}

static int start(struct event_base *base, Check *c)
{
        pthread_attr_t attr;
        pthread_t thread;
        int r;

        if (pipe2(c->pipe, O_CLOEXEC) < 0) {
                r = negative_errno();
                check_free(c);
                return r;
        }
        c->event = event_new(base, c->pipe[0], EV_READ, on_done, c);
        if (!c->event || event_add(c->event, NULL) < 0) {
                check_free(c);
                return -ENOMEM;
        }
        r = -pthread_attr_init(&attr);
        if (r == 0)
                r = -pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (r == 0)
                r = -pthread_create(&thread, &attr, thread_main, c);
        pthread_attr_destroy(&attr);
        if (r < 0)
                check_free(c);
        return r;
}

int password_check_pam(struct event_base *base, const char *confdir, const char *service, const char *login,
        const char *password, PasswordDone done, void *userdata)
{
        Check *c = new0(Check, 1);

        *c = (Check){ .confdir = confdir ? xstrdup(confdir) : NULL,
                .service = xstrdup(service),
                .login = xstrdup(login),
                .password = xstrdup(password),
                .pipe = { -1, -1 },
                .done = done,
                .userdata = userdata };
        return start(base, c);
}

int password_check_hash(
        struct event_base *base, const char *hash, const char *password, PasswordDone done, void *userdata)
{
        Check *c = new0(Check, 1);

        *c = (Check){ .hash = xstrdup(hash),
                .password = xstrdup(password),
                .pipe = { -1, -1 },
                .done = done,
                .userdata = userdata };
        return start(base, c);
}

int password_hash(const char *password, char **ret)
{
        _cleanup_free_ char *setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
        void *data = NULL;
        int size = 0;

        if (!setting)
                return negative_errno();
        const char *h = crypt_ra(password, setting, &data, &size);
        int r = !h || h[0] == '*' ? -EINVAL : 0;
        if (r == 0)
                *ret = xstrdup(h);
        if (data) {
                explicit_bzero(data, (size_t) size);
                free(data);
        }
        return r;
}
