/* msg_rejected.c -- refused messages and base64: see msg_rejected.h. */
#include "msg_rejected.h"

#include <stdio.h>
#include <string.h>

#include "msg_hex.h"
#include "msg_json.h"
#include "msg_schema.h"
#include "msg_utf8.h"
#include "msg_write.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t msg_base64_encode(const void *in, size_t len, char *out, size_t outsize)
{
    const unsigned char *p = in;
    size_t need = MSG_BASE64_LEN(len);
    size_t o = 0;

    if (outsize == 0) {
        return 0;
    }
    if (need >= outsize) {
        out[0] = '\0';
        return 0;
    }
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        size_t left = len - i;

        if (left > 1) {
            v |= (uint32_t)p[i + 1] << 8;
        }
        if (left > 2) {
            v |= p[i + 2];
        }
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = left > 2 ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

int msg_base64_decode(const char *in, size_t len, void *out, size_t outsize, size_t *outlen,
                      size_t *bad_off)
{
    unsigned char *o = out;
    size_t pad = 0;
    size_t n = 0;

    if (len % 4 != 0) {
        if (bad_off != NULL) {
            *bad_off = len;
        }
        return MSG_ERR_INVAL;
    }
    if (len > 0 && in[len - 1] == '=') {
        pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
    }
    if (len / 4 * 3 - pad > outsize) {
        return MSG_ERR_FULL;
    }
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        size_t quad_pad = i + 4 == len ? pad : 0;

        for (size_t k = 0; k < 4; k++) {
            int d = k >= 4 - quad_pad ? 0 : b64_value(in[i + k]);

            if (d < 0) {
                if (bad_off != NULL) {
                    *bad_off = i + k;
                }
                return MSG_ERR_INVAL;
            }
            v = (v << 6) | (uint32_t)d;
        }
        /* the bits below the last byte must be zero: 4 of them before "==", 2 before "=" */
        if ((quad_pad == 2 && (v & 0xFFFFu) != 0) || (quad_pad == 1 && (v & 0xFFu) != 0)) {
            if (bad_off != NULL) {
                *bad_off = i + 3 - quad_pad;
            }
            return MSG_ERR_INVAL;
        }
        o[n++] = (unsigned char)(v >> 16);
        if (quad_pad < 2) {
            o[n++] = (unsigned char)(v >> 8);
        }
        if (quad_pad < 1) {
            o[n++] = (unsigned char)v;
        }
    }
    *outlen = n;
    return MSG_OK;
}

void msg_rejected_set_text(char *dst, size_t dstsize, const char *src, size_t srclen,
                           size_t max_cp)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;
    size_t ncp = 0;
    size_t i = 0;

    if (dstsize == 0) {
        return;
    }
    while (i < srclen && ncp < max_cp) {
        uint32_t cp = 0;
        size_t n = msg_utf8_decode(s + i, srclen - i, &cp, NULL);
        bool ok = n > 0 && !msg_utf8_is_control(cp) && !msg_utf8_is_nonchar(cp);

        if (!ok) {
            n = n > 0 ? n : 1;
        }
        if (o + (ok ? n : 1) >= dstsize) {
            break;
        }
        if (ok) {
            memcpy(dst + o, s + i, n);
            o += n;
        } else {
            dst[o++] = '?';
        }
        i += n;
        ncp++;
    }
    if (o == 0 && dstsize > 1 && max_cp > 0) {
        dst[o++] = '?';
    }
    dst[o] = '\0';
}

void msg_rejected_set_payload(struct msg_rejected *r, const void *payload, size_t len)
{
    char suffix[80];
    const char *nul;
    size_t slen;
    size_t rlen;
    size_t keep;
    size_t ncp = 0;

    r->payload_len = len > MSG_REJECTED_PAYLOAD_MAX ? MSG_REJECTED_PAYLOAD_MAX : len;
    memcpy(r->payload, payload, r->payload_len);
    r->has_size = true;
    r->size = len;
    if (len <= MSG_REJECTED_PAYLOAD_MAX) {
        return;
    }
    slen = (size_t)snprintf(suffix, sizeof(suffix), " (payload cut to its first %d of %zu bytes)",
                            MSG_REJECTED_PAYLOAD_MAX, len);
    /* keep as much of the reason as leaves room for the suffix, cut at a character boundary */
    nul = memchr(r->reason, '\0', sizeof(r->reason));
    rlen = nul != NULL ? (size_t)(nul - r->reason) : 0;
    for (keep = 0; keep < rlen && ncp < MSG_REJECTED_REASON_MAX - slen; ncp++) {
        keep++;
        while (keep < rlen && ((unsigned char)r->reason[keep] & 0xC0u) == 0x80u) {
            keep++;
        }
    }
    memcpy(r->reason + keep, suffix, slen + 1);
}

