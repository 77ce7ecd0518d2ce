/* deadkey.c -- dead-letter keys and salvage: see deadkey.h. */
#include "deadkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "msg_range.h"
#include "msg_time.h"

/* SHA-256 of the concatenation of parts[0..n) into out. */
static int digest(const void *const *parts, const size_t *lens, size_t n,
                  unsigned char out[DEADKEY_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int got = 0;
    int rc = MSG_ERR_INVAL;

    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > 0 && EVP_DigestUpdate(md, parts[i], lens[i]) != 1) {
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(md, out, &got) == 1 && got == DEADKEY_LEN) {
        rc = MSG_OK;
    }
out:
    EVP_MD_CTX_free(md);
    return rc;
}

int deadkey_keyed(const char *device_id, const char *store_id, uint64_t seq,
                  const unsigned char content[DEADKEY_LEN], unsigned char out[DEADKEY_LEN])
{
    char head[16 + 2 * 64 + MSG_STORE_ID_LEN + 24];
    int n = snprintf(head, sizeof(head), "key:%s/%s/%llu:", device_id, store_id,
                     (unsigned long long)seq);
    const void *parts[2] = {head, content};
    size_t lens[2] = {0, DEADKEY_LEN};

    if (n < 0 || (size_t)n >= sizeof(head)) {
        return MSG_ERR_INVAL;
    }
    lens[0] = (size_t)n;
    return digest(parts, lens, 2, out);
}

int deadkey_raw(const char *topic, size_t topic_len, const char *payload, size_t payload_len,
                unsigned char out[DEADKEY_LEN])
{
    const void *parts[4] = {"raw:", topic, "", payload};
    size_t lens[4] = {4, topic_len, 1, payload_len};

    return digest(parts, lens, 4, out);
}

static bool is_store_id(const char *s)
{
    if (strlen(s) != MSG_STORE_ID_LEN) {
        return false;
    }
    for (size_t i = 0; i < MSG_STORE_ID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

/* An integral JSON number in [lo, MSG_SEQ_MAX] into *v. */
static bool read_uint(const cJSON *n, double lo, uint64_t *v)
{
    if (!cJSON_IsNumber(n) || n->valuedouble < lo || n->valuedouble > (double)MSG_SEQ_MAX ||
        n->valuedouble != (double)(uint64_t)n->valuedouble) {
        return false;
    }
    *v = (uint64_t)n->valuedouble;
    return true;
}

static void read_envelope(const cJSON *doc, struct deadkey_salvage *out)
{
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(doc, "ts");
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(doc, "clock_synced");
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(doc, "replay");
    char err[MSG_ERRLEN];
    int64_t ms = 0;

    if (out->seq == 0 || !cJSON_IsString(ts) || !cJSON_IsBool(cs) || !cJSON_IsBool(rp) ||
        msg_time_parse(ts->valuestring, strlen(ts->valuestring), &ms, err, sizeof(err)) !=
            MSG_OK) {
        return;
    }
    memcpy(out->env.store_id, out->store_id, sizeof(out->env.store_id));
    out->env.seq = out->seq;
    out->env.ts_ms = ms;
    out->env.clock_synced = cJSON_IsTrue(cs);
    out->env.replay = cJSON_IsTrue(rp);
    out->env.has_boot =
        read_uint(cJSON_GetObjectItemCaseSensitive(doc, "boot"), 0, &out->env.boot);
    out->env.has_mono =
        read_uint(cJSON_GetObjectItemCaseSensitive(doc, "mono_ms"), 0, &out->env.mono_ms);
    out->has_envelope = true;
}

int deadkey_salvage(const char *payload, size_t len, struct deadkey_salvage *out)
{
    cJSON *doc = NULL;
    char *text = NULL;
    const cJSON *s;
    const void *parts[2] = {"body:", payload};
    size_t lens[2] = {5, len};
    int rc;

    memset(out, 0, sizeof(*out));
    if (len <= MSG_PAYLOAD_MAX) {
        doc = cJSON_ParseWithLength(payload, len);
    }
    if (doc != NULL && cJSON_IsObject(doc)) {
        uint64_t seq = 0;

        s = cJSON_GetObjectItemCaseSensitive(doc, "store");
        if (cJSON_IsString(s) && is_store_id(s->valuestring) &&
            read_uint(cJSON_GetObjectItemCaseSensitive(doc, "seq"), 1, &seq)) {
            memcpy(out->store_id, s->valuestring, MSG_STORE_ID_LEN + 1);
            out->seq = seq;
            read_envelope(doc, out);
        }
        /* the same message resent carries replay true: not other content */
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "replay");
        text = cJSON_PrintUnformatted(doc);
        if (text == NULL) {
            rc = MSG_ERR_NOMEM;
            goto out;
        }
        parts[1] = text;
        lens[1] = strlen(text);
    }
    rc = digest(parts, lens, 2, out->body_sha);
out:
    cJSON_free(text);
    cJSON_Delete(doc);
    return rc;
}
