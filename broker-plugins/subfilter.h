/* subfilter.h -- subscription filters as mosquitto 2.0 hands them to the ACL hook: whole,
 * `$share/<group>/` included (MQTT 5 shared subscriptions), so that devacl can judge the
 * filter itself and who may join which group.
 *
 * subfilter_within() answers "is every topic this filter can match also matched by that
 * pattern?" level by level, so that a device's `pantau/v1/+/ack` is not taken for its own
 * `pantau/v1/<id>/ack` and `#` is never taken for anything narrower. A plain topic is a filter
 * without wildcards, so the same function judges the topic of a READ check.
 *
 * Not for: publish topics of the protocol (msg_topic.h), deciding who may subscribe (devacl.c).
 * Pure: no I/O, no allocation. */
#ifndef SUBFILTER_H
#define SUBFILTER_H

#include <stdbool.h>
#include <stddef.h>

#define SUBFILTER_SHARE_PREFIX "$share/"

struct subfilter {
    bool shared;       /* it began with $share/<group>/ */
    const char *group; /* borrowed from the parsed text; NULL unless shared */
    size_t group_len;
    const char *filter; /* borrowed: the filter itself, after the share prefix */
};

/* Splits sub (borrowed, NUL-terminated) into *out, whose pointers borrow from sub. Checks the
 * filter's syntax (MQTT 3.1.1/5 section 4.7: '+' a whole level, '#' a whole last level, not
 * empty) and a share group (1 or more characters, no '+', '#' or '/'). Returns MSG_OK, or
 * MSG_ERR_INVAL with err saying what is wrong. */
int subfilter_parse(const char *sub, struct subfilter *out, char *err, size_t errlen);

/* Whether every topic that filter (borrowed, valid syntax, no share prefix) matches is also
 * matched by pattern (borrowed, same syntax). "a/+/c" is within "a/+/c" and "a/#", not within
 * "a/b/c"; "a" is within "a/#". */
bool subfilter_within(const char *filter, const char *pattern);

#endif
