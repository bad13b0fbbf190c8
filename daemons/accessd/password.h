/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Password checks, off the event loop: each runs in a thread of its own,
 * because PAM may block (a network directory, a module's delay) and a
 * yescrypt hash takes tens of milliseconds. The result comes back on the
 * loop: done(0) for the right password, done(-EACCES) for a wrong one (or an
 * unknown user, a locked account: PAM does not tell them apart, nor do we),
 * another negative errno when the check itself failed.
 */

#include <event2/event.h>

typedef void (*PasswordDone)(int r, void *userdata);

/* PAM service in confdir (NULL: the system's, /etc/pam.d): pam_authenticate, then pam_acct_mgmt. */
int password_check_pam(struct event_base *base, const char *confdir, const char *service, const char *login,
        const char *password, PasswordDone done, void *userdata);
/* A crypt(3) hash, compared in constant time. */
int password_check_hash(
        struct event_base *base, const char *hash, const char *password, PasswordDone done, void *userdata);

/* A yescrypt hash of password, with a fresh salt. */
int password_hash(const char *password, char **ret);
