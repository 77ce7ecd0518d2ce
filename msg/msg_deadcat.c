/* msg_deadcat.c -- the names of the dead-letter categories; see msg_deadcat.h. */
#include "msg_deadcat.h"

#include <string.h>

#define NAME(id, name) name,
static const char *const names[MSG_DEADCAT_COUNT] = {MSG_DEADCAT_LIST(NAME)};
#undef NAME

const char *msg_deadcat_name(int c)
{
    if (c < 0 || c >= MSG_DEADCAT_COUNT) {
        return NULL;
    }
    return names[c];
}

int msg_deadcat_find(const char *name)
{
    for (int i = 0; i < MSG_DEADCAT_COUNT; i++) {
        if (strcmp(names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}
