/* admin_enrol.c -- pantau-admin enrol-phone's code (see admin_enrol.h). */
#include "admin_enrol.h"

#include <string.h>

#include "admin_common.h"

int admin_enrol_url_check(const char *url)
{
    size_t len;
    size_t skip;

    if (url == NULL) {
        return admin_usage_fail("enrol-phone needs --url (the broker's WebSocket: wss://...)");
    }
    len = strlen(url);
    if (strncmp(url, "wss://", 6) == 0) {
        skip = 6;
    } else if (strncmp(url, "ws://", 5) == 0) {
        skip = 5;
    } else {
        return admin_usage_fail("--url: '%s' is not a ws:// or wss:// URL", url);
    }
    if (len <= skip || len > ADMIN_ENROL_URL_MAX) {
        return admin_usage_fail("--url: '%s' has no host, or is over %d characters", url,
                                ADMIN_ENROL_URL_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];

        if (c <= 0x20 || c >= 0x7f || c == ';') {
            return admin_usage_fail("--url: a space, ';' or a character outside printable "
                                    "ASCII at position %zu of '%s'",
                                    i + 1, url);
        }
    }
    return 0;
}

void admin_enrol_print(FILE *f, const char *device_id, const char *secret, const char *url)
{
    fprintf(f, "pantau1;%s;%s;%s\n", device_id, secret, url);
}
