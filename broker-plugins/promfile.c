/* promfile.c -- the plugin's Prometheus textfile and its writer thread: see promfile.h.
 *
 * Threads: the broker's thread fills the slots and reads the writer's news (under mu); the
 * writer thread owns out (the file's assembled text) and the writing. */
#include "promfile.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>

#include "msg_err.h"
#include "msg_file.h"

#define PROMFILE_ERR_MAX 300

struct promfile_slot {
    char module[32];
    char text[PROMFILE_TEXT_MAX];
    size_t len;
};

struct promfile {
    char path[512];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool started;
    /* under mu */
    struct promfile_slot slot[PROMFILE_MODULES];
    size_t n_slots;
    bool dirty;
    bool stop;
    bool failing;               /* the last write failed */
    bool news;                  /* failing changed: the broker's thread says so */
    char err[PROMFILE_ERR_MAX]; /* why the last write failed */
    /* the writer's own */
    char out[PROMFILE_MODULES * PROMFILE_TEXT_MAX];
};

static void *writer(void *arg)
{
    struct promfile *pf = arg;
    char err[PROMFILE_ERR_MAX];
    size_t len;
    int rc;

    pthread_mutex_lock(&pf->mu);
    for (;;) {
        while (!pf->dirty && !pf->stop) {
            pthread_cond_wait(&pf->cv, &pf->mu);
        }
        if (pf->stop) {
            break;
        }
        len = 0;
        for (size_t i = 0; i < pf->n_slots; i++) {
            memcpy(pf->out + len, pf->slot[i].text, pf->slot[i].len);
            len += pf->slot[i].len;
        }
        pf->dirty = false;
        pthread_mutex_unlock(&pf->mu);
        rc = msg_file_write_atomic(pf->path, pf->out, len, 0644, 0, err, sizeof(err));
        pthread_mutex_lock(&pf->mu);
        if ((rc != MSG_OK) != pf->failing) {
            pf->failing = rc != MSG_OK;
            pf->news = true;
            snprintf(pf->err, sizeof(pf->err), "%s", rc != MSG_OK ? err : "");
        }
    }
    pthread_mutex_unlock(&pf->mu);
    return NULL;
}

struct promfile *promfile_new(const char *path, char *err, size_t errlen)
{
    struct promfile *pf = NULL;
    size_t plen = strlen(path);

    if (plen < 6 || strcmp(path + plen - 5, ".prom") != 0) {
        snprintf(err, errlen, "metrics_textfile: '%s' is not a .prom file name", path);
        goto fail;
    }
    pf = calloc(1, sizeof(*pf));
    if (pf == NULL) {
        snprintf(err, errlen, "metrics_textfile: out of memory");
        goto fail;
    }
    if (snprintf(pf->path, sizeof(pf->path), "%s", path) >= (int)sizeof(pf->path)) {
        snprintf(err, errlen, "metrics_textfile: path too long");
        goto fail;
    }
    pthread_mutex_init(&pf->mu, NULL);
    pthread_cond_init(&pf->cv, NULL);
    if (pthread_create(&pf->thread, NULL, writer, pf) != 0) {
        snprintf(err, errlen, "metrics_textfile: cannot start its thread");
        pthread_cond_destroy(&pf->cv);
        pthread_mutex_destroy(&pf->mu);
        goto fail;
    }
    pf->started = true;
    return pf;
fail:
    free(pf);
    return NULL;
}

void promfile_put(struct promfile *pf, const char *module, const char *text, size_t len)
{
    char news[PROMFILE_ERR_MAX];
    bool have_news = false;
    bool failing = false;
    size_t i;

    if (pf == NULL) {
        return;
    }
    if (len > PROMFILE_TEXT_MAX) {
        mosquitto_log_printf(MOSQ_LOG_WARNING, "%s: metrics text of %zu bytes left out of %s",
                             module, len, pf->path);
        return;
    }
    pthread_mutex_lock(&pf->mu);
    i = 0;
    while (i < pf->n_slots && strcmp(pf->slot[i].module, module) != 0) {
        i++;
    }
    if (i == pf->n_slots && pf->n_slots < PROMFILE_MODULES) {
        snprintf(pf->slot[i].module, sizeof(pf->slot[i].module), "%s", module);
        pf->n_slots++;
    }
    if (i < pf->n_slots) {
        memcpy(pf->slot[i].text, text, len);
        pf->slot[i].len = len;
        pf->dirty = true;
        pthread_cond_signal(&pf->cv);
    }
    if (pf->news) {
        have_news = true;
        failing = pf->failing;
        snprintf(news, sizeof(news), "%s", pf->err);
        pf->news = false;
    }
    pthread_mutex_unlock(&pf->mu);
    if (i == PROMFILE_MODULES) {
        mosquitto_log_printf(MOSQ_LOG_WARNING, "%s: no room for its metrics in %s", module,
                             pf->path);
    }
    if (have_news && failing) {
        mosquitto_log_printf(MOSQ_LOG_WARNING, "pantau_broker: metrics_textfile: %s", news);
    } else if (have_news) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "pantau_broker: metrics_textfile %s written again",
                             pf->path);
    }
}

void promfile_free(struct promfile *pf)
{
    if (pf == NULL) {
        return;
    }
    if (pf->started) {
        pthread_mutex_lock(&pf->mu);
        pf->stop = true;
        pthread_cond_signal(&pf->cv);
        pthread_mutex_unlock(&pf->mu);
        pthread_join(pf->thread, NULL);
        pthread_cond_destroy(&pf->cv);
        pthread_mutex_destroy(&pf->mu);
    }
    free(pf);
}
