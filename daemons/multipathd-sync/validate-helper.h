/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Exit statuses of berth-multipath-validate besides multipath's own, the
 * convention of env(1) and nsenter(1); spawn() too exits 127 when it cannot
 * execute the helper.
 */
#define VALIDATE_EXIT_SETUP 125
#define VALIDATE_EXIT_CANNOT_RUN 126
#define VALIDATE_EXIT_NOT_FOUND 127
