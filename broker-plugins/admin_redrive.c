/* admin_redrive.c -- pantau-admin redrive: see admin_redrive.h. */
#include "admin_redrive.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin_common.h"
#include "msg_clock.h"

#define POLL_MS 200

static int fail_arg(const char *opt, const char *value, const char *what)
{
    fprintf(stderr, "pantau-admin: redrive: %s: '%s' is not %s\nTry 'pantau-admin --help'.\n",
            opt, value, what);
    return 2;
}

int admin_redrive_args(const char *id, const char *timeout, struct admin_redrive_req *req)
{
    char *end = NULL;
    unsigned long long v;

    req->id[0] = '\0';
    req->timeout_s = ADMIN_REDRIVE_TIMEOUT_DEFAULT;
    if (id != NULL) {
        errno = 0;
        v = strtoull(id, &end, 10);
        if (errno != 0 || end == id || *end != '\0' || id[0] < '1' || id[0] > '9' ||
            v > INT64_MAX) {
            return fail_arg("--id", id, "a dead letter id (a positive integer)");
        }
        snprintf(req->id, sizeof(req->id), "%llu", v);
    }
    if (timeout != NULL) {
        errno = 0;
        v = strtoull(timeout, &end, 10);
        if (errno != 0 || end == timeout || *end != '\0' || timeout[0] < '0' ||
            timeout[0] > '9' || v < 1 || v > ADMIN_REDRIVE_TIMEOUT_MAX) {
            return fail_arg("--timeout", timeout, "a number of seconds from 1 to 86400");
        }
        req->timeout_s = (long)v;
    }
    return 0;
}

/* The groups of result->key: count, label and (refusals) an example, one a line. */
static int print_groups(PGconn *conn, const struct admin_redrive_req *req, const char *id,
                        const char *key)
{
    const char *p[2] = {id, key};
    PGresult *res = admin_exec(conn, "redrive: reading the result",
                        "SELECT g->>'count', coalesce(g->>'category', g->>'why'),"
                        " coalesce(g->>'example', '')"
                        " FROM pantau_ops.redrive_request r,"
                        " jsonb_array_elements(coalesce(r.result->$2, '[]')) g"
                        " WHERE r.id = $1::bigint",
                        2, p);

    if (res == NULL) {
        return 1;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *what = PQgetvalue(res, i, 1);
        const char *example = PQgetvalue(res, i, 2);

        printf("  %s ", PQgetvalue(res, i, 0));
        req->print_escaped(stdout, (const unsigned char *)what, strlen(what), 0);
        if (example[0] != '\0') {
            printf(", e.g. ");
            req->print_escaped(stdout, (const unsigned char *)example, strlen(example), 160);
        }
        putchar('\n');
    }
    PQclear(res);
    return 0;
}

int admin_redrive_run(PGconn *conn, const struct admin_redrive_req *req)
{
    const char *p[6];
    char id[24] = "";
    PGresult *res = NULL;
    int64_t deadline;
    int rc = 1;

    p[0] = req->device;
    p[1] = req->category;
    p[2] = req->since;
    p[3] = req->until;
    p[4] = req->id[0] != '\0' ? req->id : NULL;
    p[5] = req->dry_run ? "true" : "false";
    res = admin_exec(conn, "redrive: recording the request",
              "INSERT INTO pantau_ops.redrive_request (device_id, category, since, until,"
              " dead_letter_id, dry_run) VALUES ($1, $2, $3::timestamptz, $4::timestamptz,"
              " $5::bigint, $6::boolean) RETURNING id::text",
              6, p);
    if (res == NULL) {
        return 1;
    }
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    fprintf(stderr, "pantau-admin: redrive request %s recorded%s, waiting for a collector\n", id,
            req->dry_run ? " (dry run)" : "");
    deadline = msg_clock_mono_ms() + (int64_t)req->timeout_s * 1000;
    p[0] = id;
    for (;;) {
        res = admin_exec(conn, "redrive: waiting for the request",
                  "SELECT state, coalesce(claimed_by, '-'), examined, stored, already_stored,"
                  " still_refused, skipped FROM pantau_ops.redrive_request WHERE id = $1::bigint",
                  1, p);
        if (res == NULL) {
            return 1;
        }
        if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "done") == 0) {
            break;
        }
        if (msg_clock_mono_ms() >= deadline) {
            fprintf(stderr,
                    "pantau-admin: redrive: request %s is still %s after %ld s: is a collector "
                    "running? It stays recorded and a collector does it when it comes\n",
                    id, PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "unknown", req->timeout_s);
            PQclear(res);
            return 1;
        }
        PQclear(res);
        msg_clock_sleep_ms(POLL_MS);
    }
    printf("redrive request %s%s, done by %s\n", id,
           req->dry_run ? " (dry run: nothing stored)" : "", PQgetvalue(res, 0, 1));
    printf("examined: %s\n", PQgetvalue(res, 0, 2));
    printf("%s: %s\n", req->dry_run ? "would be stored" : "stored", PQgetvalue(res, 0, 3));
    printf("already stored: %s\n", PQgetvalue(res, 0, 4));
    printf("still refused: %s\n", PQgetvalue(res, 0, 5));
    if (print_groups(conn, req, id, "refused") != 0) {
        goto out;
    }
    printf("not redriven: %s\n", PQgetvalue(res, 0, 6));
    if (print_groups(conn, req, id, "skipped") != 0) {
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}
