/*
 * samplefeed - load contract sample entries into a feed, or print their shape.
 *
 *   samplefeed --db FILE --feed NAME [--fresh-ids] SAMPLE.xml...
 *   samplefeed --print FILE.xml...
 *
 * A sample file holds one Atom <entry> (or a whole feed document of them) as
 * a producer emits it (DESIGN.md sections 5 and 6). The first form appends
 * every entry's payload (the element inside <content>: its name is the event
 * type, its version attribute the version, its child elements the fields)
 * to the feed NAME of the SQLite database FILE, declaring the feed if
 * needed, all in one transaction, so a consumer's test can serve the samples
 * with a feed server and apply them. The sample's entry id and updated time
 * are kept, unless --fresh-ids asks for new ids (to load a sample twice).
 *
 * The second form prints one line per entry, "TYPE v=VERSION f=F1,F2,...",
 * the field names sorted, so a test can compare what a program emits with
 * its samples: same types, versions and field names.
 *
 * Namespaces are ignored: elements are matched by their local names.
 * Exit status: 0 on success, 1 on a bad file or database error, 2 on a bad
 * argument.
 */
#include "feedserver.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 64

/* One entry's payload as read from a sample. Strings are owned (xmlFree). */
struct sample {
    xmlChar *id;
    xmlChar *updated;
    const xmlChar *type;
    int version;
    size_t nfields;
    const xmlChar *names[MAX_FIELDS];
    xmlChar *values[MAX_FIELDS];
};

static void sample_release(struct sample *s)
{
    xmlFree(s->id);
    xmlFree(s->updated);
    for (size_t i = 0; i < s->nfields; i++)
        xmlFree(s->values[i]);
    memset(s, 0, sizeof *s);
}

