/* test_msg_deadcat.c -- unit tests of msg/msg_deadcat.c: the table of dead-letter categories
 * equals the CHECK list of pantau_ops.dead_letter.category in schema/010_dead_letter_ops.sql
 * (same names, same order), names and values map both ways, and msg_rejected's wire categories
 * are its first ones. */
#include <stdio.h>
#include <string.h>

#include "msg_deadcat.h"
#include "msg_rejected.h"
#include "tinytest.h"

#ifndef PANTAU_DEADCAT_SQL
#error "PANTAU_DEADCAT_SQL names schema/010_dead_letter_ops.sql"
#endif

static void test_table_equals_the_schema_check(void)
{
    static const char anchor[] = "CHECK (category IN (";
    char sql[16384];
    FILE *f = fopen(PANTAU_DEADCAT_SQL, "r");
    size_t n = 0;
    const char *p = NULL;
    int c = 0;

    if (!TEST_CHECK(f != NULL)) {
        TEST_MSG("cannot open %s", PANTAU_DEADCAT_SQL);
        return;
    }
    n = fread(sql, 1, sizeof(sql) - 1, f);
    fclose(f);
    sql[n] = '\0';
    p = strstr(sql, anchor);
    if (!TEST_CHECK(p != NULL)) {
        return;
    }
    p += strlen(anchor);
    while (*p != ')' && *p != '\0') {
        const char *q = NULL;
        const char *name = msg_deadcat_name(c);

        p += strspn(p, " ,");
        if (*p != '\'') {
            break;
        }
        q = strchr(p + 1, '\'');
        if (!TEST_CHECK(q != NULL)) {
            return;
        }
        TEST_CHECK(name != NULL && strlen(name) == (size_t)(q - p - 1) &&
                   strncmp(name, p + 1, (size_t)(q - p - 1)) == 0);
        TEST_MSG("category %d: the schema says %.*s, the table %s", c, (int)(q - p - 1), p + 1,
                 name != NULL ? name : "(none)");
        c++;
        p = q + 1;
    }
    TEST_CHECK(c == MSG_DEADCAT_COUNT);
    TEST_MSG("the schema lists %d categories, the table %d", c, MSG_DEADCAT_COUNT);
}

static void test_names_and_values(void)
{
    for (int c = 0; c < MSG_DEADCAT_COUNT; c++) {
        TEST_CHECK(msg_deadcat_find(msg_deadcat_name(c)) == c);
    }
    TEST_CHECK(msg_deadcat_find("clash") == MSG_DEADCAT_CLASH);
    TEST_CHECK(strcmp(msg_deadcat_name(MSG_DEADCAT_DB), "db") == 0);
    TEST_CHECK(msg_deadcat_name(-1) == NULL);
    TEST_CHECK(msg_deadcat_name(MSG_DEADCAT_COUNT) == NULL);
    TEST_CHECK(msg_deadcat_find("rate") == -1);
    TEST_CHECK(msg_deadcat_find("") == -1);
}

static void test_wire_is_the_first_five(void)
{
    for (int c = 0; c < MSG_DEADCAT_COUNT; c++) {
        const char *w = msg_rejected_category_name(c);

        if (c < MSG_REJECTED_CATEGORY_COUNT) {
            TEST_CHECK(w != NULL && strcmp(w, msg_deadcat_name(c)) == 0);
            TEST_CHECK(msg_rejected_category_find(msg_deadcat_name(c)) == c);
        } else {
            TEST_CHECK(w == NULL); /* clash and db are the collector's own */
            TEST_CHECK(msg_rejected_category_find(msg_deadcat_name(c)) == -1);
        }
    }
    TEST_CHECK(MSG_REJECTED_CATEGORY_COUNT == 5);
}

TEST_LIST = {
    {"table_equals_the_schema_check", test_table_equals_the_schema_check},
    {"names_and_values", test_names_and_values},
    {"wire_is_the_first_five", test_wire_is_the_first_five},
    {NULL, NULL},
};
