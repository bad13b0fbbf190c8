/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "http-client.h"

#define HTTP_DEFAULT_TIMEOUT_MS 5000

typedef struct Endpoint {
        char *url;
        char *host;
        int port;
        bool tls;
        /* Shared by the plain requests to this endpoint; evhttp queues them. */
        struct evhttp_connection *conn;
} Endpoint;

struct HttpClient {
        struct event_base *base;
        Endpoint *endpoints;
        size_t n_endpoints;
        size_t current;
        unsigned timeout_ms;
        SSL_CTX *ssl;
        HttpRequest *requests;
        /* Streams' connections that are done with, freed from the loop: never inside evhttp's callbacks. */
        struct evhttp_connection **spent;
        size_t n_spent;
        struct event *reaper;
};

struct HttpRequest {
        HttpClient *client;
        HttpRequest *prev, *next;
        char *path;
        char *body;
        HttpLineHandler line;
        HttpDoneHandler done;
        void *userdata;
        size_t endpoint;
        size_t attempts;
        struct evhttp_request *ev;
        struct evhttp_connection *conn; /* a stream's own */
        struct event *deadline;
        /* A stream's lines not yet delivered, and the event that frees a stream cancelled from
         * its own line handler once evhttp is out of its callback. */
        struct evbuffer *partial;
        struct event *reap;
        bool in_callback;
        bool cancelled;
        int error;
};

static void on_reaper(evutil_socket_t fd, short what, void *arg);

static int parse_endpoint(const char *url, Endpoint *ret)
{
        const char *rest, *colon;
        char *end;
        long port;
        bool tls;

        if (strncmp(url, "http://", 7) == 0) {
                rest = url + 7;
                tls = false;
        } else if (strncmp(url, "https://", 8) == 0) {
                rest = url + 8;
                tls = true;
        } else
                return strstr(url, "://") ? -EPROTONOSUPPORT : -EINVAL;

        if (rest[0] == '[') {
                const char *close = strchr(rest, ']');
                if (!close || close[1] != ':')
                        return -EINVAL;
                colon = close + 1;
        } else {
                colon = strchr(rest, ':');
                if (!colon || memchr(rest, '[', (size_t) (colon - rest)))
                        return -EINVAL;
        }
        if (colon == rest || strcspn(rest, "/?#@ ") < (size_t) (colon - rest))
                return -EINVAL;
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (errno != 0 || end == colon + 1 || *end != 0 || port < 1 || port > 65535)
                return -EINVAL;

        *ret = (Endpoint){
                .url = xstrdup(url),
                .host = rest[0] == '[' ? xstrndup(rest + 1, (size_t) (colon - rest - 2))
                                       : xstrndup(rest, (size_t) (colon - rest)),
                .port = (int) port,
                .tls = tls,
        };
        return 0;
}

static int tls_context(const HttpClientOptions *o, SSL_CTX **ret)
{
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

        if (!ctx)
                return -EIO;
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if ((o->ca_file ? SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL)
                        : SSL_CTX_set_default_verify_paths(ctx)) != 1 ||
                (o->cert_file && SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) ||
                (o->key_file && SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1) ||
                (o->cert_file && SSL_CTX_check_private_key(ctx) != 1)) {
                SSL_CTX_free(ctx);
                return -EIO;
        }
        *ret = ctx;
        return 0;
}

