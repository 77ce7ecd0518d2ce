/* msg_deadcat.h -- the categories of a dead letter: the closed set of
 * pantau_ops.dead_letter.category (schema/010_dead_letter_ops.sql's CHECK list, protocol.md 7.2),
 * one table for every program: the broker's payload plugin names the first five on
 * pantau/v1/_sys/rejected (msg_rejected.h), the collector files every dead letter under one,
 * and pantau-admin filters by them. test_msg_deadcat.c compares the table with the schema's list.
 *
 * Not for: the finer reason codes (dead_letter.reason), or deciding what is a dead letter. */
#ifndef MSG_DEADCAT_H
#define MSG_DEADCAT_H

/* The categories the broker names on a rejected message (protocol.md 7.2), in the wire's order:
 * X(ENUM_SUFFIX, "name"). */
#define MSG_DEADCAT_WIRE_LIST(X)                                                                \
    X(JSON, "json")         /* not I-JSON, larger than 8192 bytes or nested too deep */         \
    X(SCHEMA, "schema")     /* JSON that breaks the contract (sections 4, 5) */                 \
    X(TOPIC, "topic")       /* a topic outside section 3, or a stream the device may not use */ \
    X(STATION, "station")   /* a station not bound to the device at the reading's time */       \
    X(IDENTITY, "identity") /* an unknown or disabled device, or a topic of another device */

/* Every category: the wire's, then the collector's own. */
#define MSG_DEADCAT_LIST(X)                                                           \
    MSG_DEADCAT_WIRE_LIST(X)                                                          \
    X(CLASH, "clash") /* other content under a (device, store, seq) already stored */ \
    X(DB, "db")       /* a row the database itself refused */

#define MSG_DEADCAT_ENUM(id, name) MSG_DEADCAT_##id,
enum msg_deadcat {
    MSG_DEADCAT_LIST(MSG_DEADCAT_ENUM) MSG_DEADCAT_COUNT
};
#undef MSG_DEADCAT_ENUM

/* How many of the categories, from the first, the broker may name (MSG_DEADCAT_WIRE_LIST). */
#define MSG_DEADCAT_WIRE_COUNT (MSG_DEADCAT_IDENTITY + 1)

/* The name of category c ("json", ...; static), or NULL if c is not one. */
const char *msg_deadcat_name(int c);

/* The category named name (NUL-terminated, borrowed), or -1 if it is none. */
int msg_deadcat_find(const char *name);

#endif
