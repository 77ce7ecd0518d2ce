/* msg_wilayah.h -- the kelurahan codes of Kota Bekasi (protocol.md section 2, `kelurahan`).
 *
 * The 56 Kemendagri codes ("32.75.01.1002") are read from schema/data/bekasi_wilayah.csv when
 * msg/ is built (msg/gen_wilayah.cmake), never typed in or generated: the suffixes have gaps.
 *
 * Not for: names, kecamatan, RW/RT (those have no national code), or any other city. No I/O at
 * run time, no allocation. */
#ifndef MSG_WILAYAH_H
#define MSG_WILAYAH_H

#include <stdbool.h>
#include <stddef.h>

#define MSG_KELURAHAN_LEN 13   /* "32.75.01.1002", without NUL */

/* Whether code (len bytes, borrowed) is one of the kelurahan codes. */
bool msg_kelurahan_valid(const char *code, size_t len);

/* Number of kelurahan codes (56 for the current data file). */
size_t msg_kelurahan_count(void);

/* The i-th code in ascending order (static storage), or NULL if i >= msg_kelurahan_count(). */
const char *msg_kelurahan_code(size_t i);

#endif
