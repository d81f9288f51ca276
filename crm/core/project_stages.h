/*
 * project_stages: a project's lifecycle (DESIGN.md section 3), the one list
 * of its stages in C: planned -> lead -> negotiating -> signed -> started
 * -> in_production -> at_capacity, and the side states stalled and
 * terminated. The rules of moving between them are PostgreSQL's
 * (project_transition); here the names are checked before a round trip.
 */
#ifndef CRM_PROJECT_STAGES_H
#define CRM_PROJECT_STAGES_H

#include <stddef.h>

/* Every stage, in lifecycle order, then the side states; NULL-terminated. */
extern const char *const project_stages[];

/* The stages a new project may be created at; NULL-terminated. */
extern const char *const project_first_stages[];

/* Whether name is a stage. */
int project_stage_valid(const char *name);

/* Writes "planned, lead, ..., stalled or terminated" into out (len bytes,
 * terminated; cut short when too small). Returns out. */
char *project_stages_text(char *out, size_t len);

#endif
