/* msg_utf8.h -- strict UTF-8 decoding and the text rules of protocol.md section 4.0.
 *
 * Well-formed UTF-8 only (RFC 3629): no overlong forms, no surrogates U+D800..U+DFFF, nothing
 * above U+10FFFF. "Text" adds the protocol's rules for every string: no control character
 * (U+0000..U+001F, U+007F) and, as I-JSON (RFC 7493 section 2.1) requires, no noncharacter
 * (U+FDD0..U+FDEF and the last two code points of every plane). Lengths count code points.
 *
 * Also the rules against text that lies on a screen (protocol.md section 2): "invisible"
 * characters (format characters, zero-width and bidi controls, line separators) are refused in
 * free-form ids (msg_utf8_id_text) and neutralised wherever text is displayed
 * (msg_utf8_display); free text keeps them as sent.
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

/* Whether cp is invisible in the protocol's sense (section 2): a C1 control (U+0080..U+009F),
 * a format character (Unicode general category Cf: soft hyphen U+00AD, zero-width U+200B..U+200D,
 * marks U+200E, U+200F, bidi controls U+202A..U+202E and U+2066..U+2069, word joiner and
 * invisible operators U+2060..U+2064, U+FEFF, interlinear annotation U+FFF9..U+FFFB, tags
 * U+E0001, U+E0020..U+E007F, ...), any other Default_Ignorable_Code_Point of Unicode 15.1
 * (U+034F, Hangul fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors U+180B..U+180F,
 * U+FE00..U+FE0F, U+E0100..U+E01EF, the reserved U+2065, U+FFF0..U+FFF8, U+E0000..U+E0FFF),
 * or the line and paragraph separators U+2028, U+2029. The table is in msg_utf8.c; the
 * same set is the `id_text` pattern of schema/json/defs.json. */
bool msg_utf8_is_invisible(uint32_t cp);

/* As msg_utf8_text, and also no invisible character (msg_utf8_is_invisible): the rule for a
 * free-form id (the larva `inspector`). On failure *why says "invisible character". */
bool msg_utf8_id_text(const char *s, size_t len, size_t *ncp, size_t *bad_off, const char **why);

/* The display form of s (len bytes, borrowed; any bytes): what a log line, a console or an
 * operator tool shows of text from a device, so that it cannot lie about itself. Every
 * invisible character (msg_utf8_is_invisible), every control character (U+0000..U+001F,
 * U+007F) and every noncharacter becomes a visible escape: `\u202E` (four upper-case hex
 * digits), `\u{E0001}` above U+FFFF; every byte that is not well-formed UTF-8 becomes `\xFF`.
 * Everything else is copied as is (a backslash too: the display form is for people to read,
 * not to decode). Writes at most outlen - 1 bytes and a NUL into out (outlen > 0), never
 * cutting an escape or a code point. Returns the length of the whole display form without the
 * NUL (as snprintf does: a result >= outlen means out holds a truncated copy). */
size_t msg_utf8_display(const char *s, size_t len, char *out, size_t outlen);

/* Room for the display form of one code point or byte (msg_utf8_display_cp), NUL not counted:
 * the longest is "\u{10FFFF}" (10), with room for any 32-bit value's "\u{%X}". */
#define MSG_UTF8_DISPLAY_CP_MAX 15

/* msg_utf8_display_cp flags. */
#define MSG_UTF8_DISPLAY_C 1u /* also a backslash as `\\`, LF, TAB, CR as `\n`, `\t`, `\r` */

/* The display form of the first code point of s (len > 0 bytes, borrowed; any bytes), as
 * msg_utf8_display writes it, into out with a NUL; with MSG_UTF8_DISPLAY_C, the C escapes too,
 * so that the form reads back unambiguously (pantau-admin's). Returns how many bytes of s it
 * took (1 for a byte that is not well-formed UTF-8). *escaped says whether out is an escape
 * (it then starts with a backslash) rather than the code point as is. */
size_t msg_utf8_display_cp(const char *s, size_t len, unsigned flags,
                           char out[MSG_UTF8_DISPLAY_CP_MAX + 1], bool *escaped);

/* Number of code points in s (len bytes of well-formed UTF-8; for other input, the number of
 * bytes that are not continuation bytes). */
size_t msg_utf8_count(const char *s, size_t len);

#endif
