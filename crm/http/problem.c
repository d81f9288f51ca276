/*
 * problem: see problem.h.
 */
#include "http/problem.h"

#include <stddef.h>

static const struct {
    int status;
    const char *reason;
} http_reasons[] = {
    {200, "OK"},
    {201, "Created"},
    {204, "No Content"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
};

const char *http_status_reason(int status)
{
    for (size_t i = 0; i < sizeof http_reasons / sizeof http_reasons[0]; i++)
        if (http_reasons[i].status == status)
            return http_reasons[i].reason;
    return "Error";
}

json_t *problem_new(int status, const char *detail, const char *request_id)
{
    json_t *p = json_object();
    if (!p)
        return NULL;
    json_object_set_new(p, "type", json_string("about:blank"));
    json_object_set_new(p, "title", json_string(http_status_reason(status)));
    json_object_set_new(p, "status", json_integer(status));
    if (detail)
        json_object_set_new(p, "detail", json_string(detail));
    if (request_id)
        json_object_set_new(p, "request_id", json_string(request_id));
    return p;
}

int problem_add_error(json_t *problem, const char *field, const char *message)
{
    json_t *errors = json_object_get(problem, "errors");
    if (!errors) {
        errors = json_array();
        if (!errors || json_object_set_new(problem, "errors", errors) != 0)
            return -1;
    }
    json_t *e = json_pack("{s:s, s:s}", "field", field, "message", message);
    return e ? json_array_append_new(errors, e) : -1;
}
