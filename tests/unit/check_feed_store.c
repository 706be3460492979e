/*
 * check_feed_store - the feed tables: declaring feeds, appending inside the
 * caller's transaction, reading ranges, and gapless positions when two
 * processes append to one database file at once.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "feedserver.h"
#include "testkit.h"

static char *dir;
static char *dbpath;
static sqlite3 *db;

static void setup(void)
{
    dir = tk_tempdir();
    dbpath = tk_path(dir, "feeds.db");
    ck_assert_int_eq(fs_db_open(dbpath, &db), FS_OK);
}

static void teardown(void)
{
    sqlite3_close(db);
    tk_rmtree(dir);
    free(dbpath);
    free(dir);
}

static void exec(sqlite3 *c, const char *sql)
{
    sqlite3_stmt *st;

    ck_assert_int_eq(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

/* fs_feed_append(), fs_feed_head() and fs_feed_read() through a handle of
 * feed on c opened for the one call. */
static enum fs_error append_ev(sqlite3 *c, const char *feed, const struct fs_event *ev,
                               int64_t *pos)
{
    struct fs_feed *f;
    enum fs_error err;

    ck_assert_int_eq(fs_feed_open(c, feed, &f), FS_OK);
    err = fs_feed_append(f, ev, pos);
    fs_feed_close(f);
    return err;
}

static enum fs_error head_of(sqlite3 *c, const char *feed, int64_t *head)
{
    struct fs_feed *f;
    enum fs_error err;

    ck_assert_int_eq(fs_feed_open(c, feed, &f), FS_OK);
    err = fs_feed_head(f, head);
    fs_feed_close(f);
    return err;
}

static enum fs_error read_of(sqlite3 *c, const char *feed, int64_t first, int64_t last,
                             fs_entry_fn *fn, void *userdata)
{
    struct fs_feed *f;
    enum fs_error err;

    ck_assert_int_eq(fs_feed_open(c, feed, &f), FS_OK);
    err = fs_feed_read(f, first, last, fn, userdata);
    fs_feed_close(f);
    return err;
}

static enum fs_error append_one(sqlite3 *c, const char *feed, const char *id, const char *value,
                                int64_t *pos)
{
    struct fs_field f[] = {{"customerId", value}, {"units", "3"}};
    struct fs_event ev = {.id = id, .type = "UsageRecorded", .fields = f, .nfields = 2};

    return append_ev(c, feed, &ev, pos);
}

START_TEST(declare_is_idempotent_and_keeps_page_size)
{
    ck_assert_int_eq(fs_feed_declare(db, "usage", 5), FS_OK);
    ck_assert_int_eq(fs_feed_declare(db, "usage", 5), FS_OK);
    ck_assert_int_eq(fs_feed_declare(db, "usage", 6), FS_ERR_CONFLICT);
    /* 0 keeps the size a feed has. */
    ck_assert_int_eq(fs_feed_declare(db, "usage", 0), FS_OK);
    ck_assert_int_eq(fs_feed_declare(db, "usage", 5), FS_OK);
    ck_assert_int_eq(fs_feed_declare(db, "other", 0), FS_OK);
    ck_assert_int_eq(fs_feed_declare(db, "other", FS_DEFAULT_PAGE_SIZE), FS_OK);
    ck_assert_int_eq(fs_feed_declare(db, "Bad Name", 5), FS_ERR_INVALID);
    ck_assert_int_eq(fs_feed_declare(db, "", 5), FS_ERR_INVALID);
    ck_assert_int_eq(fs_feed_declare(db, "a/b", 5), FS_ERR_INVALID);
}
END_TEST