int http_client_new(struct event_base *base, char *const *endpoints, size_t n, const HttpClientOptions *o,
        HttpClient **ret)
{
        static const HttpClientOptions defaults = { 0 };
        _cleanup_(http_client_freep) HttpClient *c = NULL;
        bool any_tls = false;
        int r;

        if (!base || !endpoints || n == 0)
                return -EINVAL;
        o = o ?: &defaults;
        c = new0(HttpClient, 1);
        c->base = base;
        c->timeout_ms = o->timeout_ms ?: HTTP_DEFAULT_TIMEOUT_MS;
        c->endpoints = new0(Endpoint, n);
        c->reaper = event_new(base, -1, 0, on_reaper, c);
        if (!c->reaper)
                abort();
        for (size_t i = 0; i < n; i++) {
                r = parse_endpoint(endpoints[i], &c->endpoints[i]);
                if (r < 0)
                        return r;
                c->n_endpoints++;
                any_tls = any_tls || c->endpoints[i].tls;
        }
        if (any_tls) {
                r = tls_context(o, &c->ssl);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

static void spent_free(HttpClient *c)
{
        for (size_t i = 0; i < c->n_spent; i++)
                evhttp_connection_free(c->spent[i]);
        free(c->spent);
        c->spent = NULL;
        c->n_spent = 0;
}

static void on_reaper(evutil_socket_t fd, short what, void *arg)
{
        spent_free(arg);
}

static void connection_retire(HttpClient *c, struct evhttp_connection *conn)
{
        c->spent = xrealloc(c->spent, (c->n_spent + 1) * sizeof(*c->spent));
        c->spent[c->n_spent++] = conn;
        event_active(c->reaper, 0, 0);
}

static void request_free(HttpRequest *req)
{
        HttpClient *c = req->client;

        if (req->ev)
                evhttp_cancel_request(req->ev);
        if (req->conn)
                connection_retire(c, req->conn);
        if (req->deadline)
                event_free(req->deadline);
        if (req->reap)
                event_free(req->reap);
        if (req->partial)
                evbuffer_free(req->partial);
        if (req->prev)
                req->prev->next = req->next;
        else
                c->requests = req->next;
        if (req->next)
                req->next->prev = req->prev;
        free(req->path);
        free(req->body);
        free(req);
}

HttpClient *http_client_free(HttpClient *c)
{
        if (!c)
                return NULL;
        while (c->requests)
                request_free(c->requests);
        spent_free(c);
        if (c->reaper)
                event_free(c->reaper);
        for (size_t i = 0; i < c->n_endpoints; i++) {
                if (c->endpoints[i].conn)
                        evhttp_connection_free(c->endpoints[i].conn);
                free(c->endpoints[i].url);
                free(c->endpoints[i].host);
        }
        free(c->endpoints);
        if (c->ssl)
                SSL_CTX_free(c->ssl);
        free(c);
        return NULL;
}

const char *http_client_endpoint(const HttpClient *c)
{
        return c->endpoints[c->current].url;
}

static struct evhttp_connection *connection_new(HttpClient *c, const Endpoint *e)
{
        struct evhttp_connection *conn;

        if (e->tls) {
                SSL *ssl = SSL_new(c->ssl);
                struct bufferevent *bev;

                /* The name the certificate must bear: an IP address is checked as one. */
                if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), e->host) != 1) {
                        SSL_set_tlsext_host_name(ssl, e->host);
                        SSL_set1_host(ssl, e->host);
                }
                bev = bufferevent_openssl_socket_new(c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
                if (!bev)
                        abort();
                bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
                conn = evhttp_connection_base_bufferevent_new(c->base, NULL, bev, e->host, (uint16_t) e->port);
        } else
                conn = evhttp_connection_base_new(c->base, NULL, e->host, (uint16_t) e->port);
        if (!conn)
                abort();
        evhttp_connection_set_family(conn, AF_UNSPEC);
        return conn;
}

static void request_attempt(HttpRequest *req);

/* Ends the request: the handler is told, then the request is gone. */
static void request_end(HttpRequest *req, int r, const HttpResponse *resp)
{
        HttpDoneHandler done = req->done;
        void *userdata = req->userdata;

        request_free(req);
        done(NULL, r, resp, userdata);
}

