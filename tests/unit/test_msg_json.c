/* test_msg_json.c -- unit tests of msg/msg_json.c: the strict I-JSON gate (RFC 8259 grammar,
 * RFC 7493, protocol.md 4.0) in front of cJSON. Each row: raw bytes, limits, the expected code
 * and a piece of err (which names the byte offset and the member being read). Every row also
 * goes through msg_json_doc_parse, which must give the same code, the same err and a tree equal
 * to cJSON's node by node. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_json.h"
#include "tinytest.h"

struct row {
    const char *name;
    const char *in;
    size_t len;       /* 0: strlen(in) */
    int maxdepth;     /* 0: 3 */
    int rc;
    const char *want;
};

#define OK MSG_OK
#define BAD MSG_ERR_JSON

/* Whether trees a and b are the same: types, names, strings, numbers to the bit, links. */
static bool same_tree(const cJSON *a, const cJSON *b)
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
        return false;
    }
    ca = a->child;
    cb = b->child;
    while (ca != NULL && cb != NULL) {
        if (!same_tree(ca, cb) || (ca->next == NULL) != (cb->next == NULL)) {
            return false;
        }
        if (ca->next == NULL && (a->child->prev != ca || b->child->prev != cb)) {
            return false;   /* cJSON: the first child's prev is the last child */
        }
        if (ca->next != NULL && (ca->next->prev != ca || cb->next->prev != cb)) {
            return false;
        }
        ca = ca->next;
        cb = cb->next;
    }
    return true;
}

/* msg_json_doc_parse agrees with msg_json_parse on buf: code, err and tree. */
static void check_doc(const char *name, const char *buf, size_t len, size_t maxlen,
                      int maxdepth)
{
    static struct msg_json_doc doc;
    char err[MSG_ERRLEN] = "";
    char err2[MSG_ERRLEN] = "";
    cJSON *tree = NULL;
    int rc = msg_json_parse(buf, len, maxlen, maxdepth, &tree, err, sizeof(err));
    int rc2 = msg_json_doc_parse(&doc, buf, len, maxlen, maxdepth, err2, sizeof(err2));

    TEST_CHECK(rc == rc2);
    TEST_MSG("%s: doc gives %s, cJSON path %s", name, msg_errname(rc2), msg_errname(rc));
    if (rc != MSG_OK) {
        TEST_CHECK(strcmp(err, err2) == 0);
        TEST_MSG("%s: doc err '%s', cJSON path err '%s'", name, err2, err);
        TEST_CHECK(doc.root == NULL);
    } else {
        TEST_CHECK(same_tree(tree, doc.root));
        TEST_MSG("%s: the trees differ", name);
    }
    msg_json_doc_release(&doc);
    TEST_CHECK(doc.root == NULL && doc.heap == NULL);
    cJSON_Delete(tree);
}

static void run(const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        size_t len = r->len != 0 ? r->len : strlen(r->in);
        char err[MSG_ERRLEN] = "";
        cJSON *doc = (cJSON *)&err;   /* must be reset to NULL on failure */
        int rc = msg_json_parse(r->in, len, 8192, r->maxdepth != 0 ? r->maxdepth : 3, &doc, err,
                                sizeof(err));

        TEST_CHECK(rc == r->rc);
        TEST_MSG("%s: rc %s, expected %s, err '%s'", r->name, msg_errname(rc),
                 msg_errname(r->rc), err);
        TEST_CHECK((rc == MSG_OK) == (doc != NULL));
        if (r->want != NULL) {
            TEST_CHECK(strstr(err, r->want) != NULL);
            TEST_MSG("%s: err '%s' lacks '%s'", r->name, err, r->want);
        }
        /* the lexer alone agrees, except on what only the tree shows */
        if (rc == MSG_OK || strstr(err, "duplicate") == NULL) {
            int rc2 = msg_json_check(r->in, len, 8192, r->maxdepth != 0 ? r->maxdepth : 3, err,
                                     sizeof(err));

            TEST_CHECK(rc2 == rc || (rc2 == MSG_OK && strstr(err, "range of a double") != NULL));
            TEST_MSG("%s: msg_json_check gives %s", r->name, msg_errname(rc2));
        }
        cJSON_Delete(doc);
        check_doc(r->name, r->in, len, 8192, r->maxdepth != 0 ? r->maxdepth : 3);
    }
}

