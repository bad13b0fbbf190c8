/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "alloc.h"
#include "log.h"
#include "qmp.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

typedef enum QmpState {
        QMP_STATE_GREETING, /* waiting for QEMU's greeting */
        QMP_STATE_NEGOTIATING, /* qmp_capabilities sent, waiting for its reply */
        QMP_STATE_READY,
        QMP_STATE_DISCONNECTED,
} QmpState;

typedef struct QmpCommand QmpCommand;
struct QmpCommand {
        QmpCommand *next;
        uint64_t id;
        char *line; /* the serialized command, newline included */
        size_t len;
        int fd; /* sent along with line, or -1 */
        QmpReplyHandler handler;
        void *userdata;
};

/* A FIFO of commands. */
typedef struct QmpQueue {
        QmpCommand *head, *tail;
} QmpQueue;

struct Qmp {
        unsigned n_ref;
        bool freed;
        QmpState state;
        int fd; /* closed by bev */
        struct bufferevent *bev;
        /* bufferevent cannot send ancillary data: commands carrying an fd are written by hand, and this
         * retries them when the socket was full. It also reports write errors outside qmp_command(). */
        struct event *fd_write_event;
        int write_error;
        size_t scanned;
        uint64_t next_id;
        QmpQueue unsent; /* issued before the handshake, or waiting behind a command carrying an fd */
        QmpQueue sent; /* awaiting their replies */
        QmpCallbacks cb;
        void *userdata;
};

static void queue_push(QmpQueue *queue, QmpCommand *c)
{
        c->next = NULL;
        if (queue->tail)
                queue->tail->next = c;
        else
                queue->head = c;
        queue->tail = c;
}

static QmpCommand *queue_pop(QmpQueue *queue)
{
        QmpCommand *c = queue->head;
        if (!c)
                return NULL;
        queue->head = c->next;
        if (!queue->head)
                queue->tail = NULL;
        c->next = NULL;
        return c;
}

/* Replies come in order in practice, so the head usually matches at once. */
static QmpCommand *queue_remove_id(QmpQueue *queue, uint64_t id)
{
        QmpCommand *prev = NULL;

        for (QmpCommand *c = queue->head; c; prev = c, c = c->next) {
                if (c->id != id)
                        continue;
                if (prev)
                        prev->next = c->next;
                else
                        queue->head = c->next;
                if (queue->tail == c)
                        queue->tail = prev;
                c->next = NULL;
                return c;
        }
        return NULL;
}

static void command_free(QmpCommand *c)
{
        if (!c)
                return;
        safe_close(c->fd);
        free(c->line);
        free(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(QmpCommand *, command_free);

static void queue_clear(QmpQueue *queue)
{
        QmpCommand *c;
        while ((c = queue_pop(queue)))
                command_free(c);
}

static Qmp *qmp_ref(Qmp *q)
{
        q->n_ref++;
        return q;
}

static void qmp_unref(Qmp *q)
{
        if (!q || --q->n_ref > 0)
                return;
        free(q);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Qmp *, qmp_unref);

static void qmp_close(Qmp *q)
{
        if (q->fd_write_event) {
                event_free(q->fd_write_event);
                q->fd_write_event = NULL;
        }
        /* Inside one of its callbacks, bev (and with it the fd) goes only once that callback returns, so
         * the fd number cannot be reused while libevent still watches it. */
        if (q->bev) {
                bufferevent_free(q->bev);
                q->bev = NULL;
        }
        q->fd = -1;
}

void qmp_free(Qmp *q)
{
        if (!q || q->freed)
                return;
        q->freed = true;
        q->state = QMP_STATE_DISCONNECTED;
        qmp_close(q);
        queue_clear(&q->unsent);
        queue_clear(&q->sent);
        qmp_unref(q);
}

/* Ends the connection: the pending handlers hear "Disconnected", then the owner hears disconnected(). */
static void qmp_disconnect(Qmp *q, int error)
{
        _cleanup_(qmp_unrefp) Qmp *ref = qmp_ref(q);
        QmpQueue pending;
        QmpCommand *c;

        if (q->state == QMP_STATE_DISCONNECTED)
                return;
        log_debug_errno(error, "QMP connection ended: %m");
        q->state = QMP_STATE_DISCONNECTED;
        qmp_close(q);

        /* Sent commands were issued before the unsent ones. */
        pending = q->sent;
        if (pending.tail)
                pending.tail->next = q->unsent.head;
        else
                pending.head = q->unsent.head;
        if (q->unsent.tail)
                pending.tail = q->unsent.tail;
        q->sent = q->unsent = (QmpQueue){};

        while ((c = queue_pop(&pending))) {
                if (!q->freed && c->handler)
                        c->handler(q, NULL, "Disconnected", "The QMP connection was closed", c->userdata);
                command_free(c);
        }
        if (!q->freed && q->cb.disconnected)
                q->cb.disconnected(q, q->userdata);
}

/* Writes c, which carries an fd, with sendmsg(); returns -EAGAIN when the socket is full. */
static int send_with_fd(Qmp *q, QmpCommand *c)
{
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = c->line, .iov_len = c->len };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);
        ssize_t n;

        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &c->fd, sizeof(int));

        n = sendmsg(q->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
                return errno == EINTR ? -EAGAIN : negative_errno();
        /* The fd travelled with the first byte; the rest of the line is ordinary data. */
        if ((size_t) n < c->len && bufferevent_write(q->bev, c->line + n, c->len - (size_t) n) < 0)
                return -EIO;
        c->fd = safe_close(c->fd);
        return 0;
}

