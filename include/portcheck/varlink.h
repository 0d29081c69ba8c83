/* SPDX-License-Identifier: MIT */
/*
 * Varlink protocol pieces shared by the server and the client: message framing, request
 * and reply parsing, reply and error construction. Pure: no I/O, no logging.
 *
 * A Varlink message is a JSON object followed by a NUL byte. A call is
 * {"method": "iface.Method", "parameters": {...}, "oneway"|"more"|"upgrade": bool}; a reply
 * is {"parameters": {...}} or {"error": "iface.Error", "parameters": {...}}.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PC_SOCKET_PATH_DEFAULT "/run/portcheck/portcheck.sock"

/* The daemon's limit on one request, NUL included. */
#define PC_VARLINK_MAX_REQUEST (64 * 1024)
/*
 * The largest reply anywhere on the way from an analysis to a client, NUL included: the
 * report a child process hands the daemon, the daemon's output per connection and what
 * the client accepts are this one limit, so nothing is produced, parsed as root and
 * then dropped by the next stage.
 */
#define PC_VARLINK_MAX_MESSAGE ((size_t)16 << 20)

#define PC_VARLINK_ERROR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define PC_VARLINK_ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define PC_VARLINK_ERROR_METHOD_NOT_IMPLEMENTED "org.varlink.service.MethodNotImplemented"
#define PC_VARLINK_ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define PC_VARLINK_ERROR_PERMISSION_DENIED "org.varlink.service.PermissionDenied"
#define PC_VARLINK_ERROR_EXPECTED_MORE "org.varlink.service.ExpectedMore"
/*
 * A message that is not a well-formed Varlink call (not JSON, not an object, "method" not a
 * qualified name, a flag not a boolean, too large, truncated). org.varlink.service has no
 * error for this and its InvalidParameter names a method parameter, so portcheck has its
 * own, with a human-readable {reason}. The server closes the connection after sending it:
 * after garbage the framing of what follows cannot be trusted.
 */
#define PC_VARLINK_ERROR_PROTOCOL "io.portcheck.ProtocolError"

/*
 * Accumulates bytes from a stream and yields complete NUL-terminated messages. A message
 * larger than max (NUL included), complete or still arriving, is an error: a peer cannot
 * make the buffer grow without bound.
 */
struct pc_varlink_buf {
	char *data;
	size_t size; /* bytes held */
	size_t alloc;
	size_t start;	/* first byte not yet returned as part of a message */
	size_t scanned; /* bytes from start already known to contain no NUL */
	size_t max;
};

/* Prepare an empty buffer for messages of at most @max bytes, NUL included. */
void pc_varlink_buf_init(struct pc_varlink_buf *b, size_t max);
/* Append @n bytes read from the stream. Returns 0 or -ENOMEM. */
int pc_varlink_buf_feed(struct pc_varlink_buf *b, const void *data, size_t n);
/*
 * Take the next complete message. Returns 1 and the message (without its NUL, which is
 * still in memory after it, so it is a C string) in *ret_msg / *ret_len, valid until the
 * next call on @b; 0 when no complete message is buffered; -EMSGSIZE when the next
 * message exceeds the maximum (the buffer is then unusable: close the stream).
 */
int pc_varlink_buf_next(struct pc_varlink_buf *b, const char **ret_msg, size_t *ret_len);
/* Bytes buffered that are not part of a returned message: at EOF, a truncated message. */
size_t pc_varlink_buf_pending(const struct pc_varlink_buf *b);
/* Free the memory; leaves @b empty and reusable with the same maximum. NULL-safe. */
void pc_varlink_buf_clear(struct pc_varlink_buf *b);

/* A human-readable reason why a message was rejected, filled by the parsers on failure. */
struct pc_varlink_parse_error {
	char reason[160];
};