static void test_grammar(void)
{
    static const struct row rows[] = {
        {"empty object", "{}", 0, 0, OK, NULL},
        {"empty array", "[]", 0, 0, OK, NULL},
        {"scalar top level", "1", 0, 0, OK, NULL},
        {"string top level", "\"x\"", 0, 0, OK, NULL},
        {"literals", "[true,false,null]", 0, 0, OK, NULL},
        {"white space everywhere", " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } }\n ", 0, 0, OK,
         NULL},
        {"empty input", "", 0, 0, BAD, "empty payload"},
        {"white space only", " \n", 0, 0, BAD, "byte 2: unexpected end of input (truncated)"},
        {"truncated object", "{\"a\":1", 0, 0, BAD,
         "byte 6 at a: unexpected end of input (truncated)"},
        {"truncated after key", "{\"a\"", 0, 0, BAD, "truncated"},
        {"truncated after colon", "{\"a\":", 0, 0, BAD, "at a: unexpected end of input"},
        {"truncated string", "{\"a\":\"xy", 0, 0, BAD, "truncated"},
        {"truncated escape", "\"\\", 0, 0, BAD, "truncated"},
        {"truncated unicode escape", "\"\\u00", 0, 0, BAD, "truncated"},
        {"truncated array", "[1,", 0, 0, BAD, "truncated"},
        {"truncated number", "-", 0, 0, BAD, "truncated"},
        {"truncated exponent", "1e", 0, 0, BAD, "truncated"},
        {"truncated fraction", "1.", 0, 0, BAD, "truncated"},
        {"truncated literal", "tru", 0, 0, BAD, "invalid literal 'tru'"},
        {"trailing garbage", "{}x", 0, 0, BAD, "byte 2: data after the end of the JSON value"},
        {"two values", "{}{}", 0, 0, BAD, "trailing garbage"},
        {"NUL after value", "{}\0", 3, 0, BAD, "trailing garbage"},
        {"trailing comma in object", "{\"a\":1,}", 0, 0, BAD, "byte 7: trailing comma in object"},
        {"trailing comma in array", "[1,]", 0, 0, BAD, "byte 3 at [1]: trailing comma in array"},
        {"missing comma", "{\"a\":1 \"b\":2}", 0, 0, BAD, "',' or '}' expected after member"},
        {"missing colon", "{\"a\" 1}", 0, 0, BAD, "':' expected after member name"},
        {"unquoted key", "{a:1}", 0, 0, BAD, "byte 1: member name in double quotes expected"},
        {"single quotes", "{'a':1}", 0, 0, BAD, "member name in double quotes"},
        {"comment", "[1/*x*/]", 0, 0, BAD, "',' or ']' expected after item"},
        {"array closed by brace", "[1}", 0, 0, BAD, "',' or ']' expected"},
        {"leading comma", "[,1]", 0, 0, BAD, "unexpected character ','"},
        {"bare word", "{\"a\":yes}", 0, 0, BAD, "at a: invalid literal 'yes'"},
        {"capitalised True", "[True]", 0, 0, BAD, "at [0]: invalid literal 'True'"},
        {"literal with suffix", "[truex]", 0, 0, BAD, "invalid literal 'truex'"},
        {"NaN", "{\"level_cm\":NaN}", 0, 0, BAD, "byte 12 at level_cm: invalid literal 'NaN'"},
        {"Infinity", "[Infinity]", 0, 0, BAD, "invalid literal 'Infinity'"},
        {"-Infinity", "[-Infinity]", 0, 0, BAD, "invalid number '-Infinity'"},
        {"control byte outside strings", "[1,\x01]", 0, 0, BAD, "unexpected byte 0x01"},
        {"non-ASCII outside strings", "[\xc3\xa9]", 0, 0, BAD, "unexpected byte 0xC3"},
        {"BOM", "\xef\xbb\xbf{}", 0, 0, BAD, "byte 0: byte-order mark"},
        {"partial BOM", "\xef\xbb{}", 0, 0, BAD, "unexpected byte 0xEF"},
    };

    run(rows, sizeof(rows) / sizeof(rows[0]));
}