/* payload_b64: decoded into the struct. */
static int check_payload(const struct msg_member *m, const cJSON *item, void *base,
                         const struct msg_path *path, char *err, size_t errlen)
{
    struct msg_rejected *r = base;
    size_t len;
    size_t bad = 0;
    int rc;

    (void)m;
    if (!cJSON_IsString(item)) {
        return msg_schema_fail(path, err, errlen, "expected a string, got %s",
                               msg_json_type_name(item));
    }
    len = strlen(item->valuestring);
    if (len > MSG_BASE64_LEN(MSG_REJECTED_PAYLOAD_MAX)) {
        return msg_schema_fail(path, err, errlen, "%zu characters, at most %d (%d bytes)", len,
                               MSG_BASE64_LEN(MSG_REJECTED_PAYLOAD_MAX), MSG_REJECTED_PAYLOAD_MAX);
    }
    rc = msg_base64_decode(item->valuestring, len, r->payload, sizeof(r->payload),
                           &r->payload_len, &bad);
    if (rc == MSG_ERR_FULL) {
        return msg_schema_fail(path, err, errlen, "decodes to more than %d bytes",
                               MSG_REJECTED_PAYLOAD_MAX);
    }
    if (rc != MSG_OK) {
        return msg_schema_fail(path, err, errlen,
                               "not base64 (RFC 4648 with padding, padding bits zero) at "
                               "character %zu", bad);
    }
    return MSG_OK;
}

static int emit_payload(const struct msg_member *m, const void *base, struct msg_buf *b,
                        enum msg_enc_mode mode)
{
    const struct msg_rejected *r = base;
    char text[MSG_BASE64_LEN(MSG_REJECTED_PAYLOAD_MAX) + 1];

    (void)m;
    (void)mode;
    if (r->payload_len > MSG_REJECTED_PAYLOAD_MAX) {
        return MSG_ERR_INVAL;
    }
    msg_base64_encode(r->payload, r->payload_len, text, sizeof(text));
    msg_buf_raw(b, "\"", 1);
    msg_buf_str(b, text);
    msg_buf_raw(b, "\"", 1);
    return MSG_OK;
}

/* the names the `category` member may take: the wire's dead-letter categories */
#define CATEGORY_NAME(id, name) name,
static const char *const category_names[] = {MSG_DEADCAT_WIRE_LIST(CATEGORY_NAME) NULL};
#undef CATEGORY_NAME

const char *msg_rejected_category_name(int c)
{
    if (c < 0 || c >= MSG_REJECTED_CATEGORY_COUNT) {
        return NULL;
    }
    return msg_deadcat_name(c);
}

int msg_rejected_category_find(const char *name)
{
    int c = msg_deadcat_find(name);

    return c < MSG_REJECTED_CATEGORY_COUNT ? c : -1;
}

/* sha256: 64 lower-case hex digits, into the struct's bytes. */
static int check_sha256(const struct msg_member *m, const cJSON *item, void *base,
                        const struct msg_path *path, char *err, size_t errlen)
{
    struct msg_rejected *r = base;
    const char *s;
    size_t off = 0;

    (void)m;
    if (!cJSON_IsString(item)) {
        return msg_schema_fail(path, err, errlen, "expected a string, got %s",
                               msg_json_type_name(item));
    }
    s = item->valuestring;
    if (strlen(s) != 2 * MSG_REJECTED_SHA256_LEN) {
        return msg_schema_fail(path, err, errlen, "%zu characters, expected %d lower-case hex "
                               "digits", strlen(s), 2 * MSG_REJECTED_SHA256_LEN);
    }
    if (msg_hex_decode(s, 2 * MSG_REJECTED_SHA256_LEN, r->sha256, sizeof(r->sha256), &off) !=
        MSG_OK) {
        return msg_schema_fail(path, err, errlen, "not a lower-case hex digit at character %zu",
                               off);
    }
    r->has_sha256 = true;
    return MSG_OK;
}

