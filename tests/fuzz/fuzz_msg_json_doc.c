/* fuzz_msg_json_doc.c -- libFuzzer target, differential: msg_json_doc_parse() (the tree built
 * in the lexer's pass, which msg_event_parse uses) against msg_json_parse() (the lexer, then
 * cJSON 1.7.15's tree, then the walk), which other callers keep using.
 *
 * Input: the bytes of a JSON document; when it starts with "pantau/" (the corpus of
 * fuzz_msg_event: TOPIC, a newline, the payload), the first line is skipped. Both paths run at
 * depth 3 (a device's payload) and at depth 5 with a limit of 65536 bytes, so that documents
 * larger than struct msg_json_doc holds take its fallback to cJSON. They must agree on the code
 * and the err text, and on success the trees must be equal node by node: types, member names,
 * strings, numbers to the bit, valueint, and the next/prev/child links as cJSON makes them.
 * Then msg_event_from_json over each tree must give the same code, err and struct. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "msg_event.h"
#include "msg_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_tree(const cJSON *a, const cJSON *b)
{
    const cJSON *ca;
    const cJSON *cb;

    if (a == NULL || b == NULL) {
        return a == b;
    }
    if ((a->type & 0xFF) != (b->type & 0xFF) || a->valueint != b->valueint ||
        memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0 ||
        (a->string == NULL) != (b->string == NULL) ||
        (a->string != NULL && strcmp(a->string, b->string) != 0) ||
        (a->valuestring == NULL) != (b->valuestring == NULL) ||
        (a->valuestring != NULL && strcmp(a->valuestring, b->valuestring) != 0) ||
        (a->child == NULL) != (b->child == NULL)) {
        return 0;
    }
    ca = a->child;
    cb = b->child;
    while (ca != NULL && cb != NULL) {
        if (!same_tree(ca, cb) || (ca->next == NULL) != (cb->next == NULL)) {
            return 0;
        }
        if (ca->next == NULL && (a->child->prev != ca || b->child->prev != cb)) {
            return 0;
        }
        if (ca->next != NULL && (ca->next->prev != ca || cb->next->prev != cb)) {
            return 0;
        }
        ca = ca->next;
        cb = cb->next;
    }
    return 1;
}

/* msg_event_from_json on both trees, for each device stream: same code, err and struct. */
static void same_event(const cJSON *a, const cJSON *b)
{
    static const char *const topics[] = {
        "pantau/v1/gw-1/flood", "pantau/v1/gw-1/traffic", "pantau/v1/gw-1/incident",
        "pantau/v1/hh-1/larva", "pantau/v1/gw-1/dropped", "pantau/v1/gw-1/status",
    };
    static struct msg_event ea;
    static struct msg_event eb;

    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
        struct msg_topic t;
        char err[MSG_ERRLEN] = "";
        char erra[MSG_ERRLEN] = "";
        char errb[MSG_ERRLEN] = "";
        int ra;
        int rb;

        FUZZ_ASSERT(msg_topic_parse(topics[i], strlen(topics[i]), &t, err, sizeof(err)) ==
                    MSG_OK);
        memset(&ea, 0, sizeof(ea));
        memset(&eb, 0, sizeof(eb));
        ra = msg_event_from_json(a, &t, &ea, erra, sizeof(erra));
        rb = msg_event_from_json(b, &t, &eb, errb, sizeof(errb));
        FUZZ_ASSERT(ra == rb);
        FUZZ_ASSERT(strcmp(erra, errb) == 0);
        if (ra == MSG_OK) {
            char ca[MSG_CANONICAL_MAX];
            char cb[MSG_CANONICAL_MAX];
            size_t la = 0;
            size_t lb = 0;

            FUZZ_ASSERT(msg_event_canonical(&ea, ca, sizeof(ca), &la) == MSG_OK);
            FUZZ_ASSERT(msg_event_canonical(&eb, cb, sizeof(cb), &lb) == MSG_OK);
            FUZZ_ASSERT(la == lb && memcmp(ca, cb, la) == 0);
            FUZZ_ASSERT(ea.env.replay == eb.env.replay);
        }
    }
}

static void compare(const char *p, size_t n, size_t maxlen, int maxdepth)
{
    static struct msg_json_doc doc;
    char err[MSG_ERRLEN];
    char err2[MSG_ERRLEN];
    cJSON *tree = NULL;
    int rc;
    int rc2;

    memset(err, 'x', sizeof(err));
    memset(err2, 'y', sizeof(err2));
    err[0] = '\0';
    err2[0] = '\0';
    rc = msg_json_parse(p, n, maxlen, maxdepth, &tree, err, sizeof(err));
    rc2 = msg_json_doc_parse(&doc, p, n, maxlen, maxdepth, err2, sizeof(err2));
    fuzz_check_err(rc2, err2);
    if (rc != rc2 || (rc != MSG_OK && strcmp(err, err2) != 0)) {
        fprintf(stderr, "cJSON path %s '%s', doc %s '%s'\n", msg_errname(rc), err,
                msg_errname(rc2), err2);
        abort();
    }
    if (rc == MSG_OK) {
        FUZZ_ASSERT(doc.root != NULL);
        FUZZ_ASSERT(same_tree(tree, doc.root));
        if (maxdepth == MSG_DEPTH_DEVICE) {
            same_event(tree, doc.root);
        }
    } else {
        FUZZ_ASSERT(doc.root == NULL && tree == NULL);
    }
    msg_json_doc_release(&doc);
    FUZZ_ASSERT(doc.root == NULL && doc.heap == NULL);
    cJSON_Delete(tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t skip = 0;

    if (size >= 7 && memcmp(in, "pantau/", 7) == 0) {
        while (skip < size && in[skip] != '\n') {
            skip++;
        }
        if (skip < size) {
            skip++;
        }
    }
    compare(in + skip, size - skip, MSG_PAYLOAD_MAX, MSG_DEPTH_DEVICE);
    compare(in + skip, size - skip, 65536, 5);
    return 0;
}
