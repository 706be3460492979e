#include "strbuf.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The programs' policy on memory: log the failure and end. */
static void out_of_memory(const char *what, size_t bytes)
{
    log_error("out of memory", "what=%s bytes=%zu", what, bytes);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        out_of_memory("malloc", n);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        out_of_memory("realloc", n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(xmalloc(n), s, n);
}

/* Ends the process when an append to sb failed. */
static void check(const struct strbuf *sb, enum dynbuf_error err)
{
    if (err != DYNBUF_OK)
        out_of_memory(err == DYNBUF_TOO_BIG ? "strbuf past STRBUF_MAX" : "strbuf",
                      dynbuf_len(&sb->b));
}

void sb_append(struct strbuf *sb, const char *data, size_t len)
{
    check(sb, dynbuf_add(&sb->b, data, len));
}

void sb_puts(struct strbuf *sb, const char *s)
{
    check(sb, dynbuf_adds(&sb->b, s));
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
    enum dynbuf_error err;
    va_list ap;

    va_start(ap, fmt);
    err = dynbuf_vprintf(&sb->b, fmt, ap);
    va_end(ap);
    check(sb, err);
}

void sb_html(struct strbuf *sb, const char *s)
{
    check(sb, dynbuf_add_html(&sb->b, s));
}

void sb_json_string(struct strbuf *sb, const char *s)
{
    s = s ? s : "";
    dynbuf_add(&sb->b, "\"", 1);
    dynbuf_add_json(&sb->b, s, strlen(s));
    check(sb, dynbuf_add(&sb->b, "\"", 1));
}

const char *sb_str(const struct strbuf *sb)
{
    return dynbuf_ptr(&sb->b);
}

size_t sb_len(const struct strbuf *sb)
{
    return dynbuf_len(&sb->b);
}

char *sb_detach(struct strbuf *sb, size_t *len)
{
    char *p = dynbuf_take(&sb->b, len);

    if (!p)
        out_of_memory("strbuf", 1);
    return p;
}

void sb_release(struct strbuf *sb)
{
    dynbuf_release(&sb->b);
}
