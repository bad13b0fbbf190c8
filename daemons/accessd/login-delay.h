/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * How long to hold back the answer to a failed login: it doubles with each
 * failure of the same user from the same source, from LOGIN_DELAY_BASE_USEC
 * up to LOGIN_DELAY_MAX_USEC, and is forgotten LOGIN_DELAY_FORGET_USEC after
 * the last failure or at a success. Other users and other sources are not
 * slowed down. At most LOGIN_DELAY_MAX_ENTRIES pairs are remembered; past
 * that the one that failed longest ago goes. Times are CLOCK_MONOTONIC µs.
 */

#include <stdint.h>

#include "macro.h"

#define LOGIN_DELAY_BASE_USEC (250 * UINT64_C(1000))
#define LOGIN_DELAY_MAX_USEC (16 * UINT64_C(1000000))
#define LOGIN_DELAY_FORGET_USEC (15 * 60 * UINT64_C(1000000))
#define LOGIN_DELAY_MAX_ENTRIES 4096

typedef struct LoginDelay LoginDelay;

LoginDelay *login_delay_new(void);
LoginDelay *login_delay_free(LoginDelay *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(LoginDelay *, login_delay_free);

/* Records a failure of user from source at now; returns the delay to answer it after. */
uint64_t login_delay_failed(LoginDelay *d, const char *user, const char *source, uint64_t now);
/* The failures of user from source so far (0 once forgotten). */
unsigned login_delay_failures(const LoginDelay *d, const char *user, const char *source, uint64_t now);
void login_delay_succeeded(LoginDelay *d, const char *user, const char *source);
