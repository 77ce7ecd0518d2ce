/* redrive_tally.c -- a redrive's counts and grouped refusals: see redrive_tally.h. */
#include "redrive_tally.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "msg_deadcat.h"

void redrive_tally_refused(struct redrive_tally *t, const char *category, const char *detail)
{
    struct redrive_tally_group *g = NULL;

    if (category == NULL || category[0] == '\0') {
        category = msg_deadcat_name(MSG_DEADCAT_SCHEMA);
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

int redrive_tally_load_json(struct redrive_tally *t, const char *json)
{
    struct redrive_tally copy = *t;
    cJSON *arr = cJSON_Parse(json);
    const cJSON *g = NULL;
    int rc = MSG_ERR_JSON;

    if (!cJSON_IsArray(arr)) {
        goto out;
    }
    cJSON_ArrayForEach(g, arr)
    {
        const cJSON *cat = cJSON_GetObjectItemCaseSensitive(g, "category");
        const cJSON *count = cJSON_GetObjectItemCaseSensitive(g, "count");
        const cJSON *example = cJSON_GetObjectItemCaseSensitive(g, "example");
        long before = copy.refused;

        if (!cJSON_IsString(cat) || !cJSON_IsNumber(count) || !cJSON_IsString(example) ||
            count->valuedouble < 1 || count->valuedouble > 1e12) {
            goto out;
        }
        redrive_tally_refused(&copy, cat->valuestring, example->valuestring);
        for (size_t i = 0; i < copy.n_groups; i++) {
            if (strncmp(copy.groups[i].category, cat->valuestring,
                        REDRIVE_TALLY_CATEGORY_MAX) == 0) {
                copy.groups[i].count += (long)count->valuedouble - 1;
                break;
            }
        }
        copy.refused = before; /* the totals come from the request's row */
    }
    *t = copy;
    rc = MSG_OK;
out:
    cJSON_Delete(arr);
    return rc;
}
