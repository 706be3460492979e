#include "dynbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for extra more bytes plus the NUL, doubling the block. */
static int reserve(struct fs__buf *b, size_t extra)
{
    size_t need, cap;
    char *d;

    if (b->oom)
        return -1;
    if (extra > (size_t)-1 / 2 - b->len) {
        b->oom = 1;
        return -1;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    d = realloc(b->data, cap);
    if (!d) {
        b->oom = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void fs__buf_add(struct fs__buf *b, const void *data, size_t len)
{
    if (reserve(b, len) != 0)
        return;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void fs__buf_adds(struct fs__buf *b, const char *s)
{
    fs__buf_add(b, s, strlen(s));
}

void fs__buf_printf(struct fs__buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if (reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void fs__buf_add_html(struct fs__buf *b, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *rep = NULL;

        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        fs__buf_add(b, run, (size_t)(s - run));
        fs__buf_adds(b, rep);
        run = s + 1;
    }
    fs__buf_add(b, run, (size_t)(s - run));
}

void fs__buf_add_json(struct fs__buf *b, const char *s)
{
    fs__buf_add_json_len(b, s, strlen(s));
}

void fs__buf_add_json_len(struct fs__buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s, *end = s + len;

    /* Runs of plain bytes are copied at once; a page of events is mostly
     * plain text. */
    for (; s < end; s++) {
        unsigned char c = (unsigned char)*s;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        fs__buf_add(b, run, (size_t)(s - run));
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            fs__buf_add(b, esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            fs__buf_add(b, esc, 6);
        }
        run = s + 1;
    }
    fs__buf_add(b, run, (size_t)(s - run));
}

char *fs__buf_take(struct fs__buf *b, size_t *len)
{
    char *d;

    if (b->oom) {
        fs__buf_release(b);
        return NULL;
    }
    if (!b->data)
        fs__buf_add(b, "", 0);
    if (b->oom) {
        fs__buf_release(b);
        return NULL;
    }
    d = b->data;
    if (len)
        *len = b->len;
    memset(b, 0, sizeof *b);
    return d;
}

void fs__buf_release(struct fs__buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void fs__buf_clear(struct fs__buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}