static void test_numbers(void)
{
    static const struct row rows[] = {
        {"zero", "[0]", 0, 0, OK, NULL},
        {"minus zero", "[-0]", 0, 0, OK, NULL},
        {"minus zero float", "[-0.0e-0]", 0, 0, OK, NULL},
        {"exponent forms", "[1e5,1E5,1e+5,1e-5,1.5E-5]", 0, 0, OK, NULL},
        {"leading zero", "{\"a\":05}", 0, 0, BAD, "byte 5 at a: leading zero in number '05'"},
        {"negative leading zero", "[-01]", 0, 0, BAD, "leading zero in number '-01'"},
        {"leading plus", "[+1]", 0, 0, BAD, "invalid number '+1' (leading '+')"},
        {"leading dot", "[.5]", 0, 0, BAD, "digit expected before '.'"},
        {"trailing dot", "[5.]", 0, 0, BAD, "invalid number '5.' (digit expected after '.')"},
        {"dot exponent", "[5.e3]", 0, 0, BAD, "digit expected after '.'"},
        {"empty exponent", "[5e]", 0, 0, BAD, "digit expected in exponent"},
        {"signed empty exponent", "[5e+]", 0, 0, BAD, "digit expected in exponent"},
        {"hex", "[0x10]", 0, 0, BAD, "',' or ']' expected"},
        {"minus alone", "[-]", 0, 0, BAD, "digit expected after '-'"},
        {"1e400", "{\"level_cm\":1e400}", 0, 0, BAD,
         "byte 12 at level_cm: number '1e400' is out of the range of a double"},
        {"-1e400", "[-1e400]", 0, 0, BAD, "number '-1e400' is out of the range"},
        {"1e310", "[1e310]", 0, 0, BAD, "out of the range of a double"},
        {"0.1e311", "[0.1e311]", 0, 0, BAD, "out of the range of a double"},
        {"1e309", "[1e309]", 0, 0, BAD, "number '1e309' is out of the range of a double"},
        {"1e308 (the decade left to the tree walk)", "[1e308]", 0, 0, OK, NULL},
        {"9.9e308 (the decade left to the tree walk)", "[9.9e308]", 0, 0, BAD,
         "[0]: number is out of the range of a double"},
        {"1.8e308", "{\"a\":{\"b\":1.8e308}}", 0, 0, BAD,
         "a.b: number is out of the range of a double"},
        {"largest double", "[1.7976931348623157e308]", 0, 0, OK, NULL},
        {"0.000...1e310 is small", "[0.00000000001e310]", 0, 0, OK, NULL},
        {"1e-400 underflows to 0", "[1e-400]", 0, 0, OK, NULL},
        {"smallest denormal", "[5e-324]", 0, 0, OK, NULL},
        {"huge exponent digits", "[1e99999999999999999999]", 0, 0, BAD, "out of the range"},
        {"huge negative exponent", "[1e-99999999999999999999]", 0, 0, OK, NULL},
        {"2^53", "[9007199254740992]", 0, 0, OK, NULL},
        {"63 characters",
         "[1.0000000000000000000000000000000000000000000000000000000000001]", 0, 0, OK, NULL},
        {"64 characters",
         "[1.00000000000000000000000000000000000000000000000000000000000001]", 0, 0, BAD,
         "number of 64 characters (at most 63)"},
        {"integer of 400 digits", NULL, 0, 0, BAD, "number of 400 characters"},
    };
    char big[512];
    struct row copy[sizeof(rows) / sizeof(rows[0])];

    memcpy(copy, rows, sizeof(rows));
    big[0] = '[';
    memset(big + 1, '1', 400);
    big[401] = ']';
    big[402] = '\0';
    copy[sizeof(rows) / sizeof(rows[0]) - 1].in = big;
    run(copy, sizeof(copy) / sizeof(copy[0]));
}

