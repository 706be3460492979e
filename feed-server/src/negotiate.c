#include "negotiate.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

static const char *const content_types[FS_REPR_COUNT] = {
    [FS_REPR_ATOM] = "application/atom+xml; charset=utf-8",
    [FS_REPR_JSON] = "application/cloudevents-batch+json; charset=utf-8",
    [FS_REPR_HTML] = "text/html; charset=utf-8",
};

static const char *const tags[FS_REPR_COUNT] = {
    [FS_REPR_ATOM] = "atom",
    [FS_REPR_JSON] = "json",
    [FS_REPR_HTML] = "html",
};

static const char *const coding_tags[FS_CODING_COUNT] = {
    [FS_CODING_IDENTITY] = "id",
    [FS_CODING_GZIP] = "gz",
};

const char *fs__coding_tag(enum fs__coding c)
{
    return coding_tags[c];
}

const char *fs__repr_content_type(enum fs__repr r)
{
    return content_types[r];
}

const char *fs__repr_tag(enum fs__repr r)
{
    return tags[r];
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* The end of the token starting at p (p itself if there is none). */
static const char *token_end(const char *p)
{
    while (is_tchar((unsigned char)*p))
        p++;
    return p;
}

/* p is at a '"': the character after the closing quote, or the end of the
 * string for an unterminated one. */
static const char *quoted_end(const char *p)
{
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1])
            p++;
    }
    return *p ? p + 1 : p;
}

/* The ',' that ends the list element p is in (outside quoted strings), or
 * the end of the string. */
static const char *element_end(const char *p)
{
    while (*p && *p != ',')
        p = *p == '"' ? quoted_end(p) : p + 1;
    return p;
}

/* A qvalue (RFC 9110 12.4.2) of n bytes at s in thousandths; -1 if it is
 * not one. */
static int qvalue(const char *s, size_t n)
{
    int v, scale = 100;

    if (n == 0 || (s[0] != '0' && s[0] != '1') || n > 5 || (n > 1 && s[1] != '.'))
        return -1;
    v = (s[0] - '0') * 1000;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v += (s[i] - '0') * scale;
    }
    return v > 1000 ? -1 : v;
}

/* One media range of an Accept header. */
struct range {
    const char *type, *sub; /* not NUL-terminated */
    size_t tlen, slen;
    int q; /* thousandths */
};

/*
 * Parses the list element of an Accept value that starts at p into *r.
 * Returns where the element ends (a ',' or the end of the string) and sets
 * *ok to whether it was a well-formed media range.
 */
static const char *parse_range(const char *p, struct range *r, int *ok)
{
    const char *e;
    int seen_q = 0;

    *ok = 0;
    r->type = skip_ows(p);
    e = token_end(r->type);
    r->tlen = (size_t)(e - r->type);
    if (!r->tlen || *e != '/')
        return element_end(e);
    r->sub = e + 1;
    e = token_end(r->sub);
    r->slen = (size_t)(e - r->sub);
    if (!r->slen)
        return element_end(e);
    r->q = 1000;
    p = skip_ows(e);
    while (*p == ';') {
        const char *name = skip_ows(p + 1), *value;
        size_t nlen;

        p = token_end(name);
        nlen = (size_t)(p - name);
        if (!nlen) {
            p = skip_ows(p);
            if (*p == ';' || *p == ',' || !*p)
                continue; /* an empty parameter */
            return element_end(p);
        }
        p = skip_ows(p);
        value = p;
        if (*p == '=') {
            value = p = skip_ows(p + 1);
            p = *p == '"' ? quoted_end(p) : token_end(p);
        }
        if (nlen == 1 && (name[0] == 'q' || name[0] == 'Q') && !seen_q) {
            seen_q = 1;
            r->q = value == p ? -1 : qvalue(value, (size_t)(p - value));
            if (r->q < 0)
                return element_end(p);
        }
        p = skip_ows(p);
    }
    if (*p && *p != ',')
        return element_end(p);
    *ok = 1;
    return p;
}

static int same(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && strncasecmp(a, b, alen) == 0;
}

/* How specifically r names the media type name ("type/subtype"): 0 not at
 * all, 1 the range of all types, 2 its type with any subtype, exact
 * otherwise (the caller ranks exact matches). */
static int specificity(const struct range *r, const char *name, int exact)
{
    const char *slash = strchr(name, '/');
    size_t tlen = (size_t)(slash - name);
    int star_sub = r->slen == 1 && r->sub[0] == '*';

    if (r->tlen == 1 && r->type[0] == '*')
        return star_sub ? 1 : 0;
    if (!same(r->type, r->tlen, name, tlen))
        return 0;
    if (star_sub)
        return exact == 4 ? 2 : 0;
    return same(r->sub, r->slen, slash + 1, strlen(slash + 1)) ? exact : 0;
}

