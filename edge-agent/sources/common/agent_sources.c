/* agent_sources.c -- the sources pantau-agent knows (agent_source.h), in a const table.
 *
 * Each source is one file source_<name>.c, in the folder of its family under sources/ (flood/,
 * traffic/, larva/) with its helpers, ending in its const struct agent_source; a source is
 * added here and to sources.cmake in the commit that adds its file. The simulator
 * (simulator/source_simulator.c) is the store part's (store.cmake). */
#include <string.h>

#include "agent_source.h"

extern const struct agent_source agent_source_flood;
extern const struct agent_source agent_source_camera;
extern const struct agent_source agent_source_larva;
extern const struct agent_source agent_source_frigate;
extern const struct agent_source agent_source_simulator;

const struct agent_source *const agent_sources[] = {
    &agent_source_flood,
    &agent_source_camera,
    &agent_source_larva,
    &agent_source_frigate,
    &agent_source_simulator,
    NULL,
};

const struct agent_source *agent_source_find(const char *name)
{
    for (size_t i = 0; agent_sources[i] != NULL; i++) {
        if (strcmp(agent_sources[i]->name, name) == 0) {
            return agent_sources[i];
        }
    }
    return NULL;
}