static void on_complete(struct evhttp_request *ev, void *arg)
{
        HttpRequest *req = arg;
        HttpClient *c = req->client;
        int code = ev ? evhttp_request_get_response_code(ev) : 0;

        if (req->cancelled) {
                req->ev = NULL;
                return;
        }
        if (code == 0) {
                req->ev = NULL;
                /* Never connected: no byte of the request left, so another endpoint may have it. */
                if (req->error == 0 && ++req->attempts < c->n_endpoints) {
                        c->current = (req->endpoint + 1) % c->n_endpoints;
                        return request_attempt(req);
                }
                if (req->endpoint == c->current)
                        c->current = (c->current + 1) % c->n_endpoints;
                return request_end(req,
                        req->error == 0                                   ? -ECONNREFUSED
                                : req->error == EVREQ_HTTP_INVALID_HEADER ? -EPROTO
                                : req->error == EVREQ_HTTP_DATA_TOO_LONG  ? -EMSGSIZE
                                                                          : -ECONNRESET,
                        NULL);
        }

        /* evhttp frees its request after this callback. */
        req->ev = NULL;
        struct evbuffer *in = evhttp_request_get_input_buffer(ev);
        size_t size = req->line ? 0 : evbuffer_get_length(in);
        _cleanup_free_ char *body = xmalloc(size + 1);

        if (size > 0)
                evbuffer_remove(in, body, size);
        body[size] = 0;
        request_end(req, 0, &(HttpResponse){ .status = code, .body = body, .size = size });
}

static void on_error(enum evhttp_request_error error, void *arg)
{
        HttpRequest *req = arg;

        req->error = error;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
        HttpRequest *req = arg;
        HttpClient *c = req->client;

        if (req->endpoint == c->current)
                c->current = (c->current + 1) % c->n_endpoints;
        request_end(req, -ETIMEDOUT, NULL);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
        request_free(arg);
}

static void on_chunk(struct evhttp_request *ev, void *arg)
{
        HttpRequest *req = arg;
        size_t n;
        char *line;

        if (req->cancelled)
                return;
        evbuffer_add_buffer(req->partial, evhttp_request_get_input_buffer(ev));
        req->in_callback = true;
        while (!req->cancelled && (line = evbuffer_readln(req->partial, &n, EVBUFFER_EOL_LF))) {
                req->line(req, line, n, req->userdata);
                free(line);
        }
        req->in_callback = false;
        if (req->cancelled) {
                event_del(req->deadline);
                event_active(req->reap, 0, 0);
        }
}

static int on_headers(struct evhttp_request *ev, void *arg)
{
        HttpRequest *req = arg;

        /* The stream is up: from here on it lasts as long as the server keeps it. */
        if (req->deadline)
                event_del(req->deadline);
        return 0;
}

static void request_attempt(HttpRequest *req)
{
        HttpClient *c = req->client;
        Endpoint *e = &c->endpoints[c->current];
        struct evhttp_connection *conn;
        struct evhttp_request *ev;
        struct evkeyvalq *headers;
        char length[32];

        req->endpoint = c->current;
        req->error = 0;
        if (req->line) {
                /* A stream has a connection of its own, so it never holds up the plain requests. */
                if (req->conn)
                        connection_retire(c, req->conn);
                req->conn = conn = connection_new(c, e);
        } else {
                if (!e->conn)
                        e->conn = connection_new(c, e);
                conn = e->conn;
        }

        ev = evhttp_request_new(on_complete, req);
        if (!ev)
                abort();
        evhttp_request_set_error_cb(ev, on_error);
        if (req->line) {
                evhttp_request_set_chunked_cb(ev, on_chunk);
                evhttp_request_set_header_cb(ev, on_headers);
        }
        headers = evhttp_request_get_output_headers(ev);
        evhttp_add_header(headers, "Host", e->host);
        evhttp_add_header(headers, "Content-Type", "application/json");
        evhttp_add_header(headers, "Accept", "application/json");
        /* A stream's connection is its own, used once. */
        if (req->line)
                evhttp_add_header(headers, "Connection", "close");
        snprintf(length, sizeof length, "%zu", strlen(req->body));
        evhttp_add_header(headers, "Content-Length", length);
        evbuffer_add(evhttp_request_get_output_buffer(ev), req->body, strlen(req->body));
        req->ev = ev;
        if (evhttp_make_request(conn, ev, EVHTTP_REQ_POST, req->path) < 0) {
                /* evhttp freed ev; a connection it cannot even start counts as refused. */
                req->ev = NULL;
                if (req->line) {
                        evhttp_connection_free(conn);
                        req->conn = NULL;
                }
                req->error = 0;
                on_complete(NULL, req);
        }
}

