/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * berth-multipath-validate LAYER MULTIPATH
 *
 * Runs "MULTIPATH -t" in a private mount namespace where /etc is an overlay
 * whose multipath configuration is only the drop-ins found in LAYER: an empty
 * multipath.conf and a multipath/ directory that hides the host's. The layer
 * lives on a tmpfs of the namespace, so the host sees no mount and no file
 * change, whatever file system LAYER is on. multipath's dump of the
 * configuration is discarded; its stderr is the verdict. Exit status:
 * multipath's, or those of validate-helper.h. Needs root (CAP_SYS_ADMIN).
 *
 * Messages are plain lines on stderr, without log priorities: the caller shows
 * them to whoever asked for the check.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "alloc.h"
#include "fileio.h"
#include "validate-helper.h"

static _printf_(2, 3) int fail(int error, const char *fmt, ...)
{
        va_list ap;

        fputs("berth-multipath-validate: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", strerror(error));
        return VALIDATE_EXIT_SETUP;
}

/* Reads LAYER's drop-ins as a vector of name, text pairs, before the tmpfs hides them. */
static int read_dropins(const char *layer, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        DIR *d = opendir(layer);
        struct dirent *de;
        int r = 0;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *text = NULL;

                if (!endswith(de->d_name, ".conf"))
                        continue;
                path = xasprintf("%s/%s", layer, de->d_name);
                r = read_full_file(path, &text, NULL);
                if (r < 0)
                        break;
                strv_push(&l, de->d_name);
                strv_push(&l, text);
        }
        closedir(d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int build_layer(const char *layer, char *const *dropins)
{
        _cleanup_free_ char *conf = xasprintf("%s/multipath.conf", layer),
                            *dir = xasprintf("%s/multipath", layer), *confd = xasprintf("%s/conf.d", dir);
        int r;

        if (mount("tmpfs", layer, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0)
                return fail(errno, "mount tmpfs on %s", layer);
        r = write_string_file_atomic(conf, "", 0644);
        if (r < 0)
                return fail(-r, "write %s", conf);
        if (mkdir(dir, 0755) < 0 || mkdir(confd, 0755) < 0)
                return fail(errno, "create %s", confd);
        /* An opaque directory hides the host's /etc/multipath, its conf.d included. */
        if (setxattr(dir, "trusted.overlay.opaque", "y", 1, 0) < 0)
                return fail(errno, "make %s opaque", dir);
        for (char *const *p = dropins; p && p[0]; p += 2) {
                _cleanup_free_ char *path = xasprintf("%s/%s", confd, p[0]);
                r = write_string_file_atomic(path, p[1], 0644);
                if (r < 0)
                        return fail(-r, "write %s", path);
        }
        return 0;
}

int main(int argc, char *argv[])
{
        _cleanup_strv_free_ char **dropins = NULL;
        _cleanup_free_ char *options = NULL;
        const char *layer, *multipath;
        int r, null_fd;

        if (argc != 3 || argv[1][0] != '/') {
                fprintf(stderr, "usage: berth-multipath-validate LAYER-DIR MULTIPATH\n");
                return VALIDATE_EXIT_SETUP;
        }
        layer = argv[1];
        multipath = argv[2];
        /* overlayfs splits its options at ',' and its layers at ':'. */
        if (strpbrk(layer, ",:\\")) {
                fprintf(stderr, "berth-multipath-validate: %s: ',', ':' and '\\' are not allowed\n", layer);
                return VALIDATE_EXIT_SETUP;
        }

        r = read_dropins(layer, &dropins);
        if (r < 0)
                return fail(-r, "read %s", layer);
        if (unshare(CLONE_NEWNS) < 0)
                return fail(errno, "unshare the mount namespace");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return fail(errno, "make / private");
        r = build_layer(layer, dropins);
        if (r != 0)
                return r;
        options = xasprintf("lowerdir=%s:/etc", layer);
        if (mount("overlay", "/etc", "overlay", MS_RDONLY, options) < 0)
                return fail(errno, "mount an overlay on /etc");

        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, STDOUT_FILENO) < 0)
                return fail(errno, "redirect stdout to /dev/null");
        execl(multipath, multipath, "-t", (char *) NULL);
        r = errno;
        fail(r, "execute %s", multipath);
        return r == ENOENT ? VALIDATE_EXIT_NOT_FOUND : VALIDATE_EXIT_CANNOT_RUN;
}
