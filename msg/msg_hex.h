/* msg_hex.h -- hexadecimal text and bytes, both ways: the form in which PostgreSQL returns a
 * bytea (encode(x, 'hex')), in which `rejected` carries its sha256 (protocol.md 7.2), and in
 * which pantau's secrets are written (password hashes, HMAC tokens, key files).
 *
 * Encoding writes lower case. Decoding reads lower case (msg_hex_decode: what pantau and
 * PostgreSQL write), or either case (msg_hex_decode_any: a key file a person may have typed).
 *
 * Not for: `\x` prefixes, white space or separators. */
#ifndef MSG_HEX_H
#define MSG_HEX_H

#include <stddef.h>

/* Writes the n bytes at in (borrowed) as 2n lower-case hex digits and a NUL at out (borrowed,
 * at least 2n + 1 bytes). */
void msg_hex_encode(const unsigned char *in, size_t n, char *out);

/* Decodes hexlen characters at hex (borrowed) into out (outlen bytes, at least hexlen / 2;
 * borrowed). Returns MSG_OK, or MSG_ERR_INVAL with *bad_off (if bad_off is not NULL) at the
 * first character that is not a lower-case hex digit (hexlen itself when hexlen is odd, and
 * outlen too small says 0). out is then partly written. */
int msg_hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t outlen,
                   size_t *bad_off);

/* As msg_hex_decode, with upper-case digits accepted too. */
int msg_hex_decode_any(const char *hex, size_t hexlen, unsigned char *out, size_t outlen,
                       size_t *bad_off);

#endif
