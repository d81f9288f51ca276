/*
 * console: the web console, the files of web/ as built into the program
 * (cmake/embed.cmake generates console_files from the folder at build time,
 * so crm serves the console this build was made with and needs no source
 * tree at run time). The handlers are declared in routes.h.
 */
#ifndef CRM_CONSOLE_H
#define CRM_CONSOLE_H

#include <stddef.h>

struct console_file {
    const char *name;           /* its name in web/, and so its URL: /assets/<name> */
    const char *content_type;   /* from its extension */
    const unsigned char *bytes; /* len bytes, then a NUL */
    size_t len;
    const char *etag; /* a strong entity tag (from its SHA-256), quotes included */
};

/* Every file of web/, sorted by name, then one whose name is NULL. */
extern const struct console_file console_files[];
extern const size_t console_files_count;

/* The file called name (len bytes, not terminated), or NULL when web/ had
 * none of that name. */
const struct console_file *console_file_find(const char *name, size_t len);

#endif
