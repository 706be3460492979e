/*
 * cookies.h - reading one cookie from a request and setting the cookies of
 * signed-in browsers.
 *
 * Cookies come from the network and are untrusted: a value is handed back
 * only when it fits the caller's buffer and is made of the characters a
 * cookie value may hold (RFC 6265 cookie-octet); anything else reads as no
 * cookie at all. The cookies set here are the session cookies of the
 * programs: always HttpOnly (no script can read them) and SameSite=Strict
 * (a browser sends them only with requests its own site started), with a
 * Max-Age so that a browser forgets them when the server does.
 */
#ifndef SUPPORT_COOKIES_H
#define SUPPORT_COOKIES_H

#include <stddef.h>

struct fs_request;

/* Longest Cookie header read, in bytes: past it no cookie is found. */
#define COOKIE_HEADER_MAX 8192

/*
 * Finds the first cookie called name in a Cookie request header (may be
 * NULL) and copies its value into out (out_size bytes). Returns 1 when it
 * is there with a value of 1 .. out_size-1 cookie-octets, else 0 with out
 * "" (absent, empty, too long or malformed).
 */
int cookie_get(const char *header, const char *name, char *out, size_t out_size);

/* Adds to req's answer the header Set-Cookie: name=value; HttpOnly;
 * SameSite=Strict; Path=path; Max-Age=max_age. name, value and path are
 * the program's own (never from the request). */
void cookie_set(struct fs_request *req, const char *name, const char *value, const char *path,
                unsigned max_age);

/* Adds to req's answer a Set-Cookie that makes the browser drop cookie
 * name set with path. */
void cookie_clear(struct fs_request *req, const char *name, const char *path);

#endif
