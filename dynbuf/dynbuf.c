#include "dynbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* First allocation; each growth doubles it. */
#define FIRST_ALLOC 256

/* Longest log line dynbuf_log_write() makes: a few pairs of at most
 * DYNBUF_LOG_VALUE_MAX bytes each, escaped. */
#define LOG_LINE_MAX (256 * 1024)

const char *dynbuf_strerror(enum dynbuf_error err)
{
    switch (err) {
    case DYNBUF_OK:
        return "success";
    case DYNBUF_NOMEM:
        return "out of memory";
    case DYNBUF_TOO_BIG:
        return "too large";
    }
    return "unknown error";
}

void dynbuf_init(struct dynbuf *b, size_t max)
{
    b->buf = NULL;
    b->len = 0;
    b->alloc = 0;
    b->max = max;
    b->err = DYNBUF_OK;
}

void dynbuf_release(struct dynbuf *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = 0;
    b->alloc = 0;
}

void dynbuf_reset(struct dynbuf *b, size_t keep)
{
    if (b->alloc > keep)
        dynbuf_release(b);
    b->len = 0;
    if (b->buf)
        b->buf[0] = '\0';
    b->err = DYNBUF_OK;
}

/* Records the first failure and frees the bytes. */
static enum dynbuf_error fail(struct dynbuf *b, enum dynbuf_error err)
{
    dynbuf_release(b);
    b->err = err;
    return err;
}

/* Makes room for extra more bytes and the NUL. */
static enum dynbuf_error reserve(struct dynbuf *b, size_t extra)
{
    size_t need, alloc;
    char *p;

    if (b->err)
        return b->err;
    if (b->len > b->max || extra > b->max - b->len)
        return fail(b, DYNBUF_TOO_BIG);
    need = b->len + extra + 1;
    if (need <= b->alloc)
        return DYNBUF_OK;
    alloc = b->alloc ? b->alloc : FIRST_ALLOC;
    while (alloc < need)
        alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
    /* No more than the cap can ever need. */
    if (b->max < SIZE_MAX && alloc > b->max + 1)
        alloc = b->max + 1;
    p = realloc(b->buf, alloc);
    if (!p)
        return fail(b, DYNBUF_NOMEM);
    b->buf = p;
    b->alloc = alloc;
    return DYNBUF_OK;
}

enum dynbuf_error dynbuf_add(struct dynbuf *b, const void *data, size_t len)
{
    enum dynbuf_error err = reserve(b, len);

    if (err)
        return err;
    if (len)
        memcpy(b->buf + b->len, data, len);
    b->len += len;
    b->buf[b->len] = '\0';
    return DYNBUF_OK;
}

enum dynbuf_error dynbuf_adds(struct dynbuf *b, const char *s)
{
    return dynbuf_add(b, s, strlen(s));
}

enum dynbuf_error dynbuf_vprintf(struct dynbuf *b, const char *fmt, va_list ap)
{
    enum dynbuf_error err;
    va_list copy;
    int n;

    if (b->err)
        return b->err;
    va_copy(copy, ap);
    n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    /* Only a result past INT_MAX (or a wide character that has no
     * encoding) makes vsnprintf fail. */
    if (n < 0)
        return fail(b, DYNBUF_TOO_BIG);
    err = reserve(b, (size_t)n);
    if (err)
        return err;
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return DYNBUF_OK;
}

enum dynbuf_error dynbuf_printf(struct dynbuf *b, const char *fmt, ...)
{
    enum dynbuf_error err;
    va_list ap;

    va_start(ap, fmt);
    err = dynbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return err;
}

enum dynbuf_error dynbuf_add_html(struct dynbuf *b, const char *s)
{
    const char *run;

    if (!s)
        return b->err;
    /* Runs of plain bytes are copied at once. */
    for (run = s; *s; s++) {
        const char *rep;

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
        dynbuf_add(b, run, (size_t)(s - run));
        dynbuf_adds(b, rep);
        run = s + 1;
    }
    return dynbuf_add(b, run, (size_t)(s - run));
}

enum dynbuf_error dynbuf_add_json(struct dynbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s, *end = s + len;

    /* Runs of plain bytes are copied at once; a page of events is mostly
     * plain text. */
    for (; s < end; s++) {
        unsigned char c = (unsigned char)*s;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        dynbuf_add(b, run, (size_t)(s - run));
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            dynbuf_add(b, esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            dynbuf_add(b, esc, 6);
        }
        run = s + 1;
    }
    return dynbuf_add(b, run, (size_t)(s - run));
}

