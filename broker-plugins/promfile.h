/* promfile.h -- the broker plugin's counters as a Prometheus textfile, for the textfile
 * collector of Debian's prometheus-node-exporter (issue 14, item 6), written by a thread of its
 * own: at each stats tick the broker's thread only copies a few KB into a slot and signals; it
 * never waits on the disk.
 *
 * Each module puts its exposition text (stats_prometheus) under its name; the thread writes the
 * texts of every module, in the order they first came, as one file, whole
 * (msg_file_write_atomic: node_exporter never reads half of it). A write that fails is said
 * once on the broker's log, from the broker's thread (mosquitto's log is not thread-safe), at
 * the next put; the next success is said too.
 *
 * Not for: the counters themselves (the modules, stats.h). */
#ifndef PROMFILE_H
#define PROMFILE_H

#include <stddef.h>

#define PROMFILE_MODULES 4     /* modules that may put text */
#define PROMFILE_TEXT_MAX 8192 /* bytes of one module's text */

struct promfile;

/* Starts the writer of path (borrowed, copied; it must end in .prom). Returns the writer
 * (caller frees with promfile_free), or NULL with err set. */
struct promfile *promfile_new(const char *path, char *err, size_t errlen);

/* Broker thread. Takes a copy of module's text (len bytes, borrowed) for the next write and
 * wakes the writer; a text longer than PROMFILE_TEXT_MAX, or a module beyond
 * PROMFILE_MODULES, is logged and left out. NULL pf is a no-op. */
void promfile_put(struct promfile *pf, const char *module, const char *text, size_t len);

/* Stops the writer (after the write under way, if any) and frees pf. NULL is a no-op. */
void promfile_free(struct promfile *pf);

#endif