/* Moves unsent commands to the wire, in order, as far as they can go now. */
static int flush_unsent(Qmp *q)
{
        while (q->write_error == 0 && q->state == QMP_STATE_READY && q->unsent.head) {
                QmpCommand *c = q->unsent.head;

                if (c->fd >= 0) {
                        /* Everything before it must be in the socket already, so QEMU sees the fd with this
                         * command; the write callback calls us again once the output buffer drained. */
                        if (evbuffer_get_length(bufferevent_get_output(q->bev)) > 0)
                                return 0;
                        int r = send_with_fd(q, c);
                        if (r == -EAGAIN)
                                return event_add(q->fd_write_event, NULL) < 0 ? -EIO : 0;
                        if (r < 0)
                                return r;
                } else if (bufferevent_write(q->bev, c->line, c->len) < 0)
                        return -EIO;
                queue_push(&q->sent, queue_pop(&q->unsent));
        }
        return 0;
}

/* Never calls a handler itself: a write error ends the connection from the event loop. */
static void qmp_flush(Qmp *q)
{
        int r = flush_unsent(q);
        if (r < 0) {
                q->write_error = r;
                event_active(q->fd_write_event, EV_WRITE, 0);
        }
}

static void on_fd_writable(evutil_socket_t fd, short what, void *userdata)
{
        Qmp *q = userdata;

        if (q->write_error < 0)
                qmp_disconnect(q, q->write_error);
        else
                qmp_flush(q);
}

static void on_output_drained(struct bufferevent *bev, void *userdata)
{
        qmp_flush(userdata);
}

static int build_command(Qmp *q, const char *command, json_object *arguments, int fd,
        QmpReplyHandler handler, void *userdata, QmpCommand **ret)
{
        _cleanup_(json_object_putp) json_object *args = arguments, *msg = NULL;
        _cleanup_(command_freep) QmpCommand *c = NULL;
        const char *s;
        size_t len;

        if (isempty(command) || (args && !json_object_is_type(args, json_type_object)))
                return -EINVAL;

        c = new0(QmpCommand, 1);
        c->fd = -1;
        c->id = ++q->next_id;
        c->handler = handler;
        c->userdata = userdata;

        msg = json_object_new_object();
        json_object_object_add(msg, "execute", json_object_new_string(command));
        if (args)
                json_object_object_add(msg, "arguments", TAKE_PTR(args));
        json_object_object_add(msg, "id", json_object_new_uint64(c->id));
        s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN, &len);
        c->line = xmalloc(len + 1);
        memcpy(c->line, s, len);
        c->line[len] = '\n';
        c->len = len + 1;

        if (fd >= 0) {
                c->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (c->fd < 0)
                        return negative_errno();
        }
        *ret = TAKE_PTR(c);
        return 0;
}

static int qmp_command_internal(
        Qmp *q, const char *command, json_object *arguments, int fd, QmpReplyHandler handler, void *userdata)
{
        _cleanup_(json_object_putp) json_object *args = arguments;
        QmpCommand *c;
        int r;

        if (!q || q->freed)
                return -EINVAL;
        if (q->state == QMP_STATE_DISCONNECTED)
                return -ENOTCONN;
        r = build_command(q, command, TAKE_PTR(args), fd, handler, userdata, &c);
        if (r < 0)
                return r;
        queue_push(&q->unsent, c);
        qmp_flush(q);
        return 0;
}

int qmp_command(Qmp *q, const char *command, json_object *arguments, QmpReplyHandler handler, void *userdata)
{
        return qmp_command_internal(q, command, arguments, -1, handler, userdata);
}

int qmp_command_with_fd(
        Qmp *q, const char *command, json_object *arguments, int fd, QmpReplyHandler handler, void *userdata)
{
        if (fd < 0) {
                json_object_put(arguments);
                return -EBADF;
        }
        return qmp_command_internal(q, command, arguments, fd, handler, userdata);
}