void dynbuf_truncate(struct dynbuf *b, size_t len)
{
    if (b->buf && len < b->len) {
        b->len = len;
        b->buf[len] = '\0';
    }
}

const char *dynbuf_ptr(const struct dynbuf *b)
{
    return b->buf ? b->buf : "";
}

size_t dynbuf_len(const struct dynbuf *b)
{
    return b->len;
}

enum dynbuf_error dynbuf_error(const struct dynbuf *b)
{
    return b->err;
}

char *dynbuf_take(struct dynbuf *b, size_t *len)
{
    char *p = b->buf;

    if (b->err) {
        dynbuf_reset(b, 0);
        return NULL;
    }
    if (!p && (p = malloc(1)) != NULL)
        p[0] = '\0';
    if (len)
        *len = b->len;
    b->buf = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

/* ---- Log lines ----------------------------------------------------------- */

/* Whether byte c may stand in a bare (unquoted) log value. */
static int plain(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '"' && c != '=' && c != '\\';
}

enum dynbuf_error dynbuf_add_log_start(struct dynbuf *b, const char *level)
{
    char ts[32] = "";
    struct tm tm;
    time_t now = time(NULL);

    if (gmtime_r(&now, &tm))
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    dynbuf_printf(b, "ts=%s", ts);
    return dynbuf_add_log_pair(b, "level", level, 0);
}

enum dynbuf_error dynbuf_add_log_pair(struct dynbuf *b, const char *key, const char *value,
                                      int quote)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *v = (const unsigned char *)(value ? value : "");
    size_t len = strlen((const char *)v), cut = len;

    if (b->len)
        dynbuf_add(b, " ", 1);
    for (const char *k = key; *k; k++) {
        char c = *k;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        dynbuf_add(b, ok ? k : "_", 1);
    }
    dynbuf_add(b, "=", 1);
    if (len > DYNBUF_LOG_VALUE_MAX) {
        /* Cut at the start of a UTF-8 sequence, never inside one. */
        cut = DYNBUF_LOG_VALUE_MAX;
        while (cut > 0 && (v[cut] & 0xc0) == 0x80)
            cut--;
        quote = 1;
    }
    for (size_t i = 0; i < cut && !quote; i++)
        quote = !plain(v[i]);
    if (len == 0)
        quote = 1;
    if (!quote)
        return dynbuf_add(b, v, cut);
    dynbuf_add(b, "\"", 1);
    for (size_t i = 0, run = 0; i <= cut; i++) {
        unsigned char c = i < cut ? v[i] : 0;
        char esc[7];

        if (i < cut && c >= 0x20 && c != 0x7f && c != '"' && c != '\\')
            continue;
        dynbuf_add(b, v + run, i - run);
        run = i + 1;
        if (i == cut)
            break;
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if (c == '\r')
            snprintf(esc, sizeof esc, "\\r");
        else if (c == '\t')
            snprintf(esc, sizeof esc, "\\t");
        else
            snprintf(esc, sizeof esc, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
        dynbuf_adds(b, esc);
    }
    if (cut < len)
        dynbuf_add(b, "...", 3);
    return dynbuf_add(b, "\"", 1);
}

int dynbuf_write(struct dynbuf *b, int fd)
{
    const char *p = b->buf;
    size_t left = b->len;
    int rc = b->err ? -1 : 0;

    while (rc == 0 && left > 0) {
        ssize_t n = write(fd, p, left);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = -1;
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    dynbuf_release(b);
    return rc;
}

size_t dynbuf_log_pairs(const char **keys, const char **values, size_t max, va_list ap)
{
    const char *k;
    size_t n = 0;

    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);

        if (n < max) {
            keys[n] = k;
            values[n++] = v ? v : "";
        }
    }
    return n;
}

int dynbuf_log_write(int fd, const char *level, const char *lib, const char *msg,
                     const char *const *keys, const char *const *values, size_t n)
{
    struct dynbuf line = DYNBUF_INIT(LOG_LINE_MAX);

    dynbuf_add_log_start(&line, level);
    dynbuf_add_log_pair(&line, "lib", lib, 0);
    dynbuf_add_log_pair(&line, "msg", msg, 1);
    for (size_t i = 0; i < n; i++)
        dynbuf_add_log_pair(&line, keys[i], values[i], 0);
    dynbuf_add(&line, "\n", 1);
    return dynbuf_write(&line, fd);
}
