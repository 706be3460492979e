/*
 * fuzz_roundtrip - libFuzzer harness for the promise that what a context's
 * HTTP API accepts, its consumers read back unchanged: "a name that
 * poisons the feed" must never happen again.
 *
 * The first byte picks the Content-Type, the rest is a request body. It is
 * read as the contexts read theirs (contexts/support/form.c: form_parse()
 * with a route's fields and their kinds, here Subscriptions' new-customer
 * route). When the body is accepted, every value it carries is published
 * as a field of one event through feed-server (fs_feed_append() inside
 * BEGIN IMMEDIATE on an in-memory database, as the contexts append), the
 * head document is rendered as it is served (Atom and the CloudEvents JSON
 * batch), and then:
 *  - the append must succeed: a value the API took must be publishable;
 *  - feed-reader's parser (feed-reader/src/atom_parse.c) must read the
 *    Atom document, with each field the very value accepted, byte for byte;
 *  - the JSON batch, read with SQLite's JSON functions, must give the same
 *    values in its "data" member.
 * The transaction is rolled back, so every input starts from an empty feed.
 */
#include <feedserver.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atom_parse.h"
#include "documents.h"
#include "form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FEED "customers"
#define MAX_FIELDS 64

/* Subscriptions' POST /customers fields and their kinds. */
static const struct form_field fields[] = {
    {"name", FORM_TEXT}, {"plan", FORM_TEXT}, {"credit_limit_cents", FORM_INTEGER}, {NULL, 0}};

static sqlite3 *db;
static struct fs_feed *feed;
static struct fs__feed_meta meta;
static struct fr__doc doc;

static void setup(void)
{
    if (fs_db_open(":memory:", &db) != FS_OK || fs_feed_declare(db, FEED, 100) != FS_OK ||
        fs_feed_open(db, FEED, &feed) != FS_OK || fs__feed_meta(db, FEED, &meta) != FS_OK)
        abort();
    fr__doc_init(&doc, (size_t)64 << 20);
}

static void exec(const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        abort();
}

/* Checks that the JSON batch holds value as field name of its one event. */
static void check_json(const struct dynbuf *json, const char *name, const char *value)
{
    sqlite3_stmt *st = NULL;
    char path[96];
    const char *got;

    snprintf(path, sizeof path, "$[0].data.%s", name);
    if (sqlite3_prepare_v2(db, "SELECT json_extract(?1, ?2)", -1, &st, NULL) != SQLITE_OK)
        abort();
    sqlite3_bind_text(st, 1, dynbuf_ptr(json), (int)dynbuf_len(json), SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        abort();
    got = (const char *)sqlite3_column_text(st, 0);
    if (!got || strcmp(got, value) != 0) {
        fprintf(stderr, "JSON field %s: %s, not %s\n", name, got ? got : "(null)", value);
        abort();
    }
    sqlite3_finalize(st);
}

/* Publishes the values of f and reads them back through both
 * representations. */
static void round_trip(const struct form *f)
{
    static const char *const published[] = {"name", "plan", "creditLimitCents"};
    struct fs_field out[MAX_FIELDS];
    char names[MAX_FIELDS][32];
    struct fs_event ev = {0};
    struct dynbuf atom = DYNBUF_INIT((size_t)1 << 30), json = DYNBUF_INIT((size_t)1 << 30);
    char msg[256];
    int64_t position = 0;
    enum fs_error err;
    size_t n = 0;

    /* The route's own fields under their published names, then every other
     * value it accepted. */
    for (size_t k = 0; k < 3; k++) {
        const char *v = form_get(f, fields[k].name);
        if (v) {
            out[n].name = published[k];
            out[n++].value = v;
        }
    }
    for (size_t i = 0; i < f->count && n < MAX_FIELDS; i++) {
        if (!f->values[i])
            continue;
        snprintf(names[n], sizeof names[n], "extra%zu", i);
        out[n].name = names[n];
        out[n].value = f->values[i];
        n++;
    }
    ev.type = "CustomerRegistered";
    ev.fields = out;
    ev.nfields = n;
    exec("BEGIN IMMEDIATE");
    err = fs_feed_append(feed, &ev, &position);
    if (err != FS_OK || position != 1) {
        fprintf(stderr, "append refused what the API accepted: %s\n", fs_strerror(err));
        abort();
    }
    if (fs__document(feed, &meta, -1, 1, FS_REPR_ATOM, &atom, NULL) != FS_OK ||
        fs__document(feed, &meta, -1, 1, FS_REPR_JSON, &json, NULL) != FS_OK)
        abort();
    exec("ROLLBACK");
    if (fr__atom_parse(&doc, dynbuf_ptr(&atom), dynbuf_len(&atom), "http://127.0.0.1:1/feeds/" FEED,
                       32, msg, sizeof msg) != FR_OK) {
        fprintf(stderr, "the reader cannot read the document: %s\n", msg);
        abort();
    }
    if (doc.nentries != 1 || strcmp(doc.entries[0].pub.type, ev.type) != 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        const char *got = fr_entry_field(&doc.entries[0].pub, out[i].name);

        if (!got || strcmp(got, out[i].value) != 0) {
            fprintf(stderr, "field %s: read \"%s\", published \"%s\"\n", out[i].name,
                    got ? got : "(missing)", out[i].value);
            abort();
        }
        check_json(&json, out[i].name, out[i].value);
    }
    dynbuf_release(&atom);
    dynbuf_release(&json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {NULL, "application/x-www-form-urlencoded",
                                        "application/json"};
    struct form f;
    char err[256];
    char *body;

    if (size < 1 || size > 1 << 16)
        return 0;
    if (!db)
        setup();
    body = malloc(size);
    if (!body)
        abort();
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    if (form_parse_body(db, types[data[0] % 3], body, size - 1, fields, &f, err, sizeof err) == 0)
        round_trip(&f);
    form_release(&f);
    free(body);
    return 0;
}
