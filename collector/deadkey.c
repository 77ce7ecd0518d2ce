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

int deadkey_whole(const char *topic, size_t topic_len, const unsigned char whole[DEADKEY_LEN],
                  unsigned char out[DEADKEY_LEN])
{
    const void *parts[4] = {"whole:", topic, "", whole};
    size_t lens[4] = {6, topic_len, 1, DEADKEY_LEN};

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

/* ---- a lenient reading of the envelope (issue 9 item 4) ------------------------------- */

static size_t skip_ws(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) {
        i++;
    }
    return i;
}

/* The end of the JSON string that starts at p[i] == '"' (one past its closing quote), or 0 if
 * it does not end. */
static size_t skip_string(const char *p, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (p[i] == '\\') {
            i++;
        } else if (p[i] == '"') {
            return i + 1;
        }
    }
    return 0;
}

/* The end of the value that starts at p[i]: a string, an object or array (brackets counted,
 * strings skipped), or anything else up to the next delimiter (so NaN, Infinity, 1e400 and
 * other words pass). 0 if it does not end. */
static size_t skip_value(const char *p, size_t len, size_t i)
{
    size_t depth = 0;

    if (i < len && p[i] == '"') {
        return skip_string(p, len, i);
    }
    if (i < len && (p[i] == '{' || p[i] == '[')) {
        for (; i < len; i++) {
            if (p[i] == '"') {
                i = skip_string(p, len, i);
                if (i == 0) {
                    return 0;
                }
                i--;
            } else if (p[i] == '{' || p[i] == '[') {
                depth++;
            } else if (p[i] == '}' || p[i] == ']') {
                depth--;
                if (depth == 0) {
                    return i + 1;
                }
            }
        }
        return 0;
    }
    while (i < len && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' &&
           p[i] != '\t' && p[i] != '\n' && p[i] != '\r') {
        i++;
    }
    return i < len ? i : 0;
}

/* A seq spelt as the decimal digits of an integer in [1, MSG_SEQ_MAX], optionally with a
 * fraction of zeros (`5.0`), in p[a..b). */
static bool lenient_seq(const char *p, size_t a, size_t b, uint64_t *seq)
{
    uint64_t v = 0;
    size_t i = a;

    if (i >= b || p[i] < '1' || p[i] > '9') {
        return false;
    }
    for (; i < b && p[i] >= '0' && p[i] <= '9'; i++) {
        v = v * 10 + (uint64_t)(p[i] - '0');
        if (v > MSG_SEQ_MAX) {
            return false;
        }
    }
    if (i < b && p[i] == '.') {
        for (i++; i < b && p[i] == '0'; i++) {
        }
    }
    if (i != b) {
        return false;
    }
    *seq = v;
    return true;
}

/* The envelope members read leniently: where each value is and how often it came. */
enum { LM_STORE, LM_SEQ, LM_TS, LM_SYNCED, LM_REPLAY, LM_BOOT, LM_MONO, LM_COUNT };

static const char *const lenient_names[LM_COUNT] = {"store",  "seq",  "ts",     "clock_synced",
                                                    "replay", "boot", "mono_ms"};

struct lenient_span {
    size_t a; /* the value is p[a..b) */
    size_t b;
    int n;    /* how often the member came */
};

/* An integer 0 to MSG_SEQ_MAX (boot, mono_ms) that came once, into *v. */
static bool lenient_uint(const char *p, const struct lenient_span *sp, uint64_t *v)
{
    if (sp->n != 1) {
        return false;
    }
    if (sp->b - sp->a == 1 && p[sp->a] == '0') {
        *v = 0;
        return true;
    }
    return lenient_seq(p, sp->a, sp->b, v);
}

/* Whether the value is the literal true or false; *v gets which. */
static bool lenient_bool(const char *p, const struct lenient_span *sp, bool *v)
{
    if (sp->n != 1) {
        return false;
    }
    *v = sp->b - sp->a == 4 && memcmp(p + sp->a, "true", 4) == 0;
    return *v || (sp->b - sp->a == 5 && memcmp(p + sp->a, "false", 5) == 0);
}

/* The envelope beyond store and seq, where every required member came once and reads as the
 * protocol says (4.1); boot and mono_ms only if they read as integers. */
