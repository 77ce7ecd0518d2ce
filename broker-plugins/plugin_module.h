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
 * Options fail closed: an option that no module (nor plugin.c) lists in its keys is an error
 * that fails the plugin's init, and so does a required one that is missing.
 *
 * All callbacks run on the broker's thread; regcache lookups are valid there only. */
#ifndef PLUGIN_MODULE_H
#define PLUGIN_MODULE_H

#include <stddef.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "regcache.h"

struct plugin_module {
    const char *name;
    /* The plugin_opt_<key> keys it reads (without the prefix), NULL-terminated. */
    const char *const *keys;
    /* Reads its options (borrowed: opts[0..n), keys already known to be valid somewhere),
     * registers its callbacks, and sets *state (freed by stop). rc is borrowed for the
     * plugin's lifetime. Returns MOSQ_ERR_SUCCESS, or an error with err saying which option
     * or what failed. */
    int (*start)(void **state, mosquitto_plugin_id_t *pid, struct regcache *rc,
                 struct mosquitto_opt *opts, int n, char *err, size_t errlen);
    /* Unregisters its callbacks and frees state; NULL is a no-op. */
    void (*stop)(void *state, mosquitto_plugin_id_t *pid);
};

extern const struct plugin_module plugin_module_devauth;
extern const struct plugin_module plugin_module_devacl;
extern const struct plugin_module plugin_module_payval;

#endif
