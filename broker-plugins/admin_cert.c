/* admin_cert.c -- pantau-admin's certificate commands: see admin_cert.h. */
#include "admin_cert.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "admin_common.h"
#include "msg_file.h"
#include "msg_hex.h"
#include "msg_topic.h"

#define CERT_PATH_MAX 4096
#define CA_DAYS 3650
#define CERT_DAYS 825 /* the CA/Browser Forum's old ceiling: a gateway's life between visits */
#define CRL_DAYS 30
#define SHA_HEX 65

bool admin_cert_command_is(const char *cmd)
{
    static const char *const cmds[] = {"ca-init", "cert-issue", "cert-revoke", "crl-update",
                                       "cert-list"};

    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(cmd, cmds[i]) == 0) {
            return true;
        }
    }
    return false;
}

bool admin_cert_option_is(int c)
{
    return c >= ADMIN_CERT_OPT_CA && c <= ADMIN_CERT_OPT_CRL;
}

void admin_cert_option_set(struct admin_cert_opts *opts, int c, const char *arg)
{
    switch (c) {
    case ADMIN_CERT_OPT_CA:
        opts->ca = arg;
        break;
    case ADMIN_CERT_OPT_OUT:
        opts->out = arg;
        break;
    case ADMIN_CERT_OPT_DAYS:
        opts->days = arg;
        break;
    case ADMIN_CERT_OPT_SERVER:
        opts->server = true;
        break;
    default:
        opts->crl = arg;
        break;
    }
}

const char *admin_cert_option_given(const struct admin_cert_opts *opts)
{
    if (opts->ca != NULL) {
        return "--ca";
    }
    if (opts->out != NULL) {
        return "--out";
    }
    if (opts->days != NULL) {
        return "--days";
    }
    if (opts->crl != NULL) {
        return "--crl";
    }
    return opts->server ? "--server" : NULL;
}

/* ---- OpenSSL helpers ---- */

/* Prints "pantau-admin: CMD: what: <OpenSSL's errors>" and returns 1. */
static int ssl_fail(const char *cmd, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";

    if (e != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
    }
    ERR_clear_error();
    fprintf(stderr, "pantau-admin: %s: %s%s%s\n", cmd, what, buf[0] != '\0' ? ": " : "", buf);
    return 1;
}

/* dir/name into out. Returns 0, or 2 when it does not fit. */
static int join(char *out, size_t len, const char *dir, const char *name, const char *ext)
{
    int n = snprintf(out, len, "%s/%s%s", dir, name, ext);

    return n < 0 || (size_t)n >= len ? 2 : 0;
}

/* Writes a PEM object through write_fn to path, whole and synced (msg_file_write_atomic),
 * with mode. excl: never over an existing path. Returns 0, or 1 after a message. */
static int write_pem(const char *cmd, const char *path, mode_t mode, bool excl,
                     int (*write_fn)(BIO *b, const void *obj), const void *obj)
{
    char err[512];
    BIO *mem = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    int rc = 1;

    if (mem == NULL || write_fn(mem, obj) != 1) {
        rc = ssl_fail(cmd, "cannot encode the PEM");
        goto out;
    }
    len = BIO_get_mem_data(mem, &data);
    if (len <= 0 || msg_file_write_atomic(path, data, (size_t)len, mode,
                                          MSG_FILE_SYNC | (excl ? MSG_FILE_EXCL : 0u), err,
                                          sizeof(err)) != MSG_OK) {
        fprintf(stderr, "pantau-admin: %s: %s\n", cmd, len <= 0 ? "empty PEM" : err);
        goto out;
    }
    rc = 0;
out:
    BIO_free(mem);
    return rc;
}

static int put_key(BIO *b, const void *obj)
{
    return PEM_write_bio_PrivateKey(b, (EVP_PKEY *)obj, NULL, NULL, 0, NULL, NULL);
}

static int put_cert(BIO *b, const void *obj)
{
    return PEM_write_bio_X509(b, (X509 *)obj);
}

static int put_crl(BIO *b, const void *obj)
{
    return PEM_write_bio_X509_CRL(b, (X509_CRL *)obj);
}