START_TEST(append_needs_a_transaction_and_a_declared_feed)
{
    int64_t pos = -1, head = -1;

    ck_assert_int_eq(fs_feed_declare(db, "usage", 5), FS_OK);
    ck_assert_int_eq(append_one(db, "usage", NULL, "c1", &pos), FS_ERR_INVALID);
    exec(db, "BEGIN IMMEDIATE");
    ck_assert_int_eq(append_one(db, "nosuch", NULL, "c1", &pos), FS_ERR_NOT_FOUND);
    ck_assert_int_eq(append_one(db, "usage", NULL, "c1", &pos), FS_OK);
    ck_assert_int_eq(pos, 1);
    exec(db, "ROLLBACK");
    ck_assert_int_eq(head_of(db, "usage", &head), FS_OK);
    ck_assert_int_eq(head, 0);
    ck_assert_int_eq(head_of(db, "nosuch", &head), FS_ERR_NOT_FOUND);
}
END_TEST

struct collected {
    int64_t positions[64];
    char ids[64][64];
    int n;
};

static int collect(const struct fs_entry *e, void *userdata)
{
    struct collected *c = userdata;

    ck_assert_int_lt(c->n, 64);
    c->positions[c->n] = e->position;
    snprintf(c->ids[c->n], sizeof c->ids[0], "%s", e->id);
    ck_assert_str_eq(e->type, "UsageRecorded");
    ck_assert_ptr_nonnull(strstr(e->xml, "<entry>"));
    c->n++;
    return c->n == 3 && e->position == 7;
}

