/* agent_source.h -- the interface between pantau-agent and its sources of readings.
 *
 * A source turns something in the field (a distance sensor on a serial line, a camera's
 * analytics, a Jumantik officer's form, the simulator) into readings of the contract
 * (struct msg_event of msg_event.h). It knows nothing of MQTT or of the store: it fills the
 * stream's body and the time the reading was taken, and hands the event to the agent through
 * struct agent_emit. The agent then assigns the envelope (store, seq, clock_synced, replay,
 * boot, mono_ms), validates the whole message with msg_event_validate(), writes it to its store
 * durably and only then publishes it.
 *
 * One source is one file that ends in
 *
 *     const struct agent_source agent_source_<name> = { .name, .keys, ..., .open, .poll, .close };
 *
 * (the shape of fluent-bit's struct flb_input_plugin), and agent_sources.c lists them all in a
 * const table. An agent runs several sources at once, each from a `[source <name>]` section of
 * its config file (conf.h sections): the section's lines fill the source's own config struct
 * through its key table, so a typo in a source's key is an error naming the file, line and key.
 *
 * Threads: open, poll and close run on the agent's source thread, one source after another;
 * a source that needs a thread of its own (a client library with callbacks) may call
 * emit->fn from that thread: emit is thread-safe.
 *
 * Not for: the envelope, sequence numbers, the store, the network to the broker. */
#ifndef AGENT_SOURCE_H
#define AGENT_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "msg_event.h"

/* Where a source hands its readings. fn borrows ev (the agent copies what it keeps): ev->stream
 * and ev->u are the source's; ev->env.ts_ms is when the reading was taken (0: now). fn fills
 * the rest of the envelope itself. Returns MSG_OK (stored durably), MSG_ERR_SCHEMA or
 * MSG_ERR_JSON (the agent's validator refused it: err says which member; the source counts
 * and logs it), or MSG_ERR_DB / MSG_ERR_IO (the store failed: the source may keep the reading
 * and try again later). Safe from any thread. */
struct agent_emit {
    int (*fn)(void *ctx, const struct msg_event *ev, char *err, size_t errlen);
    void *ctx;        /* the agent's */
    const char *device_id;   /* the agent's device id (borrowed, lives as long as the agent) */
};

/* What a source waits for before its next poll: a file descriptor to become readable, or a
 * time, whichever comes first. */
struct agent_source_wait {
    int fd;           /* -1: none */
    int64_t next_ms;  /* CLOCK_MONOTONIC ms of the next poll without input; INT64_MAX: none */
};

struct agent_source {
    const char *name;              /* the `[source <name>]` of the config file */
    const char *summary;           /* one line for --help */
    const struct conf_key *keys;   /* the section's keys (conf.h), CONF_END-terminated */
    size_t conf_size;              /* bytes of the config struct that keys fill */
    /* Checks the loaded config (borrowed, conf_size bytes) beyond what the key table checks
     * (keys that go together, a file that must exist). May be NULL. Returns MSG_OK or
     * MSG_ERR_CONFIG with err naming the key. Called by --check too, so it opens nothing. */
    int (*check)(const void *conf, char *err, size_t errlen);
    /* Makes the source's state from its config (borrowed for the call; copy what you keep)
     * and opens what it reads. *state: caller frees with close. emit is borrowed for the
     * source's lifetime. Returns MSG_OK, or MSG_ERR_IO (it can retry later: the agent calls
     * open again with backoff) or MSG_ERR_CONFIG (it never can), err saying why. */
    int (*open)(void **state, const void *conf, const struct agent_emit *emit, char *err,
                size_t errlen);
    /* Reads what is there (never blocks), emits readings, and says what to wait for next in
     * *wait. now_ms is CLOCK_MONOTONIC ms. Returns MSG_OK, or MSG_ERR_IO if its input went
     * away (the agent closes it and opens it again with backoff), err saying why. */
    int (*poll)(void *state, int64_t now_ms, struct agent_source_wait *wait, char *err,
                size_t errlen);
    /* Frees the state; NULL is a no-op. */
    void (*close)(void *state);
};

/* The sources this agent knows, in a const table (agent_sources.c). Returns NULL for an
 * unknown name. */
const struct agent_source *agent_source_find(const char *name);

/* The table itself, NULL-terminated, for --help. */
extern const struct agent_source *const agent_sources[];

#endif
