/*
 * fuzz_form - libFuzzer harness for the request-body readers
 * (contexts/support/form.c): form-urlencoded and JSON through SQLite's JSON
 * functions. The first byte picks the Content-Type, the rest is the body.
 *
 * Beyond not crashing, what the reader accepts must hold: every name and
 * value is text a feed can carry, and a field read as a number is digits.
 */
#include <feedserver.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct form_field fields[] = {
    {"name", FORM_TEXT}, {"amount_cents", FORM_INTEGER}, {NULL, 0}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sqlite3 *db;
    static const char *const types[] = {NULL, "application/x-www-form-urlencoded",
                                        "application/json", "application/json; charset=utf-8"};
    struct form f;
    char err[256];
    char *body;

    if (size < 1 || size > 1 << 16)
        return 0;
    if (!db && sqlite3_open(":memory:", &db) != SQLITE_OK)
        abort();
    body = malloc(size);
    if (!body)
        return 0;
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    if (form_parse_body(db, types[data[0] % 4], body, size - 1, fields, &f, err, sizeof err) == 0) {
        for (size_t i = 0; i < f.count; i++) {
            if (fs_text_check(f.names[i], strlen(f.names[i]), NULL, 0) != 0)
                abort();
            if (f.values[i] && fs_text_check(f.values[i], strlen(f.values[i]), NULL, 0) != 0)
                abort();
        }
    } else if (err[0] == '\0') {
        abort(); /* every refusal says what to fix */
    }
    form_release(&f);
    free(body);
    return 0;
}
