/* msg_file.h -- writing a whole file so that a reader (or a crash) never sees half of it: the
 * bytes go to a temporary file beside it, then rename() puts it in place. For what pantau's
 * programs write for others to read: the agent's Prometheus textfile, the broker's registry
 * snapshot, pantau-admin's keys, certificates and CRLs.
 *
 * Not for: appending, or files that must not be replaced (see MSG_FILE_EXCL for a new one). */
#ifndef MSG_FILE_H
#define MSG_FILE_H

#include <stddef.h>
#include <sys/types.h>

enum msg_file_flags {
    MSG_FILE_SYNC = 1 << 0, /* fsync the file before the rename and the folder after it: the
                               * new content survives a power cut once the call returned */
    MSG_FILE_EXCL = 1 << 1, /* refuse if path exists already (MSG_ERR_INVAL) */
};

/* Writes len bytes of data (borrowed) as the whole content of path (borrowed), with mode
 * (applied with fchmod, whatever the umask), through path + ".tmp". flags: msg_file_flags.
 * Returns MSG_OK; MSG_ERR_INVAL if MSG_FILE_EXCL and path exists (nothing written), or
 * MSG_ERR_IO, with err naming the file and the system's reason; the temporary file is then
 * removed and path left as it was. */
int msg_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          unsigned flags, char *err, size_t errlen);

#endif
