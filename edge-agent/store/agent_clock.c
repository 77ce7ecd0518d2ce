/* agent_clock.c -- wall time, its synchronisation state and time since boot: see agent_clock.h.
 * The clocks themselves are read through msg_clock.h. */
#include "agent_clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>

#include "msg_clock.h"
#include "msg_err.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

bool agent_clock_kernel_synced(void)
{
    struct timex tx;
    int state;

    memset(&tx, 0, sizeof(tx));   /* modes 0: read only, needs no privilege */
    state = adjtimex(&tx);
    if (state == -1 || state == TIME_ERROR) {
        return false;
    }
    return (tx.status & STA_UNSYNC) == 0;
}

void agent_clock_read(enum agent_clock_sync mode, struct agent_clock_now *out)
{
    int64_t boot_ms;

    out->wall_ms = msg_clock_wall_ms();
    boot_ms = msg_clock_boot_ms();
    out->mono_ms = boot_ms > 0 ? (uint64_t)boot_ms : 0;
    switch (mode) {
    case AGENT_CLOCK_SYNCED:
        out->synced = true;
        break;
    case AGENT_CLOCK_UNSYNCED:
        out->synced = false;
        break;
    case AGENT_CLOCK_AUTO:
    default:
        out->synced = agent_clock_kernel_synced();
        break;
    }
    if (out->wall_ms <= 0) {
        out->wall_ms = 0;
        out->synced = false;
    }
}

static bool is_uuid_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-';
}

int agent_clock_boot_id(char out[AGENT_CLOCK_BOOT_ID_LEN + 1], char *err, size_t errlen)
{
    char line[64];
    FILE *f = NULL;
    size_t len;
    int rc = MSG_ERR_IO;

    out[0] = '\0';
    f = fopen(BOOT_ID_PATH, "re");
    if (f == NULL) {
        snprintf(err, errlen, "clock: cannot open %s: %s", BOOT_ID_PATH, strerror(errno));
        goto out;
    }
    if (fgets(line, sizeof(line), f) == NULL) {
        snprintf(err, errlen, "clock: cannot read %s", BOOT_ID_PATH);
        goto out;
    }
    len = strcspn(line, "\r\n");
    if (len != AGENT_CLOCK_BOOT_ID_LEN) {
        snprintf(err, errlen, "clock: %s: not a UUID (%zu characters)", BOOT_ID_PATH, len);
        goto out;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_uuid_char(line[i])) {
            snprintf(err, errlen, "clock: %s: not a lower-case UUID", BOOT_ID_PATH);
            goto out;
        }
    }
    memcpy(out, line, len);
    out[len] = '\0';
    rc = MSG_OK;
out:
    if (f != NULL) {
        fclose(f);
    }
    return rc;
}

static const char *const sync_names[] = {
    [AGENT_CLOCK_AUTO] = "auto",
    [AGENT_CLOCK_SYNCED] = "synced",
    [AGENT_CLOCK_UNSYNCED] = "unsynced",
};

int agent_clock_sync_from_name(const char *name, enum agent_clock_sync *mode)
{
    for (size_t i = 0; i < sizeof(sync_names) / sizeof(sync_names[0]); i++) {
        if (strcmp(name, sync_names[i]) == 0) {
            *mode = (enum agent_clock_sync)i;
            return MSG_OK;
        }
    }
    return MSG_ERR_CONFIG;
}

const char *agent_clock_sync_name(enum agent_clock_sync mode)
{
    if ((unsigned)mode >= sizeof(sync_names) / sizeof(sync_names[0])) {
        return "?";
    }
    return sync_names[mode];
}