static void test_strings(void)
{
    static const struct row rows[] = {
        {"escapes", "[\"\\\"\\\\\\/\"]", 0, 0, OK, NULL},
        {"unicode escape", "[\"\\u00e9\\u20AC\"]", 0, 0, OK, NULL},
        {"surrogate pair", "[\"\\ud83c\\udf0a\"]", 0, 0, OK, NULL},
        {"raw 4-byte UTF-8", "[\"\xf0\x9f\x8c\x8a\"]", 0, 0, OK, NULL},
        {"escaped U+0080 is not a control", "[\"\\u0080\"]", 0, 0, OK, NULL},
        {"raw U+0085", "[\"\xc2\x85\"]", 0, 0, OK, NULL},
        {"escaped NUL", "{\"a\":\"x\\u0000y\"}", 0, 0, BAD,
         "byte 7 at a: control character U+0000 in string"},
        {"escaped U+001F", "[\"\\u001f\"]", 0, 0, BAD, "control character U+001F"},
        {"escaped DEL", "[\"\\u007F\"]", 0, 0, BAD, "control character U+007F"},
        {"escaped newline", "{\"a\":\"x\\ny\"}", 0, 0, BAD,
         "byte 7 at a: control character (escaped as \\n) in string"},
        {"escaped tab", "[\"\\t\"]", 0, 0, BAD, "(escaped as \\t)"},
        {"escaped backspace", "[\"\\b\"]", 0, 0, BAD, "(escaped as \\b)"},
        {"escaped form feed", "[\"\\f\"]", 0, 0, BAD, "(escaped as \\f)"},
        {"escaped return", "[\"\\r\"]", 0, 0, BAD, "(escaped as \\r)"},
        {"raw newline", "[\"a\nb\"]", 0, 0, BAD, "control character 0x0A in string"},
        {"raw tab", "[\"a\tb\"]", 0, 0, BAD, "control character 0x09"},
        {"raw DEL", "[\"a\x7f\"]", 0, 0, BAD, "control character 0x7F"},
        {"raw NUL", "[\"a\0b\"]", 7, 0, BAD, "control character 0x00"},
        {"bad escape", "[\"\\x41\"]", 0, 0, BAD, "invalid escape '\\x' in string"},
        {"bad escape byte", "[\"\\\xc3\xa9\"]", 0, 0, BAD, "invalid escape '\\?'"},
        {"short unicode escape", "[\"\\u12\"]", 0, 0, BAD, "invalid \\u escape"},
        {"non-hex unicode escape", "[\"\\u12g4\"]", 0, 0, BAD, "invalid \\u escape"},
        {"lone high surrogate", "[\"\\ud800\"]", 0, 0, BAD, "lone surrogate \\uD800"},
        {"lone high surrogate at the end", "[\"\\ud800", 0, 0, BAD, "lone surrogate \\uD800"},
        {"lone low surrogate", "[\"\\udc00\"]", 0, 0, BAD, "lone surrogate \\uDC00"},
        {"reversed pair", "[\"\\udf0a\\ud83c\"]", 0, 0, BAD, "lone surrogate \\uDF0A"},
        {"high then non-surrogate", "[\"\\ud83c\\u0041\"]", 0, 0, BAD, "lone surrogate"},
        {"high then raw text", "[\"\\ud83cab\"]", 0, 0, BAD, "lone surrogate"},
        {"escaped noncharacter U+FFFE", "[\"\\ufffe\"]", 0, 0, BAD, "noncharacter U+FFFE"},
        {"escaped noncharacter U+FDD0", "[\"\\uFDD0\"]", 0, 0, BAD, "noncharacter U+FDD0"},
        {"escaped noncharacter U+1FFFF", "[\"\\ud83f\\udfff\"]", 0, 0, BAD,
         "noncharacter U+1FFFF"},
        {"raw noncharacter U+FFFF", "[\"\xef\xbf\xbf\"]", 0, 0, BAD, "noncharacter U+FFFF"},
        {"invalid byte 0xFF", "[\"\xff\"]", 0, 0, BAD, "invalid UTF-8 (byte 0xF5..0xFF"},
        {"invalid byte 0xC0", "[\"\xc0\xaf\"]", 0, 0, BAD, "invalid UTF-8 (overlong encoding)"},
        {"latin-1 byte", "{\"a\":\"caf\xe9\"}", 0, 0, BAD,
         "byte 9 at a: invalid UTF-8 (truncated sequence)"},
        {"overlong 3 bytes", "[\"\xe0\x80\xaf\"]", 0, 0, BAD, "overlong encoding"},
        {"overlong 4 bytes", "[\"\xf0\x80\x80\xaf\"]", 0, 0, BAD, "overlong encoding"},
        {"UTF-8 surrogate", "[\"\xed\xa0\x80\"]", 0, 0, BAD, "invalid UTF-8 (surrogate)"},
        {"above U+10FFFF", "[\"\xf4\x90\x80\x80\"]", 0, 0, BAD, "above U+10FFFF"},
        {"truncated sequence at the end", "[\"\xe2\x82", 0, 0, BAD, "truncated sequence"},
        {"lone continuation byte", "[\"\x80\"]", 0, 0, BAD, "unexpected continuation byte"},
        {"control character in a key", "{\"a\\u0001\":1}", 0, 0, BAD,
         "byte 3: control character U+0001"},
    };

    run(rows, sizeof(rows) / sizeof(rows[0]));
}

