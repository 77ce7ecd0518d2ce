/* test_agent_report.c -- unit tests of edge-agent/agent_report.c's option parsing: an
 * inspection typed as options, larvae_found derived from the containers, and every refusal
 * naming the member (or, for bad usage, the option). */
#include <stdio.h>
#include <string.h>

#include "agent_report.h"
#include "msg_err.h"
#include "tinytest.h"

#define ARGS_MAX 32

/* Splits a line at spaces into argv (argv[0] "report"); '~' stands for a space in a value. */
static int parse(const char *line, struct agent_report_args *out, char *err, size_t errlen)
{
    static char buf[1024];
    char *argv[ARGS_MAX];
    int argc = 0;
    char *p = buf;

    snprintf(buf, sizeof(buf), "report %s", line);
    while (*p != '\0' && argc < ARGS_MAX - 1) {
        argv[argc++] = p;
        p += strcspn(p, " ");
        if (*p == ' ') {
            *p++ = '\0';
        }
    }
    argv[argc] = NULL;
    for (int i = 0; i < argc; i++) {
        for (char *q = argv[i]; *q != '\0'; q++) {
            if (*q == '~') {
                *q = ' ';
            }
        }
    }
    return agent_report_args_parse(argc, argv, out, err, errlen);
}

#define OK_BASE "-c a.conf --inspector jmt-0412 --building house --kelurahan 32.75.01.1002 " \
                "--rw 3 --rt 5"

static void test_options_make_an_inspection(void)
{
    struct agent_report_args a;
    char err[MSG_ERRLEN] = "";
    int rc = parse(OK_BASE " --address Jl.~Melati~No.~12 --lat -6.2416 --lon 107.0012 "
                   "--container bath_tub:indoor:1:1 --container bucket:outdoor:3:0 "
                   "--actions drain,cover --note sudah~dikuras", &a, err, sizeof(err));

    TEST_CHECK(rc == MSG_OK);
    TEST_MSG("err: %s", err);
    TEST_CHECK(strcmp(a.config, "a.conf") == 0 && a.json == NULL && !a.check);
    TEST_CHECK(strcmp(a.larva.inspector, "jmt-0412") == 0);
    TEST_CHECK(a.larva.building == MSG_BUILDING_HOUSE);
    TEST_CHECK(strcmp(a.larva.kelurahan, "32.75.01.1002") == 0);
    TEST_CHECK(a.larva.rw == 3 && a.larva.rt == 5);
    TEST_CHECK(strcmp(a.larva.address, "Jl. Melati No. 12") == 0);
    TEST_CHECK(a.larva.has_gps && a.larva.lat == -6.2416 && a.larva.lon == 107.0012);
    TEST_CHECK(a.larva.n_containers == 2);
    TEST_CHECK(a.larva.containers[0].type == MSG_CONTAINER_BATH_TUB);
    TEST_CHECK(a.larva.containers[1].inspected == 3);
    TEST_CHECK(a.larva.larvae_found);   /* derived: bath_tub has 1 positive */
    TEST_CHECK(a.larva.has_actions &&
               a.larva.actions == ((1u << MSG_ACTION_DRAIN) | (1u << MSG_ACTION_COVER)));
    TEST_CHECK(strcmp(a.larva.note, "sudah dikuras") == 0);

    rc = parse(OK_BASE " --container jar:indoor:2:0", &a, err, sizeof(err));
    TEST_CHECK(rc == MSG_OK && !a.larva.larvae_found && !a.larva.has_gps);
    rc = parse(OK_BASE, &a, err, sizeof(err));   /* no containers at all: valid, none found */
    TEST_CHECK(rc == MSG_OK && a.larva.n_containers == 0 && !a.larva.larvae_found);
}

struct bad_case {
    const char *line;
    int rc;
    const char *why;
};

static const struct bad_case bad_cases[] = {
    {OK_BASE " --rt 0", MSG_ERR_SCHEMA, "rt"},
    {OK_BASE " --rw x", MSG_ERR_SCHEMA, "rw: not an integer"},
    {"-c a.conf --inspector jmt-0412 --building house --kelurahan 32.75.01.1002 --rw 3",
     MSG_ERR_SCHEMA, "rt: missing (--rt)"},
    {"-c a.conf --building house --kelurahan 32.75.01.1002 --rw 3 --rt 5", MSG_ERR_SCHEMA,
     "inspector: missing"},
    {OK_BASE " --building hut", MSG_ERR_SCHEMA, "building"},
    {"-c a.conf --inspector jmt-0412 --building house --kelurahan 32.75.07.1001 --rw 3 --rt 5",
     MSG_ERR_SCHEMA, "kelurahan"},
    {OK_BASE " --lat -6.2", MSG_ERR_SCHEMA, "lon: missing"},
    {OK_BASE " --lat 0 --lon 0", MSG_ERR_SCHEMA, "lon"},
    {OK_BASE " --container jar:indoor:1:2", MSG_ERR_SCHEMA, "containers[0].positive"},
    {OK_BASE " --container jar:indoor:1:0 --container jar:indoor:2:0", MSG_ERR_SCHEMA,
     "containers"},
    {OK_BASE " --container pot:indoor:1:0", MSG_ERR_SCHEMA, "container 'pot:indoor:1:0'"},
    {OK_BASE " --actions drain,sweep", MSG_ERR_SCHEMA, "actions"},
    {OK_BASE " --note ", MSG_ERR_CONFIG, "--note"},
    {OK_BASE " --colour red", MSG_ERR_CONFIG, "--colour"},
    {OK_BASE " extra", MSG_ERR_CONFIG, "extra: unexpected"},
    {"--inspector jmt-0412 --building house --kelurahan 32.75.01.1002 --rw 3 --rt 5",
     MSG_ERR_CONFIG, "-c FILE"},
    {"-c a.conf", MSG_ERR_CONFIG, "no inspection"},
    {OK_BASE " --json x.json", MSG_ERR_CONFIG, "not both"},
};

static void test_refusals_name_the_member(void)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct agent_report_args a;
        char err[MSG_ERRLEN] = "";
        int rc = parse(bad_cases[i].line, &a, err, sizeof(err));

        TEST_CHECK(rc == bad_cases[i].rc);
        TEST_MSG("case %zu '%s': rc %d err '%s'", i, bad_cases[i].line, rc, err);
        TEST_CHECK(strstr(err, bad_cases[i].why) != NULL);
        TEST_MSG("case %zu: err '%s' lacks '%s'", i, err, bad_cases[i].why);
    }
}

static void test_json_help_check(void)
{
    struct agent_report_args a;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(parse("-c a.conf --json -", &a, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(strcmp(a.json, "-") == 0);
    TEST_CHECK(parse("-c a.conf --json in.json --check", &a, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(a.check && strcmp(a.json, "in.json") == 0);
    TEST_CHECK(parse("--help", &a, err, sizeof(err)) == MSG_OK && a.help);
    TEST_CHECK(parse("--version", &a, err, sizeof(err)) == MSG_OK && a.version);
}

TEST_LIST = {
    {"options_make_an_inspection", test_options_make_an_inspection},
    {"refusals_name_the_member", test_refusals_name_the_member},
    {"json_help_check", test_json_help_check},
    {NULL, NULL},
};
