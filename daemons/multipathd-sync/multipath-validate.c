/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <sys/stat.h>

#include "alloc.h"
#include "fileio.h"
#include "multipath-render.h"
#include "multipath-validate.h"
#include "spawn.h"
#include "validate-helper.h"

const char *multipath_validate_binary(void)
{
        return MULTIPATH_BINARY;
}

static int write_dropin(const char *dir, const char *name, const char *text)
{
        _cleanup_free_ char *path = NULL;

        if (!text)
                return 0;
        path = xasprintf("%s/%s", dir, name);
        return write_string_file_atomic(path, text, 0644);
}

/* The output without its final newline, or a word on the exit status when there is none. */
static char *describe(char *out, const char *program, int status)
{
        size_t n = strlen(strempty(out));

        if (n == 0)
                return xasprintf("%s exited with status %d", program, status);
        if (out[n - 1] == '\n')
                out[n - 1] = 0;
        return xstrdup(out);
}

static void rm_rf_and_free(char *dir)
{
        (void) rm_rf(dir);
        free(dir);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, rm_rf_and_free);

int multipath_validate(const char *helper, const char *config, const char *overrides, char **ret_error)
{
        _cleanup_(rm_rf_and_freep) char *dir = NULL;
        _cleanup_free_ char *template = NULL, *layer = NULL, *log = NULL, *out = NULL;
        const char *tmp = getenv("TMPDIR"), *program = helper ?: BERTH_MULTIPATH_VALIDATE;
        int r, status;

        template = xasprintf("%s/berth-multipath-XXXXXX", isempty(tmp) ? "/tmp" : tmp);
        if (!mkdtemp(template))
                return negative_errno();
        dir = TAKE_PTR(template);
        layer = xasprintf("%s/layer", dir);
        log = xasprintf("%s/output", dir);
        if (mkdir(layer, 0700) < 0)
                return negative_errno();
        r = write_dropin(layer, MULTIPATH_CONFIG_DROPIN, config);
        if (r < 0)
                return r;
        r = write_dropin(layer, MULTIPATH_OVERRIDES_DROPIN, overrides);
        if (r < 0)
                return r;

        char *argv[] = { (char *) program, layer, (char *) MULTIPATH_BINARY, NULL };
        SpawnOptions o = { .log_path = log };
        status = spawn_and_wait(argv, &o);
        if (status < 0)
                return status;
        (void) read_full_file(log, &out, NULL);
        if (status == 0 && isempty(out))
                return 0;
        if (ret_error)
                *ret_error = describe(out, program, status);
        switch (status) {
        case VALIDATE_EXIT_NOT_FOUND:
                return -ENOENT;
        case VALIDATE_EXIT_SETUP:
        case VALIDATE_EXIT_CANNOT_RUN:
                return -EIO;
        default:
                return -EBADMSG;
        }
}
