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

#include <stddef.h>

struct fs_request;

struct form {
    char **names;  /* field names, decoded */
    char **values; /* their values, decoded; numbers as their JSON text */
    size_t count;
};

/*
 * Fills f from the body of req according to its Content-Type (a missing type
 * is read as a form). On a malformed body returns -1 with a message saying
 * what is wrong in err; f is then empty. Release f with form_release()
 * either way.
 */
int form_parse(struct fs_request *req, struct form *f, char *err, size_t errlen);

/* The value of the first field called name, or NULL. Owned by f. */
const char *form_get(const struct form *f, const char *name);

void form_release(struct form *f);

/* Parses a whole decimal integer in [min, max]; returns -1 if s is not one. */
int parse_int64(const char *s, long long min, long long max, long long *out);

#endif
