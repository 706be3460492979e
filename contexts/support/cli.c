#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_usage(const char *usage, const struct cli_option *options, size_t n)
{
    printf("usage: %s\n\noptions:\n", usage);
    for (size_t i = 0; i < n; i++) {
        char left[64];

        snprintf(left, sizeof left, "--%s %s", options[i].name,
                 options[i].metavar ? options[i].metavar : "VALUE");
        printf("  %-28s %s%s\n", left, options[i].help,
               options[i].required ? " (required)" : "");
    }
    printf("  %-28s %s\n", "--help", "show this help and exit");
}

static void fail(const char *usage, const char *what, const char *name)
{
    const char *space = strchr(usage, ' ');
    const char *sub = space ? space + 1 : "";
    const char *end = strchr(sub, ' ');
    int cmd_len = (int)(end ? end - usage : (long)strlen(usage));

    fprintf(stderr, "%.*s: %s --%s (see --help)\n", cmd_len, usage, what, name);
    exit(2);
}

static int set_value(const struct cli_option *o, const char *value)
{
    switch (o->kind) {
    case CLI_STRING:
        if (!*value)
            return -1;
        *(const char **)o->target = value;
        return 0;
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

void cli_parse(const char *usage, int argc, char **argv, const struct cli_option *options,
               size_t n)
{
    unsigned char seen[64] = {0};

    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = NULL;
        const struct cli_option *o = NULL;
        size_t name_len;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_usage(usage, options, n);
            exit(0);
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "unexpected argument '%s' (see --help)\n", arg);
            exit(2);
        }
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
        if (!o) {
            fprintf(stderr, "unknown option '%s' (see --help)\n", argv[i]);
            exit(2);
        }
        if (arg[name_len] == '=')
            value = arg + name_len + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else
            fail(usage, "missing value for", o->name);
        if (set_value(o, value) != 0) {
            if (o->kind == CLI_UINT) {
                fprintf(stderr, "bad value '%s' for --%s: expected a whole number from %u to %u\n",
                        value, o->name, o->min, o->max);
                exit(2);
            }
            fail(usage, "bad value for", o->name);
        }
    }
    for (size_t k = 0; k < n && k < sizeof seen; k++)
        if (options[k].required && !seen[k])
            fail(usage, "missing required option", options[k].name);
}
