#include "cookies.h"

#include "log.h"

#include <feedserver.h>
#include <stdio.h>
#include <string.h>

/* Whether c may be in a cookie value: RFC 6265 cookie-octet, i.e. visible
 * ASCII except '"', ',', ';' and '\\'. */
static int cookie_octet(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\';
}

int cookie_get(const char *header, const char *name, char *out, size_t out_size)
{
    size_t name_len = strlen(name), n = 0;
    const char *p = header;

    if (out_size)
        out[0] = '\0';
    if (!header || !out_size || strlen(header) > COOKIE_HEADER_MAX)
        return 0;
    while (*p) {
        while (*p == ' ' || *p == ';' || *p == '\t')
            p++;
        if (strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            const char *v = p + name_len + 1;

            while (cookie_octet((unsigned char)v[n]))
                n++;
            if (n == 0 || n >= out_size || (v[n] && v[n] != ';' && v[n] != ' '))
                return 0;
            memcpy(out, v, n);
            out[n] = '\0';
            return 1;
        }
        p = strchr(p, ';');
        if (!p)
            break;
    }
    return 0;
}

void cookie_set(struct fs_request *req, const char *name, const char *value, const char *path,
                unsigned max_age)
{
    char header[512];
    int n = snprintf(header, sizeof header, "%s=%s; HttpOnly; SameSite=Strict; Path=%s; Max-Age=%u",
                     name, value, path, max_age);

    if (n < 0 || (size_t)n >= sizeof header) {
        log_error("cookie too long to set", "name=%s", name);
        return;
    }
    fs_reply_header(req, "Set-Cookie", header);
}

void cookie_clear(struct fs_request *req, const char *name, const char *path)
{
    cookie_set(req, name, "", path, 0);
}
