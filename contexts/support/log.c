#include "log.h"

#include "dynbuf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Longest line: a few pairs, each cut at DYNBUF_LOG_VALUE_MAX and escaped. */
#define LOG_LINE_MAX (256 * 1024)

static const char *program = "program";
static enum log_level min_level = LOG_INFO;

void log_init(const char *prog)
{
    program = prog;
}

void log_set_level(enum log_level min)
{
    min_level = min > LOG_ERROR ? LOG_ERROR : min;
}

int log_level_parse(const char *name, enum log_level *level)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *level = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

static const char *level_name(enum log_level level)
{
    switch (level) {
    case LOG_DEBUG:
        return "debug";
    case LOG_INFO:
        return "info";
    case LOG_WARN:
        return "warn";
    case LOG_ERROR:
        return "error";
    case LOG_FATAL:
        return "fatal";
    }
    return "info";
}

/* Starts a line: ts, level, prog, lib (unless NULL) and msg. */
static void start(struct dynbuf *line, enum log_level level, const char *lib, const char *msg)
{
    dynbuf_add_log_start(line, level_name(level));
    dynbuf_add_log_pair(line, "prog", program, 0);
    if (lib)
        dynbuf_add_log_pair(line, "lib", lib, 0);
    dynbuf_add_log_pair(line, "msg", msg, 1);
}

/* Ends the line and writes it with one write(2). A line that could not be
 * made (out of memory, as when xmalloc() reports it) is replaced by one
 * that says so, made without allocating. */
static void finish(struct dynbuf *line, enum log_level level)
{
    char lost[160];
    int n;

    dynbuf_add(line, "\n", 1);
    if (!dynbuf_error(line)) {
        dynbuf_write(line, STDERR_FILENO);
        return;
    }
    n = snprintf(lost, sizeof lost, "level=%s prog=%s msg=\"a log line was lost: %s\"\n",
                 level_name(level), program, dynbuf_strerror(dynbuf_error(line)));
    dynbuf_release(line);
    if (n > 0 && write(STDERR_FILENO, lost, (size_t)n) < 0)
        return;
}

/* Copies the digits at p (or, for "*", the int argument) into spec at *n,
 * within size bytes; returns where p goes on. */
static const char *number(const char *p, char *spec, size_t size, size_t *n, va_list *ap)
{
    if (*p == '*') {
        int w = snprintf(spec + *n, size - *n, "%d", va_arg(*ap, int));

        if (w > 0 && (size_t)w < size - *n)
            *n += (size_t)w;
        return p + 1;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (*n + 1 < size)
            spec[(*n)++] = *p;
    }
    return p;
}

/* The integer argument of a conversion with length modifier mod ('H' for
 * h and hh, 'l', 'q' for ll, 'j', 'z', 't', or 0), read with its type. */
static intmax_t signed_arg(char mod, va_list *ap)
{
    switch (mod) {
    case 'l':
        return va_arg(*ap, long);
    case 'q':
        return va_arg(*ap, long long);
    case 'j':
        return va_arg(*ap, intmax_t);
    case 'z':
        return va_arg(*ap, ssize_t);
    case 't':
        return va_arg(*ap, ptrdiff_t);
    }
    return va_arg(*ap, int);
}

static uintmax_t unsigned_arg(char mod, va_list *ap)
{
    switch (mod) {
    case 'l':
        return va_arg(*ap, unsigned long);
    case 'q':
        return va_arg(*ap, unsigned long long);
    case 'j':
        return va_arg(*ap, uintmax_t);
    case 'z':
        return va_arg(*ap, size_t);
    case 't':
        return (uintmax_t)va_arg(*ap, ptrdiff_t);
    }
    return va_arg(*ap, unsigned);
}

/* Formats the string s (NULL is "(null)", as glibc prints it) with spec. */
static void string_arg(struct dynbuf *out, const char *spec, const char *s)
{
    dynbuf_printf(out, spec, s ? s : "(null)");
}

/*
 * Formats the printf conversion that starts at fmt (its '%'), taking its
 * argument from ap with the type its length modifier and conversion give,
 * as printf reads it, onto out; returns where fmt goes on. Integers are
 * printed as intmax_t or uintmax_t, whatever their type; %n writes nothing.
 */