/* SHA-256 of a certificate's DER, lower-case hex, into hex (SHA_HEX bytes). */
static int cert_sha256(X509 *x, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) {
        return -1;
    }
    msg_hex_encode(md, n, hex);
    return 0;
}

/* Adds extension nid with OpenSSL's text value to x, issuer for the key identifiers. */
static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) {
        return -1;
    }
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* A certificate for key with subject CN cn, valid days from now, serial random; issuer NULL:
 * self-signed. Returns it (caller frees with X509_free) or NULL. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, long days, X509 *issuer)
{
    X509 *x = X509_new();
    BIGNUM *bn = BN_new();
    X509_NAME *name = NULL;
    bool ok = false;

    if (x == NULL || bn == NULL || X509_set_version(x, 2) != 1 ||
        BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
        goto out;
    }
    /* five minutes back: a gateway whose clock is a little behind still accepts it */
    if (X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) == NULL ||
        X509_set_pubkey(x, key) != 1) {
        goto out;
    }
    name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"pantau", -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) != 1) {
        goto out;
    }
    if (add_ext(x, issuer != NULL ? issuer : x, NID_subject_key_identifier, "hash") != 0) {
        goto out;
    }
    if (issuer != NULL && add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") != 0) {
        goto out;
    }
    ok = true;
out:
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Loads DIR/ca.crt and DIR/ca.key into *ca and *key (caller frees both). Returns 0 or 1. */
static int load_ca(const char *cmd, const char *dir, X509 **ca, EVP_PKEY **key)
{
    char path[CERT_PATH_MAX];
    FILE *f = NULL;

    *ca = NULL;
    *key = NULL;
    if (join(path, sizeof(path), dir, "ca", ".crt") != 0) {
        fprintf(stderr, "pantau-admin: %s: --ca: path too long\n", cmd);
        return 1;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "pantau-admin: %s: cannot read %s: %s\n", cmd, path, strerror(errno));
        return 1;
    }
    *ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (*ca == NULL) {
        return ssl_fail(cmd, "ca.crt is not a PEM certificate");
    }
    if (join(path, sizeof(path), dir, "ca", ".key") != 0) {
        return 1;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "pantau-admin: %s: cannot read %s: %s\n", cmd, path, strerror(errno));
        return 1;
    }
    *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (*key == NULL) {
        return ssl_fail(cmd, "ca.key is not a PEM private key");
    }
    if (X509_check_private_key(*ca, *key) != 1) {
        return ssl_fail(cmd, "ca.key does not belong to ca.crt");
    }
    return 0;
}

/* Parses --days (default dflt) into *out, 1 to 36500. Returns 0 or 2. */
static int parse_days(const char *cmd, const char *s, long dflt, long *out)
{
    char *end = NULL;
    long v;

    if (s == NULL) {
        *out = dflt;
        return 0;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 36500) {
        return admin_usage_fail("%s: --days: '%s' is not a number of days from 1 to 36500", cmd, s);
    }
    *out = v;
    return 0;
}

static PGconn *connect_db(const char *cmd, const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo != NULL ? conninfo : "");

    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "pantau-admin: %s: cannot connect to PostgreSQL: %s", cmd,
                conn != NULL ? PQerrorMessage(conn) : "out of memory\n");
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* ---- the CRL ---- */

