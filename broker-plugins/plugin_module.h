/* plugin_module.h -- how the parts of pantau's mosquitto plugin plug into it.
 *
 * pantau_broker.so is one mosquitto 2.0 plugin (plugin.c: mosquitto_plugin_version,
 * mosquitto_plugin_init, mosquitto_plugin_cleanup) made of modules, each in its own file with
 * its own state and its own mosquitto callbacks:
 *
 *   devauth  (devauth.c)  MOSQ_EVT_BASIC_AUTH: username and password against regcache
 *   devacl   (devacl.c)   MOSQ_EVT_ACL_CHECK: who may publish, subscribe and read what
 *   payval   (payval.c)   MOSQ_EVT_MESSAGE: payload validation, station binding, rate limits,
 *                         refused messages passed on pantau/v1/_sys/rejected, counters
 *
 * plugin.c reads the plugin_opt_ lines, makes the one regcache (regcache.h), starts each
 * module in the order above with the options and the cache, and stops them in reverse order.
 * A module registers its own callbacks with mosquitto_callback_register(pid, ..., state) in
 * start and unregisters them in stop, so no module needs to know another's state.
 *
 * Options fail closed: each module declares its plugin_opt_<key> keys in a msg/conf.h table
 * (plugin.c its own), and reads them with plugin_opts_read, the one reader of plugin_opt_ lines;
 * an option that no table lists is an error that fails the plugin's init, and so does a
 * required one that is missing or a bad value, with the option named in the error
 * ("plugin_opt_stats_interval: 0 out of range 1..86400").
 *
 * Shared by the modules as well (defined in plugin.c): the registration of their callbacks
 * (plugin_callbacks_*), the log budget of one identity's refusals (plugin_log_*), passing a
 * device's refused message on within its budget (plugin_refusal_pass), the clocks
 * (msg_clock.h, included here), and how often a tick sweeps a module's msg_ratetable
 * (PLUGIN_SWEEP_*); in stats.h, the counters on $SYS/pantau/<module> and the tick's interval
 * gate.
 *
 * All callbacks run on the broker's thread; regcache lookups are valid there only. */
#ifndef PLUGIN_MODULE_H
#define PLUGIN_MODULE_H

#include <stddef.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "conf.h"
#include "promfile.h"
#include "msg_clock.h"
#include "msg_ratetable.h"
#include "refusal.h"
#include "regcache.h"

#define PLUGIN_SWEEP_SLOTS 1024   /* table slots a tick's sweep looks at ... */
#define PLUGIN_SWEEP_EVERY_MS 100 /* ... this often (mosquitto ticks on every loop) */

struct plugin_module {
    const char *name;
    /* The plugin_opt_<key> keys it reads (without the prefix), CONF_END-terminated. */
    const struct conf_key *options;
    /* Reads its options (borrowed: opts[0..n), keys already known to be valid somewhere) with
     * plugin_opts_read(options, ...), registers its callbacks, and sets *state (freed by stop).
     * rc is borrowed for the plugin's lifetime. Returns MOSQ_ERR_SUCCESS, or an error with err
     * saying which option or what failed. */
    int (*start)(void **state, mosquitto_plugin_id_t *pid, struct regcache *rc,
                 struct mosquitto_opt *opts, int n, char *err, size_t errlen);
    /* Unregisters its callbacks and frees state; NULL is a no-op. */
    void (*stop)(void *state, mosquitto_plugin_id_t *pid);
    /* After start: the textfile its counters go to as well (pf borrowed until stop; NULL, the
     * default, none). */
    void (*metrics)(void *state, struct promfile *pf);
};

/* A callback a module registers in start (with its state as userdata) and unregisters in stop.
 * A table of them ends with PLUGIN_CALLBACKS_END. */
struct plugin_callback {
    int event; /* MOSQ_EVT_* */
    MOSQ_FUNC_generic_callback cb;
    const char *what; /* for the error, e.g. "the ACL check" */
};
#define PLUGIN_CALLBACKS_END \
    {                        \
        0, NULL, NULL        \
    }

/* Registers the callbacks of cbs (borrowed, static) in their order, with state as userdata
 * (mosquitto 2.0.11 calls the callbacks of one event in the order they were registered). If one
 * fails, unregisters those registered and returns mosquitto's error, with err reading
 * "<module>: cannot register <what>: <mosquitto_strerror>". */
int plugin_callbacks_register(mosquitto_plugin_id_t *pid, const char *module,
                              const struct plugin_callback *cbs, void *state, char *err,
                              size_t errlen);

/* Unregisters the callbacks of cbs, the last first. */
void plugin_callbacks_unregister(mosquitto_plugin_id_t *pid, const struct plugin_callback *cbs);

/* Reads the keys of table (borrowed) from opts[0..n) (borrowed; keys table does not list are
 * left to the other tables) into obj: the defaults first, then each option found, parsed as
 * msg/conf.h parses a daemon's file. Returns MOSQ_ERR_SUCCESS, or MOSQ_ERR_INVAL with err
 * (errlen bytes) naming the option: "plugin_opt_<key>: why", "plugin_opt_<key> is required
 * (help)". */
int plugin_opts_read(const struct conf_key *table, void *obj, const struct mosquitto_opt *opts,
                     int n, char *err, size_t errlen);

/* Reads text (borrowed), the value of option key, as a rate "RATE/UNIT burst N" into *out.
 * Returns MOSQ_ERR_SUCCESS, or MOSQ_ERR_INVAL with err reading "plugin_opt_<key>: why". */
int plugin_opts_rate(const char *key, const char *text, struct msg_bucket_rate *out, char *err,
                     size_t errlen);

/* Refusals of one identity a module logs: 5 at once, then one a minute (the rest are counted). */
extern const struct msg_bucket_rate plugin_log_rate;

/* Whether a refusal by e's identity (borrowed; NULL: none known, always logged) may be logged at
 * now_ms, from e->b[bucket] under plugin_log_rate. If not, it is counted in e->suppressed and in
 * *suppressed (the module's log_suppressed). If so, more (morelen bytes) gets " (N more <what>
 * not logged)" for those counted since e's last line, or "", and that count starts again. */
bool plugin_log_take(struct msg_ratetable_entry *e, int bucket, int64_t now_ms,
                     uint64_t *suppressed, const char *what, char *more, size_t morelen);

/* For a sweep that forgets e (borrowed): logs "<module>: <who>=<key>: N more <what> not logged"
 * if refusals of it were counted since its last line. */
void plugin_log_forget(const struct msg_ratetable_entry *e, const char *module, const char *who,
                       const char *what);

/* Passes a device's refused message on pantau/v1/_sys/rejected (refusal_forward_as with s,
 * category, device, topic, reason, payload, len; all borrowed, at the wall clock's now) if its
 * budget allows: a token of b (NULL: no budget) under rate at now_ms. Returns whether it was
 * passed on (false: over the budget, or the publish failed). */
bool plugin_refusal_pass(struct refusal_scratch *s, struct msg_bucket *b,
                         const struct msg_bucket_rate *rate, int64_t now_ms, int category,
                         const char *device, const char *topic, const char *reason,
                         const void *payload, size_t len);

extern const struct plugin_module plugin_module_devauth;
extern const struct plugin_module plugin_module_devacl;
extern const struct plugin_module plugin_module_payval;

#endif
