/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Checks drop-ins with the real "multipath -t", which parses the configuration
 * the way multipathd does. The helper berth-multipath-validate shows multipath,
 * in a private mount namespace (root only), an /etc whose multipath
 * configuration is exactly these drop-ins: the host's is neither read nor
 * touched. multipath only warns on stderr about unknown keywords and bad
 * values and still exits 0, so any output counts as a failure.
 *
 * helper is the path of berth-multipath-validate, NULL for the installed one;
 * config and overrides are drop-in texts (multipath-render.h), NULL for none.
 * Returns 0 when multipath read them without a word, -EBADMSG with its output
 * in ret_error (if given) when it did not, -ENOENT when the helper or
 * multipath is missing, another negative errno when the check could not run
 * (with the helper's output in ret_error).
 */
int multipath_validate(const char *helper, const char *config, const char *overrides, char **ret_error);

/* The multipath binary the check runs. */
const char *multipath_validate_binary(void);
