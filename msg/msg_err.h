/* msg_err.h -- the error codes that the whole project shares (like mosquitto's MOSQ_ERR_*).
 *
 * A function that can fail returns MSG_OK (0) or one of the positive MSG_ERR_* codes below. The
 * code is the category the caller acts on (retry, drop, deny); the detail goes into a caller's
 * `char err[MSG_ERRLEN]`. Every err text that msg/ writes is printable ASCII (bytes echoed from
 * input are escaped as \xNN), so it can be logged or stored as a dead-letter reason as it is.
 *
 * Not for: errno values or library-specific codes; translate those at the boundary. */
#ifndef MSG_ERR_H
#define MSG_ERR_H

enum {
    MSG_OK = 0,
    MSG_ERR_NOMEM,    /* allocation failed */
    MSG_ERR_INVAL,    /* bad argument (a caller's bug), or a struct that cannot be encoded */
    MSG_ERR_TOPIC,    /* not a topic of the protocol (protocol.md section 3 and 10) */
    MSG_ERR_JSON,     /* payload is not I-JSON, or too large, or nested too deep (section 4.0) */
    MSG_ERR_SCHEMA,   /* valid JSON that breaks the contract (sections 4 to 7 and 9) */
    MSG_ERR_IO,       /* a read or write failed */
    MSG_ERR_DB,       /* the database refused or is unreachable */
    MSG_ERR_FULL,     /* a fixed-size buffer or queue has no room: back off or split */
    MSG_ERR_CONFIG,   /* bad configuration */
    MSG_ERR_CLASH     /* same (device, store, seq) stored before with other content (4.1) */
};

#define MSG_ERRLEN 256   /* size of the err buffers callers pass: a whole line fits */

/* A short description of rc ("payload breaks the contract"); never NULL. Static storage. */
const char *msg_strerror(int rc);

/* The code's name ("MSG_ERR_SCHEMA"), for logs and tools; never NULL. Static storage. */
const char *msg_errname(int rc);

#endif
