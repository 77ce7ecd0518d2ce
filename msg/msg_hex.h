/* msg_hex.h -- lower-case hexadecimal text to bytes: the form in which PostgreSQL returns a
 * bytea (encode(x, 'hex')) and in which `rejected` carries its sha256 (protocol.md 7.2).
 *
 * Not for: upper-case hex, `\x` prefixes, white space, or encoding (snprintf "%02x" does that). */
#ifndef MSG_HEX_H
#define MSG_HEX_H

#include <stddef.h>

/* Decodes hexlen characters at hex (borrowed) into out (outlen bytes, at least hexlen / 2;
 * borrowed). Returns MSG_OK, or MSG_ERR_INVAL with *bad_off (if bad_off is not NULL) at the
 * first character that is not a lower-case hex digit (hexlen itself when hexlen is odd, and
 * outlen too small says 0). out is then partly written. */
int msg_hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t outlen,
                   size_t *bad_off);

#endif
