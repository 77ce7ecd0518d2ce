/* admin_enrol.h -- pantau-admin enrol-phone: a Jumantik officer's phone (the web app, app/) as a
 * `handheld` device with its own device key, handed over as one enrolment code
 * (app/README.md "Enrolment"):
 *
 *   pantau2;<device id>;<device key, 64 hex digits>;<broker URL, ws:// or wss://>;<officer>
 *   [;<officer>...]   where <officer> is <account>:<iterations>$<salt>$<check>
 *
 * The phone is recorded in pantau.phone with its officers (--officer, 1 to ADMIN_ENROL_OFFICERS_MAX
 * enabled accounts of role officer) in pantau.phone_officer (schema/029): the collector stores
 * its inspections only for them. For each officer the phone gets her password hash's iterations
 * and salt (msg_secret.h) and <check>, the SHA-256 of its PBKDF2 output (64 hex digits; the
 * stored digest itself never leaves the database), so that she signs in with her password,
 * online or not (the app derives PBKDF2-HMAC-SHA512 with WebCrypto and compares). It is
 * printed once on stdout, alone, as device-add prints a secret: the key is in it, only its hash
 * is stored, nothing can show it again (device-rotate makes a new one, enrol-phone again is
 * refused for an enrolled device). The administrator shows it as a QR code (`qrencode -t
 * ansiutf8`) or as a link `https://<console>/app/#enrol=<code>`; the app takes either.
 *
 * Not for: adding the device (admin.c's device_add, which enrol-phone calls with kind
 * handheld) or the app's side (app/web/js/enrol.js). */
#ifndef ADMIN_ENROL_H
#define ADMIN_ENROL_H

#include <stdio.h>

#include <libpq-fe.h>

#define ADMIN_ENROL_URL_MAX 512
#define ADMIN_ENROL_OFFICERS_MAX 16
#define ADMIN_ENROL_VERIFIER_MAX (8 + 1 + 32 + 1 + 64) /* iterations$salt$check */

#define ADMIN_ENROL_USAGE_COMMANDS                                                            \
    "  enrol-phone ID --url URL --officer USER... [--description TEXT]\n"                     \
    "                               add an officer's phone (kind handheld) that carries\n"    \
    "                               the officer accounts USER (role officer) and print its\n" \
    "                               enrolment code once (pantau2;ID;KEY;URL;USER:VERIFIER\n"  \
    "                               ...: the app's code or QR); URL is the broker's WebSocket\n"

#define ADMIN_ENROL_USAGE_OPTIONS                                                           \
    "      --url URL                enrol-phone: the broker's WebSocket URL for the app\n"  \
    "                               (wss://host:8885/, ws:// only for tests)\n"             \
    "      --officer USER           enrol-phone: an officer the phone carries (repeat, 1\n" \
    "                               to 16): only their inspections are stored\n"

/* Checks url (borrowed; NULL: not given) as the broker URL of a code: ws:// or wss://, then
 * 1 to ADMIN_ENROL_URL_MAX printable ASCII characters without space or ';'. Returns 0, or 2
 * after printing what is wrong. */
int admin_enrol_url_check(const char *url);

/* Checks the --officer list (n names, borrowed): 1 to ADMIN_ENROL_OFFICERS_MAX account names,
 * none twice. Returns 0, or 2 after printing what is wrong. */
int admin_enrol_officers_check(const char *const *officers, int n);

/* Inside the caller's transaction on conn (borrowed): records device_id as a phone carrying the
 * n officers (borrowed), each an enabled password account of role officer, and writes each
 * one's verifier (<iterations>$<salt>$<check>) into verifiers[i]. Returns 0, or 1 after printing why on stderr (the caller rolls
 * back). */
int admin_enrol_officers_add(PGconn *conn, const char *device_id, const char *const *officers,
                             int n, char (*verifiers)[ADMIN_ENROL_VERIFIER_MAX + 1]);

/* Prints the enrolment code of device_id with secret, url and the n officers with their
 * verifiers (all borrowed; verifiers not changed) to f, one line. */
void admin_enrol_print(FILE *f, const char *device_id, const char *secret, const char *url,
                       const char *const *officers, int n,
                       char (*verifiers)[ADMIN_ENROL_VERIFIER_MAX + 1]);

#endif
