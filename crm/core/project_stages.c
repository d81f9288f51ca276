/*
 * project_stages: see project_stages.h.
 */
#include "core/project_stages.h"

#include <stdio.h>
#include <string.h>

const char *const project_stages[] = {
    "planned",       "lead",        "negotiating", "signed",     "started",
    "in_production", "at_capacity", "stalled",     "terminated", NULL};

const char *const project_first_stages[] = {"planned", "lead", "negotiating", NULL};

int project_stage_valid(const char *name)
{
    for (const char *const *s = project_stages; *s; s++)
        if (strcmp(*s, name) == 0)
            return 1;
    return 0;
}

char *project_stages_text(char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (const char *const *s = project_stages; *s && n < len; s++) {
        const char *sep = s == project_stages ? "" : s[1] ? ", " : " or ";
        int k = snprintf(out + n, len - n, "%s%s", sep, *s);
        if (k < 0)
            break;
        n += (size_t)k;
    }
    return out;
}
