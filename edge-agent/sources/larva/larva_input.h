/* larva_input.h -- one Jumantik larva inspection as the agent takes it in: from the larva
 * source's socket (one JSON object per line) and from `pantau-agent report` (a JSON file or
 * command-line options). Both go through here, so they accept exactly the same reports.
 *
 * The input is the contract's larva body (protocol.md 4.5: inspector, building, kelurahan, rw,
 * rt, containers, ...) without the envelope, which the agent adds (store, seq, ts,
 * clock_synced, replay, boot, mono_ms are refused here). It is validated by the contract
 * library itself (msg_event_from_json / msg_event_validate with a placeholder envelope), so an
 * error names the member exactly as the collector would: "containers[1].positive: 5 exceeds
 * inspected 3", "kelurahan: ...", "rt: missing".
 *
 * Not for: I/O, the envelope, the store. Allocates only cJSON's tree, freed before returning. */
#ifndef LARVA_INPUT_H
#define LARVA_INPUT_H

#include <stddef.h>

#include "msg_event.h"

/* Reads buf (len bytes, borrowed: one JSON object) into caller-owned *out. Returns MSG_OK,
 * MSG_ERR_JSON (not I-JSON; err says where), MSG_ERR_SCHEMA (err names the member) or
 * MSG_ERR_NOMEM. */
int larva_input_from_json(const char *buf, size_t len, struct msg_larva *out, char *err,
                          size_t errlen);

/* Reads a container given as TYPE:LOCATION:INSPECTED:POSITIVE ("jar:indoor:3:1"; borrowed)
 * into *out. Returns MSG_OK or MSG_ERR_SCHEMA with err naming the part ("container 'x': type
 * 'pot' is not a container type"). Does not check positive <= inspected (larva_input_check
 * does, naming the item). */
int larva_input_container_parse(const char *spec, struct msg_container *out, char *err,
                                size_t errlen);

/* Reads a comma-separated list of PSN actions ("drain,cover"; borrowed) into the bit set
 * *out (bits 1u << enum msg_action). Returns MSG_OK or MSG_ERR_SCHEMA naming the action
 * ("actions: 'sweep' is not an action", "actions: 'drain' given twice"). */
int larva_input_actions_parse(const char *list, unsigned *out, char *err, size_t errlen);

/* Reads a building name, a container type or a location (borrowed). MSG_OK or MSG_ERR_INVAL. */
int larva_input_building_from_name(const char *name, enum msg_building *out);
int larva_input_type_from_name(const char *name, enum msg_container_type *out);
int larva_input_location_from_name(const char *name, enum msg_container_location *out);

/* Sets larvae_found from the containers (true exactly when one has positive > 0). */
void larva_input_derive(struct msg_larva *l);

/* Validates l (borrowed) as the contract library would once the agent adds the envelope.
 * Returns MSG_OK, or MSG_ERR_SCHEMA / MSG_ERR_JSON with err naming the member. */
int larva_input_check(const struct msg_larva *l, char *err, size_t errlen);

#endif