struct pc_varlink_request {
	char *method;	    /* "io.portcheck.Status" */
	char *interface;    /* "io.portcheck": the method up to its last dot */
	json_t *parameters; /* always an object, empty when the call had none */
	bool oneway;	    /* the caller wants no reply */
	bool more;	    /* the caller accepts several replies */
	bool upgrade;	    /* the caller wants to leave Varlink after the reply */
};

/*
 * Parse a call. Unknown top-level keys are ignored (the spec lets peers extend messages).
 * Returns 0, -ENOMEM, or -EBADMSG when the message is not a valid call (malformed JSON,
 * not an object, "method" missing or not a qualified name, "parameters" not an object, a
 * flag not a boolean, "oneway" together with "more"), with the reason in @err if given.
 */
int pc_varlink_request_parse(const char *msg, size_t len, struct pc_varlink_request *ret,
			     struct pc_varlink_parse_error *err);
void pc_varlink_request_clear(struct pc_varlink_request *req);

struct pc_varlink_reply {
	char *error;	    /* error name, NULL for a successful reply */
	json_t *parameters; /* always an object, empty when the reply had none */
	bool continues;	    /* more replies follow (only after a call with "more") */
};

/* Parse a reply. Returns 0, -ENOMEM, or -EBADMSG (reason in @err if given). */
int pc_varlink_reply_parse(const char *msg, size_t len, struct pc_varlink_reply *ret,
			   struct pc_varlink_parse_error *err);
void pc_varlink_reply_clear(struct pc_varlink_reply *reply);

/*
 * Build {"parameters": @parameters} (and "continues": true if @continues). Steals the
 * reference to @parameters; NULL means {}. Returns a new reference or NULL (out of memory).
 */
json_t *pc_varlink_reply_new(json_t *parameters, bool continues);
/* Build {"error": @error, "parameters": @parameters}. Steals @parameters; NULL means {}. */
json_t *pc_varlink_error_new(const char *error, json_t *parameters);
/* An error whose parameters are one string, e.g. MethodNotFound {"method": "..."}. */
json_t *pc_varlink_error_new_string(const char *error, const char *key, const char *value);
/* Build a call. Steals @parameters; NULL means no "parameters" key. */
json_t *pc_varlink_call_new(const char *method, json_t *parameters, bool oneway, bool more);

/*
 * Serialise @msg as one framed message: compact JSON and the terminating NUL. *ret_len
 * counts the NUL. Returns 0, -ENOMEM, or -EINVAL when @msg is not an object.
 */
int pc_varlink_message_serialize(const json_t *msg, char **ret, size_t *ret_len);

/* json_decref() for _cleanup_(); guarded in case util.h grows one. */
static inline void pc_varlink_json_decrefp(json_t **j)
{
	if (*j)
		json_decref(*j);
}
#ifndef _cleanup_json_
#define _cleanup_json_ __attribute__((cleanup(pc_varlink_json_decrefp)))
#endif

/*
 * A serialised message (NUL included), reference-counted: one reply built once and sent
 * to many connections (the Status every waiting client gets) without a copy each.
 *
 * A large one (PC_VARLINK_BLOB_MAP_MIN and up) lives in pages of its own that a fork()ed
 * child does not get (MADV_DONTFORK): the daemon keeps its last Status answer while it is
 * true (13.5 MiB for the bench's large host) and its next analysis runs in a child, whose
 * peak memory would otherwise count those pages too. A child process must therefore never
 * read a blob.
 */
struct pc_varlink_blob {
	unsigned refs;
	size_t len;
	size_t mapped; /* bytes mmap()ed for it; 0: malloc()ed */
	char data[];
};

#define PC_VARLINK_BLOB_MAP_MIN ((size_t)256 << 10)

/* Serialise @msg (not consumed). Returns 0 or -errno (-EINVAL: not an object). */
int pc_varlink_blob_new(const json_t *msg, struct pc_varlink_blob **ret);
struct pc_varlink_blob *pc_varlink_blob_ref(struct pc_varlink_blob *b);
/* NULL-safe. */
void pc_varlink_blob_unref(struct pc_varlink_blob *b);