START_TEST(append_gives_consecutive_positions_and_read_returns_ranges)
{
    struct collected c = {0};
    int64_t pos = 0, head = 0;
    char id[46];

    ck_assert_int_eq(fs_feed_declare(db, "usage", 5), FS_OK);
    exec(db, "BEGIN IMMEDIATE");
    for (int i = 1; i <= 12; i++) {
        ck_assert_int_eq(append_one(db, "usage", NULL, "c1", &pos), FS_OK);
        ck_assert_int_eq(pos, i);
    }
    ck_assert_int_eq(fs_new_event_id(id), FS_OK);
    ck_assert_int_eq(append_one(db, "usage", id, "c1", &pos), FS_OK);
    ck_assert_int_eq(append_one(db, "usage", id, "c1", &pos), FS_ERR_CONFLICT);
    exec(db, "COMMIT");
    ck_assert_int_eq(head_of(db, "usage", &head), FS_OK);
    ck_assert_int_eq(head, 13);
    ck_assert_int_eq(read_of(db, "usage", 3, 6, collect, &c), FS_OK);
    ck_assert_int_eq(c.n, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(c.positions[i], 3 + i);
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(read_of(db, "usage", 13, 13, collect, &c), FS_OK);
    ck_assert_int_eq(c.n, 1);
    ck_assert_str_eq(c.ids[0], id);
    /* A stop asked by the callback is not an error. */
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(read_of(db, "usage", 5, 100, collect, &c), FS_OK);
    ck_assert_int_eq(c.n, 3);
}
END_TEST

START_TEST(bad_events_are_refused)
{
    struct fs_field bad_name[] = {{"1abc", "x"}};
    struct fs_field bad_value[] = {{"ok", "bell\007"}};
    struct fs_field bad_utf8[] = {{"ok", "\xff\xfe"}};
    struct fs_field good[] = {{"note", "<&> \"quoted\" caf\xc3\xa9"}};
    struct fs_event ev = {.type = "UserAdded"};
    int64_t pos;

    ck_assert_int_eq(fs_feed_declare(db, "subs", 5), FS_OK);
    exec(db, "BEGIN IMMEDIATE");
    ev.type = "has space";
    ck_assert_int_eq(append_ev(db, "subs", &ev, &pos), FS_ERR_INVALID);
    ev.type = "UserAdded";
    ev.fields = bad_name;
    ev.nfields = 1;
    ck_assert_int_eq(append_ev(db, "subs", &ev, &pos), FS_ERR_INVALID);
    ev.fields = bad_value;
    ck_assert_int_eq(append_ev(db, "subs", &ev, &pos), FS_ERR_TEXT);
    ev.fields = bad_utf8;
    ck_assert_int_eq(append_ev(db, "subs", &ev, &pos), FS_ERR_TEXT);
    ev.fields = good;
    ev.version = 2;
    ev.updated = "2026-01-02T03:04:05Z";
    ck_assert_int_eq(append_ev(db, "subs", &ev, &pos), FS_OK);
    ck_assert_int_eq(pos, 1);
    exec(db, "COMMIT");
}
END_TEST

static int keep_xml(const struct fs_entry *e, void *userdata)
{
    snprintf(userdata, 2048, "%s", e->xml);
    return 0;
}

/* Text that would make a feed document unreadable, class by class. */
static const char *const unfit_text[] = {
    "x\xc0\x80y",             /* overlong NUL */
    "x\xc1\xbfy",             /* overlong U+007F */
    "x\xe0\x80\xafy",         /* overlong '/' in three bytes */
    "x\xf0\x80\x80\xafy",     /* overlong '/' in four bytes */
    "x\xed\xa0\x80y",         /* high surrogate U+D800 */
    "x\xed\xbf\xbfy",         /* low surrogate U+DFFF */
    "x\xf4\x90\x80\x80y",     /* U+110000, past the last code point */
    "x\xf8\x88\x80\x80\x80y", /* a five-byte form */
    "x\x80y",                 /* a lone continuation byte */
    "x\xe2\x82",              /* cut short at the end */
    "x\xe2\x82y",             /* cut short before an ASCII byte */
    "x\x01y",                 /* C0 control */
    "x\x1fy",                 /* C0 control */
    "x\x0by",                 /* vertical tab */
    "x\xef\xbf\xbey",         /* U+FFFE */
    "x\xef\xbf\xbfy",         /* U+FFFF */
};

/* Text at the edges of what is allowed. */
static const char *const fit_text[] = {
    "tab\t lf\n cr\r",
    "\x7f delete is an XML character",
    "\xc2\x80 U+0080",
    "\xed\x9f\xbf U+D7FF",
    "\xee\x80\x80 U+E000",
    "\xef\xbf\xbd U+FFFD",
    "\xf0\x90\x80\x80 U+10000",
    "\xf4\x8f\xbf\xbf U+10FFFF",
    "caf\xc3\xa9 \xf0\x9f\x98\x80",
};

static int count_entry(const struct fs_entry *e, void *userdata)
{
    (void)e;
    (*(int *)userdata)++;
    return 0;
}

/* Every class of unfit text is refused with FS_ERR_TEXT through the real
 * append path, whether in a field, the id or the time, and nothing is
 * stored; text at the edges is stored and reads back as well-formed XML. */
START_TEST(text_a_feed_cannot_carry_is_refused)
{
    struct fs_field f[] = {{"customerId", "c1"}, {"name", NULL}};
    struct fs_event ev = {.type = "CustomerRegistered", .fields = f, .nfields = 2};
    char why[128], xml[4096];
    int64_t pos = 0, head = -1;
    int n = 0;

    ck_assert_int_eq(fs_feed_declare(db, "subs", 5), FS_OK);
    exec(db, "BEGIN IMMEDIATE");
    for (size_t i = 0; i < sizeof unfit_text / sizeof unfit_text[0]; i++) {
        const char *t = unfit_text[i];

        ck_assert_msg(fs_text_check(t, strlen(t), why, sizeof why) == -1, "text %zu passed", i);
        ck_assert_ptr_nonnull(strstr(why, "at byte "));
        f[1].value = t;
        ev.id = NULL;
        ev.updated = NULL;
        ck_assert_int_eq(append_ev(db, "subs", &ev, &pos), FS_ERR_TEXT);
        f[1].value = "fine";
        ev.updated = t;
        ck_assert_int_eq(append_ev(db, "subs", &ev, &pos), FS_ERR_TEXT);
        ev.updated = NULL;
        ev.id = t;
        ck_assert_int_eq(append_ev(db, "subs", &ev, &pos), FS_ERR_TEXT);
    }
    ck_assert_int_eq(fs_text_check("a\0b", 3, why, sizeof why), -1);
    ck_assert_str_eq(why, "a NUL byte at byte 2");
    ck_assert_int_eq(head_of(db, "subs", &head), FS_OK);
    ck_assert_int_eq(head, 0);
    ev.id = NULL;
    for (size_t i = 0; i < sizeof fit_text / sizeof fit_text[0]; i++) {
        ck_assert_msg(fs_text_check(fit_text[i], strlen(fit_text[i]), NULL, 0) == 0,
                      "text %zu refused", i);
        f[1].value = fit_text[i];
        ck_assert_int_eq(append_ev(db, "subs", &ev, &pos), FS_OK);
    }
    exec(db, "COMMIT");
    ck_assert_int_eq(read_of(db, "subs", 1, 100, count_entry, &n), FS_OK);
    ck_assert_int_eq(n, (int)(sizeof fit_text / sizeof fit_text[0]));
    for (int64_t p = 1; p <= n; p++) {
        char wrapped[4200];
        xmlDocPtr d;

        ck_assert_int_eq(read_of(db, "subs", p, p, keep_xml, xml), FS_OK);
        snprintf(wrapped, sizeof wrapped,
                 "<feed xmlns='http://www.w3.org/2005/Atom' xmlns:f='" FS_NAMESPACE "'>%s</feed>",
                 xml);
        d = xmlReadMemory(wrapped, (int)strlen(wrapped), NULL, "UTF-8", XML_PARSE_NONET);
        ck_assert_msg(d != NULL, "entry %lld is not well-formed XML", (long long)p);
        xmlFreeDoc(d);
    }
}
END_TEST

START_TEST(entry_xml_has_the_contract_elements)
{
    struct fs_field f[] = {{"customerId", "c<1>"}, {"units", "3"}};
    struct fs_event ev = {.id = "urn:uuid:00000000-0000-4000-8000-000000000001",
                          .type = "UsageRecorded",
                          .updated = "2026-11-26T15:00:00Z",
                          .fields = f,
                          .nfields = 2};
    char xml[2048];

    ck_assert_int_eq(fs_feed_declare(db, "usage", 5), FS_OK);
    exec(db, "BEGIN IMMEDIATE");
    ck_assert_int_eq(append_ev(db, "usage", &ev, NULL), FS_OK);
    exec(db, "COMMIT");
    ck_assert_int_eq(read_of(db, "usage", 1, 1, keep_xml, xml), FS_OK);
    ck_assert_str_eq(xml, "<entry><id>urn:uuid:00000000-0000-4000-8000-000000000001</id>"
                          "<title>UsageRecorded</title><updated>2026-11-26T15:00:00Z</updated>"
                          "<category term=\"UsageRecorded\"/><f:position>1</f:position>"
                          "<content type=\"application/xml\"><UsageRecorded xmlns=\"\" "
                          "version=\"1\"><customerId>c&lt;1&gt;</customerId><units>3</units>"
                          "</UsageRecorded></content></entry>");
}
END_TEST

/* A handle owns its statements: while one is open its connection cannot
 * close, and once it is closed the connection closes (nothing is hooked on
 * the connection to finalize them behind the caller's back). */
START_TEST(a_feed_handle_owns_its_statements)
{
    struct fs_field f[] = {{"customerId", "c1"}};
    struct fs_event ev = {.type = "UsageRecorded", .fields = f, .nfields = 1};
    struct fs_feed *feed = NULL;
    int64_t pos = 0, head = 0;
    sqlite3 *c;

    ck_assert_int_eq(fs_feed_open(db, "Bad Name", &feed), FS_ERR_INVALID);
    ck_assert_ptr_null(feed);
    fs_feed_close(NULL);
    ck_assert_int_eq(fs_feed_declare(db, "usage", 5), FS_OK);
    ck_assert_int_eq(fs_db_open(dbpath, &c), FS_OK);
    ck_assert_int_eq(fs_feed_open(c, "usage", &feed), FS_OK);
    exec(c, "BEGIN IMMEDIATE");
    for (int i = 1; i <= 3; i++) {
        ck_assert_int_eq(fs_feed_append(feed, &ev, &pos), FS_OK);
        ck_assert_int_eq(pos, i);
    }
    exec(c, "COMMIT");
    ck_assert_int_eq(fs_feed_head(feed, &head), FS_OK);
    ck_assert_int_eq(head, 3);
    ck_assert_int_eq(sqlite3_close(c), SQLITE_BUSY);
    fs_feed_close(feed);
    ck_assert_int_eq(sqlite3_close(c), SQLITE_OK);
}
END_TEST

START_TEST(event_ids_are_version_4_uuids)
{
    char a[46], b[46];

    ck_assert_int_eq(fs_new_event_id(a), FS_OK);
    ck_assert_int_eq(fs_new_event_id(b), FS_OK);
    ck_assert_int_eq(strlen(a), 45);
    ck_assert(strncmp(a, "urn:uuid:", 9) == 0);
    ck_assert_int_eq(a[9 + 14], '4');
    ck_assert(strchr("89ab", a[9 + 19]) != NULL);
    ck_assert_str_ne(a, b);
}
END_TEST

/* Appends n entries, one per transaction, from a fresh connection. */
static void child_append(const char *path, int n)
{
    sqlite3 *c;

    if (fs_db_open(path, &c) != FS_OK)
        _exit(10);
    for (int i = 0; i < n; i++) {
        int64_t pos;
        sqlite3_stmt *st;

        if (sqlite3_prepare_v2(c, "BEGIN IMMEDIATE", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_DONE)
            _exit(11);
        sqlite3_finalize(st);
        if (append_one(c, "usage", NULL, "c", &pos) != FS_OK)
            _exit(12);
        if (sqlite3_prepare_v2(c, "COMMIT", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_DONE)
            _exit(13);
        sqlite3_finalize(st);
    }
    sqlite3_close(c);
    _exit(0);
}

START_TEST(two_processes_appending_give_gapless_positions)
{
    pid_t kids[2];
    sqlite3_stmt *st;
    int64_t head = 0, expect = 1;

    ck_assert_int_eq(fs_feed_declare(db, "usage", 50), FS_OK);
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0)
            child_append(dbpath, 500);
    }
    for (int i = 0; i < 2; i++) {
        int status;
        ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
    }
    ck_assert_int_eq(head_of(db, "usage", &head), FS_OK);
    ck_assert_int_eq(head, 1000);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT position FROM fs_entries WHERE feed = 'usage'"
                                        " ORDER BY position",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        ck_assert_int_eq(sqlite3_column_int64(st, 0), expect++);
    sqlite3_finalize(st);
    ck_assert_int_eq(expect, 1001);
}
END_TEST

/* A write lock another process holds for a while (300 ms) is waited out
 * by a connection of fs_db_open(), not answered SQLITE_BUSY. */
START_TEST(a_lock_held_by_another_process_is_waited_out)
{
    int ready[2];
    char c;
    pid_t kid;
    int status;

    ck_assert_int_eq(pipe(ready), 0);
    kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0) {
        sqlite3 *other = NULL;
        struct timespec hold = {.tv_sec = 0, .tv_nsec = 300 * 1000000L};

        if (fs_db_open(dbpath, &other) != FS_OK ||
            sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            _exit(1);
        if (write(ready[1], "x", 1) != 1)
            _exit(2);
        nanosleep(&hold, NULL);
        _exit(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : 3);
    }
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(waitpid(kid, &status, 0), kid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    close(ready[0]);
    close(ready[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("feed_store");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, declare_is_idempotent_and_keeps_page_size);
    tcase_add_test(tc, append_needs_a_transaction_and_a_declared_feed);
    tcase_add_test(tc, append_gives_consecutive_positions_and_read_returns_ranges);
    tcase_add_test(tc, bad_events_are_refused);
    tcase_add_test(tc, text_a_feed_cannot_carry_is_refused);
    tcase_add_test(tc, entry_xml_has_the_contract_elements);
    tcase_add_test(tc, a_feed_handle_owns_its_statements);
    tcase_add_test(tc, event_ids_are_version_4_uuids);
    tcase_add_test(tc, two_processes_appending_give_gapless_positions);
    tcase_add_test(tc, a_lock_held_by_another_process_is_waited_out);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
