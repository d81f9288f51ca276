/*
 * console: the service's web console, for a person with a browser. `GET /`
 * answers a browser with the console's page and anything else with the
 * service index (contract_index), so that one address serves both; `GET
 * /assets/{name}` answers the page's scripts, styles and images. Only the
 * names of the embedded table are served: no request reaches another file.
 */
#include "api/console.h"

#include <event2/http.h>
#include <string.h>

#include "api/contract.h"
#include "api/routes.h"
#include "http/accept.h"
#include "http/exchange.h"

/* The page runs only this service's own scripts and styles (no inline code,
 * nothing from elsewhere), talks only to this service's API, and may not be
 * framed by another site. */
static const char console_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

/* The longest name /assets/{name} looks up (longer ones are in no table). */
#define CONSOLE_NAME_MAX 128

const struct console_file *console_file_find(const char *name, size_t len)
{
    for (size_t i = 0; i < console_files_count; i++)
        if (strlen(console_files[i].name) == len && memcmp(console_files[i].name, name, len) == 0)
            return &console_files[i];
    return NULL;
}

/* Answers one file, or 304 when the client's copy is current. The names
 * never change with the content, so a browser must ask again every time
 * (no-cache, not a lifetime); the ETag makes asking cheap. */
static void console_answer_file(struct exchange *x, const struct console_file *f)
{
    exchange_add_header(x, "ETag", f->etag);
    exchange_add_header(x, "Cache-Control", "no-cache");
    exchange_add_header(x, "Content-Security-Policy", console_csp);
    exchange_add_header(x, "Referrer-Policy", "no-referrer");
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(x->req), "If-None-Match");
    if (contract_etag_matches(inm, f->etag)) {
        exchange_send_empty(x, 304);
        return;
    }
    exchange_send(x, 200, f->content_type, (const char *)f->bytes, f->len);
}

/* 1 when the client would rather have HTML than JSON: a browser opening the
 * address. A tie (no Accept, or one taking any type alike, as curl's default
 * does) keeps the JSON index that programs and the README's examples have
 * always had. */
static int console_page_wanted(struct exchange *x)
{
    const char *accept = evhttp_find_header(evhttp_request_get_input_headers(x->req), "Accept");
    return accept_quality(accept, "text/html") > accept_quality(accept, "application/json");
}

void console_home(struct exchange *x)
{
    exchange_add_header(x, "Vary", "Accept");
    const struct console_file *page = console_file_find("index.html", strlen("index.html"));
    if (page && console_page_wanted(x)) {
        console_answer_file(x, page);
        return;
    }
    contract_index(x);
}

void console_asset(struct exchange *x)
{
    char name[CONSOLE_NAME_MAX];
    int len = router_param(&x->match, "name", name, sizeof name);
    const struct console_file *f = len > 0 ? console_file_find(name, (size_t)len) : NULL;
    if (!f) {
        exchange_send_problem(x, 404, "The console has no file of this name.");
        return;
    }
    console_answer_file(x, f);
}
