/* admin_enrol.h -- pantau-admin enrol-phone: a Jumantik officer's phone (the web app, app/) as a
 * `handheld` device with its own device key, handed over as one enrolment code
 * (app/README.md "Enrolment"):
 *
 *   pantau1;<device id>;<device key, 64 hex digits>;<broker URL, ws:// or wss://>
 *
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

#define ADMIN_ENROL_URL_MAX 512

#define ADMIN_ENROL_USAGE_COMMANDS                                                          \
    "  enrol-phone ID --url URL [--description TEXT]\n"                                     \
    "                               add an officer's phone (kind handheld) and print its\n" \
    "                               enrolment code once (pantau1;ID;KEY;URL: the app's\n"   \
    "                               code or QR); URL is the broker's WebSocket, wss://...\n"

#define ADMIN_ENROL_USAGE_OPTIONS                                                          \
    "      --url URL                enrol-phone: the broker's WebSocket URL for the app\n" \
    "                               (wss://host:8885/, ws:// only for tests)\n"

/* Checks url (borrowed; NULL: not given) as the broker URL of a code: ws:// or wss://, then
 * 1 to ADMIN_ENROL_URL_MAX printable ASCII characters without space or ';'. Returns 0, or 2
 * after printing what is wrong. */
int admin_enrol_url_check(const char *url);

/* Prints the enrolment code of device_id with secret and url (all borrowed) to f, one line. */
void admin_enrol_print(FILE *f, const char *device_id, const char *secret, const char *url);

#endif
