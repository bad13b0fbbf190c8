/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Golden files of the renderer tests: tests/golden/<area>/<name>.<suffix> in
 * the source tree that BERTH_SOURCE_ROOT names. With BERTH_UPDATE_GOLDEN=1,
 * golden_check() rewrites the expected files instead of comparing.
 */

char *golden_path(const char *area, const char *name, const char *suffix);

/* Compares text with the golden file, or rewrites it; text NULL means the file must not exist. */
void golden_check(const char *area, const char *name, const char *suffix, const char *text);