static void on_capabilities_reply(
        Qmp *q, json_object *result, const char *error_class, const char *error_desc, void *userdata)
{
        if (error_class) {
                if (!streq(error_class, "Disconnected"))
                        log_debug("QMP capabilities negotiation failed: %s: %s", error_class,
                                strempty(error_desc));
                qmp_disconnect(q, -EPROTO);
                return;
        }
        q->state = QMP_STATE_READY;
        /* Commands queued before the handshake go first, ahead of any that ready() issues. */
        qmp_flush(q);
        if (q->cb.ready)
                q->cb.ready(q, q->userdata);
}

static int send_capabilities(Qmp *q)
{
        _cleanup_(command_freep) QmpCommand *c = NULL;
        int r;

        r = build_command(q, "qmp_capabilities", NULL, -1, on_capabilities_reply, NULL, &c);
        if (r < 0)
                return r;
        if (bufferevent_write(q->bev, c->line, c->len) < 0)
                return -EIO;
        queue_push(&q->sent, TAKE_PTR(c));
        q->state = QMP_STATE_NEGOTIATING;
        return 0;
}

static int qmp_dispatch(Qmp *q, QmpMessage *m)
{
        QmpCommand *c;
        uint64_t id;

        switch (m->type) {
        case QMP_MESSAGE_GREETING:
                if (q->state != QMP_STATE_GREETING)
                        return -EPROTO;
                return send_capabilities(q);

        case QMP_MESSAGE_RETURN:
        case QMP_MESSAGE_ERROR:
                if (q->state == QMP_STATE_GREETING)
                        return -EPROTO;
                /* Every command we send has an id; a reply without ours answers nobody we know. */
                if (!m->id || !json_object_is_type(m->id, json_type_int)) {
                        log_debug("Ignoring QMP reply without a numeric id.");
                        return 0;
                }
                id = json_object_get_uint64(m->id);
                c = queue_remove_id(&q->sent, id);
                if (!c) {
                        log_debug("Ignoring QMP reply to unknown id %" PRIu64 ".", id);
                        return 0;
                }
                if (c->handler)
                        c->handler(q, m->result, m->error_class, m->error_desc, c->userdata);
                command_free(c);
                return 0;

        case QMP_MESSAGE_EVENT:
                if (q->cb.event)
                        q->cb.event(q, m->event, m->data, q->userdata);
                return 0;
        }
        return -EPROTO;
}

static bool qmp_alive(Qmp *q)
{
        return !q->freed && q->state != QMP_STATE_DISCONNECTED;
}

static void on_readable(struct bufferevent *bev, void *userdata)
{
        _cleanup_(qmp_unrefp) Qmp *q = qmp_ref(userdata);
        struct evbuffer *input = bufferevent_get_input(bev);

        while (qmp_alive(q)) {
                _cleanup_free_ char *line = NULL;
                QmpMessage m;
                size_t len;
                int r;

                r = qmp_take_line(input, &q->scanned, &line, &len);
                if (r == 0)
                        return;
                if (r > 0)
                        r = qmp_parse_message(line, len, &m);
                if (r >= 0) {
                        r = qmp_dispatch(q, &m);
                        qmp_message_done(&m);
                }
                if (r < 0) {
                        qmp_disconnect(q, r);
                        return;
                }
        }
}

static void on_event(struct bufferevent *bev, short what, void *userdata)
{
        if (what & BEV_EVENT_ERROR)
                qmp_disconnect(userdata, negative_errno());
        else if (what & BEV_EVENT_EOF)
                qmp_disconnect(userdata, -ECONNRESET);
}

int qmp_adopt_fd(struct event_base *base, int fd, const QmpCallbacks *cb, void *userdata, Qmp **ret)
{
        _cleanup_(qmp_freep) Qmp *q = NULL;
        struct stat st;
        int flags;

        if (!base || fd < 0 || !ret)
                return -EINVAL;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return negative_errno();
        flags = fcntl(fd, F_GETFD);
        if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
                return negative_errno();

        q = new0(Qmp, 1);
        q->n_ref = 1;
        q->fd = -1;
        q->state = QMP_STATE_GREETING;
        if (cb)
                q->cb = *cb;
        q->userdata = userdata;
        q->fd_write_event = event_new(base, fd, EV_WRITE, on_fd_writable, q);
        if (!q->fd_write_event)
                return -ENOMEM;
        /* The fd is handed over last, so that on failure it stays the caller's. */
        q->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (!q->bev)
                return -ENOMEM;
        bufferevent_setcb(q->bev, on_readable, on_output_drained, on_event, q);
        if (bufferevent_setfd(q->bev, fd) < 0)
                return -EIO;
        if (bufferevent_enable(q->bev, EV_READ | EV_WRITE) < 0) {
                bufferevent_setfd(q->bev, -1);
                return -EIO;
        }
        q->fd = fd;
        *ret = TAKE_PTR(q);
        return 0;
}

