/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A small HTTP/1.1 client on libevent's evhttp, for etcd's JSON gateway and the
 * gateways of other nodes. One client serves a list of endpoints of the same
 * service: requests go to the current one over a kept-alive connection; an
 * endpoint that refuses the connection is skipped for the next (a request that
 * was never sent is safe to send elsewhere), and one that fails otherwise is
 * left for the next request. Every request has a deadline; a stream has one
 * until its response headers arrive.
 *
 * Errors: -ETIMEDOUT (deadline), -ECONNREFUSED (no endpoint took the
 * connection), -ECONNRESET (the connection broke before the response was
 * complete: the request may or may not have been acted on), -EPROTO (not an
 * HTTP response).
 */

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef struct HttpClient HttpClient;
typedef struct HttpRequest HttpRequest;

typedef struct HttpClientOptions {
        unsigned timeout_ms; /* per request; 0: 5000 */
        /* For https endpoints: the CA to verify the server against (NULL: the system's),
         * and an optional client certificate and key. */
        const char *ca_file;
        const char *cert_file;
        const char *key_file;
} HttpClientOptions;

/*
 * endpoints are "http://HOST:PORT" or "https://HOST:PORT" (IPv6 hosts in brackets), n >= 1.
 * -EINVAL for a malformed endpoint, -EPROTONOSUPPORT for another scheme; TLS set-up errors as
 * -EIO with the OpenSSL error left on its queue.
 */
int http_client_new(struct event_base *base, char *const *endpoints, size_t n, const HttpClientOptions *o,
        HttpClient **ret);
/* Cancels what is in flight without calling its handlers. */
HttpClient *http_client_free(HttpClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpClient *, http_client_free);

/* The endpoint requests go to now. */
const char *http_client_endpoint(const HttpClient *c);

typedef struct HttpResponse {
        int status;
        const char *body; /* NUL-terminated */
        size_t size;
} HttpResponse;

/* r < 0 with resp NULL, or 0 with the response (any status). The request is gone afterwards. */
typedef void (*HttpDoneHandler)(HttpRequest *req, int r, const HttpResponse *resp, void *userdata);
/* A streamed response: each line of the body as it arrives, without its "\n". */
typedef void (*HttpLineHandler)(HttpRequest *req, const char *line, size_t size, void *userdata);

/* POSTs body (JSON) to path; done is called exactly once, unless the request is cancelled first. */
int http_client_post(HttpClient *c, const char *path, const char *body, HttpDoneHandler done, void *userdata,
        HttpRequest **ret);
/*
 * The same for a response streamed line by line: lines go to line, then done reports how it
 * ended (with an empty body: the lines were the body). A stream runs without a deadline once
 * its response headers have come, on a connection of its own.
 */
int http_client_post_stream(HttpClient *c, const char *path, const char *body, HttpLineHandler line,
        HttpDoneHandler done, void *userdata, HttpRequest **ret);
/* Ends the request without calling its handlers. */
void http_request_cancel(HttpRequest *req);

/*
 * POSTs and runs the client's event_base until the response is in: for a client on a private
 * base, so the caller's own loop never runs inside the call. ret_body is NUL-terminated.
 */
int http_client_post_sync(HttpClient *c, const char *path, const char *body, int *ret_status,
        char **ret_body, size_t *ret_size);
