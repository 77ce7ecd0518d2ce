/* sockserver.h -- a local Unix stream socket that takes lines from several clients at once: the
 * one server behind the agent's socket sources (source_camera.c with `input socket`, a camera's
 * analytics writers; source_larva.c, the handheld's form app), so that both bind, accept, read
 * and drop clients by the same rules.
 *
 * agent_sockserver_open binds the path with the configured file mode (a socket a previous run
 * left there is replaced; any other file there is a config error and is left alone), listens,
 * and watches the listener and its clients with one epoll descriptor, which the source returns
 * as its wait fd (agent_source.h). agent_sockserver_poll never blocks. It accepts new clients
 * into a fixed table; one more than the table holds is refused (logged at WARNING, and sent the
 * `busy` line first if the owner gave one). It reads each ready client at most
 * AGENT_SOCKSERVER_READS_MAX times per poll, so one busy writer cannot hold the source thread
 * (epoll is level-triggered: the rest is read on the next poll), splits the bytes into lines
 * (linebuf.h) and hands each to the owner's on_line, a line over LINEBUF_LINE_MAX to
 * on_too_long. When a client closes its sending side, a last line without a newline is still
 * handed over (`unterminated` set: a writer that stopped mid-line gives a line its parser
 * refuses, a whole one is not lost), then the client is dropped. A client whose read fails, or
 * whose callback returns false (a client that does not read its replies), is dropped too.
 *
 * Ownership: the server owns the listening socket, the epoll descriptor, the clients' sockets
 * and the socket file, which close unlinks if this server bound it. The owner keeps ctx (its
 * source state) alive while the server is open; the callbacks run only inside
 * agent_sockserver_poll, on the caller's thread.
 *
 * Not for: FIFOs and files (source_camera.c reads those itself), TCP, or writing more than a
 * short reply line. Not thread-safe: one source thread. */
#ifndef AGENT_SOCKSERVER_H
#define AGENT_SOCKSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define AGENT_SOCKSERVER_PATH_MAX 108   /* sun_path, with its NUL */
#define AGENT_SOCKSERVER_CLIENTS_MAX 16 /* the most clients a server may be configured for */
#define AGENT_SOCKSERVER_READS_MAX 16   /* reads of 8 KiB per ready client and poll */

struct agent_sockserver;

struct agent_sockserver_conf {
    const char *who;  /* prefix of err and log lines, "camera" (borrowed: copied) */
    const char *path; /* the socket's path, absolute (borrowed: copied) */
    const char *mode; /* its file mode, octal text "0660" (borrowed for open) */
    /* clients at once, 1 to AGENT_SOCKSERVER_CLIENTS_MAX (also the listen backlog) */
    size_t clients;
    /* the line sent to a client refused for lack of room; NULL: none (borrowed for the
     * server's lifetime: a literal) */
    const char *busy;
    /* One line from the client on fd (borrowed: reply with agent_sockserver_reply, never
     * close it). line is borrowed and NUL-terminated, len bytes without the newline (a '\r'
     * before it removed); unterminated: the client closed before its newline. Returns false
     * to drop the client. */
    bool (*on_line)(void *ctx, int fd, const char *line, size_t len, bool unterminated);
    /* A line over LINEBUF_LINE_MAX bytes from the client on fd (its rest is skipped).
     * Returns false to drop the client. */
    bool (*on_too_long)(void *ctx, int fd);
    void *ctx; /* the owner's, passed to the callbacks (borrowed while open) */
};

/* Checks a socket source's `path` and `mode` keys as loaded (both borrowed): path absolute and
 * shorter than AGENT_SOCKSERVER_PATH_MAX, mode an octal file mode. Returns MSG_OK or
 * MSG_ERR_CONFIG with err naming the key. Opens nothing (for a source's check). */
int agent_sockserver_check(const char *path, const char *mode, char *err, size_t errlen);

/* Parses an octal file mode ("0660", at most 0777) from text (borrowed) into *out. Returns
 * MSG_OK or MSG_ERR_CONFIG. */
int agent_sockserver_mode_parse(const char *text, mode_t *out);

/* Binds, listens and watches conf->path (conf borrowed for the call, except conf->busy and
 * conf->ctx, see above). On success *out is the server: caller frees with
 * agent_sockserver_close. Returns MSG_OK, MSG_ERR_CONFIG (a bad path or mode, or the path is
 * taken by something that is not a socket), MSG_ERR_INVAL (clients out of range or a callback
 * missing: the caller's bug), MSG_ERR_NOMEM or MSG_ERR_IO (socket, bind, chmod, listen or epoll
 * failed), err saying which, prefixed "<who>: "; *out is NULL then. */
int agent_sockserver_open(struct agent_sockserver **out, const struct agent_sockserver_conf *conf,
                          char *err, size_t errlen);

/* Accepts, reads and hands over lines as described above; never blocks. Returns MSG_OK, or
 * MSG_ERR_IO if epoll failed (err says why). */
int agent_sockserver_poll(struct agent_sockserver *s, char *err, size_t errlen);

/* The descriptor to wait on (readable when a client or the listener has something): the
 * source's agent_source_wait.fd. Owned by s. */
int agent_sockserver_fd(const struct agent_sockserver *s);

/* Sends text (borrowed) and a newline to the client on fd without blocking; a text longer than
 * MSG_ERRLEN + 14 bytes is cut. Returns false if not all of it went out (the client does not
 * read its replies: drop it). */
bool agent_sockserver_reply(int fd, const char *text);

/* Closes the clients, the listener and the epoll descriptor, unlinks the socket file if this
 * server bound it, and frees s. NULL is a no-op. */
void agent_sockserver_close(struct agent_sockserver *s);

#endif
