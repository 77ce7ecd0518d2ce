/* msg_file.c -- whole files written through a temporary file and rename() (see msg_file.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_CLOEXEC, O_DIRECTORY, fchmod; some targets define it for every file */
#endif
#include "msg_file.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg_err.h"

/* fsync of the folder that holds path, so that the rename is on the disk. */
static int sync_folder(const char *path, char *err, size_t errlen)
{
    char dir[4096];
    char *slash;
    int dfd;
    int rc = MSG_OK;

    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
        snprintf(err, errlen, "%s: path too long", path);
        return MSG_ERR_IO;
    }
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        snprintf(err, errlen, "%s: fsync of the folder: %s", dir, strerror(errno));
        rc = MSG_ERR_IO;
    }
    if (dfd >= 0) {
        close(dfd);
    }
    return rc;
}

int msg_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          unsigned flags, char *err, size_t errlen)
{
    char tmp[4096 + 8];
    const char *p = data;
    size_t off = 0;
    bool renamed = false;
    int fd = -1;
    int rc = MSG_ERR_IO;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        snprintf(err, errlen, "%s: path too long", path);
        return MSG_ERR_IO;
    }
    if ((flags & MSG_FILE_EXCL) != 0 && access(path, F_OK) == 0) {
        snprintf(err, errlen, "%s exists already; not replaced", path);
        return MSG_ERR_INVAL;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return MSG_ERR_IO;
    }
    if (fchmod(fd, mode) != 0) {
        snprintf(err, errlen, "cannot chmod %s: %s", tmp, strerror(errno));
        goto out;
    }
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            snprintf(err, errlen, "cannot write %s: %s", tmp, w < 0 ? strerror(errno) : "no room");
            goto out;
        }
        off += (size_t)w;
    }
    if ((flags & MSG_FILE_SYNC) != 0 && fsync(fd) != 0) {
        snprintf(err, errlen, "cannot fsync %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    renamed = true;
    rc = (flags & MSG_FILE_SYNC) != 0 ? sync_folder(path, err, errlen) : MSG_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (!renamed) {
        unlink(tmp);
    }
    return rc;
}
