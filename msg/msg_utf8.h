/* msg_utf8.h -- strict UTF-8 decoding and the text rules of protocol.md section 4.0.
 *
 * Well-formed UTF-8 only (RFC 3629): no overlong forms, no surrogates U+D800..U+DFFF, nothing
 * above U+10FFFF. "Text" adds the protocol's rules for every string: no control character
 * (U+0000..U+001F, U+007F) and, as I-JSON (RFC 7493 section 2.1) requires, no noncharacter
 * (U+FDD0..U+FDEF and the last two code points of every plane). Lengths count code points.
 *
 * Not for: JSON escapes (msg_json.c decodes those) or other encodings. No allocation. */
#ifndef MSG_UTF8_H
#define MSG_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s (len bytes available, len > 0) into *cp. Returns its length in
 * bytes (1 to 4), or 0 if the bytes there are not well-formed UTF-8; *why (if why is not NULL)
 * then says why in a few words ("overlong encoding", "surrogate", "truncated sequence", ...). */
size_t msg_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp, const char **why);

/* Whether cp is a control character in the protocol's sense: U+0000..U+001F or U+007F. */
bool msg_utf8_is_control(uint32_t cp);

/* Whether cp is a Unicode noncharacter (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF). */
bool msg_utf8_is_nonchar(uint32_t cp);

/* Checks that s (len bytes, borrowed) is text: well-formed UTF-8 without control characters or
 * noncharacters. Returns true and sets *ncp (if not NULL) to the number of code points, or
 * false with *bad_off (if not NULL) at the offending byte and *why (if not NULL) the reason. */
bool msg_utf8_text(const char *s, size_t len, size_t *ncp, size_t *bad_off, const char **why);

/* Number of code points in s (len bytes of well-formed UTF-8; for other input, the number of
 * bytes that are not continuation bytes). */
size_t msg_utf8_count(const char *s, size_t len);

#endif
