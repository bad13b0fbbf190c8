/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "alloc.h"
#include "fileio.h"

/*
 * Replays inputs through a fuzz target without libFuzzer, so every compiler
 * runs the seed corpora as regression tests. Arguments are files or
 * directories of files, as for a libFuzzer binary.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
        _cleanup_free_ char *data = NULL, *exact = NULL;
        size_t size;
        int r;

        r = read_full_file(path, &data, &size);
        if (r < 0) {
                fprintf(stderr, "Failed to read %s: %s\n", path, strerror(-r));
                return r;
        }
        /* A buffer of exactly the input's size, as libFuzzer hands it: no terminating NUL to lean on. */
        exact = xmemdup(data, size);
        fprintf(stderr, "Running %s (%zu bytes)\n", path, size);
        LLVMFuzzerTestOneInput((const uint8_t *) exact, size);
        return 1;
}

static int run_dir(const char *dir)
{
        struct dirent **entries = NULL;
        int n, r = 0;

        n = scandir(dir, &entries, NULL, alphasort);
        if (n < 0) {
                fprintf(stderr, "Failed to list %s: %m\n", dir);
                return negative_errno();
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s", dir, entries[i]->d_name);
                struct stat st;

                if (r >= 0 && entries[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                        int k = run_file(path);
                        r = k < 0 ? k : r + k;
                }
                free(entries[i]);
        }
        free(entries);
        return r;
}

int main(int argc, char *argv[])
{
        int total = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "Failed to access %s: %m\n", argv[i]);
                        return 1;
                }
                r = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
                if (r < 0)
                        return 1;
                total += r;
        }
        /* An empty corpus would make a passing test that checks nothing. */
        if (total == 0) {
                fprintf(stderr, "No inputs given\n");
                return 1;
        }
        fprintf(stderr, "Ran %d inputs\n", total);
        return 0;
}
