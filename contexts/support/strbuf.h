/*
 * strbuf.h - a growable NUL-terminated byte buffer for building responses.
 *
 * Appends never fail: out of memory ends the process through xmalloc (the
 * programs' policy). A strbuf owns its storage; sb_release() frees it and
 * sb_detach() hands it to the caller.
 */
#ifndef STRBUF_H
#define STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
    char *buf;    /* always NUL-terminated once anything is appended */
    size_t len;   /* bytes used, without the NUL */
    size_t alloc; /* bytes allocated */
};

#define STRBUF_INIT {NULL, 0, 0}

void sb_append(struct strbuf *sb, const char *data, size_t len);
void sb_puts(struct strbuf *sb, const char *s);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with &, <, >, " and ' escaped for HTML text and attributes. */
void sb_html(struct strbuf *sb, const char *s);
/* Appends s as a JSON string literal, quotes included. */
void sb_json_string(struct strbuf *sb, const char *s);
/* Returns the buffer (never NULL; "" when empty); you now own it. */
char *sb_detach(struct strbuf *sb, size_t *len);
void sb_release(struct strbuf *sb);

/* malloc/realloc/strdup that end the process with a log line when memory is
 * out. Only programs use these; the libraries return errors instead. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
