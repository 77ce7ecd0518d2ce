/* redrive_tally.c -- a redrive's counts and grouped refusals: see redrive_tally.h. */
#include "redrive_tally.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

void redrive_tally_refused(struct redrive_tally *t, const char *category, const char *detail)
{
    struct redrive_tally_group *g = NULL;

    if (category == NULL || category[0] == '\0') {
        category = "schema";
    }
    t->refused++;
    for (size_t i = 0; i < t->n_groups; i++) {
        if (strncmp(t->groups[i].category, category, REDRIVE_TALLY_CATEGORY_MAX) == 0) {
            g = &t->groups[i];
            break;
        }
    }
    if (g == NULL && t->n_groups < REDRIVE_TALLY_GROUPS) {
        g = &t->groups[t->n_groups++];
        snprintf(g->category, sizeof(g->category), "%s", category);
        snprintf(g->example, sizeof(g->example), "%s", detail != NULL ? detail : "");
    }
    if (g == NULL) {
        g = &t->groups[REDRIVE_TALLY_GROUPS - 1]; /* cannot happen with schema/010's set */
    }
    g->count++;
}

int redrive_tally_json(const struct redrive_tally *t, char *out, size_t outlen)
{
    cJSON *arr = cJSON_CreateArray();
    int rc = MSG_ERR_NOMEM;

    if (arr == NULL) {
        goto out;
    }
    for (size_t i = 0; i < t->n_groups; i++) {
        cJSON *o = cJSON_CreateObject();

        if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
            cJSON_AddStringToObject(o, "category", t->groups[i].category) == NULL ||
            cJSON_AddNumberToObject(o, "count", (double)t->groups[i].count) == NULL ||
            cJSON_AddStringToObject(o, "example", t->groups[i].example) == NULL) {
            goto out;
        }
    }
    rc = cJSON_PrintPreallocated(arr, out, (int)(outlen > 16 ? outlen - 5 : 0), false)
             ? MSG_OK
             : MSG_ERR_FULL;
out:
    if (rc != MSG_OK && outlen > 0) {
        out[0] = '\0';
    }
    cJSON_Delete(arr);
    return rc;
}
