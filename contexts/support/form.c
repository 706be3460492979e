#include "form.h"

#include "db.h"
#include "strbuf.h"

#include <errno.h>
#include <feedserver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A body with more fields than this is refused: no route needs as many. */
#define FORM_MAX_FIELDS 64

static void add(struct form *f, char *name, char *value, char type)
{
    f->names = xrealloc(f->names, (f->count + 1) * sizeof *f->names);
    f->values = xrealloc(f->values, (f->count + 1) * sizeof *f->values);
    f->types = xrealloc(f->types, f->count + 1);
    f->names[f->count] = name;
    f->values[f->count] = value;
    f->types[f->count] = type;
    f->count++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes len bytes of application/x-www-form-urlencoded text ('+' is a
 * space, %XX a byte) into a new string. Returns NULL for a bad escape or an
 * encoded NUL byte. */
static char *url_decode(const char *s, size_t len)
{
    char *out = xmalloc(len + 1);
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            /* "%XX" needs both hex digits inside the text. */
            int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(s[i + 2]) : -1;

            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static int parse_urlencoded(const char *body, size_t len, struct form *f, char *err,
                            size_t errlen)
{
    size_t i = 0;

    while (i < len) {
        size_t end = i, eq;
        char *name, *value;

        while (end < len && body[end] != '&')
            end++;
        for (eq = i; eq < end && body[eq] != '='; eq++)
            ;
        if (end > i) {
            if (f->count >= FORM_MAX_FIELDS) {
                snprintf(err, errlen, "too many fields (at most %d)", FORM_MAX_FIELDS);
                return -1;
            }
            name = url_decode(body + i, eq - i);
            value = eq < end ? url_decode(body + eq + 1, end - eq - 1) : xstrdup("");
            if (!name || !value) {
                free(name);
                free(value);
                snprintf(err, errlen, "malformed form body: bad %%-escape");
                return -1;
            }
            add(f, name, value, 't');
        }
        i = end + 1;
    }
    return 0;
}

/* Whether the JSON text holds the escape \u0000. SQLite's JSON functions
 * end a string at it, so "Acme\u0000Evil" would silently become "Acme". */
static int has_nul_escape(const char *json)
{
    for (const char *p = json; *p; p++) {
        if (*p != '\\')
            continue;
        if (p[1] == 'u' && strncmp(p + 2, "0000", 4) == 0)
            return 1;
        if (p[1])
            p++;
    }
    return 0;
}

/* The one-letter type of form.types for a json_each() type name. */
static char json_type_letter(const char *type)
{
    if (!type)
        return 'o';
    if (strcmp(type, "text") == 0)
        return 't';
    if (strcmp(type, "integer") == 0)
        return 'i';
    if (strcmp(type, "real") == 0)
        return 'r';
    return 'o';
}

/* Reads a JSON object body with SQLite's json_each(), on the request's own
 * connection: no JSON parser of ours. Nested objects and arrays keep their
 * JSON text as value. */
static int parse_json(sqlite3 *db, const char *body, struct form *f, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    if (!db) {
        snprintf(err, errlen, "cannot read JSON now");
        return -1;
    }
    if (db_int(db, NULL, 0, "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' END", "t", body) !=
        1) {
        snprintf(err, errlen, "malformed JSON: the body must be one JSON object");
        goto out;
    }
    if (has_nul_escape(body)) {
        snprintf(err, errlen, "malformed JSON: a string holds \\u0000, which no field may hold");
        goto out;
    }
    rc = sqlite3_prepare_v2(db,
                            "SELECT key, CASE WHEN type IN ('object','array') THEN json(value)"
                            " ELSE value END, type FROM json_each(?1)",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot read JSON now");
        goto out;
    }
    sqlite3_bind_text(st, 1, body, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        const char *val = (const char *)sqlite3_column_text(st, 1);

        if (f->count >= FORM_MAX_FIELDS) {
            snprintf(err, errlen, "too many fields (at most %d)", FORM_MAX_FIELDS);
            goto out;
        }
        add(f, xstrdup(k ? k : ""), val ? xstrdup(val) : NULL,
            json_type_letter((const char *)sqlite3_column_text(st, 2)));
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "malformed JSON");
        goto out;
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    return ret;
}

/* What the JSON type letter t is called in an error message. */
static const char *type_name(char t)
{
    if (t == 't')
        return "a string";
    if (t == 'i')
        return "a whole number";
    return t == 'r' ? "a fraction" : "true, false, null, an object or a list";
}

/* Checks every name and value of f for text a feed can carry, and the
 * fields the route reads for their kinds. */
static int check_fields(const struct form *f, const struct form_field *fields, char *err,
                        size_t errlen)
{
    char why[96];

    for (size_t i = 0; i < f->count; i++) {
        if (fs_text_check(f->names[i], strlen(f->names[i]), why, sizeof why) != 0) {
            snprintf(err, errlen, "a field name is not valid text: %s", why);
            return -1;
        }
        if (f->values[i] &&
            fs_text_check(f->values[i], strlen(f->values[i]), why, sizeof why) != 0) {
            snprintf(err, errlen, "the field %.64s is not valid text: %s", f->names[i], why);
            return -1;
        }
    }
    for (size_t k = 0; fields && fields[k].name; k++) {
        for (size_t i = 0; i < f->count; i++) {
            char t = f->types[i];

            if (strcmp(f->names[i], fields[k].name) != 0)
                continue;
            if (fields[k].kind == FORM_TEXT && t != 't') {
                snprintf(err, errlen, "the field %s must be a string, not %s", fields[k].name,
                         type_name(t));
                return -1;
            }
            if (fields[k].kind == FORM_INTEGER && t != 't' && t != 'i') {
                snprintf(err, errlen, "the field %s must be a whole number, not %s",
                         fields[k].name, type_name(t));
                return -1;
            }
        }
    }
    return 0;
}

int form_parse_body(sqlite3 *db, const char *type, const char *body, size_t len,
                    const struct form_field *fields, struct form *f, char *err, size_t errlen)
{
    int rc;

    memset(f, 0, sizeof *f);
    if (!body)
        body = "";
    if (strlen(body) != len) {
        snprintf(err, errlen, "the body must not contain NUL bytes");
        return -1;
    }
    if (type && strncasecmp(type, "application/json", 16) == 0)
        rc = parse_json(db, body, f, err, errlen);
    else if (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0)
        rc = parse_urlencoded(body, len, f, err, errlen);
    else {
        snprintf(err, errlen,
                 "unsupported Content-Type: send application/x-www-form-urlencoded or "
                 "application/json");
        rc = -1;
    }
    if (rc == 0)
        rc = check_fields(f, fields, err, errlen);
    if (rc != 0)
        form_release(f);
    return rc;
}

int form_parse(struct fs_request *req, const struct form_field *fields, struct form *f, char *err,
               size_t errlen)
{
    size_t len = 0;
    const char *body = fs_request_body(req, &len);
    const char *type = fs_request_header(req, "Content-Type");
    sqlite3 *db = NULL;

    /* Only JSON needs the connection (SQLite's JSON functions). */
    if (type && strncasecmp(type, "application/json", 16) == 0)
        db = fs_request_db(req);
    return form_parse_body(db, type, body, len, fields, f, err, errlen);
}

const char *form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->names[i], name) == 0)
            return f->values[i];
    return NULL;
}

void form_release(struct form *f)
{
    for (size_t i = 0; i < f->count; i++) {
        free(f->names[i]);
        free(f->values[i]);
    }
    free(f->names);
    free(f->values);
    free(f->types);
    memset(f, 0, sizeof *f);
}

int parse_int64(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