static const char *conversion(struct dynbuf *out, const char *fmt, va_list *ap)
{
    char spec[48];
    size_t n = 0;
    const char *p = fmt + 1;
    char mod = 0;

    if (*p == '%') {
        dynbuf_add(out, "%", 1);
        return p + 1;
    }
    spec[n++] = '%';
    for (; *p && strchr("-+ #0", *p); p++) {
        if (n < 8)
            spec[n++] = *p;
    }
    p = number(p, spec, 24, &n, ap);
    if (*p == '.') {
        spec[n++] = *p++;
        p = number(p, spec, 40, &n, ap);
    }
    for (; *p && strchr("hlLjzt", *p); p++)
        mod = *p == 'h' ? 'H' : *p == 'l' && mod == 'l' ? 'q' : *p;
    if (!*p)
        return p;
    if (strchr("diouxX", *p))
        spec[n++] = 'j';
    else if (strchr("eEfFgGaA", *p) && mod == 'L')
        spec[n++] = 'L';
    spec[n++] = *p;
    spec[n] = '\0';
    if (*p == 'd' || *p == 'i')
        dynbuf_printf(out, spec, signed_arg(mod, ap));
    else if (strchr("ouxX", *p))
        dynbuf_printf(out, spec, unsigned_arg(mod, ap));
    else if (*p == 'c')
        dynbuf_printf(out, spec, va_arg(*ap, int));
    else if (*p == 's')
        string_arg(out, spec, va_arg(*ap, const char *));
    else if (*p == 'p')
        dynbuf_printf(out, spec, va_arg(*ap, void *));
    else if (strchr("eEfFgGaA", *p) && mod == 'L')
        dynbuf_printf(out, spec, va_arg(*ap, long double));
    else if (strchr("eEfFgGaA", *p))
        dynbuf_printf(out, spec, va_arg(*ap, double));
    else if (*p == 'n')
        (void)va_arg(*ap, void *);
    return p + 1;
}

/*
 * Appends the pairs fmt describes (see log_event()) to line. fmt is split
 * into pairs before anything is formatted, so an argument, whatever it
 * holds, only ever becomes (part of) one value. A piece of fmt without
 * "key=" is written as the value of "detail".
 */
static void add_pairs(struct dynbuf *line, const char *fmt, va_list *ap)
{
    struct dynbuf value = DYNBUF_INIT(LOG_LINE_MAX);
    const char *p = fmt;

    while (*p) {
        char key[64] = "detail";
        size_t klen;
        int quoted = 0;

        while (*p == ' ')
            p++;
        if (!*p)
            break;
        klen = strcspn(p, "= %\"");
        if (p[klen] == '=') {
            snprintf(key, sizeof key, "%.*s", (int)klen, p);
            p += klen + 1;
        }
        if (*p == '"') {
            quoted = 1;
            p++;
        }
        dynbuf_reset(&value, SIZE_MAX);
        while (*p && *p != (quoted ? '"' : ' ')) {
            if (*p == '%')
                p = conversion(&value, p, ap);
            else
                dynbuf_add(&value, p++, 1);
        }
        if (quoted && *p == '"')
            p++;
        dynbuf_add_log_pair(line, key,
                            dynbuf_error(&value) ? "(lost: too long)" : dynbuf_ptr(&value), quoted);
    }
    dynbuf_release(&value);
}

void log_event(enum log_level level, const char *msg, const char *fmt, ...)
{
    struct dynbuf line = DYNBUF_INIT(LOG_LINE_MAX);

    if (level < min_level)
        return;
    start(&line, level, NULL, msg);
    if (fmt) {
        va_list ap;

        va_start(ap, fmt);
        add_pairs(&line, fmt, &ap);
        va_end(ap);
    }
    finish(&line, level);
}

void log_library(enum log_level level, const char *lib, const char *msg, const char *const *keys,
                 const char *const *values, size_t n)
{
    struct dynbuf line = DYNBUF_INIT(LOG_LINE_MAX);

    if (level < min_level)
        return;
    start(&line, level, lib, msg);
    for (size_t i = 0; i < n; i++)
        dynbuf_add_log_pair(&line, keys[i], values[i], 0);
    finish(&line, level);
}
