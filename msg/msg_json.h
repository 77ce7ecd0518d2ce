/* msg_json.h -- the I-JSON gate in front of cJSON (protocol.md 4.0 and 9.1).
 *
 * cJSON 1.7.15 is lenient: it accepts `05`, `5.`, `1e400` (as inf), duplicate member names,
 * cuts strings at `\u0000`, skips a byte-order mark and ignores what follows the value. So a
 * payload first goes through a strict single-pass lexer over its bytes that implements the RFC
 * 8259 grammar exactly, plus I-JSON (RFC 7493) and the protocol's string rule:
 *   - UTF-8 throughout, well-formed, no byte-order mark; no noncharacters (I-JSON 2.1);
 *   - numbers exactly as the grammar says (no `+`, leading zeros, `.5`, `5.`, NaN, Infinity),
 *     at most MSG_JSON_NUMBER_MAX characters, finite as a double;
 *   - strings: valid escapes only, `\uXXXX` surrogates in pairs, and no control character
 *     (U+0000..U+001F, U+007F) raw or escaped, in values and member names alike;
 *   - `true`, `false`, `null`; nesting at most maxdepth containers (the top level counts 1);
 *   - exactly one value, with optional white space around it.
 * Then cJSON builds the tree, and a walk over it rejects duplicate member names in any object
 * and numbers that are not finite. Errors say where: "byte 170 at level_cm: invalid literal
 * 'NaN'" (byte offsets count from 0; the path names the member being read).
 *
 * Not for: checking members against the contract (msg_event.h, msg_ack.h, ...). cJSON allocates
 * the tree of msg_json_parse (struct msg_json_doc holds one in place); nothing else is allocated
 * except, for an object of more than 16 members, one array to sort its names. Note:
 * cJSON_Parse* writes a process-wide "last error" pointer, so parsing on several threads at
 * once is a (benign) data race inside cJSON; msg/ never reads that pointer. */
#ifndef MSG_JSON_H
#define MSG_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "msg_err.h"

#define MSG_JSON_DEPTH_MAX 32    /* largest maxdepth accepted */
#define MSG_JSON_NUMBER_MAX 63   /* characters of a number token: cJSON reads no more */

/* Checks buf (len bytes, borrowed, NUL not needed) with the strict lexer only, without building
 * a tree (so without the duplicate-name check). Returns MSG_OK, MSG_ERR_JSON with err set, or
 * MSG_ERR_INVAL for a maxdepth outside 1..MSG_JSON_DEPTH_MAX. */
int msg_json_check(const char *buf, size_t len, size_t maxlen, int maxdepth, char *err,
                   size_t errlen);

/* Checks buf as above and parses it into *out (caller frees with cJSON_Delete). A payload
 * longer than maxlen is refused before it is read ("payload of 8193 bytes exceeds 8192").
 * Returns MSG_OK; MSG_ERR_JSON with err set and *out NULL; MSG_ERR_NOMEM if cJSON could not
 * allocate the tree; MSG_ERR_INVAL for a bad maxdepth. */
int msg_json_parse(const char *buf, size_t len, size_t maxlen, int maxdepth, cJSON **out,
                   char *err, size_t errlen);

#define MSG_JSON_DOC_NODES 256  /* values a struct msg_json_doc holds in place */
#define MSG_JSON_DOC_TEXT 8192   /* bytes of decoded strings (and their NULs) it holds */

/* A document parsed without cJSON's allocations, for the hot path (msg_event_parse): the
 * strict lexer's single pass also builds the tree, into the nodes and text held in this struct
 * (about 25 KB: put it on the stack). The tree is made of ordinary cJSON nodes, identical to
 * what msg_json_parse gives (types, member names, strings, valuedouble and valueint, next,
 * prev and child links), so code written for cJSON's tree reads it unchanged; it must not be
 * modified, nor given to cJSON_Delete. A document of more than MSG_JSON_DOC_NODES values or
 * MSG_JSON_DOC_TEXT bytes of strings is checked all the same and then parsed by cJSON (heap). */
struct msg_json_doc {
    const cJSON *root;          /* the value; NULL until parsed */
    cJSON *heap;                /* cJSON's own tree when the document did not fit, else NULL */
    size_t nodes_used;
    size_t text_used;
    cJSON nodes[MSG_JSON_DOC_NODES];
    uint32_t name_hash[MSG_JSON_DOC_NODES];   /* hash of nodes[i]'s member name */
    char text[MSG_JSON_DOC_TEXT];
};

/* msg_json_parse into caller-owned *doc: the same checks in the same order, the same codes and
 * the same err texts; on MSG_OK, doc->root is the tree (borrowed from doc, valid until
 * msg_json_doc_release). Borrows buf only during the call: the tree keeps no pointer into it.
 * Call msg_json_doc_release(doc) afterwards whatever it returns. */
int msg_json_doc_parse(struct msg_json_doc *doc, const char *buf, size_t len, size_t maxlen,
                       int maxdepth, char *err, size_t errlen);

/* Frees what doc holds on the heap (if anything) and sets doc->root to NULL. */
void msg_json_doc_release(struct msg_json_doc *doc);

/* Name of a cJSON value's type for error messages: "string", "number", "object", ... */
const char *msg_json_type_name(const cJSON *item);

#endif
