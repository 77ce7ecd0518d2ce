/* test_alertd_service_watch.c -- alertd/service_watch.c: the collectors' health as pantau-alertd
 * reports it for system_service_down (issue 11): a change is due once, a collector down is due
 * again every repeat interval, "db":"unknown" is no news, a bad message is refused. */
#include <stdio.h>
#include <string.h>

#include "service_watch.h"
#include "tinytest.h"

#define TOPIC "pantau/v1/_sys/health/collector-1"
#define HEALTH(state, db)                                                       \
    "{\"collector\":\"collector-1\",\"state\":\"" state "\",\"db\":\"" db "\"," \
    "\"ts\":\"2026-02-11T03:15:00.000Z\"}"

static int feed(struct service_watch *w, const char *topic, const char *payload, int64_t wall)
{
    char err[MSG_ERRLEN] = "";

    return service_watch_health(w, topic, payload, strlen(payload), wall, err, sizeof(err));
}

static void test_issue11_change_is_due_once_down_repeats(void)
{
    struct service_watch *w = service_watch_new(1000);
    struct service_report r[4];
    size_t n;

    TEST_CHECK(w != NULL);
    if (w == NULL) {
        return;
    }
    TEST_CHECK(service_watch_due(w, 0, r, 4) == 0);
    TEST_CHECK(feed(w, TOPIC, HEALTH("online", "up"), 5000) == MSG_OK);
    n = service_watch_due(w, 100, r, 4);
    TEST_CHECK(n == 1 && r[0].up && strcmp(r[0].collector, "collector-1") == 0);
    TEST_CHECK(n == 1 && r[0].seen_wall_ms == 5000 && r[0].why[0] == '\0');
    TEST_CHECK(service_watch_due(w, 100, r, 4) == 1); /* due until PostgreSQL took it */
    service_watch_done(w, &r[0], 100);
    TEST_CHECK(service_watch_due(w, 100000, r, 4) == 0); /* up: never repeated */
    /* the same state again (the 60 s heartbeat, a retained copy on reconnect): no news */
    TEST_CHECK(feed(w, TOPIC, HEALTH("online", "up"), 6000) == MSG_OK);
    TEST_CHECK(service_watch_due(w, 100000, r, 4) == 0);
    /* the last will: down, from the time it was seen */
    TEST_CHECK(feed(w, TOPIC, HEALTH("offline", "unknown"), 7000) == MSG_OK);
    n = service_watch_due(w, 200, r, 4);
    TEST_CHECK(n == 1 && !r[0].up && r[0].seen_wall_ms == 7000);
    TEST_CHECK(n == 1 && strcmp(r[0].why, "offline") == 0);
    service_watch_done(w, &r[0], 200);
    TEST_CHECK(service_watch_due(w, 1199, r, 4) == 0);
    n = service_watch_due(w, 1200, r, 4); /* down: again after the repeat interval */
    TEST_CHECK(n == 1 && !r[0].up && r[0].seen_wall_ms == 7000);
    service_watch_done(w, &r[0], 1200);
    /* back online but its database down: the same outage (its start kept), why updated */
    TEST_CHECK(feed(w, TOPIC, HEALTH("online", "down"), 8000) == MSG_OK);
    TEST_CHECK(service_watch_due(w, 1300, r, 4) == 0);
    n = service_watch_due(w, 2200, r, 4);
    TEST_CHECK(n == 1 && !r[0].up && r[0].seen_wall_ms == 7000);
    TEST_CHECK(n == 1 && strcmp(r[0].why, "database down") == 0);
    service_watch_done(w, &r[0], 2200);
    /* "unknown" while online (not tried yet) changes nothing */
    TEST_CHECK(feed(w, TOPIC, HEALTH("online", "unknown"), 9000) == MSG_OK);
    TEST_CHECK(service_watch_due(w, 2300, r, 4) == 0);
    /* up again: due at once */
    TEST_CHECK(feed(w, TOPIC, HEALTH("online", "up"), 10000) == MSG_OK);
    n = service_watch_due(w, 2300, r, 4);
    TEST_CHECK(n == 1 && r[0].up && r[0].seen_wall_ms == 10000);
    service_watch_free(w);
    service_watch_free(NULL);
}

static void test_issue11_change_during_a_report_stays_due(void)
{
    struct service_watch *w = service_watch_new(1000);
    struct service_report r[2];
    struct service_report taken;

    if (w == NULL) {
        TEST_CHECK(w != NULL);
        return;
    }
    TEST_CHECK(feed(w, TOPIC, HEALTH("offline", "unknown"), 1) == MSG_OK);
    TEST_CHECK(service_watch_due(w, 0, r, 2) == 1);
    taken = r[0];
    /* the collector came back while PostgreSQL was taking the down report */
    TEST_CHECK(feed(w, TOPIC, HEALTH("online", "up"), 2) == MSG_OK);
    service_watch_done(w, &taken, 0);
    TEST_CHECK(service_watch_due(w, 0, r, 2) == 1 && r[0].up);
    service_watch_free(w);
}

static void test_issue11_bad_messages_are_refused(void)
{
    struct service_watch *w = service_watch_new(1000);
    struct service_report r[2];

    if (w == NULL) {
        TEST_CHECK(w != NULL);
        return;
    }
    TEST_CHECK(feed(w, "pantau/v1/gw-1/status", HEALTH("offline", "up"), 1) != MSG_OK);
    TEST_CHECK(feed(w, TOPIC, "offline", 1) != MSG_OK);
    TEST_CHECK(feed(w, TOPIC, HEALTH("online", "maybe"), 1) != MSG_OK);
    /* the collector member must be the topic's */
    TEST_CHECK(feed(w, "pantau/v1/_sys/health/collector-2", HEALTH("offline", "up"), 1) != MSG_OK);
    TEST_CHECK(service_watch_due(w, 0, r, 2) == 0);
    service_watch_free(w);
}

TEST_LIST = {
    {"issue11_change_is_due_once_down_repeats", test_issue11_change_is_due_once_down_repeats},
    {"issue11_change_during_a_report_stays_due", test_issue11_change_during_a_report_stays_due},
    {"issue11_bad_messages_are_refused", test_issue11_bad_messages_are_refused},
    {NULL, NULL},
};