static void test_structure_depth_duplicates(void)
{
    static const struct row rows[] = {
        {"depth 3 of 3", "{\"a\":[[1]]}", 0, 3, OK, NULL},
        {"depth 4 of 3", "{\"a\":[[[1]]]}", 0, 3, BAD,
         "byte 7 at a[0][0]: nesting deeper than 3 levels"},
        {"depth 5 of 5", "{\"a\":[{\"b\":[[1]]}]}", 0, 5, OK, NULL},
        {"depth 6 of 5", "{\"a\":[{\"b\":[[[1]]]}]}", 0, 5, BAD, "nesting deeper than 5 levels"},
        {"depth 1 of 1", "{\"a\":1}", 0, 1, OK, NULL},
        {"depth 2 of 1", "[[]]", 0, 1, BAD, "byte 1 at [0]: nesting deeper than 1 levels"},
        {"duplicate member", "{\"a\":1,\"a\":2}", 0, 0, BAD, "duplicate member name 'a'"},
        {"duplicate after escapes", "{\"a\":1,\"\\u0061\":2}", 0, 0, BAD,
         "duplicate member name 'a'"},
        {"duplicate nested", "{\"x\":[{\"b\":1,\"c\":2,\"b\":3}]}", 0, 0, BAD,
         "x[0]: duplicate member name 'b'"},
        {"same name in different objects", "{\"a\":{\"a\":1},\"b\":{\"a\":1}}", 0, 0, OK, NULL},
        {"names differing in case", "{\"a\":1,\"A\":2}", 0, 0, OK, NULL},
        {"member path in errors", "{\"acks\":[{\"ranges\":[[1,0x]]}]}", 0, 5, BAD,
         "at acks[0].ranges[0][1]: ',' or ']' expected after item"},
    };

    run(rows, sizeof(rows) / sizeof(rows[0]));
}

static void test_deep_nesting_is_refused_early(void)
{
    char *buf = malloc(20000);
    char err[MSG_ERRLEN] = "";
    cJSON *doc = NULL;

    if (!TEST_CHECK(buf != NULL)) {
        return;
    }
    memset(buf, '[', 10000);
    memset(buf + 10000, ']', 10000);
    TEST_CHECK(msg_json_parse(buf, 20000, 65536, 3, &doc, err, sizeof(err)) == MSG_ERR_JSON);
    TEST_CHECK(strstr(err, "byte 3 at [0][0][0]: nesting deeper than 3 levels") != NULL);
    TEST_MSG("%s", err);
    TEST_CHECK(doc == NULL);
    /* even the largest depth accepted stays far below cJSON's own limit */
    TEST_CHECK(msg_json_parse(buf, 20000, 65536, MSG_JSON_DEPTH_MAX, &doc, err, sizeof(err)) ==
               MSG_ERR_JSON);
    TEST_CHECK(msg_json_parse(buf, 20000, 65536, MSG_JSON_DEPTH_MAX + 1, &doc, err,
                              sizeof(err)) == MSG_ERR_INVAL);
    TEST_CHECK(msg_json_parse(buf, 20000, 65536, 0, &doc, err, sizeof(err)) == MSG_ERR_INVAL);
    free(buf);
}