/* Writes the CRL of ca (its revoked certificates as recorded) to path, valid days. */
static int write_crl(const char *cmd, PGconn *conn, X509 *ca, EVP_PKEY *key, const char *path,
                     long days)
{
    static const char sql[] = "SELECT serial, extract(epoch FROM revoked_at)::bigint"
                              " FROM pantau_ops.device_cert"
                              " WHERE ca_sha256 = $1 AND revoked_at IS NOT NULL ORDER BY serial";
    char fp[SHA_HEX];
    const char *params[1] = {fp};
    PGresult *res = NULL;
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *now = NULL;
    ASN1_TIME *next = NULL;
    ASN1_INTEGER *number = NULL;
    int rc = 1;
    int rows = 0;

    if (crl == NULL || cert_sha256(ca, fp) != 0) {
        rc = ssl_fail(cmd, "cannot make the CRL");
        goto out;
    }
    if (conn != NULL) {
        res = admin_exec(conn, cmd, sql, 1, params);
        if (res == NULL) {
            goto out;
        }
        rows = PQntuples(res);
    }
    now = X509_gmtime_adj(NULL, 0);
    next = X509_time_adj_ex(NULL, (int)days, 0, NULL);
    number = ASN1_INTEGER_new();
    if (now == NULL || next == NULL || number == NULL ||
        ASN1_INTEGER_set_int64(number, (int64_t)time(NULL)) != 1 ||
        X509_CRL_set_version(crl, 1) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) != 1 ||
        X509_CRL_set1_lastUpdate(crl, now) != 1 || X509_CRL_set1_nextUpdate(crl, next) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) != 1) {
        rc = ssl_fail(cmd, "cannot make the CRL");
        goto out;
    }
    for (int i = 0; i < rows; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        BIGNUM *bn = NULL;
        ASN1_INTEGER *serial = NULL;
        ASN1_TIME *when = ASN1_TIME_set(NULL, (time_t)strtoll(PQgetvalue(res, i, 1), NULL, 10));
        bool ok = r != NULL && when != NULL && BN_hex2bn(&bn, PQgetvalue(res, i, 0)) > 0;

        if (ok) {
            serial = BN_to_ASN1_INTEGER(bn, NULL);
            ok = serial != NULL && X509_REVOKED_set_serialNumber(r, serial) == 1 &&
                 X509_REVOKED_set_revocationDate(r, when) == 1 &&
                 X509_CRL_add0_revoked(crl, r) == 1;
        }
        BN_free(bn);
        ASN1_INTEGER_free(serial);
        ASN1_TIME_free(when);
        if (!ok) {
            X509_REVOKED_free(r);
            rc = ssl_fail(cmd, "cannot add a revoked serial to the CRL");
            goto out;
        }
    }
    if (X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, key, EVP_sha256()) <= 0) {
        rc = ssl_fail(cmd, "cannot sign the CRL");
        goto out;
    }
    rc = write_pem(cmd, path, 0644, false, put_crl, crl);
    if (rc == 0) {
        printf("%s: CRL %s: %d revoked, valid %ld days; reload the broker (SIGHUP) to apply it\n",
               cmd, path, rows, days);
    }
out:
    PQclear(res);
    X509_CRL_free(crl);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    ASN1_INTEGER_free(number);
    return rc;
}

/* ---- commands ---- */

static int ca_init(const struct admin_cert_opts *opts, const char *dir)
{
    char path[CERT_PATH_MAX];
    char cn[64];
    char fp[SHA_HEX];
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    long days;
    int rc;
    time_t t = time(NULL);
    struct tm tm;

    rc = parse_days("ca-init", opts->days, CA_DAYS, &days);
    if (rc != 0) {
        return rc;
    }
    rc = 1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "pantau-admin: ca-init: cannot make %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (join(path, sizeof(path), dir, "ca", ".key") != 0) {
        return admin_usage_fail("ca-init: path too long");
    }
    if (access(path, F_OK) == 0) {
        fprintf(stderr,
                "pantau-admin: ca-init: %s exists already: a CA is never replaced here "
                "(docs/operations.md: rotating the CA)\n",
                path);
        return 1;
    }
    gmtime_r(&t, &tm);
    snprintf(cn, sizeof(cn), "pantau CA %04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
    key = EVP_EC_gen("P-256");
    x = key != NULL ? make_cert(key, cn, days, NULL) : NULL;
    if (x == NULL || add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
        X509_sign(x, key, EVP_sha256()) <= 0 || cert_sha256(x, fp) != 0) {
        rc = ssl_fail("ca-init", "cannot make the CA certificate");
        goto out;
    }
    if (write_pem("ca-init", path, 0600, true, put_key, key) != 0) {
        goto out;
    }
    join(path, sizeof(path), dir, "ca", ".crt");
    if (write_pem("ca-init", path, 0644, true, put_cert, x) != 0) {
        goto out;
    }
    join(path, sizeof(path), dir, "crl", ".pem");
    if (write_crl("ca-init", NULL, x, key, path, CRL_DAYS) != 0) {
        goto out;
    }
    printf("ca-init: %s: CA \"%s\", valid %ld days, sha256 %s\n", dir, cn, days, fp);
    rc = 0;
out:
    EVP_PKEY_free(key);
    X509_free(x);
    return rc;
}