static int emit_sha256(const struct msg_member *m, const void *base, struct msg_buf *b,
                       enum msg_enc_mode mode)
{
    static const char hex[] = "0123456789abcdef";
    const struct msg_rejected *r = base;
    char text[2 * MSG_REJECTED_SHA256_LEN + 3];
    size_t n = 0;

    (void)m;
    (void)mode;
    text[n++] = '"';
    for (size_t i = 0; i < MSG_REJECTED_SHA256_LEN; i++) {
        text[n++] = hex[r->sha256[i] >> 4];
        text[n++] = hex[r->sha256[i] & 15];
    }
    text[n++] = '"';
    msg_buf_raw(b, text, n);
    return MSG_OK;
}

#define R(name, type, lo, hi, f)                                                             \
    {name, type, true, false, lo, hi, offsetof(struct msg_rejected, f),                      \
     sizeof(((struct msg_rejected *)0)->f), MSG_NO_HAS, NULL, NULL, NULL, NULL}

static const struct msg_member rejected_members[] = {
    R("ts", MSG_M_TS, 0, 0, ts_ms),
    R("device", MSG_M_ID, 0, 0, device),
    R("topic", MSG_M_TEXT, 1, MSG_REJECTED_TOPIC_MAX, topic),
    R("reason", MSG_M_TEXT, 1, MSG_REJECTED_REASON_MAX, reason),
    {"category", MSG_M_ENUM, false, false, 0, 0, offsetof(struct msg_rejected, category),
     sizeof(int), offsetof(struct msg_rejected, has_category), category_names, NULL, NULL, NULL},
    {"size", MSG_M_U64, false, false, 0, MSG_REJECTED_SIZE_MAX,
     offsetof(struct msg_rejected, size), sizeof(uint64_t),
     offsetof(struct msg_rejected, has_size), NULL, NULL, NULL, NULL},
    {"sha256", MSG_M_CUSTOM, false, false, 0, 0, 0, 0, offsetof(struct msg_rejected, has_sha256),
     NULL, check_sha256, emit_sha256, NULL},
    {"payload_b64", MSG_M_CUSTOM, true, false, 0, 0, 0, 0, MSG_NO_HAS, NULL, check_payload,
     emit_payload, NULL},
};

#define N_MEMBERS (sizeof(rejected_members) / sizeof(rejected_members[0]))

static bool text_ok(const char *s, size_t size, size_t max_cp)
{
    size_t ncp = 0;

    return memchr(s, '\0', size) != NULL && msg_utf8_text(s, strlen(s), &ncp, NULL, NULL) &&
           ncp >= 1 && ncp <= max_cp;
}

int msg_rejected_encode(const struct msg_rejected *r, char *buf, size_t buflen, size_t *outlen)
{
    struct msg_buf b;
    int rc;

    if (memchr(r->device, '\0', sizeof(r->device)) == NULL ||
        !msg_id_valid(r->device, strlen(r->device)) ||
        !text_ok(r->topic, sizeof(r->topic), MSG_REJECTED_TOPIC_MAX) ||
        !text_ok(r->reason, sizeof(r->reason), MSG_REJECTED_REASON_MAX) ||
        r->payload_len > MSG_REJECTED_PAYLOAD_MAX ||
        (r->has_category && msg_rejected_category_name(r->category) == NULL) ||
        (r->has_size && r->size > MSG_REJECTED_SIZE_MAX)) {
        return MSG_ERR_INVAL;
    }
    msg_buf_init(&b, buf, buflen < MSG_REJECTED_MSG_MAX + 1 ? buflen : MSG_REJECTED_MSG_MAX + 1);
    rc = msg_schema_encode(rejected_members, N_MEMBERS, r, &b, MSG_ENC_PAYLOAD);
    if (rc != MSG_OK) {
        return rc;
    }
    return msg_buf_finish(&b, outlen);
}

int msg_rejected_parse(const void *payload, size_t len, struct msg_rejected *out, char *err,
                       size_t errlen)
{
    cJSON *doc = NULL;
    int rc;

    memset(out, 0, offsetof(struct msg_rejected, payload));
    rc = msg_json_parse(payload, len, MSG_REJECTED_MSG_MAX, MSG_DEPTH_DEVICE, &doc, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    rc = msg_schema_object(doc, rejected_members, N_MEMBERS, true, out, NULL, NULL, err, errlen);
out:
    cJSON_Delete(doc);
    return rc;
}