static int request_start(HttpClient *c, const char *path, const char *body, HttpLineHandler line,
        HttpDoneHandler done, void *userdata, HttpRequest **ret)
{
        HttpRequest *req;
        struct timeval tv = { .tv_sec = c->timeout_ms / 1000, .tv_usec = (c->timeout_ms % 1000) * 1000 };

        if (!path || path[0] != '/' || !body || !done)
                return -EINVAL;
        req = new0(HttpRequest, 1);
        *req = (HttpRequest){
                .client = c,
                .next = c->requests,
                .path = xstrdup(path),
                .body = xstrdup(body),
                .line = line,
                .done = done,
                .userdata = userdata,
        };
        if (c->requests)
                c->requests->prev = req;
        c->requests = req;
        req->deadline = evtimer_new(c->base, on_deadline, req);
        if (!req->deadline)
                abort();
        evtimer_add(req->deadline, &tv);
        if (line) {
                req->partial = evbuffer_new();
                req->reap = event_new(c->base, -1, 0, on_reap, req);
                if (!req->partial || !req->reap)
                        abort();
        }
        if (ret)
                *ret = req;
        request_attempt(req);
        return 0;
}

int http_client_post(HttpClient *c, const char *path, const char *body, HttpDoneHandler done, void *userdata,
        HttpRequest **ret)
{
        return request_start(c, path, body, NULL, done, userdata, ret);
}

int http_client_post_stream(HttpClient *c, const char *path, const char *body, HttpLineHandler line,
        HttpDoneHandler done, void *userdata, HttpRequest **ret)
{
        if (!line)
                return -EINVAL;
        return request_start(c, path, body, line, done, userdata, ret);
}

void http_request_cancel(HttpRequest *req)
{
        if (!req)
                return;
        if (req->in_callback)
                req->cancelled = true;
        else
                request_free(req);
}

typedef struct SyncCall {
        bool finished;
        int r;
        int status;
        char *body;
        size_t size;
} SyncCall;

static void on_sync_done(HttpRequest *req, int r, const HttpResponse *resp, void *userdata)
{
        SyncCall *call = userdata;

        call->finished = true;
        call->r = r;
        if (r >= 0) {
                call->status = resp->status;
                call->body = xmemdup(resp->body, resp->size + 1);
                call->size = resp->size;
        }
}

int http_client_post_sync(HttpClient *c, const char *path, const char *body, int *ret_status,
        char **ret_body, size_t *ret_size)
{
        SyncCall call = {};
        int r;

        /* The loop of a private base ran last in the previous call: a kept-alive connection the
         * server closed since is noticed now, and the request goes out on a fresh one. */
        if (event_base_loop(c->base, EVLOOP_NONBLOCK) < 0)
                abort();
        r = http_client_post(c, path, body, on_sync_done, &call, NULL);
        if (r < 0)
                return r;
        while (!call.finished)
                if (event_base_loop(c->base, EVLOOP_ONCE) < 0)
                        abort();
        if (call.r < 0)
                return call.r;
        if (ret_status)
                *ret_status = call.status;
        if (ret_size)
                *ret_size = call.size;
        if (ret_body)
                *ret_body = call.body;
        else
                free(call.body);
        return 0;
}
