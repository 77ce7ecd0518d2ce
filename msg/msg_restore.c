/* msg_restore.c -- the restore announcement: see msg_restore.h. */
#include "msg_restore.h"

#include <stdio.h>
#include <string.h>

#include "msg_event.h"
#include "msg_json.h"
#include "msg_schema.h"
#include "msg_write.h"

#define EPOCH_MAX 9007199254740991.0 /* 2^53 - 1 */

static const struct msg_member restore_members[] = {
    {"epoch", MSG_M_U64, true, false, 1, EPOCH_MAX, offsetof(struct msg_restore, epoch),
     sizeof(uint64_t), MSG_NO_HAS, NULL, NULL, NULL, NULL},
    {"target", MSG_M_TS, true, false, 0, 0, offsetof(struct msg_restore, target_ms),
     sizeof(int64_t), MSG_NO_HAS, NULL, NULL, NULL, NULL},
    {"restored", MSG_M_TS, true, false, 0, 0, offsetof(struct msg_restore, restored_ms),
     sizeof(int64_t), MSG_NO_HAS, NULL, NULL, NULL, NULL},
    {"ts", MSG_M_TS, true, false, 0, 0, offsetof(struct msg_restore, ts_ms), sizeof(int64_t),
     MSG_NO_HAS, NULL, NULL, NULL, NULL},
};
#define N_MEMBERS (sizeof(restore_members) / sizeof(restore_members[0]))

int msg_restore_encode(const struct msg_restore *r, char *buf, size_t buflen, size_t *outlen)
{
    struct msg_buf b;
    int rc;

    if (r->epoch < 1 || (double)r->epoch > EPOCH_MAX || r->restored_ms < r->target_ms) {
        return MSG_ERR_INVAL;
    }
    msg_buf_init(&b, buf, buflen);
    rc = msg_schema_encode(restore_members, N_MEMBERS, r, &b, MSG_ENC_PAYLOAD);
    if (rc != MSG_OK) {
        return rc;
    }
    return msg_buf_finish(&b, outlen);
}

int msg_restore_parse(const void *payload, size_t len, struct msg_restore *out, char *err,
                      size_t errlen)
{
    struct msg_path rp = {NULL, "restored", 0};
    cJSON *doc = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = msg_json_parse(payload, len, MSG_PAYLOAD_MAX, MSG_DEPTH_DEVICE, &doc, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    rc = msg_schema_object(doc, restore_members, N_MEMBERS, true, out, NULL, NULL, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    if (out->restored_ms < out->target_ms) {
        rc = msg_schema_fail(&rp, err, errlen, "is before target");
    }
out:
    cJSON_Delete(doc);
    return rc;
}