static int named(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNode *first_child(xmlNode *parent, const char *name)
{
    for (xmlNode *c = parent->children; c; c = c->next)
        if (name ? named(c, name) : c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

/* Reads the payload of entry into *s; returns 0, or -1 with a message. */
static int read_sample(xmlNode *entry, const char *file, struct sample *s)
{
    xmlNode *content = first_child(entry, "content");
    xmlNode *payload = content ? first_child(content, NULL) : NULL;
    xmlNode *n;
    xmlChar *version;

    memset(s, 0, sizeof *s);
    if (!payload) {
        fprintf(stderr, "samplefeed: %s: an entry without <content> payload\n", file);
        return -1;
    }
    if ((n = first_child(entry, "id")))
        s->id = xmlNodeGetContent(n);
    if ((n = first_child(entry, "updated")))
        s->updated = xmlNodeGetContent(n);
    s->type = payload->name;
    s->version = 1;
    version = xmlGetProp(payload, (const xmlChar *)"version");
    if (version) {
        char *end;
        long v = strtol((const char *)version, &end, 10);
        if (end == (char *)version || *end || v < 1 || v > 1000000) {
            fprintf(stderr, "samplefeed: %s: bad version \"%s\"\n", file, (const char *)version);
            xmlFree(version);
            return -1;
        }
        s->version = (int)v;
        xmlFree(version);
    }
    for (xmlNode *c = payload->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (s->nfields == MAX_FIELDS) {
            fprintf(stderr, "samplefeed: %s: more than %d fields\n", file, MAX_FIELDS);
            return -1;
        }
        s->names[s->nfields] = c->name;
        s->values[s->nfields] = xmlNodeGetContent(c);
        s->nfields++;
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_shape(const struct sample *s)
{
    const char *names[MAX_FIELDS];

    for (size_t i = 0; i < s->nfields; i++)
        names[i] = (const char *)s->names[i];
    qsort(names, s->nfields, sizeof names[0], by_name);
    printf("%s v=%d f=", (const char *)s->type, s->version);
    for (size_t i = 0; i < s->nfields; i++)
        printf("%s%s", i ? "," : "", names[i]);
    printf("\n");
}

static int append_sample(sqlite3 *db, const char *feed, const struct sample *s, int fresh_ids)
{
    struct fs_field fields[MAX_FIELDS];
    struct fs_event ev = {0};
    struct fs_feed *handle = NULL;
    enum fs_error err;

    for (size_t i = 0; i < s->nfields; i++) {
        fields[i].name = (const char *)s->names[i];
        fields[i].value = (const char *)(s->values[i] ? s->values[i] : (const xmlChar *)"");
    }
    ev.id = fresh_ids ? NULL : (const char *)s->id;
    ev.type = (const char *)s->type;
    ev.version = s->version;
    ev.updated = (const char *)s->updated;
    ev.fields = fields;
    ev.nfields = s->nfields;
    err = fs_feed_open(db, feed, &handle);
    if (err == FS_OK)
        err = fs_feed_append(handle, &ev, NULL);
    fs_feed_close(handle);
    if (err != FS_OK) {
        fprintf(stderr, "samplefeed: appending %s: %s\n", ev.type, fs_strerror(err));
        return -1;
    }
    return 0;
}

/* Visits every <entry> under node: prints it, or appends it when db is set. */
static int walk(xmlNode *node, const char *file, sqlite3 *db, const char *feed, int fresh_ids,
                int *count)
{
    for (xmlNode *n = node; n; n = n->next) {
        if (named(n, "entry")) {
            struct sample s;
            int rc = read_sample(n, file, &s);
            if (rc == 0) {
                if (db)
                    rc = append_sample(db, feed, &s, fresh_ids);
                else
                    print_shape(&s);
            }
            sample_release(&s);
            if (rc != 0)
                return -1;
            (*count)++;
        } else if (n->type == XML_ELEMENT_NODE) {
            if (walk(n->children, file, db, feed, fresh_ids, count) != 0)
                return -1;
        }
    }
    return 0;
}

static int do_file(const char *file, sqlite3 *db, const char *feed, int fresh_ids)
{
    xmlDoc *doc = xmlReadFile(file, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    int count = 0, rc;

    if (!doc) {
        fprintf(stderr, "samplefeed: %s: not a well-formed XML file\n", file);
        return -1;
    }
    rc = walk(xmlDocGetRootElement(doc), file, db, feed, fresh_ids, &count);
    xmlFreeDoc(doc);
    if (rc == 0 && count == 0 && db) {
        fprintf(stderr, "samplefeed: %s: no <entry> in it\n", file);
        return -1;
    }
    return rc;
}

static int usage(int status)
{
    fprintf(status ? stderr : stdout,
            "usage: samplefeed --db FILE --feed NAME [--fresh-ids] SAMPLE.xml...\n"
            "       samplefeed --print FILE.xml...\n");
    return status;
}

int main(int argc, char **argv)
{
    const char *dbpath = NULL, *feed = NULL;
    int print = 0, fresh_ids = 0, first = argc, status = 1;
    sqlite3 *db = NULL;
    char *errmsg = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0)
            return usage(0);
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            dbpath = argv[++i];
        else if (strcmp(argv[i], "--feed") == 0 && i + 1 < argc)
            feed = argv[++i];
        else if (strcmp(argv[i], "--print") == 0)
            print = 1;
        else if (strcmp(argv[i], "--fresh-ids") == 0)
            fresh_ids = 1;
        else if (strncmp(argv[i], "--", 2) == 0)
            return usage(2);
        else {
            first = i;
            break;
        }
    }
    if (first == argc || (!print && (!dbpath || !feed)) || (print && (dbpath || feed)))
        return usage(2);

    if (print) {
        status = 0;
        for (int i = first; i < argc; i++)
            if (do_file(argv[i], NULL, NULL, 0) != 0)
                status = 1;
        goto out;
    }
    if (fs_db_open(dbpath, &db) != FS_OK || fs_feed_declare(db, feed, 0) != FS_OK) {
        fprintf(stderr, "samplefeed: cannot open feed %s in %s\n", feed, dbpath);
        goto out;
    }
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &errmsg) != SQLITE_OK) {
        fprintf(stderr, "samplefeed: %s\n", errmsg ? errmsg : "cannot begin");
        goto out;
    }
    for (int i = first; i < argc; i++) {
        if (do_file(argv[i], db, feed, fresh_ids) != 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            goto out;
        }
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, &errmsg) != SQLITE_OK) {
        fprintf(stderr, "samplefeed: %s\n", errmsg ? errmsg : "cannot commit");
        goto out;
    }
    status = 0;
out:
    sqlite3_free(errmsg);
    sqlite3_close(db);
    return status;
}