static void test_size_limit(void)
{
    char *buf = malloc(8194);
    char err[MSG_ERRLEN] = "";
    cJSON *doc = NULL;

    if (!TEST_CHECK(buf != NULL)) {
        return;
    }
    memset(buf, ' ', 8193);
    memcpy(buf, "{}", 2);
    TEST_CHECK(msg_json_parse(buf, 8192, 8192, 3, &doc, err, sizeof(err)) == MSG_OK);
    cJSON_Delete(doc);
    TEST_CHECK(msg_json_parse(buf, 8193, 8192, 3, &doc, err, sizeof(err)) == MSG_ERR_JSON);
    TEST_CHECK(strcmp(err, "payload of 8193 bytes exceeds 8192") == 0);
    TEST_MSG("%s", err);
    TEST_CHECK(doc == NULL);
    free(buf);
}

static void test_values_reach_cjson_intact(void)
{
    const char *in = "{\"s\":\"caf\\u00e9 \\ud83c\\udf0a \\\"q\\\" \\/\",\"n\":-0.0,"
                     "\"i\":9007199254740991,\"e\":6.5e2,\"t\":true,\"z\":null}";
    char err[MSG_ERRLEN] = "";
    cJSON *doc = NULL;
    const cJSON *it;

    if (!TEST_CHECK(msg_json_parse(in, strlen(in), 8192, 3, &doc, err, sizeof(err)) == MSG_OK)) {
        TEST_MSG("%s", err);
        return;
    }
    it = cJSON_GetObjectItemCaseSensitive(doc, "s");
    TEST_CHECK(cJSON_IsString(it) &&
               strcmp(it->valuestring, "caf\xc3\xa9 \xf0\x9f\x8c\x8a \"q\" /") == 0);
    it = cJSON_GetObjectItemCaseSensitive(doc, "n");
    TEST_CHECK(cJSON_IsNumber(it) && it->valuedouble == 0);
    it = cJSON_GetObjectItemCaseSensitive(doc, "i");
    TEST_CHECK(cJSON_IsNumber(it) && it->valuedouble == 9007199254740991.0);
    it = cJSON_GetObjectItemCaseSensitive(doc, "e");
    TEST_CHECK(cJSON_IsNumber(it) && it->valuedouble == 650);
    TEST_CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "t")));
    TEST_CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "z")));
    TEST_CHECK(strcmp(msg_json_type_name(cJSON_GetObjectItemCaseSensitive(doc, "z")), "null") ==
               0);
    TEST_CHECK(strcmp(msg_json_type_name(doc), "object") == 0);
    TEST_CHECK(strcmp(msg_json_type_name(NULL), "nothing") == 0);
    cJSON_Delete(doc);
}

/* Objects of more than 16 members are checked by sorting their names. */
static void test_duplicates_in_large_objects(void)
{
    char buf[8192];
    char err[MSG_ERRLEN] = "";
    cJSON *doc = NULL;
    size_t o = 0;

    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{");
    for (int i = 0; i < 500; i++) {
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"k%03d\":%d", i ? "," : "", i, i);
    }
    snprintf(buf + o, sizeof(buf) - o, "}");
    TEST_CHECK(msg_json_parse(buf, strlen(buf), 8192, 3, &doc, err, sizeof(err)) == MSG_OK);
    TEST_MSG("%s", err);
    cJSON_Delete(doc);
    doc = NULL;
    snprintf(buf + o, sizeof(buf) - o, ",\"k250\":1}");
    TEST_CHECK(msg_json_parse(buf, strlen(buf), 8192, 3, &doc, err, sizeof(err)) == MSG_ERR_JSON);
    TEST_CHECK(strstr(err, "duplicate member name 'k250'") != NULL);
    TEST_MSG("%s", err);
    TEST_CHECK(doc == NULL);
}