unsigned fs__accept_weight(const char *accept, const char *const *names, unsigned n)
{
    int best = 0, q = 0;

    if (!accept)
        return 0;
    for (const char *p = accept; *p;) {
        struct range r;
        int ok, spec = 0;

        p = parse_range(p, &r, &ok);
        if (*p == ',')
            p++;
        if (!ok)
            continue;
        /* names[0] exactly ranks 4, an alias exactly 3. */
        for (unsigned i = 0; i < n; i++) {
            int s = specificity(&r, names[i], i == 0 ? 4 : 3);
            if (s > spec)
                spec = s;
        }
        if (spec > best) {
            best = spec;
            q = r.q;
        } else if (spec && spec == best && r.q > q) {
            q = r.q;
        }
    }
    return (unsigned)q;
}

enum fs__repr fs__negotiate_feed(const char *accept)
{
    static const char *const atom[] = {"application/atom+xml", "application/xml", "text/xml"};
    static const char *const json[] = {"application/cloudevents-batch+json", "application/json"};
    static const char *const html[] = {"text/html"};
    static const struct {
        const char *const *names;
        unsigned n;
    } reprs[FS_REPR_COUNT] = {
        [FS_REPR_ATOM] = {atom, 3},
        [FS_REPR_JSON] = {json, 2},
        [FS_REPR_HTML] = {html, 1},
    };
    enum fs__repr best = FS_REPR_ATOM;
    unsigned best_w = 0;

    if (!accept)
        return FS_REPR_ATOM;
    for (int r = 0; r < FS_REPR_COUNT; r++) {
        unsigned w = fs__accept_weight(accept, reprs[r].names, reprs[r].n);
        if (w > best_w) {
            best_w = w;
            best = (enum fs__repr)r;
        }
    }
    return best;
}

int fs__negotiate_html(const char *accept)
{
    static const char *const html[] = {"text/html"};
    static const char *const json[] = {"application/json"};

    return fs__accept_weight(accept, html, 1) > fs__accept_weight(accept, json, 1);
}

enum fs__coding fs__negotiate_coding(const char *accept_encoding)
{
    int gzip_q = -1, star_q = -1;

    if (!accept_encoding)
        return FS_CODING_IDENTITY;
    for (const char *p = accept_encoding; *p;) {
        const char *name = skip_ows(p), *e = token_end(name);
        size_t nlen = (size_t)(e - name);
        int q = 1000, bad = 0;

        p = skip_ows(e);
        while (*p == ';' && !bad) {
            const char *pn = skip_ows(p + 1), *pe = token_end(pn), *v;

            p = skip_ows(pe);
            if (*p != '=') {
                bad = pe == pn;
                continue;
            }
            v = skip_ows(p + 1);
            p = *v == '"' ? quoted_end(v) : token_end(v);
            if (pe - pn == 1 && (*pn == 'q' || *pn == 'Q')) {
                q = qvalue(v, (size_t)(p - v));
                bad = q < 0;
            }
            p = skip_ows(p);
        }
        if (*p && *p != ',')
            bad = 1;
        p = element_end(p);
        if (*p == ',')
            p++;
        if (bad || !nlen)
            continue;
        if (same(name, nlen, "gzip", 4) || same(name, nlen, "x-gzip", 6)) {
            if (q > gzip_q)
                gzip_q = q;
        } else if (same(name, nlen, "*", 1)) {
            if (q > star_q)
                star_q = q;
        }
    }
    /* A coding named outright wins over "*" (RFC 9110 12.5.3). */
    if (gzip_q < 0)
        gzip_q = star_q;
    return gzip_q > 0 ? FS_CODING_GZIP : FS_CODING_IDENTITY;
}

int fs__prefer_wait(const char *prefer, unsigned max, unsigned *wait)
{
    const char *p = prefer;

    if (!p)
        return 0;
    while (*p) {
        const char *name = skip_ows(p), *e = token_end(name), *v;
        unsigned long n = 0;
        size_t digits = 0;
        int quoted;

        if (e - name != 4 || strncasecmp(name, "wait", 4) != 0) {
            p = element_end(e);
            if (*p == ',')
                p++;
            continue;
        }
        /* The first wait is the one that counts (RFC 7240 section 2). */
        *wait = 0;
        p = skip_ows(e);
        if (*p != '=')
            return 1;
        v = skip_ows(p + 1);
        quoted = *v == '"';
        for (v += quoted; *v >= '0' && *v <= '9'; v++, digits++) {
            if (n <= max)
                n = n * 10 + (unsigned long)(*v - '0');
        }
        if (quoted && *v++ != '"')
            return 1;
        v = skip_ows(v);
        if (!digits || (*v && *v != ';' && *v != ','))
            return 1;
        *wait = n > max ? max : (unsigned)n;
        return 1;
    }
    return 0;
}