/* Whether s is a literal IPv4 or IPv6 address (for the server certificate's SAN). */
static bool is_ip(const char *s)
{
    ASN1_OCTET_STRING *o = a2i_IPADDRESS(s);
    bool ip = o != NULL;

    ASN1_OCTET_STRING_free(o);
    return ip;
}

static int cert_issue(const struct admin_cert_opts *opts, const char *conninfo, const char *id)
{
    static const char sql[] =
        "INSERT INTO pantau_ops.device_cert (serial, ca_sha256, kind, device_id, common_name,"
        " sha256, not_before, not_after) VALUES ($1, $2, $3, $4, $5, $6,"
        " to_timestamp($7::bigint), to_timestamp($8::bigint))";
    char path[CERT_PATH_MAX];
    char fp[SHA_HEX];
    char ca_fp[SHA_HEX];
    char san[300];
    char nb[24];
    char na[24];
    EVP_PKEY *ca_key = NULL;
    EVP_PKEY *key = NULL;
    X509 *ca = NULL;
    X509 *x = NULL;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    BIGNUM *bn = NULL;
    char *serial = NULL;
    struct tm tm;
    time_t t;
    long days;
    int rc;

    rc = parse_days("cert-issue", opts->days, CERT_DAYS, &days);
    if (rc != 0) {
        return rc;
    }
    if (opts->out == NULL) {
        return admin_usage_fail("cert-issue: --out DIR is required");
    }
    if (!opts->server && !msg_id_valid(id, strlen(id))) {
        return admin_usage_fail("cert-issue: '%s' is not a device id", id);
    }
    if (opts->server && (strlen(id) > 253 || strspn(id, "abcdefghijklmnopqrstuvwxyz"
                                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                        "0123456789.-:") != strlen(id))) {
        return admin_usage_fail("cert-issue: --server: '%s' is not a host name or address", id);
    }
    rc = 1;
    if (load_ca("cert-issue", opts->ca, &ca, &ca_key) != 0) {
        goto out;
    }
    conn = connect_db("cert-issue", conninfo);
    if (conn == NULL) {
        goto out;
    }
    if (!opts->server) {
        const char *p[1] = {id};

        res = admin_exec(conn, "cert-issue", "SELECT 1 FROM pantau.device WHERE device_id = $1", 1,
                         p);
        if (res == NULL) {
            goto out;
        }
        if (PQntuples(res) != 1) {
            fprintf(stderr, "pantau-admin: cert-issue: no device %s (device-add first)\n", id);
            goto out;
        }
        PQclear(res);
        res = NULL;
    }
    snprintf(san, sizeof(san), "%s:%s", is_ip(id) ? "IP" : "DNS", id);
    key = EVP_EC_gen("P-256");
    x = key != NULL ? make_cert(key, id, days, ca) : NULL;
    if (x == NULL || add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(x, ca, NID_key_usage, "critical,digitalSignature") != 0 ||
        add_ext(x, ca, NID_ext_key_usage, opts->server ? "serverAuth" : "clientAuth") != 0 ||
        (opts->server && add_ext(x, ca, NID_subject_alt_name, san) != 0) ||
        X509_sign(x, ca_key, EVP_sha256()) <= 0 || cert_sha256(x, fp) != 0 ||
        cert_sha256(ca, ca_fp) != 0) {
        rc = ssl_fail("cert-issue", "cannot make the certificate");
        goto out;
    }
    bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), NULL);
    serial = bn != NULL ? BN_bn2hex(bn) : NULL;
    if (serial == NULL) {
        rc = ssl_fail("cert-issue", "cannot read the serial");
        goto out;
    }
    if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) != 1) {
        goto out;
    }
    t = timegm(&tm);
    snprintf(nb, sizeof(nb), "%lld", (long long)t);
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
        goto out;
    }
    t = timegm(&tm);
    snprintf(na, sizeof(na), "%lld", (long long)t);
    if (mkdir(opts->out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "pantau-admin: cert-issue: cannot make %s: %s\n", opts->out,
                strerror(errno));
        goto out;
    }
    if (join(path, sizeof(path), opts->out, id, ".key") != 0) {
        goto out;
    }
    /* recorded first: a certificate on disk that the table does not know could never be
     * revoked */
    {
        const char *p[8] = {
            serial, ca_fp, opts->server ? "server" : "device", opts->server ? NULL : id, id, fp,
            nb,     na};

        res = admin_exec(conn, "cert-issue", sql, 8, p);
        if (res == NULL) {
            goto out;
        }
    }
    if (write_pem("cert-issue", path, 0600, true, put_key, key) != 0) {
        goto out;
    }
    join(path, sizeof(path), opts->out, id, ".crt");
    if (write_pem("cert-issue", path, 0644, false, put_cert, x) != 0) {
        goto out;
    }
    printf("cert-issue: %s/%s.crt: %s certificate for %s, serial %s, valid %ld days, "
           "sha256 %s\n",
           opts->out, id, opts->server ? "server" : "device", id, serial, days, fp);
    rc = 0;
