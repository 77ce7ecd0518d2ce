/* http.h -- pantau-console's HTTP server (libmicrohttpd): the routing table from API paths to
 * SQL functions, logins and CSRF checks, the live stream, static files and /metrics.
 *
 * Threading (console/README.md): one libmicrohttpd daemon with an internal thread pool over
 * epoll (MHD_USE_EPOLL_INTERNAL_THREAD, MHD_OPTION_THREAD_POOL_SIZE = threads) and
 * MHD_ALLOW_SUSPEND_RESUME. A request runs on a pool thread from start to answer; a database
 * call holds it at most db_wait + db_statement_timeout (db.h); a live stream holds none
 * (events.h).
 *
 * Not for: SQL text. Every API path is a row of a const table naming its function and its
 * typed query parameters; the account logged in is always the first argument. */
#ifndef CONSOLE_HTTP_H
#define CONSOLE_HTTP_H

#include <stddef.h>

#include "auth.h"
#include "console_conf.h"
#include "db.h"
#include "events.h"

struct http;

/* Starts listening. cfg, pool, read_pool, auth and ev are borrowed and must outlive the server.
 * pool is the primary's (logins, alerts, acknowledgements); read_pool answers the map and views
 * (a replica's pool, or pool itself when there is none). Returns NULL with err set (the port is
 * taken, the TLS files cannot be read, ...). Caller frees with http_free (stops the daemon;
 * call events_close first). */
struct http *http_new(const struct console_config *cfg, struct db_pool *pool,
                      struct db_pool *read_pool, struct auth *auth, struct events *ev, char *err,
                      size_t errlen);

void http_free(struct http *h);

#endif
