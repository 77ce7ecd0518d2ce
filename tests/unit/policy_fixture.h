/* policy_fixture.h -- a registry cache with known accounts, for the unit tests of devacl and
 * payval (test_devacl.c, test_payval.c).
 *
 * The tests link every object of the plugin, regcache.c included, so its functions cannot be
 * replaced by doubles; instead the fixture makes a real cache from a snapshot file in
 * regcache.c's own format ("pantau-regcache 1", A and B lines, a SHA-256 sum line) and a
 * PostgreSQL that is not there (port 1: refused at once), as a broker would start without its
 * database. Include it in one test file per program (its functions are static).
 *
 * Not for: anything but these tests. */
#ifndef POLICY_FIXTURE_H
#define POLICY_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "msg_err.h"
#include "regcache.h"

struct policy_fixture {
    char dir[64];
    char path[128];
    struct regcache *rc;
};

/* Writes body (the A and B lines) as a snapshot file and makes a cache from it. Returns 0, or
 * -1 with the reason printed. Free with policy_fixture_free. */
static int policy_fixture_new(struct policy_fixture *f, const char *body)
{
    struct regcache_config cfg;
    unsigned char sum[SHA256_DIGEST_LENGTH];
    char err[MSG_ERRLEN] = "";
    char *text = NULL;
    size_t len;
    FILE *fp = NULL;
    int rc = -1;

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/pantau-policy-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        perror("mkdtemp");
        goto out;
    }
    snprintf(f->path, sizeof(f->path), "%s/registry.snapshot", f->dir);
    len = strlen("pantau-regcache 1\n") + strlen(body);
    text = malloc(len + 1);
    if (text == NULL) {
        goto out;
    }
    snprintf(text, len + 1, "pantau-regcache 1\n%s", body);
    SHA256((const unsigned char *)text, len, sum);
    fp = fopen(f->path, "w");
    if (fp == NULL) {
        perror(f->path);
        goto out;
    }
    fputs(text, fp);
    fputs("sum ", fp);
    for (size_t i = 0; i < sizeof(sum); i++) {
        fprintf(fp, "%02x", sum[i]);
    }
    fputs("\n", fp);
    if (fclose(fp) != 0) {
        fp = NULL;
        goto out;
    }
    fp = NULL;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.conninfo, sizeof(cfg.conninfo),
             "host=127.0.0.1 port=1 connect_timeout=1 dbname=none user=none");
    snprintf(cfg.snapshot_path, sizeof(cfg.snapshot_path), "%s", f->path);
    cfg.reload_ms = 3600000;
    f->rc = regcache_new(&cfg, err, sizeof(err));
    if (f->rc == NULL) {
        fprintf(stderr, "regcache_new: %s\n", err);
        goto out;
    }
    rc = 0;
out:
    if (fp != NULL) {
        fclose(fp);
    }
    free(text);
    return rc;
}

static void policy_fixture_free(struct policy_fixture *f)
{
    char tmp[160];

    regcache_free(f->rc);
    f->rc = NULL;
    unlink(f->path);
    snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
    unlink(tmp);
    rmdir(f->dir);
}

#endif
