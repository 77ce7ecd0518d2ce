/* test_msg_range.c -- unit tests of msg/msg_range.c: range sets of seqs (coalescing, fixed
 * capacity) and the list checks of protocol.md 9.5. */
#include <stdio.h>
#include <string.h>

#include "msg_range.h"
#include "tinytest.h"

/* r[0..n) as "[a,b][c,d]" for messages and comparisons. */
static const char *show(const struct msg_rangeset *rs)
{
    static char buf[512];
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < rs->n && o < sizeof(buf) - 48; i++) {
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "[%llu,%llu]",
                              (unsigned long long)rs->r[i].first,
                              (unsigned long long)rs->r[i].last);
    }
    return buf;
}

static void test_add_coalesces(void)
{
    static const struct {
        const char *name;
        uint64_t seqs[8];
        size_t n;
        const char *want;
    } rows[] = {
        {"one", {5}, 1, "[5,5]"},
        {"ascending run", {1, 2, 3, 4}, 4, "[1,4]"},
        {"descending run", {4, 3, 2, 1}, 4, "[1,4]"},
        {"gap", {1, 3}, 2, "[1,1][3,3]"},
        {"gap filled bridges", {1, 3, 2}, 3, "[1,3]"},
        {"duplicate seq", {7, 7, 7}, 3, "[7,7]"},
        {"out of order", {10, 1, 5, 3, 8}, 5, "[1,1][3,3][5,5][8,8][10,10]"},
        {"left neighbour", {5, 4}, 2, "[4,5]"},
        {"right neighbour", {4, 5}, 2, "[4,5]"},
        {"max seq", {MSG_SEQ_MAX, MSG_SEQ_MAX - 1}, 2, "[9007199254740990,9007199254740991]"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct msg_range store[16];
        struct msg_rangeset rs;

        msg_rangeset_init(&rs, store, 16);
        for (size_t k = 0; k < rows[i].n; k++) {
            TEST_CHECK(msg_rangeset_add(&rs, rows[i].seqs[k]) == MSG_OK);
        }
        TEST_CHECK(strcmp(show(&rs), rows[i].want) == 0);
        TEST_MSG("%s: %s, expected %s", rows[i].name, show(&rs), rows[i].want);
    }
}

static void test_add_range_merges(void)
{
    struct msg_range store[8];
    struct msg_rangeset rs;

    msg_rangeset_init(&rs, store, 8);
    TEST_CHECK(msg_rangeset_add_range(&rs, 10, 20) == MSG_OK);
    TEST_CHECK(msg_rangeset_add_range(&rs, 30, 40) == MSG_OK);
    TEST_CHECK(msg_rangeset_add_range(&rs, 50, 60) == MSG_OK);
    TEST_CHECK(strcmp(show(&rs), "[10,20][30,40][50,60]") == 0);
    TEST_CHECK(msg_rangeset_add_range(&rs, 15, 55) == MSG_OK);   /* swallows three */
    TEST_CHECK(strcmp(show(&rs), "[10,60]") == 0);
    TEST_MSG("%s", show(&rs));
    TEST_CHECK(msg_rangeset_add_range(&rs, 1, 9) == MSG_OK);     /* touches on the left */
    TEST_CHECK(msg_rangeset_add_range(&rs, 61, 70) == MSG_OK);   /* and on the right */
    TEST_CHECK(strcmp(show(&rs), "[1,70]") == 0);
    TEST_CHECK(msg_rangeset_add_range(&rs, 20, 30) == MSG_OK);   /* inside */
    TEST_CHECK(strcmp(show(&rs), "[1,70]") == 0);
    TEST_CHECK(msg_rangeset_count(&rs) == 70);
    TEST_CHECK(msg_rangeset_contains(&rs, 1) && msg_rangeset_contains(&rs, 70));
    TEST_CHECK(!msg_rangeset_contains(&rs, 71) && !msg_rangeset_contains(&rs, 0));
    msg_rangeset_clear(&rs);
    TEST_CHECK(rs.n == 0 && msg_rangeset_count(&rs) == 0 && !msg_rangeset_contains(&rs, 5));
}

static void test_full_and_invalid(void)
{
    struct msg_range store[2];
    struct msg_rangeset rs;

    msg_rangeset_init(&rs, store, 2);
    TEST_CHECK(msg_rangeset_add(&rs, 1) == MSG_OK);
    TEST_CHECK(msg_rangeset_add(&rs, 3) == MSG_OK);
    TEST_CHECK(!msg_rangeset_fits(&rs, 5, 5));
    TEST_CHECK(msg_rangeset_add(&rs, 5) == MSG_ERR_FULL);
    TEST_CHECK(strcmp(show(&rs), "[1,1][3,3]") == 0);   /* unchanged */
    /* what joins an existing range still fits when full */
    TEST_CHECK(msg_rangeset_fits(&rs, 2, 2));
    TEST_CHECK(msg_rangeset_add(&rs, 4) == MSG_OK);
    TEST_CHECK(msg_rangeset_add(&rs, 2) == MSG_OK);
    TEST_CHECK(strcmp(show(&rs), "[1,4]") == 0);
    TEST_CHECK(msg_rangeset_add(&rs, 0) == MSG_ERR_INVAL);
    TEST_CHECK(msg_rangeset_add(&rs, MSG_SEQ_MAX + 1) == MSG_ERR_INVAL);
    TEST_CHECK(msg_rangeset_add_range(&rs, 9, 8) == MSG_ERR_INVAL);
    TEST_CHECK(!msg_rangeset_fits(&rs, 0, 1));
    TEST_CHECK(strcmp(show(&rs), "[1,4]") == 0);
}

/* Random seqs against a bitmap: the set holds exactly what was added, in canonical form. */
static void test_random_against_bitmap(void)
{
    enum { N = 600 };
    static struct msg_range store[N];
    struct msg_rangeset rs;
    unsigned char bits[N + 2];
    uint32_t x = 12345;
    int bad = 0;

    for (int round = 0; round < 20; round++) {
        msg_rangeset_init(&rs, store, N);
        memset(bits, 0, sizeof(bits));
        for (int k = 0; k < 400; k++) {
            uint64_t a;
            uint64_t b;

            x = x * 1103515245u + 12345u;
            a = 1 + (x >> 8) % N;
            x = x * 1103515245u + 12345u;
            b = a + ((x >> 8) % 4 == 0 ? (x >> 12) % 7 : 0);
            if (b > N) {
                b = N;
            }
            if (msg_rangeset_add_range(&rs, a, b) != MSG_OK) {
                bad++;
            }
            for (uint64_t s = a; s <= b; s++) {
                bits[s] = 1;
            }
        }
        for (uint64_t s = 1; s <= N; s++) {
            bad += msg_rangeset_contains(&rs, s) != (bits[s] == 1);
        }
        for (size_t i = 0; i < rs.n; i++) {
            bad += rs.r[i].first > rs.r[i].last;
            bad += i > 0 && rs.r[i].first <= rs.r[i - 1].last + 1;   /* coalesced */
        }
        bad += msg_ranges_check(rs.r, rs.n, NULL) != MSG_OK;
    }
    TEST_CHECK(bad == 0);
    TEST_MSG("%d mismatches", bad);
}

static void test_ranges_check(void)
{
    static const struct {
        const char *name;
        struct msg_range r[3];
        size_t n;
        int rc;
        size_t bad;
    } rows[] = {
        {"empty", {{0, 0}}, 0, MSG_OK, 0},
        {"one", {{1, 1}}, 1, MSG_OK, 0},
        {"ascending", {{1, 5}, {7, 9}}, 2, MSG_OK, 0},
        {"adjacent", {{1, 5}, {6, 9}}, 2, MSG_OK, 0},
        {"first > last", {{1, 5}, {9, 7}}, 2, MSG_ERR_INVAL, 1},
        {"overlap", {{1, 5}, {5, 9}}, 2, MSG_ERR_INVAL, 1},
        {"descending", {{7, 9}, {1, 5}}, 2, MSG_ERR_INVAL, 1},
        {"zero", {{0, 5}}, 1, MSG_ERR_INVAL, 0},
        {"above 2^53-1", {{1, 2}, {3, MSG_SEQ_MAX + 1}}, 2, MSG_ERR_INVAL, 1},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t bad = 99;
        int rc = msg_ranges_check(rows[i].r, rows[i].n, &bad);

        TEST_CHECK(rc == rows[i].rc);
        TEST_MSG("%s", rows[i].name);
        if (rc != MSG_OK) {
            TEST_CHECK(bad == rows[i].bad);
            TEST_MSG("%s: bad %zu", rows[i].name, bad);
        }
    }
}

static void test_ranges_cover(void)
{
    static const struct msg_range r[] = {{1, 5}, {6, 9}, {20, 30}};

    TEST_CHECK(msg_ranges_cover(r, 3, 4, 7));     /* across adjacent ranges */
    TEST_CHECK(msg_ranges_cover(r, 3, 1, 9));
    TEST_CHECK(msg_ranges_cover(r, 3, 20, 30));
    TEST_CHECK(msg_ranges_cover(r, 3, 25, 25));
    TEST_CHECK(!msg_ranges_cover(r, 3, 9, 10));
    TEST_CHECK(!msg_ranges_cover(r, 3, 10, 19));
    TEST_CHECK(!msg_ranges_cover(r, 3, 29, 31));
    TEST_CHECK(!msg_ranges_cover(r, 3, 31, 31));
    TEST_CHECK(!msg_ranges_cover(r, 0, 1, 1));
    TEST_CHECK(msg_ranges_contains(r, 3, 6) && !msg_ranges_contains(r, 3, 10));
    TEST_CHECK(!msg_ranges_contains(r, 3, 0) && !msg_ranges_contains(r, 3, 31));
}

TEST_LIST = {
    {"add_coalesces", test_add_coalesces},
    {"add_range_merges", test_add_range_merges},
    {"full_and_invalid", test_full_and_invalid},
    {"random_against_bitmap", test_random_against_bitmap},
    {"ranges_check", test_ranges_check},
    {"ranges_cover", test_ranges_cover},
    {NULL, NULL},
};
