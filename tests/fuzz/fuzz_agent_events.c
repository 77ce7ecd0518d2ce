/* fuzz_agent_events.c -- libFuzzer target for the camera sources' and the larva source's
 * parsers: a camera analytics line (camera_line.h), a Frigate `frigate/events` message read and
 * mapped (frigate_event.h), and a Jumantik inspection without its envelope (larva_input.h),
 * all on the same bytes.
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks that every err is a printable
 * line, that whatever is accepted passes the contract library once the agent's envelope is
 * added (msg_event_validate): a parser here can never hand the agent a reading the collector
 * would refuse. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "camera_line.h"
#include "frigate_event.h"
#include "fuzz_check.h"
#include "larva_input.h"
#include "msg_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void envelope(struct msg_event *ev, enum msg_stream s)
{
    ev->stream = s;
    memcpy(ev->device_id, "gw-fuzz", 8);
    memcpy(ev->env.store_id, "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d", MSG_STORE_ID_LEN + 1);
    ev->env.seq = 1;
    ev->env.ts_ms = INT64_C(1772437265250);
    ev->env.clock_synced = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct camera_line cl;
    static struct frigate_event fe;
    static struct frigate_action act;
    static struct frigate_map map;
    static struct msg_event ev;
    const char *in = (const char *)data;
    char err[MSG_ERRLEN];
    int rc;

    if (map.n_cameras == 0) {
        FUZZ_ASSERT(frigate_map_parse("gerbang_timur=cam-1 c=cam-2",
                                      "car=car bus=bus bicycle=nonmotor",
                                      "car@shoulder+stationary=stalled_vehicle person=other",
                                      "frigate://{camera}/{id}/{label}.jpg", &map, err,
                                      sizeof(err)) == MSG_OK);
    }

    err[0] = '\0';
    rc = camera_line_parse(in, size, "cam-9", "all", &cl, err, sizeof(err));
    fuzz_check_err(rc, err);
    if (rc == MSG_OK && cl.kind == CAMERA_LINE_INCIDENT) {
        memset(&ev, 0, sizeof(ev));
        envelope(&ev, MSG_STREAM_INCIDENT);
        ev.u.incident = cl.incident;
        rc = msg_event_validate(&ev, err, sizeof(err));
        if (rc != MSG_OK) {
            fprintf(stderr, "camera incident refused: %s\n", err);
            abort();
        }
    }

    err[0] = '\0';
    rc = frigate_event_parse(in, size, &fe, err, sizeof(err));
    fuzz_check_err(rc, err);
    if (rc == MSG_OK) {
        for (int was = 0; was < 2; was++) {
            err[0] = '\0';
            rc = frigate_event_map(&map, &fe, was == 1, MSG_INCIDENT_ACCIDENT, &act, err,
                                   sizeof(err));
            fuzz_check_err(rc, err);
            if (rc == MSG_OK && act.incident) {
                memset(&ev, 0, sizeof(ev));
                envelope(&ev, MSG_STREAM_INCIDENT);
                ev.u.incident = act.inc;
                rc = msg_event_validate(&ev, err, sizeof(err));
                if (rc != MSG_OK) {
                    fprintf(stderr, "frigate incident refused: %s\n", err);
                    abort();
                }
            }
        }
    }

    memset(&ev, 0, sizeof(ev));
    err[0] = '\0';
    rc = larva_input_from_json(in, size, &ev.u.larva, err, sizeof(err));
    fuzz_check_err(rc, err);
    if (rc == MSG_OK) {
        envelope(&ev, MSG_STREAM_LARVA);
        rc = msg_event_validate(&ev, err, sizeof(err));
        if (rc != MSG_OK) {
            fprintf(stderr, "inspection refused: %s\n", err);
            abort();
        }
    }
    return 0;
}