static void test_error_texts_are_safe(void)
{
    /* a member name full of bytes that must not reach a log line raw */
    const char *in = "{\"\xc3\xa9\\\"\\u00e9 very long member name that goes on and on and on\":"
                     "0x}";
    char err[MSG_ERRLEN] = "";
    cJSON *doc = NULL;

    TEST_CHECK(msg_json_parse(in, strlen(in), 8192, 3, &doc, err, sizeof(err)) == MSG_ERR_JSON);
    for (const char *c = err; *c != '\0'; c++) {
        TEST_CHECK(*c >= 0x20 && *c < 0x7f);
    }
    TEST_CHECK(strstr(err, "\\xc3\\xa9") != NULL);
    TEST_MSG("%s", err);
    /* err smaller than the message: cut, still NUL-terminated */
    TEST_CHECK(msg_json_parse(in, strlen(in), 8192, 3, &doc, err, 8) == MSG_ERR_JSON);
    TEST_CHECK(strlen(err) == 7);
}

/* Numbers read by the doc's exact short path (and by strtod beyond it) equal cJSON's to the
 * bit: spellings at the edges of the short path, then random ones. */
static void test_doc_numbers_equal_cjson(void)
{
    static const char *const nums[] = {
        "0", "-0", "0.0", "-0.0", "0e0", "-0e-0", "1", "-1", "9007199254740992",
        "9007199254740993", "-9007199254740993", "18446744073709551615", "1e22", "1e23",
        "1e-22", "1e-23", "9007199254740991e22", "9007199254740991e-22", "4.5", "0.1", "0.3",
        "2.2250738585072014e-308", "4.9e-324", "1.7976931348623157e308", "123456789012345678",
        "0.000000000000000000000000001", "412.5", "637.50", "12.61", "1E+2", "1e-0", "5e-1",
        "2147483647", "2147483648", "-2147483648", "-2147483649", "1e0000000000000000000005",
        "0.12345678901234567890123456789", "3.0000000000000004", "86400123"};
    char buf[128];
    unsigned seed = 12345;

    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        snprintf(buf, sizeof(buf), "[%s]", nums[i]);
        check_doc(nums[i], buf, strlen(buf), 8192, 3);
    }
    for (int i = 0; i < 20000; i++) {
        int w;

        seed = seed * 1103515245u + 12345u;
        w = snprintf(buf, sizeof(buf), "{\"n\":%s%u", (seed >> 8) & 1 ? "-" : "",
                     (seed >> 9) % 100000u);
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 7) & 1) {
            w += snprintf(buf + w, sizeof(buf) - (size_t)w, ".%0*u", (int)((seed >> 3) % 12 + 1),
                          (seed >> 10) % 1000000u);
        }
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 6) & 1) {
            w += snprintf(buf + w, sizeof(buf) - (size_t)w, "e%d", (int)((seed >> 8) % 61) - 30);
        }
        snprintf(buf + w, sizeof(buf) - (size_t)w, "}");
        check_doc(buf, buf, strlen(buf), 8192, 3);
    }
}

