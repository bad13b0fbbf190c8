/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * An asynchronous QMP (QEMU Machine Protocol) client on a libevent event_base.
 *
 * A Qmp reads QEMU's greeting, negotiates capabilities and then calls ready().
 * Commands may be issued at any time: those issued before ready() are queued and
 * sent, in order, right after the handshake. Each command carries a unique "id";
 * its handler is called exactly once, with the reply QEMU sent for that id, or
 * with the error class "Disconnected" when the connection ends first. Handlers
 * and callbacks are only ever called from the event loop, never from inside
 * qmp_command().
 *
 * When the peer closes the connection, or sends something that is not QMP, the
 * pending handlers are called (in the order their commands were issued), then
 * disconnected() once. From then on qmp_command() fails with -ENOTCONN.
 *
 * qmp_free() may be called anywhere, including inside any callback of the same
 * Qmp: the memory is released once the callback returns. It closes the
 * connection and drops pending commands without calling their handlers.
 *
 * There are no timeouts: a caller that must not wait for ever arms its own timer
 * and frees the Qmp. Writes to a peer that went away raise SIGPIPE: callers
 * ignore SIGPIPE.
 */

#include <json-c/json.h>
#include <stdint.h>

#include "macro.h"

struct event_base;
struct evbuffer;

/* Longest message line accepted, without its newline; a longer one is a protocol error. */
#define QMP_LINE_MAX (16U * 1024U * 1024U)

typedef struct Qmp Qmp;

typedef struct QmpCallbacks {
        /* The capabilities handshake completed. */
        void (*ready)(Qmp *q, void *userdata);
        /* An asynchronous event; data is NULL when the event has none. Both are valid during the call only. */
        void (*event)(Qmp *q, const char *name, json_object *data, void *userdata);
        /* The connection ended; called once, after the pending handlers. */
        void (*disconnected)(Qmp *q, void *userdata);
} QmpCallbacks;

/*
 * Called once per command. On success result is the "return" value and both error strings are NULL; on
 * failure result is NULL and error_class is QEMU's error class (or "Disconnected"). Everything passed is
 * valid during the call only: take a json_object_get() reference to keep result.
 */
typedef void (*QmpReplyHandler)(
        Qmp *q, json_object *result, const char *error_class, const char *error_desc, void *userdata);

/*
 * Connects to QEMU's QMP unix socket. Fails with -ENOENT when the socket does not exist, -ECONNREFUSED
 * when nothing listens on it and -EAGAIN when the listener's backlog is full. cb may be NULL; it is copied.
 */
int qmp_connect(
        struct event_base *base, const char *socket_path, const QmpCallbacks *cb, void *userdata, Qmp **ret);
/*
 * Speaks QMP on an already connected stream socket (one QEMU connected to, say), which the Qmp owns on
 * success; it is made non-blocking. Fails with -ENOTSOCK when fd is not a socket.
 */
int qmp_adopt_fd(struct event_base *base, int fd, const QmpCallbacks *cb, void *userdata, Qmp **ret);
void qmp_free(Qmp *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(Qmp *, qmp_free);

/*
 * Issues a command. arguments (an object, or NULL for none) is owned by the call, on failure too. handler
 * may be NULL when the reply does not matter. Fails with -ENOTCONN after the connection ended and
 * -EINVAL for a bad command name or arguments that are not an object.
 */
int qmp_command(Qmp *q, const char *command, json_object *arguments, QmpReplyHandler handler, void *userdata);
/*
 * Like qmp_command(), and passes a duplicate of fd to QEMU along with the command's bytes (SCM_RIGHTS), as
 * "getfd" and "add-fd" expect. The caller keeps fd; a negative one fails with -EBADF.
 */
int qmp_command_with_fd(Qmp *q, const char *command, json_object *arguments, int fd, QmpReplyHandler handler,
        void *userdata);

typedef enum QmpMessageType {
        QMP_MESSAGE_GREETING,
        QMP_MESSAGE_RETURN,
        QMP_MESSAGE_ERROR,
        QMP_MESSAGE_EVENT,
} QmpMessageType;

/* One parsed message. Every pointer but object is borrowed from object. */
typedef struct QmpMessage {
        QmpMessageType type;
        json_object *object; /* the whole message, released by qmp_message_done() */
        json_object *id; /* replies: the "id" member, or NULL when there is none */
        json_object *qmp; /* greeting: the "QMP" object (version, capabilities) */
        json_object *result; /* return: the "return" value, never NULL */
        const char *error_class, *error_desc; /* error */
        const char *event; /* event: its name */
        json_object *data; /* event: its "data" object, or NULL */
} QmpMessage;

/*
 * Parses and classifies one message line (the trailing newline or CRLF may be included). Fails with
 * -EBADMSG for anything that is not exactly one well-formed QMP message object and -EMSGSIZE for a line
 * longer than QMP_LINE_MAX.
 */
int qmp_parse_message(const char *line, size_t len, QmpMessage *ret);
void qmp_message_done(QmpMessage *m);

/*
 * Takes the next complete line out of buf, without its newline, as a NUL-terminated copy. *scanned
 * remembers how much of buf earlier calls searched, so that a long line arriving in pieces is searched
 * once; start it at 0 and leave it to this function. Returns 1 with a line, 0 when no complete line is
 * buffered yet, -EMSGSIZE when the line is longer than QMP_LINE_MAX.
 */
int qmp_take_line(struct evbuffer *buf, size_t *scanned, char **ret_line, size_t *ret_len);
