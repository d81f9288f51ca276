/*
 * reply_capture: for unit tests that drive code answering an exchange
 * (http/exchange.h) without a server. It makes exchanges on requests without
 * a connection (as evhttp leaves one whose client went away) and defines
 * evhttp_send_reply itself, so that the exchange's answer (status, body,
 * Content-Type) is kept in `captured` before libevent's own function runs
 * (which frees such a request). Include it in one test program only once:
 * it defines functions (evhttp_send_reply must not be static to take the
 * place of libevent's).
 */
#ifndef CRM_TEST_REPLY_CAPTURE_H
#define CRM_TEST_REPLY_CAPTURE_H

#include <dlfcn.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "http/exchange.h"
#include "http/router.h"
#include "http/worker.h"

struct captured_reply {
    int calls; /* answers sent since the start */
    int status;
    char *body; /* terminated; owned here */
    size_t len;
    char content_type[128];
};

static struct captured_reply captured;

void evhttp_send_reply(struct evhttp_request *req, int code, const char *reason,
                       struct evbuffer *databuf)
{
    size_t len = databuf ? evbuffer_get_length(databuf) : 0;
    free(captured.body);
    captured.body = malloc(len + 1);
    if (!captured.body)
        abort();
    if (len)
        evbuffer_copyout(databuf, captured.body, len);
    captured.body[len] = '\0';
    captured.len = len;
    captured.status = code;
    captured.calls++;
    const char *ct = evhttp_find_header(evhttp_request_get_output_headers(req), "Content-Type");
    snprintf(captured.content_type, sizeof captured.content_type, "%s", ct ? ct : "");
    void (*real)(struct evhttp_request *, int, const char *, struct evbuffer *) =
        (void (*)(struct evhttp_request *, int, const char *, struct evbuffer *))dlsym(
            RTLD_NEXT, "evhttp_send_reply");
    if (!real)
        abort();
    real(req, code, reason, databuf);
}

static struct crm_config capture_cfg;
static struct server capture_server = {.cfg = &capture_cfg};
static struct worker capture_worker = {.server = &capture_server};

/* An exchange of method on uri with body (len bytes, may be NULL), its
 * request without a connection. */
static inline struct exchange *capture_exchange(unsigned method, const char *uri, const char *body,
                                                size_t len)
{
    struct evhttp_request *req = evhttp_request_new(NULL, NULL);
    if (!req)
        abort();
    req->uri = strdup(uri);
    req->uri_elems = evhttp_uri_parse(uri);
    if (!req->uri || !req->uri_elems)
        abort();
    if (body)
        evbuffer_add(evhttp_request_get_input_buffer(req), body, len);
    struct exchange *x = exchange_new(req, &capture_worker, method);
    if (!x)
        abort();
    return x;
}

/* The answer's body as JSON (the caller decrefs), or NULL. */
static inline json_t *captured_json(void)
{
    return captured.body ? json_loadb(captured.body, captured.len, 0, NULL) : NULL;
}

#endif