static void lenient_envelope(const char *p, const struct lenient_span *sp,
                             struct deadkey_salvage *out)
{
    char err[MSG_ERRLEN];
    bool synced = false;
    bool replay = false;
    int64_t ms = 0;

    if (sp[LM_TS].n != 1 || sp[LM_TS].b - sp[LM_TS].a != MSG_TIME_LEN + 2 ||
        p[sp[LM_TS].a] != '"' ||
        msg_time_parse(p + sp[LM_TS].a + 1, MSG_TIME_LEN, &ms, err, sizeof(err)) != MSG_OK ||
        !lenient_bool(p, &sp[LM_SYNCED], &synced) || !lenient_bool(p, &sp[LM_REPLAY], &replay)) {
        return;
    }
    memcpy(out->env.store_id, out->store_id, sizeof(out->env.store_id));
    out->env.seq = out->seq;
    out->env.ts_ms = ms;
    out->env.clock_synced = synced;
    out->env.replay = replay;
    out->env.has_boot = lenient_uint(p, &sp[LM_BOOT], &out->env.boot);
    out->env.has_mono = lenient_uint(p, &sp[LM_MONO], &out->env.mono_ms);
    out->has_envelope = true;
}

/* Reads the top-level members of the envelope from a payload that is not JSON as a whole (a
 * number such as NaN, cut short, a syntax error further on): member by member from the start,
 * up to the first place that cannot be read. store and seq must each come once, as a store id
 * and a positive integer, or nothing is taken: only an unambiguous key is used; the rest of
 * the envelope likewise, or the key comes without it. */
static void salvage_lenient(const char *p, size_t len, struct deadkey_salvage *out)
{
    struct lenient_span sp[LM_COUNT];
    char store[MSG_STORE_ID_LEN + 1] = "";
    uint64_t seq = 0;
    size_t i = skip_ws(p, len, 0);

    memset(sp, 0, sizeof(sp));
    if (i >= len || p[i] != '{') {
        return;
    }
    i++;
    for (;;) {
        size_t k0;
        size_t k1;
        size_t v0;
        size_t v1;

        i = skip_ws(p, len, i);
        if (i >= len || p[i] != '"') {
            break;
        }
        k0 = i + 1;
        i = skip_string(p, len, i);
        if (i == 0) {
            break;
        }
        k1 = i - 1;
        if (memchr(p + k0, '\\', k1 - k0) != NULL) {
            return; /* an escaped name could spell store or seq: ambiguous, take nothing */
        }
        i = skip_ws(p, len, i);
        if (i >= len || p[i] != ':') {
            break;
        }
        v0 = skip_ws(p, len, i + 1);
        v1 = skip_value(p, len, v0);
        if (v1 == 0) {
            break;
        }
        for (int m = 0; m < LM_COUNT; m++) {
            if (k1 - k0 == strlen(lenient_names[m]) &&
                memcmp(p + k0, lenient_names[m], k1 - k0) == 0) {
                sp[m].a = v0;
                sp[m].b = v1;
                sp[m].n++;
            }
        }
        i = skip_ws(p, len, v1);
        if (i >= len || p[i] != ',') {
            break;
        }
        i++;
    }
    if (sp[LM_STORE].n != 1 || sp[LM_SEQ].n != 1 ||
        sp[LM_STORE].b - sp[LM_STORE].a != MSG_STORE_ID_LEN + 2 || p[sp[LM_STORE].a] != '"' ||
        !lenient_seq(p, sp[LM_SEQ].a, sp[LM_SEQ].b, &seq)) {
        return;
    }
    memcpy(store, p + sp[LM_STORE].a + 1, MSG_STORE_ID_LEN);
    store[MSG_STORE_ID_LEN] = '\0';
    if (!is_store_id(store)) {
        return;
    }
    memcpy(out->store_id, store, sizeof(store));
    out->seq = seq;
    lenient_envelope(p, sp, out);
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
    } else if (doc == NULL) {
        salvage_lenient(payload, len, out);
    }
    rc = digest(parts, lens, 2, out->body_sha);
out:
    cJSON_free(text);
    cJSON_Delete(doc);
    return rc;
}
