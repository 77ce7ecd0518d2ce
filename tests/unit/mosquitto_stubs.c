/* mosquitto_stubs.c -- the broker functions pantau_broker.so calls, stubbed for unit tests (as
 * mosquitto's own test/unit/stubs.c stubs its internals), with a record of what the plugin did.
 *
 * A test builds a struct mosquitto with stub_client_new (its id and username), calls the
 * callbacks a module registered (stub_callback) with a hand-built event, and checks what was
 * logged, published and kicked. Shared by the unit tests of devauth, devacl and payval: add
 * stubs here, keep them in the order of mosquitto_broker.h.
 *
 * Not for: anything but tests (its state is file-scope: one test program, one thread). */
#include "mosquitto_stubs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mosquitto {
    char id[256];
    char username[256];
    bool has_id;
    bool has_username;
    bool session_kept; /* connected with Clean Start 0 (stub_client_keep_session) */
};

struct stub_state stub;

struct mosquitto *stub_client_new(const char *id, const char *username)
{
    struct mosquitto *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        abort();
    }
    if (id != NULL) {
        snprintf(c->id, sizeof(c->id), "%s", id);
        c->has_id = true;
    }
    if (username != NULL) {
        snprintf(c->username, sizeof(c->username), "%s", username);
        c->has_username = true;
    }
    return c;
}

void stub_client_keep_session(struct mosquitto *c)
{
    c->session_kept = true;
}

void stub_client_free(struct mosquitto *c)
{
    free(c);
}

void stub_reset(void)
{
    memset(&stub, 0, sizeof(stub));
}

MOSQ_FUNC_generic_callback stub_callback(int event, void **userdata)
{
    int i;

    for (i = 0; i < stub.n_callbacks; i++) {
        if (stub.callbacks[i].event == event && stub.callbacks[i].cb != NULL) {
            *userdata = stub.callbacks[i].userdata;
            return stub.callbacks[i].cb;
        }
    }
    *userdata = NULL;
    return NULL;
}

bool stub_logged(const char *needle)
{
    int i;

    for (i = 0; i < stub.n_logs && i < STUB_LOGS; i++) {
        if (strstr(stub.logs[i], needle) != NULL) {
            return true;
        }
    }
    return false;
}

/* ---- the stubs ---- */

int mosquitto_callback_register(mosquitto_plugin_id_t *identifier, int event,
                                MOSQ_FUNC_generic_callback cb_func, const void *event_data,
                                void *userdata)
{
    (void)identifier;
    (void)event_data;
    if (stub.n_callbacks == STUB_CALLBACKS) {
        return MOSQ_ERR_NOMEM;
    }
    stub.callbacks[stub.n_callbacks].event = event;
    stub.callbacks[stub.n_callbacks].cb = cb_func;
    stub.callbacks[stub.n_callbacks].userdata = userdata;
    stub.n_callbacks++;
    return MOSQ_ERR_SUCCESS;
}

int mosquitto_callback_unregister(mosquitto_plugin_id_t *identifier, int event,
                                  MOSQ_FUNC_generic_callback cb_func, const void *event_data)
{
    int i;

    (void)identifier;
    (void)event_data;
    for (i = 0; i < stub.n_callbacks; i++) {
        if (stub.callbacks[i].event == event && stub.callbacks[i].cb == cb_func) {
            stub.callbacks[i].cb = NULL;
            return MOSQ_ERR_SUCCESS;
        }
    }
    return MOSQ_ERR_NOT_FOUND;
}

void *mosquitto_calloc(size_t nmemb, size_t size)
{
    return calloc(nmemb, size);
}

void mosquitto_free(void *mem)
{
    free(mem);
}

/* mosquitto_broker.h declares it without a format attribute, so the format is not a literal
 * here for the compiler; the callers' formats are checked where they are literals. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void mosquitto_log_printf(int level, const char *fmt, ...)
{
    va_list ap;
    char *line;

    (void)level;
    if (stub.n_logs < STUB_LOGS) {
        line = stub.logs[stub.n_logs];
        va_start(ap, fmt);
        vsnprintf(line, STUB_LOG_LEN, fmt, ap);
        va_end(ap);
        if (getenv("STUB_VERBOSE") != NULL) {
            fprintf(stderr, "log: %s\n", line);
        }
    }
    stub.n_logs++;
}
#pragma GCC diagnostic pop

const char *mosquitto_client_id(const struct mosquitto *client)
{
    return client != NULL && client->has_id ? client->id : NULL;
}

const char *mosquitto_client_username(const struct mosquitto *client)
{
    return client != NULL && client->has_username ? client->username : NULL;
}

bool mosquitto_client_clean_session(const struct mosquitto *client)
{
    return client == NULL || !client->session_kept;
}

int mosquitto_kick_client_by_username(const char *username, bool with_will)
{
    (void)with_will;
    if (stub.n_kicks < STUB_KICKS) {
        snprintf(stub.kicks[stub.n_kicks], sizeof(stub.kicks[0]), "%s", username);
    }
    stub.n_kicks++;
    return MOSQ_ERR_SUCCESS;
}

int mosquitto_broker_publish_copy(const char *clientid, const char *topic, int payloadlen,
                                  const void *payload, int qos, bool retain,
                                  mosquitto_property *properties)
{
    (void)clientid;
    (void)qos;
    (void)properties;
    snprintf(stub.last_topic, sizeof(stub.last_topic), "%s", topic);
    if (payloadlen < 0 || (size_t)payloadlen >= sizeof(stub.last_payload)) {
        return MOSQ_ERR_INVAL;
    }
    memcpy(stub.last_payload, payload, (size_t)payloadlen);
    stub.last_payload[payloadlen] = '\0';
    stub.last_retain = retain;
    stub.n_publishes++;
    return MOSQ_ERR_SUCCESS;
}

/* from libmosquitto (mosquitto.h), which the broker exports too */
const char *mosquitto_strerror(int mosq_errno)
{
    return mosq_errno == MOSQ_ERR_SUCCESS ? "No error." : "stubbed error";
}

const char *stub_payload_fixed(void)
{
    static char out[sizeof(stub.last_payload)];
    const char *p = stub.last_payload;
    size_t len = 0;

    while (*p != '\0' && len + 16 < sizeof(out)) {
        if (strncmp(p, "\"ts\":\"", 6) == 0 && strchr(p + 6, '"') != NULL) {
            memcpy(out + len, "\"ts\":\"TS\"", 9);
            len += 9;
            p = strchr(p + 6, '"') + 1;
            continue;
        }
        if (strncmp(p, "_ms\":", 5) == 0) {
            memcpy(out + len, "_ms\":0", 6);
            len += 6;
            p += 5;
            while (*p == '-' || (*p >= '0' && *p <= '9')) {
                p++;
            }
            continue;
        }
        out[len++] = *p++;
    }
    out[len] = '\0';
    return out;
}
