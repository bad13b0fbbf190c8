/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <event2/buffer.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"
#include "qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed message carries what its type promises; a rejected one is -EBADMSG or -EMSGSIZE. */
static void parse_and_check(const char *line, size_t len)
{
        QmpMessage m;
        int r;

        r = qmp_parse_message(line, len, &m);
        if (r < 0) {
                if (r != -EBADMSG && r != -EMSGSIZE)
                        abort();
                return;
        }
        if (!json_object_is_type(m.object, json_type_object))
                abort();
        switch (m.type) {
        case QMP_MESSAGE_GREETING:
                if (!json_object_is_type(m.qmp, json_type_object))
                        abort();
                break;
        case QMP_MESSAGE_RETURN:
                if (!m.result || m.error_class)
                        abort();
                break;
        case QMP_MESSAGE_ERROR:
                if (m.result || !m.error_class || !m.error_desc)
                        abort();
                break;
        case QMP_MESSAGE_EVENT:
                if (!m.event)
                        abort();
                if (m.data && !json_object_is_type(m.data, json_type_object))
                        abort();
                break;
        default:
                abort();
        }
        qmp_message_done(&m);
}

/*
 * The input is what a peer sends. It reaches the line splitter in two pieces, cut where its first byte says
 * as a socket read may cut it; the lines taken, each with its newline put back, must rebuild the input.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct evbuffer *buf;
        size_t scanned = 0, cut, consumed = 0;
        const char *text;

        if (size == 0)
                return 0;
        text = (const char *) data + 1;
        size--;
        cut = MIN((size_t) data[0], size);

        buf = evbuffer_new();
        if (!buf)
                abort();
        for (int piece = 0; piece < 2; piece++) {
                char *line;
                size_t len;
                int r;

                if (piece == 0)
                        evbuffer_add(buf, text, cut);
                else
                        evbuffer_add(buf, text + cut, size - cut);
                while ((r = qmp_take_line(buf, &scanned, &line, &len)) > 0) {
                        if (len > QMP_LINE_MAX || consumed + len >= size ||
                                memcmp(line, text + consumed, len) != 0 || text[consumed + len] != '\n' ||
                                line[len] != '\0')
                                abort();
                        consumed += len + 1;
                        parse_and_check(line, len);
                        free(line);
                }
                if (r == -EMSGSIZE && size - consumed > QMP_LINE_MAX)
                        break;
                if (r < 0)
                        abort();
        }
        if (size - consumed <= QMP_LINE_MAX &&
                (evbuffer_get_length(buf) != size - consumed || memchr(text + consumed, '\n', size - consumed)))
                abort();
        evbuffer_free(buf);

        /* The whole input as one line too, so the parser also sees embedded newlines and NULs. */
        parse_and_check(text, size);
        return 0;
}
