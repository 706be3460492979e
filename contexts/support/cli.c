#include "cli.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char log_level_help[] = "log lines at this level and above: debug, info, warn, "
                                     "error (default info)";

static void print_usage(const char *usage, const struct cli_option *options, size_t n)
{
    printf("usage: %s\n\noptions:\n", usage);
    for (size_t i = 0; i < n; i++) {
        char left[64];

        snprintf(left, sizeof left, "--%s %s", options[i].name,
                 options[i].metavar ? options[i].metavar : "VALUE");
        printf("  %-28s %s%s\n", left, options[i].help, options[i].required ? " (required)" : "");
    }
    printf("  %-28s %s\n", "--log-level LEVEL", log_level_help);
    printf("  %-28s %s\n", "--help", "show this help and exit");
}

/* Prints "PROGRAM COMMAND: what (see --help)" on one line and exits 2.
 * PROGRAM COMMAND are the first two words of usage. */
static void fail(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *usage, const char *fmt, ...)
{
    const char *space = strchr(usage, ' ');
    const char *end = space ? strpbrk(space + 1, " \n") : NULL;
    int cmd_len = (int)(end ? end - usage : (long)strcspn(usage, "\n"));
    char what[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%.*s: %s (see --help)\n", cmd_len, usage, what);
    exit(2);
}

/* Whether s is a port: 1-5 digits, 0..65535. */
static int valid_port(const char *s)
{
    size_t n = strspn(s, "0123456789");

    return n > 0 && n <= 5 && !s[n] && strtoul(s, NULL, 10) <= 65535;
}

/* Whether s is what the server listens on: "ADDR:PORT" with an IPv4
 * address, "localhost" or nothing (every address), or "[ADDR6]:PORT". */
static int valid_addr(const char *s)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon;
    unsigned char bin[sizeof(struct in6_addr)];

    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            return 0;
        snprintf(host, sizeof host, "%.*s", (int)(close - s - 1), s + 1);
        return inet_pton(AF_INET6, host, bin) == 1 && valid_port(close + 2);
    }
    colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return 0;
    snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
    if (host[0] && strcmp(host, "localhost") != 0 && inet_pton(AF_INET, host, bin) != 1)
        return 0;
    return valid_port(colon + 1);
}

/* Whether s is an http:// or https:// URL with a host and no spaces or
 * control characters. */
static int valid_url(const char *s)
{
    const char *rest;

    if (strncmp(s, "http://", 7) == 0)
        rest = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        rest = s + 8;
    else
        return 0;
    if (!*rest || *rest == '/' || *rest == ':')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

/* What a value of kind must look like, for the error line. */
static const char *expected(const struct cli_option *o, char *buf, size_t size)
{
    switch (o->kind) {
    case CLI_UINT:
        snprintf(buf, size, "a whole number from %u to %u", o->min, o->max);
        return buf;
    case CLI_ADDR:
        return "ADDR:PORT, such as 127.0.0.1:8081";
    case CLI_URL:
        return "an http:// or https:// URL";
    case CLI_LIST:
        return "a non-empty value (at most 16 of them)";
    case CLI_DIR:
        return "an existing folder";
    case CLI_STRING:
        break;
    }
    return "a non-empty value";
}

static int set_value(const struct cli_option *o, const char *value)
{
    switch (o->kind) {
    case CLI_STRING:
        if (!*value)
            return -1;
        *(const char **)o->target = value;
        return 0;
    case CLI_ADDR:
        if (!valid_addr(value))
            return -1;
        *(const char **)o->target = value;
        return 0;
    case CLI_URL:
        if (!valid_url(value))
            return -1;
        *(const char **)o->target = value;
        return 0;
    case CLI_DIR: {
        struct stat st;

        if (!*value || stat(value, &st) != 0 || !S_ISDIR(st.st_mode))
            return -1;
        *(const char **)o->target = value;
        return 0;
    }
    case CLI_UINT: {
        char *end;
        unsigned long long v;

        if (*value < '0' || *value > '9')
            return -1;
        errno = 0;
        v = strtoull(value, &end, 10);
        if (errno || *end || v < o->min || v > o->max)
            return -1;
        *(unsigned *)o->target = (unsigned)v;
        return 0;
    }
    case CLI_LIST: {
        struct cli_list *l = o->target;

        if (!*value || l->count >= sizeof l->items / sizeof l->items[0])
            return -1;
        l->items[l->count++] = value;
        return 0;
    }
    }
    return -1;
}

void cli_parse(const char *usage, int argc, char **argv, const struct cli_option *options, size_t n)
{
    static const struct cli_option log_option = {"log-level", CLI_STRING, NULL,    0,
                                                 0,           0,          "LEVEL", log_level_help};
    unsigned char seen[64] = {0};

    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = NULL;
        const struct cli_option *o = NULL;
        size_t name_len;
        char buf[64];

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_usage(usage, options, n);
            exit(0);
        }
        if (strncmp(arg, "--", 2) != 0)
            fail(usage, "unexpected argument '%.200s'", arg);
        arg += 2;
        name_len = strcspn(arg, "=");
        for (size_t k = 0; k < n; k++) {
            if (strlen(options[k].name) == name_len &&
                strncmp(options[k].name, arg, name_len) == 0) {
                o = &options[k];
                if (k < sizeof seen)
                    seen[k] = 1;
                break;
            }
        }
        if (!o && name_len == strlen(log_option.name) &&
            strncmp(arg, log_option.name, name_len) == 0)
            o = &log_option;
        if (!o)
            fail(usage, "unknown option '%.200s'", argv[i]);
        if (arg[name_len] == '=')
            value = arg + name_len + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else
            fail(usage, "missing value for --%s", o->name);
        if (o == &log_option) {
            enum log_level level;

            if (log_level_parse(value, &level) != 0)
                fail(usage,
                     "bad value '%.200s' for --log-level: expected debug, info, warn or "
                     "error",
                     value);
            log_set_level(level);
            continue;
        }
        if (set_value(o, value) != 0)
            fail(usage, "bad value '%.200s' for --%s: expected %s", value, o->name,
                 expected(o, buf, sizeof buf));
    }
    for (size_t k = 0; k < n && k < sizeof seen; k++)
        if (options[k].required && !seen[k])
            fail(usage, "missing required option --%s", options[k].name);
}