/* Past MSG_JSON_DOC_NODES values, or MSG_JSON_DOC_TEXT bytes of text, cJSON builds the tree. */
static void test_doc_falls_back_to_cjson_when_large(void)
{
    static char buf[20000];
    static struct msg_json_doc doc;
    char err[MSG_ERRLEN] = "";
    size_t o = 0;

    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "[");
    for (int i = 0; i < MSG_JSON_DOC_NODES; i++) {
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s[%d,\"a\\u00e9\"]", i ? "," : "", i);
    }
    snprintf(buf + o, sizeof(buf) - o, "]");
    check_doc("many nodes", buf, strlen(buf), sizeof(buf), 3);
    TEST_CHECK(msg_json_doc_parse(&doc, buf, strlen(buf), sizeof(buf), 3, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(doc.heap != NULL && doc.root == doc.heap);
    msg_json_doc_release(&doc);
    msg_json_doc_release(&doc);   /* twice is harmless */
    /* a duplicate found by the walk over cJSON's tree, deep inside */
    snprintf(buf + o, sizeof(buf) - o, ",{\"k\":1,\"k\":2}]");
    check_doc("many nodes, duplicate", buf, strlen(buf), sizeof(buf), 3);
    /* one long string: more text than the doc holds */
    buf[0] = '"';
    memset(buf + 1, 'x', 9000);
    buf[9001] = '"';
    check_doc("long string", buf, 9002, sizeof(buf), 3);
    TEST_CHECK(msg_json_doc_parse(&doc, buf, 9002, sizeof(buf), 3, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(doc.heap != NULL && strlen(doc.root->valuestring) == 9000);
    msg_json_doc_release(&doc);
    /* exactly as many nodes as the doc holds: in place */
    o = 0;
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "[");
    for (int i = 1; i < MSG_JSON_DOC_NODES; i++) {
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%d", i > 1 ? "," : "", i);
    }
    snprintf(buf + o, sizeof(buf) - o, "]");
    check_doc("full doc", buf, strlen(buf), sizeof(buf), 3);
    TEST_CHECK(msg_json_doc_parse(&doc, buf, strlen(buf), sizeof(buf), 3, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(doc.heap == NULL && doc.nodes_used == MSG_JSON_DOC_NODES);
    msg_json_doc_release(&doc);
}

/* The doc's lexer flags duplicates and non-finite numbers as it builds, and the walk then
 * names the first in its order: same code and err as over cJSON's tree. */
static void test_doc_finds_what_the_walk_finds(void)
{
    static const char *const docs[] = {
        "{\"a\":1,\"\\u0061\":2}",
        "{\"\\u00e9\":1,\"\xc3\xa9\":2}",
        "{\"ab\":1,\"ba\":2,\"a\":3}",
        "{\"x\":[1e309,{\"k\":1,\"k\":2}]}",
        "{\"x\":[{\"k\":1,\"k\":2},1e309]}",
        "{\"x\":{\"b\":1,\"b\":2},\"a\":{\"c\":1,\"c\":1},\"x\":0}",
        "[{\"\":1,\"\":2}]",
        "[-1e309]",
        "[9e308,1]",
        "{\"a\":{\"a\":{\"a\":1}}}",
        "{\"s\":\"a\",\"t\":\"a\",\"u\":\"a\"}",
    };
    char buf[4096];
    size_t o = 0;

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        check_doc(docs[i], docs[i], strlen(docs[i]), 8192, 3);
    }
    /* more than 16 members: the walk sorts, and names the smallest duplicated name */
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{");
    for (int i = 40; i > 0; i--) {
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\"k%02d\":%d,", i % 30, i);
    }
    snprintf(buf + o, sizeof(buf) - o, "\"z\":0}");
    check_doc("40 members", buf, strlen(buf), 8192, 3);
}

TEST_LIST = {
    {"grammar", test_grammar},
    {"numbers", test_numbers},
    {"strings", test_strings},
    {"structure_depth_duplicates", test_structure_depth_duplicates},
    {"deep_nesting_10000_is_refused_early", test_deep_nesting_is_refused_early},
    {"size_limit_8192", test_size_limit},
    {"values_reach_cjson_intact", test_values_reach_cjson_intact},
    {"duplicates_in_large_objects", test_duplicates_in_large_objects},
    {"error_texts_are_safe", test_error_texts_are_safe},
    {"doc_numbers_equal_cjson", test_doc_numbers_equal_cjson},
    {"doc_falls_back_to_cjson_when_large", test_doc_falls_back_to_cjson_when_large},
    {"doc_finds_what_the_walk_finds", test_doc_finds_what_the_walk_finds},
    {NULL, NULL},
};
