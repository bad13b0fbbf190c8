/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "fileio.h"
#include "macro.h"

static int fsync_directory_of(const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        _cleanup_close_ int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return fsync(fd) < 0 ? negative_errno() : 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", path);
        _cleanup_close_ int fd = -1;
        const char *p = data;
        int r;

        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fchmod(fd, mode) < 0)
                goto fail;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        goto fail;
                }
                p += n;
                len -= (size_t) n;
        }
        if (fsync(fd) < 0 || rename(tmp, path) < 0)
                goto fail;
        return fsync_directory_of(path);
fail:
        r = negative_errno();
        (void) unlink(tmp);
        return r;
}

int write_string_file_atomic(const char *path, const char *s, mode_t mode)
{
        return write_file_atomic(path, s, strlen(s), mode);
}

int read_full_file(const char *path, char **ret, size_t *ret_size)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        if (fd < 0)
                return negative_errno();
        for (;;) {
                if (allocated - size < 4096) {
                        allocated = allocated ? allocated * 2 : 8192;
                        buf = xrealloc(buf, allocated);
                }
                ssize_t n = read(fd, buf + size, allocated - size - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        if (!buf)
                buf = xmalloc(1);
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = xstrdup(path);

        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int unlink_if_exists(const char *path)
{
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int rm_rf(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *de;
        int r = 0;

        if (!d) {
                if (errno == ENOENT)
                        return 0;
                if (errno == ENOTDIR)
                        return unlink_if_exists(path);
                return negative_errno();
        }
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *child = xasprintf("%s/%s", path, de->d_name);
                int k = de->d_type == DT_DIR ? rm_rf(child) : unlink_if_exists(child);
                if (k < 0 && r == 0)
                        r = k;
        }
        closedir(d);
        if (rmdir(path) < 0 && errno != ENOENT && r == 0)
                r = negative_errno();
        return r;
}