int qmp_connect(
        struct event_base *base, const char *socket_path, const QmpCallbacks *cb, void *userdata, Qmp **ret)
{
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        if (!base || !socket_path || !ret)
                return -EINVAL;
        if (isempty(socket_path) || strlen(socket_path) >= sizeof(sa.sun_path))
                return -EINVAL;
        strcpy(sa.sun_path, socket_path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        /* A local connect either completes or fails at once; it waits only when the backlog is full. */
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        r = qmp_adopt_fd(base, fd, cb, userdata, ret);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return 0;
}

/* Looks up a string member; strings with embedded NULs are not valid QMP names or descriptions. */
static int get_string(json_object *o, const char *key, const char **ret)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return -EBADMSG;
        const char *s = json_object_get_string(v);
        if (strlen(s) != (size_t) json_object_get_string_len(v))
                return -EBADMSG;
        *ret = s;
        return 0;
}

static int classify(json_object *o, QmpMessage *m)
{
        json_object *greeting, *result, *error, *event;
        bool has_greeting, has_result, has_error, has_event;

        has_greeting = json_object_object_get_ex(o, "QMP", &greeting);
        has_result = json_object_object_get_ex(o, "return", &result);
        has_error = json_object_object_get_ex(o, "error", &error);
        has_event = json_object_object_get_ex(o, "event", &event);
        if (has_greeting + has_result + has_error + has_event != 1)
                return -EBADMSG;
        json_object_object_get_ex(o, "id", &m->id);

        if (has_greeting) {
                if (!json_object_is_type(greeting, json_type_object))
                        return -EBADMSG;
                m->type = QMP_MESSAGE_GREETING;
                m->qmp = greeting;
        } else if (has_result) {
                if (!result)
                        return -EBADMSG;
                m->type = QMP_MESSAGE_RETURN;
                m->result = result;
        } else if (has_error) {
                if (!json_object_is_type(error, json_type_object) ||
                        get_string(error, "class", &m->error_class) < 0 ||
                        get_string(error, "desc", &m->error_desc) < 0)
                        return -EBADMSG;
                m->type = QMP_MESSAGE_ERROR;
        } else {
                json_object *data = NULL;

                if (get_string(o, "event", &m->event) < 0)
                        return -EBADMSG;
                if (json_object_object_get_ex(o, "data", &data) && !json_object_is_type(data, json_type_object))
                        return -EBADMSG;
                m->type = QMP_MESSAGE_EVENT;
                m->data = data;
        }
        return 0;
}

int qmp_parse_message(const char *line, size_t len, QmpMessage *ret)
{
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_tokener *tok;
        QmpMessage m = {};
        int r;

        if (!line || !ret)
                return -EINVAL;
        if (len > QMP_LINE_MAX)
                return -EMSGSIZE;
        if (memchr(line, 0, len))
                return -EBADMSG;
        while (len > 0 && memchr(" \t\r\n", line[len - 1], 4))
                len--;

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, line, (int) len);
        /* The message must end exactly where the line does. */
        if (o && json_tokener_get_parse_end(tok) != len)
                json_object_put(TAKE_PTR(o));
        json_tokener_free(tok);
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;

        r = classify(o, &m);
        if (r < 0)
                return r;
        m.object = TAKE_PTR(o);
        *ret = m;
        return 0;
}

void qmp_message_done(QmpMessage *m)
{
        if (!m)
                return;
        json_object_put(m->object);
        *m = (QmpMessage){};
}

int qmp_take_line(struct evbuffer *buf, size_t *scanned, char **ret_line, size_t *ret_len)
{
        struct evbuffer_ptr start, eol;
        size_t size, len;
        char *line;

        if (!buf || !scanned || !ret_line || !ret_len)
                return -EINVAL;
        size = evbuffer_get_length(buf);
        if (*scanned > size)
                *scanned = 0;
        if (evbuffer_ptr_set(buf, &start, *scanned, EVBUFFER_PTR_SET) < 0)
                return -EINVAL;
        eol = evbuffer_search_eol(buf, &start, NULL, EVBUFFER_EOL_LF);
        if (eol.pos < 0) {
                *scanned = size;
                return size > QMP_LINE_MAX ? -EMSGSIZE : 0;
        }
        len = (size_t) eol.pos;
        if (len > QMP_LINE_MAX)
                return -EMSGSIZE;

        line = xmalloc(len + 1);
        if (evbuffer_remove(buf, line, len) != (int) len || evbuffer_drain(buf, 1) < 0) {
                free(line);
                return -EIO;
        }
        line[len] = '\0';
        *scanned = 0;
        *ret_line = line;
        *ret_len = len;
        return 1;
}
