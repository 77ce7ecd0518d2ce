/* agent.h -- pantau-agent's engine: sources -> store -> MQTT, until the collector acknowledges.
 *
 * One struct agent holds the whole running agent (STYLE.md section 6): the store, the
 * sources and their thread, the paho MQTTAsync client (MQTT 5, QoS 1, Clean Start, Session
 * Expiry 0, no paho persistence or offline buffer: the store is the truth), the window of
 * readings in flight, the collectors' health, and the counters of the status message. It
 * follows protocol.md section 11 for a device:
 *
 * - a source's reading goes through the emit function: the envelope is completed (clock,
 *   boot, mono_ms), validated with msg_event_validate and appended to the store durably
 *   before anything is published;
 * - live readings (fresh and not part of a backlog) go out at once, newest first; the backlog
 *   goes out oldest first at replay_rate, in the part of the window that live readings leave
 *   free, so that live data is never held behind it;
 * - a reading not acknowledged within the adaptive timeout (agent_window.h) is resent, paced
 *   at resend_rate, its timeout backed off; resends and replay run only while some collector
 *   says state online and db up (protocol.md 6.2);
 * - every send's `replay` says whether the reading was held longer than the lateness of
 *   protocol.md 4.1 (msg_history_replay): history, not news;
 * - a broker refusal (PUBACK reason code >= 0x80, which paho 1.3 reports through the
 *   publish's onFailure5 with packet_type PUBACK) is retried refuse_tries times with growing
 *   backoff, outside the window, then moved to the store's rejected list;
 * - acknowledgements delete what they cover; nothing is forgotten on a PUBACK;
 * - reconnects use jittered exponential backoff; each attempt takes a new connection counter
 *   first, sets the retained offline will and, once connected, publishes the retained birth
 *   and subscribes to its ack topic and the collectors' health.
 *
 * Threads: agent_run runs the engine on the caller's thread; the sources run on one thread of
 * their own; paho's callbacks only queue events (a bounded, mutex-guarded ring) and wake the
 * engine. The store is shared under a mutex (emit may be called from any source thread).
 *
 * Not for: argv, signals and exit codes (main.c), the config file (agent_config.h), the store's
 * SQL (agent_store.h), the sources' formats (agent_source.h). */
#ifndef AGENT_H
#define AGENT_H

#include <signal.h>
#include <stddef.h>

#include "agent_config.h"

#ifndef PANTAU_VERSION
#define PANTAU_VERSION "0.0.0"
#endif
#define AGENT_NAME "pantau-agent " PANTAU_VERSION

struct agent;

/* Opens the store and makes the MQTT client from cfg (borrowed for the agent's lifetime:
 * keep it alive until agent_free). Connects nothing yet. Returns MSG_OK with *out set (caller
 * frees with agent_free), MSG_ERR_IO / MSG_ERR_DB (the store), MSG_ERR_NOMEM or MSG_ERR_INVAL
 * (paho refused the client), err saying why. */
int agent_new(const struct agent_config *cfg, struct agent **out, char *err, size_t errlen);

/* Runs the agent until *stop becomes non-zero (main's signal handler sets it; *stop is
 * borrowed). The caller blocks SIGTERM and SIGINT in every thread before agent_new; the
 * engine unblocks them only while it waits (ppoll), so a signal wakes it at once. On stop:
 * the sources are stopped, the store's last writes finish, and the client disconnects with
 * reason code 0x04 so that the broker publishes the retained offline status. Returns MSG_OK
 * after a stop, or a code with err when the agent cannot go on (the store failed). */
int agent_run(struct agent *a, const volatile sig_atomic_t *stop, char *err, size_t errlen);

/* Frees a; NULL is a no-op. */
void agent_free(struct agent *a);

#endif
