/* tinytest.h -- a minimal table-friendly unit test harness for tests/unit (the shape of
 * fluent-bit's acutest: TEST_CHECK / TEST_MSG / TEST_LIST).
 *
 *   static void test_x(void) { TEST_CHECK(1 + 1 == 2); TEST_MSG("case %s", name); }
 *   TEST_LIST = { {"x", test_x}, {NULL, NULL} };
 *
 * Include it in exactly one .c per executable: it defines main(). `./test_foo` runs every
 * test; `./test_foo NAME...` runs the named ones. The exit status is 0 when every check held.
 *
 * A test file that needs a fixture (a temporary folder, say) defines, before the #include,
 * TEST_INIT and/or TEST_FINI as a statement (as acutest does): TEST_INIT runs before each test,
 * TEST_FINI after it, e.g. `#define TEST_INIT make_dir()`.
 * Not for: anything outside tests (it keeps its counters in file-scope statics). */
#ifndef TINYTEST_H
#define TINYTEST_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct tt_test {
    const char *name;
    void (*fn)(void);
};

extern const struct tt_test tt_tests[];

static int tt_failures;    /* checks that failed in the whole run */
static int tt_checks;      /* checks run */
static int tt_last_ok = 1; /* whether the last TEST_CHECK held (for TEST_MSG) */
static const char *tt_current;

#define TEST_LIST const struct tt_test tt_tests[]

/* Evaluates cond once; returns whether it held, so a test can stop on a failed precondition. */
#define TEST_CHECK(cond) tt_check((cond) ? 1 : 0, #cond, __FILE__, __LINE__)

/* Explains the last failed check (printed only if it failed). */
#define TEST_MSG(...) tt_msg(__VA_ARGS__)

static int tt_check(int ok, const char *expr, const char *file, int line)
{
    tt_checks++;
    tt_last_ok = ok;
    if (!ok) {
        tt_failures++;
        fprintf(stderr, "%s:%d: %s: check failed: %s\n", file, line, tt_current, expr);
    }
    return ok;
}

__attribute__((format(printf, 1, 2), unused)) static void tt_msg(const char *fmt, ...)
{
    va_list ap;

    if (tt_last_ok) {
        return;
    }
    fputs("    ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int tt_selected(int argc, char **argv, const char *name)
{
    if (argc < 2) {
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int run = 0;

    for (const struct tt_test *t = tt_tests; t->name != NULL; t++) {
        int before = tt_failures;

        if (!tt_selected(argc, argv, t->name)) {
            continue;
        }
        tt_current = t->name;
#ifdef TEST_INIT
        TEST_INIT;
#endif
        t->fn();
#ifdef TEST_FINI
        TEST_FINI;
#endif
        run++;
        printf("%s %s\n", tt_failures == before ? "ok  " : "FAIL", t->name);
    }
    printf("%d tests, %d checks, %d failed\n", run, tt_checks, tt_failures);
    return tt_failures == 0 && run > 0 ? 0 : 1;
}

#endif
