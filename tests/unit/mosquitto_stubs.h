/* mosquitto_stubs.h -- what tests/unit/mosquitto_stubs.c records, for the plugin's unit tests.
 * See that file. Not for: anything but tests. */
#ifndef MOSQUITTO_STUBS_H
#define MOSQUITTO_STUBS_H

#include <stdbool.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define STUB_CALLBACKS 32
#define STUB_LOGS 256
#define STUB_LOG_LEN 512
#define STUB_KICKS 64

struct stub_callback_rec {
    int event;
    MOSQ_FUNC_generic_callback cb;     /* NULL once unregistered */
    void *userdata;
};

struct stub_state {
    struct stub_callback_rec callbacks[STUB_CALLBACKS];
    int n_callbacks;
    char logs[STUB_LOGS][STUB_LOG_LEN];
    int n_logs;                        /* may exceed STUB_LOGS: only the first are kept */
    char kicks[STUB_KICKS][128];
    int n_kicks;
    char last_topic[256];
    char last_payload[20000];          /* room for a rejected message (16384 bytes) */
    bool last_retain;
    int n_publishes;
};

extern struct stub_state stub;

/* Clears the record (callbacks too). */
void stub_reset(void);

/* A client with this id and username (either may be NULL). Caller frees with
 * stub_client_free. */
struct mosquitto *stub_client_new(const char *id, const char *username);
void stub_client_free(struct mosquitto *c);

/* Makes c a client that connected with Clean Start 0 (mosquitto_client_clean_session false). */
void stub_client_keep_session(struct mosquitto *c);

/* The callback registered for event (its userdata in *userdata), or NULL. */
MOSQ_FUNC_generic_callback stub_callback(int event, void **userdata);

/* Whether a log line so far contains needle (borrowed). */
bool stub_logged(const char *needle);

/* The last payload published, with what changes from run to run made fixed: the value of every
 * member named "ts" becomes "TS", and the number of every member named "..._ms" becomes 0.
 * Static storage, overwritten by the next call. */
const char *stub_payload_fixed(void);

#endif
