/* webhook.c -- one HTTP POST per delivery: see webhook.h. */
#include "webhook.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct webhook {
    CURL *curl;
    char *url;
    char *secret;
    long long timeout_ms;
    long long connect_timeout_ms;
};

/* The answer's body is not ours to keep: read and dropped. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

struct webhook *webhook_new(const char *url, const char *secret, long long timeout_ms,
                            long long connect_timeout_ms, char *err, size_t errlen)
{
    struct webhook *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        snprintf(err, errlen, "webhook: out of memory");
        goto fail;
    }
    w->url = strdup(url);
    w->secret = strdup(secret);
    w->curl = curl_easy_init();
    if (w->url == NULL || w->secret == NULL || w->curl == NULL) {
        snprintf(err, errlen, "webhook: cannot set up libcurl for %s", url);
        goto fail;
    }
    w->timeout_ms = timeout_ms;
    w->connect_timeout_ms = connect_timeout_ms;
    return w;
fail:
    webhook_free(w);
    return NULL;
}

void webhook_free(struct webhook *w)
{
    if (w == NULL) {
        return;
    }
    if (w->curl != NULL) {
        curl_easy_cleanup(w->curl);
    }
    if (w->secret != NULL) {
        memset(w->secret, 0, strlen(w->secret));
    }
    free(w->secret);
    free(w->url);
    free(w);
}

void webhook_signature(const char *secret, const char *body, size_t len, char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    static const char hex[] = "0123456789abcdef";

    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac, &maclen);
    for (unsigned int i = 0; i < maclen && i < 32; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 0x0f];
    }
    out[64] = '\0';
}

int webhook_post(struct webhook *w, const char *key, const char *body, size_t len, char *err,
                 size_t errlen)
{
    struct curl_slist *headers = NULL;
    struct curl_slist *next = NULL;
    char line[512];
    char sig[65];
    char curl_err[CURL_ERROR_SIZE] = "";
    long status = 0;
    CURLcode cc;
    int rc = MSG_ERR_IO;

    headers = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(line, sizeof(line), "Idempotency-Key: %s", key);
    next = headers != NULL ? curl_slist_append(headers, line) : NULL;
    if (next == NULL) {
        snprintf(err, errlen, "webhook: out of memory");
        rc = MSG_ERR_NOMEM;
        goto out;
    }
    headers = next;
    if (w->secret[0] != '\0') {
        webhook_signature(w->secret, body, len, sig);
        snprintf(line, sizeof(line), "X-Pantau-Signature: sha256=%s", sig);
        next = curl_slist_append(headers, line);
        if (next == NULL) {
            snprintf(err, errlen, "webhook: out of memory");
            rc = MSG_ERR_NOMEM;
            goto out;
        }
        headers = next;
    }
    curl_easy_reset(w->curl);
    curl_easy_setopt(w->curl, CURLOPT_URL, w->url);
    curl_easy_setopt(w->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)w->connect_timeout_ms);
    curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(w->curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(w->curl, CURLOPT_USERAGENT, "pantau-alertd");
    cc = curl_easy_perform(w->curl);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "webhook: POST %s: %s", key,
                 curl_err[0] != '\0' ? curl_err : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        snprintf(err, errlen, "webhook: POST %s: HTTP status %ld", key, status);
        goto out;
    }
    rc = MSG_OK;
out:
    curl_slist_free_all(headers);
    return rc;
}
