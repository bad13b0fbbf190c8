/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Writes data to path atomically: a temp file in the same directory, fsync, rename, fsync of the directory. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
int write_string_file_atomic(const char *path, const char *s, mode_t mode);
/* Reads a whole file into a NUL-terminated buffer (the size excludes the NUL). */
int read_full_file(const char *path, char **ret, size_t *ret_size);
/* Creates a directory and its parents. */
int mkdir_p(const char *path, mode_t mode);
/* Removes a file; a missing file is not an error. */
int unlink_if_exists(const char *path);
/* Removes a directory tree; a missing one is not an error. */
int rm_rf(const char *path);