out:
    PQclear(res);
    PQfinish(conn);
    OPENSSL_free(serial);
    BN_free(bn);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    X509_free(x);
    X509_free(ca);
    return rc;
}

static int cert_revoke(const struct admin_cert_opts *opts, const char *conninfo, const char *serial,
                       const char *device, const char *note)
{
    static const char by_serial[] =
        "UPDATE pantau_ops.device_cert SET revoked_at = now(), revoked_by = current_user,"
        " revoked_reason = $3 WHERE ca_sha256 = $1 AND serial = upper($2)"
        " AND revoked_at IS NULL RETURNING serial, common_name";
    static const char by_device[] =
        "UPDATE pantau_ops.device_cert SET revoked_at = now(), revoked_by = current_user,"
        " revoked_reason = $3 WHERE ca_sha256 = $1 AND device_id = $2"
        " AND revoked_at IS NULL RETURNING serial, common_name";
    char path[CERT_PATH_MAX];
    char ca_fp[SHA_HEX];
    EVP_PKEY *ca_key = NULL;
    X509 *ca = NULL;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    long days;
    int rc;

    rc = parse_days("cert-revoke", opts->days, CRL_DAYS, &days);
    if (rc != 0) {
        return rc;
    }
    rc = 1;
    if (load_ca("cert-revoke", opts->ca, &ca, &ca_key) != 0 || cert_sha256(ca, ca_fp) != 0) {
        goto out;
    }
    conn = connect_db("cert-revoke", conninfo);
    if (conn == NULL) {
        goto out;
    }
    {
        const char *p[3] = {ca_fp, serial != NULL ? serial : device, note != NULL ? note : ""};

        res = admin_exec(conn, "cert-revoke", serial != NULL ? by_serial : by_device, 3, p);
    }
    if (res == NULL) {
        goto out;
    }
    if (PQntuples(res) == 0) {
        fprintf(stderr,
                "pantau-admin: cert-revoke: no certificate of this CA %s %s that is not "
                "revoked already\n",
                serial != NULL ? "with serial" : "for device", serial != NULL ? serial : device);
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        printf("cert-revoke: revoked serial %s (%s)\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1));
    }
    if (opts->crl != NULL) {
        snprintf(path, sizeof(path), "%s", opts->crl);
    } else if (join(path, sizeof(path), opts->ca, "crl", ".pem") != 0) {
        goto out;
    }
    rc = write_crl("cert-revoke", conn, ca, ca_key, path, days);
out:
    PQclear(res);
    PQfinish(conn);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    return rc;
}

static int crl_update(const struct admin_cert_opts *opts, const char *conninfo)
{
    char path[CERT_PATH_MAX];
    EVP_PKEY *ca_key = NULL;
    X509 *ca = NULL;
    PGconn *conn = NULL;
    long days;
    int rc;

    rc = parse_days("crl-update", opts->days, CRL_DAYS, &days);
    if (rc != 0) {
        return rc;
    }
    rc = 1;
    if (load_ca("crl-update", opts->ca, &ca, &ca_key) != 0) {
        goto out;
    }
    conn = connect_db("crl-update", conninfo);
    if (conn == NULL) {
        goto out;
    }
    if (opts->crl != NULL) {
        snprintf(path, sizeof(path), "%s", opts->crl);
    } else if (join(path, sizeof(path), opts->ca, "crl", ".pem") != 0) {
        goto out;
    }
    rc = write_crl("crl-update", conn, ca, ca_key, path, days);
out:
    PQfinish(conn);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    return rc;
}

static int cert_list(const char *conninfo, const char *device)
{
    static const char sql[] =
        "SELECT serial, kind, common_name,"
        " to_char(not_after AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        " coalesce(to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-')"
        " FROM pantau_ops.device_cert WHERE $1::text IS NULL OR device_id = $1"
        " ORDER BY issued_at DESC, serial";
    const char *p[1] = {device};
    PGconn *conn = connect_db("cert-list", conninfo);
    PGresult *res = NULL;

    if (conn == NULL) {
        return 1;
    }
    res = admin_exec(conn, "cert-list", sql, 1, p);
    if (res == NULL) {
        PQfinish(conn);
        return 1;
    }
    printf("%-34s %-6s %-24s %-20s %s\n", "serial", "kind", "name", "not_after", "revoked");
    for (int i = 0; i < PQntuples(res); i++) {
        printf("%-34s %-6s %-24s %-20s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
    }
    PQclear(res);
    PQfinish(conn);
    return 0;
}

int admin_cert_run(const struct admin_cert_opts *opts, const char *device, const char *note,
                   const char *conninfo, int argc, char **argv)
{
    const char *cmd = argv[0];
    bool takes_ca = strcmp(cmd, "cert-issue") == 0 || strcmp(cmd, "cert-revoke") == 0 ||
                    strcmp(cmd, "crl-update") == 0;

    if (strcmp(cmd, "ca-init") == 0) {
        if (argc != 2) {
            return admin_usage_fail("ca-init: takes the CA's folder, DIR");
        }
        if (opts->ca != NULL || opts->out != NULL || opts->crl != NULL || opts->server ||
            device != NULL || note != NULL) {
            return admin_usage_fail("ca-init: takes only --days");
        }
        return ca_init(opts, argv[1]);
    }
    if (takes_ca && opts->ca == NULL) {
        return admin_usage_fail("%s: --ca DIR is required", cmd);
    }
    if (!takes_ca && opts->ca != NULL) {
        return admin_usage_fail("%s: --ca does not apply", cmd);
    }
    if (strcmp(cmd, "cert-issue") != 0 && (opts->out != NULL || opts->server)) {
        return admin_usage_fail("%s: %s does not apply", cmd,
                                opts->out != NULL ? "--out" : "--server");
    }
    if (strcmp(cmd, "cert-issue") == 0) {
        if (argc != 2 || device != NULL || note != NULL || opts->crl != NULL) {
            return admin_usage_fail("cert-issue: takes ID, --ca, --out, --days, --server");
        }
        return cert_issue(opts, conninfo, argv[1]);
    }
    if (strcmp(cmd, "cert-revoke") == 0) {
        if ((argc == 2) == (device != NULL) || argc > 2) {
            return admin_usage_fail("cert-revoke: takes a SERIAL or --device ID (one of them)");
        }
        if (argc == 2 && (strlen(argv[1]) > 64 || strlen(argv[1]) < 2 ||
                          strspn(argv[1], "0123456789abcdefABCDEF") != strlen(argv[1]))) {
            return admin_usage_fail("cert-revoke: '%s' is not a serial (hex)", argv[1]);
        }
        return cert_revoke(opts, conninfo, argc == 2 ? argv[1] : NULL, device, note);
    }
    if (strcmp(cmd, "crl-update") == 0) {
        if (argc != 1 || device != NULL || note != NULL) {
            return admin_usage_fail("crl-update: takes only --ca, --crl and --days");
        }
        return crl_update(opts, conninfo);
    }
    if (argc != 1 || note != NULL || opts->days != NULL || opts->crl != NULL) {
        return admin_usage_fail("cert-list: takes only --device ID");
    }
    return cert_list(conninfo, device);
}
