/*
 * form.h - the fields of a request body, from a form or from JSON.
 *
 * Request bodies come as application/x-www-form-urlencoded (browsers, curl
 * -d) or application/json (scripts); a route reads its fields by name either
 * way. JSON is read with SQLite's JSON functions, not a parser of ours; it
 * must be one object whose values are strings, numbers, booleans or null.
 */
#ifndef FORM_H
#define FORM_H

#include <sqlite3.h>
#include <stddef.h>

struct fs_request;

/* The kind of value a route expects in a field. */
enum form_kind {
    FORM_TEXT,    /* a string (a JSON string; any form value) */
    FORM_INTEGER, /* a whole number (a JSON integer, or digits as a string) */
};

/* A field a route reads, and the kind its value must have. */
struct form_field {
    const char *name;
    enum form_kind kind;
};

struct form {
    char **names;  /* field names, decoded */
    char **values; /* their values, decoded; numbers as their JSON text */
    char *types;   /* per field: 't' text, 'i' integer, 'r' real, 'o' other JSON */
    size_t count;
};

/*
 * Fills f from the body of req according to its Content-Type (a missing type
 * is read as a form), and checks it: every name and value must be text a
 * feed can carry (fs_text_check()), a JSON body must not hold \u0000, and
 * each of the fields the route reads must, when present, have the
 * kind it names (fields ends with a NULL name). On a malformed body returns -1 with a message naming the
 * field and what to fix in err; f is then empty. Release f with
 * form_release() either way.
 */
int form_parse(struct fs_request *req, const struct form_field *fields, struct form *f, char *err,
               size_t errlen);

/* The same as form_parse() for a body of len bytes of Content-Type type
 * (NULL: a form), reading JSON with the connection db (may be NULL for a
 * form). For tests and fuzzing, which have no request. */
int form_parse_body(sqlite3 *db, const char *type, const char *body, size_t len,
                    const struct form_field *fields, struct form *f, char *err, size_t errlen);

/* The value of the first field called name, or NULL. Owned by f. */
const char *form_get(const struct form *f, const char *name);

void form_release(struct form *f);

/* Parses a whole decimal integer in [min, max]; returns -1 if s is not one. */
int parse_int64(const char *s, long long min, long long max, long long *out);

#endif
