/* admin_cert.h -- pantau-admin's certificate commands (issue 14, item 2): the project's own CA
 * (OpenSSL's libcrypto), device and broker certificates issued from it, their revocation, and the
 * CRL that the broker's certificate listener loads (`crlfile`), so that a revoked certificate
 * fails the TLS handshake and cannot connect at all.
 *
 *   ca-init DIR [--days N]               a CA in DIR (made, mode 0700): ca.key (0600), ca.crt
 *                                        and an empty crl.pem; never over an existing CA
 *   cert-issue ID --ca DIR --out DIR2 [--days N] [--server]
 *                                        a key and a certificate, DIR2/ID.key (0600) and
 *                                        DIR2/ID.crt: CN ID, for a device (clientAuth; the
 *                                        device must exist) or with --server the broker (host
 *                                        name or address ID: serverAuth, subjectAltName); the
 *                                        record goes to pantau_ops.device_cert (schema/025)
 *   cert-revoke SERIAL|--device ID --ca DIR [--crl FILE] [--note TEXT]
 *                                        records the revocation and writes the CRL
 *   crl-update --ca DIR [--crl FILE]     writes the CRL again with a fresh next update (the
 *                                        broker refuses every certificate once its CRL has
 *                                        expired: the daily timer runs this)
 *   cert-list [--device ID]              what was issued, newest first
 *
 * The CRL (default DIR/crl.pem) lists every revoked certificate of the CA as recorded in
 * PostgreSQL, valid for --days (default 30), written whole (a temporary file, then rename);
 * the broker reads it again on SIGHUP (`systemctl reload mosquitto`; mosquitto 2.0.11
 * listeners__reload_all_certificates).
 *
 * Keys are ECDSA P-256, signatures SHA-256, serials 127 random bits.
 *
 * Not for: the accounts (a certificate does not make one: device-add does). */
#ifndef ADMIN_CERT_H
#define ADMIN_CERT_H

#include <stdbool.h>

/* getopt_long values of the certificate options, above the other modules'. */
enum {
    ADMIN_CERT_OPT_CA = 0x400,
    ADMIN_CERT_OPT_OUT,
    ADMIN_CERT_OPT_DAYS,
    ADMIN_CERT_OPT_SERVER,
    ADMIN_CERT_OPT_CRL,
};

/* admin.c's longopts entries for the certificate options. */
#define ADMIN_CERT_LONGOPTS                                     \
    {"ca", required_argument, NULL, ADMIN_CERT_OPT_CA},         \
        {"out", required_argument, NULL, ADMIN_CERT_OPT_OUT},   \
        {"days", required_argument, NULL, ADMIN_CERT_OPT_DAYS}, \
        {"server", no_argument, NULL, ADMIN_CERT_OPT_SERVER},   \
    {                                                           \
        "crl", required_argument, NULL, ADMIN_CERT_OPT_CRL      \
    }

/* admin.c's --help lines for the certificate commands and options. */
#define ADMIN_CERT_USAGE_COMMANDS                                                             \
    "  ca-init DIR [--days N]       make the project's CA in DIR (ca.key, ca.crt, crl.pem)\n" \
    "  cert-issue ID --ca DIR --out DIR2 [--days N] [--server]\n"                             \
    "                               a key and certificate for device ID (or, --server, the\n" \
    "                               broker's host ID) in DIR2\n"                              \
    "  cert-revoke SERIAL|--device ID --ca DIR [--crl FILE] [--note TEXT]\n"                  \
    "                               revoke and write the CRL (then reload the broker)\n"      \
    "  crl-update --ca DIR [--crl FILE]\n"                                                    \
    "                               write the CRL again, valid for 30 days (daily)\n"         \
    "  cert-list [--device ID]      certificates issued, newest first\n"
#define ADMIN_CERT_USAGE_OPTIONS                                                       \
    "      --ca DIR                 the CA's folder (ca-init made it)\n"               \
    "      --out DIR                cert-issue: where the key and certificate go\n"    \
    "      --days N                 validity: CA 3650, certificates 825, CRL 30\n"     \
    "      --server                 cert-issue: a server certificate (the broker's)\n" \
    "      --crl FILE               where the CRL goes (default DIR/crl.pem)\n"

/* The certificate options given (strings borrowed from argv; NULL: not given). */
struct admin_cert_opts {
    const char *ca;
    const char *out;
    const char *days;
    const char *crl;
    bool server;
};

/* True when cmd is one of the certificate commands. */
bool admin_cert_command_is(const char *cmd);

/* True when c (a getopt_long value) is a certificate option. */
bool admin_cert_option_is(int c);

/* Records option c with its argument arg (borrowed; NULL for --server) in opts. */
void admin_cert_option_set(struct admin_cert_opts *opts, int c, const char *arg);

/* The name of a certificate option given in opts ("--ca", ...), or NULL. */
const char *admin_cert_option_given(const struct admin_cert_opts *opts);

/* Runs certificate command argv[0] with its arguments argv[1..argc-1] (borrowed), opts,
 * device (--device, borrowed, NULL: not given) and note (--note, NULL: none), connecting with
 * conninfo (NULL: libpq's defaults) where the command needs the database. Returns 0 done, 1
 * the work failed (the message says why), 2 bad usage (after a message on stderr). */
int admin_cert_run(const struct admin_cert_opts *opts, const char *device, const char *note,
                   const char *conninfo, int argc, char **argv);

#endif
