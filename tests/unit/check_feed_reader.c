/*
 * check_feed_reader.c - the follower against a producer that misbehaves
 * (tests/unit/badserver.c): each fault must leave nothing applied, cause no
 * crash, and be followed by a full recovery once the producer behaves.
 */
#include <check.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "badserver.h"
#include "feedreader.h"
#include "testkit.h"

/* A consumer: its database with a table the handler fills. */
struct consumer {
    char *dir;
    sqlite3 *db;
    struct fr_follower *f;
    struct bs_server srv;
    /* the follower's feed URL (default bs_url()) */
    char url[128];
    /* on_thing asks to retry the entry at this position (0: none) */
    long long retry_at;
    /* fr_config.busy_timeout_ms of the follower (0: the default) */
    unsigned busy_timeout_ms;
    /* fr_config.max_backoff_ms (0: 200), log (NULL: the default) and
     * log_userdata */
    unsigned max_backoff_ms;
    fr_log_fn *log;
    void *log_userdata;
    /* fr_config.wait of the follower, in seconds (0: 1) */
    unsigned wait;
};

/* Inserts each entry into applied; refuses a customerId "refuse", asks to
 * retry the entry at consumer.retry_at, and fails if a field carries a
 * local file's content. */
static int on_thing(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                    void *userdata)
{
    const struct consumer *c = userdata;
    sqlite3_stmt *st;
    const char *cust = fr_entry_field(e, "customerId");
    int rc;

    if (c && c->retry_at == e->position) {
        snprintf(why, why_size, "not now");
        return FR_HANDLER_RETRY;
    }
    if (cust && strcmp(cust, "refuse") == 0) {
        snprintf(why, why_size, "customer refuse is not allowed");
        return 1;
    }
    ck_assert_ptr_null(fr_entry_field(e, "nosuchfield"));
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "INSERT INTO applied (id, pos, customer, n) "
                                        "VALUES (?1, ?2, ?3, ?4)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, e->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, e->position);
    sqlite3_bind_text(st, 3, cust, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, fr_entry_field(e, "n"), -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(why, why_size, "insert failed");
        return 1;
    }
    return 0;
}

static void open_follower(struct consumer *c)
{
    struct fr_config cfg = {
        .feed_url = c->url[0] ? c->url : bs_url(&c->srv),
        .db = c->db,
        .wait = c->wait ? c->wait : 1,
        .connect_timeout = 1,
        .read_timeout = 1,
        .max_backoff_ms = c->max_backoff_ms ? c->max_backoff_ms : 200,
        .busy_timeout_ms = c->busy_timeout_ms,
        .log = c->log,
        .log_userdata = c->log_userdata,
    };

    fr_follower_close(c->f);
    c->f = NULL;
    ck_assert_int_eq(fr_follower_open(&cfg, &c->f), FR_OK);
    ck_assert_int_eq(fr_follower_on(c->f, "Thing", on_thing, c), FR_OK);
}

/* A consumer whose database is opened with open_flags added (such as
 * SQLITE_OPEN_SHAREDCACHE), before the follower is opened. */
static void consumer_init_flags(struct consumer *c, long long count, int page_size, int open_flags)
{
    char *path;

    memset(c, 0, sizeof *c);
    c->dir = tk_tempdir();
    path = tk_path(c->dir, "consumer.db");
    ck_assert_int_eq(sqlite3_open_v2(path, &c->db,
                                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | open_flags, NULL),
                     SQLITE_OK);
    free(path);
    ck_assert_int_eq(sqlite3_exec(c->db,
                                  "PRAGMA journal_mode=WAL;"
                                  "CREATE TABLE applied (id TEXT UNIQUE NOT NULL,"
                                  " pos INTEGER UNIQUE NOT NULL, customer TEXT, n TEXT)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    bs_start(&c->srv, 0);
    c->srv.sh->count = count;
    c->srv.sh->page_size = page_size;
    open_follower(c);
}

static void consumer_init(struct consumer *c, long long count, int page_size)
{
    consumer_init_flags(c, count, page_size, 0);
}

/* A second connection to the consumer's database (caller closes). */
static sqlite3 *other_connection(const struct consumer *c)
{
    char *path = tk_path(c->dir, "consumer.db");
    sqlite3 *db;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    free(path);
    return db;
}

/* Stores position from (and entries 1..from as applied), as a follower of
 * feed_id (NULL: a row of the version keyed by URL, which has no feed id)
 * would have left them at the consumer's URL. */
static void seed(struct consumer *c, long long from, const char *feed_id, const char *prefix)
{
    sqlite3_stmt *st;
    char last[64];

    snprintf(last, sizeof last, "urn:uuid:%s-%lld", prefix, from);
    ck_assert_int_eq(sqlite3_prepare_v2(c->db,
                                        feed_id ? "INSERT INTO feed_followers"
                                                  " (feed_url, position, last_id, feed_id)"
                                                  " VALUES (?1, ?2, ?3, ?4)"
                                                : "INSERT INTO feed_followers"
                                                  " (feed_url, position, last_id)"
                                                  " VALUES (?1, ?2, ?3)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, c->url[0] ? c->url : bs_url(&c->srv), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_text(st, 3, from ? last : "", -1, SQLITE_TRANSIENT);
    if (feed_id)
        sqlite3_bind_text(st, 4, feed_id, -1, SQLITE_TRANSIENT);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    ck_assert_int_eq(sqlite3_prepare_v2(c->db,
                                        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL"
                                        " SELECT i + 1 FROM k WHERE i < ?1)"
                                        " INSERT INTO applied SELECT 'urn:uuid:a-' || i, i,"
                                        " 'c' || i, i FROM k WHERE ?1 > 0",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, from);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static void consumer_release(struct consumer *c)
{
    fr_follower_close(c->f);
    bs_free(&c->srv);
    sqlite3_close(c->db);
    tk_rmtree(c->dir);
    free(c->dir);
}

static long long rows(const struct consumer *c)
{
    return tk_query_int(c->db, "SELECT count(*) FROM applied");
}

/* Steps until the follower reaches want (at most 100 steps, or 4 a page
 * more for a long walk). */
static void catch_up(struct consumer *c, long long want)
{
    long long pages = want / (c->srv.sh->page_size > 0 ? c->srv.sh->page_size : 500);

    for (long long i = 0; i < 100 + 4 * pages && fr_follower_position(c->f) < want; i++) {
        enum fr_error err = fr_follower_step(c->f, 0);
        ck_assert_msg(err == FR_OK, "step: %s: %s", fr_strerror(err), fr_follower_last_error(c->f));
    }
    ck_assert_int_eq(fr_follower_position(c->f), want);
}

/* Every entry 1..n applied exactly once, in order. */
static void assert_applied(const struct consumer *c, long long n, long long skipped)
{
    ck_assert_int_eq(rows(c), n - skipped);
    ck_assert_int_eq(tk_query_int(c->db, "SELECT count(DISTINCT id) FROM applied"), n - skipped);
    if (n > 0)
        ck_assert_int_eq(tk_query_int(c->db, "SELECT max(pos) FROM applied"), n);
    ck_assert_int_eq(
        tk_query_int(c->db, "SELECT count(*) FROM applied WHERE n != CAST(pos AS TEXT)"), 0);
    ck_assert_int_eq(tk_query_int(c->db, "SELECT position FROM feed_followers"), n);
}

START_TEST(t_walk_from_zero)
{
    struct consumer c;

    consumer_init(&c, 23, 5);
    catch_up(&c, 23);
    assert_applied(&c, 23, 0);
    /* Caught up: nothing new is not an error, and nothing is applied again. */
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK);
    ck_assert_int_eq(fr_follower_step(c.f, 1), FR_OK);
    assert_applied(&c, 23, 0);
    c.srv.sh->count = 31;
    catch_up(&c, 31);
    assert_applied(&c, 31, 0);
    consumer_release(&c);
}
END_TEST

/* The shapes of feed the follower must read alike: the project's own, one
 * without hints, archive pages at other URLs with relative links, absolute
 * links, and a pageSize hint that is wrong. */
static const struct shape {
    const char *name;
    int no_hints, links, lie_page_size;
} shapes[] = {
    {"project", 0, BS_LINKS_PATH, 0},
    {"no hints", 1, BS_LINKS_PATH, 0},
    {"relative links, archive elsewhere", 1, BS_LINKS_RELATIVE, 0},
    {"relative links with hints", 0, BS_LINKS_RELATIVE, 0},
    {"absolute links", 0, BS_LINKS_ABSOLUTE, 0},
    {"wrong pageSize hint", 0, BS_LINKS_PATH, 3},
};
#define NSHAPES (int)(sizeof shapes / sizeof shapes[0])
static const long long froms[] = {0, 7, 10, 20, 23};
#define NFROMS (int)(sizeof froms / sizeof froms[0])

/* Starts from a stored position (as after a restart), in one shape: every
 * entry after it applied once, and the follower goes on as the feed grows. */
START_TEST(t_walk)
{
    const struct shape *sh = &shapes[_i / NFROMS];
    long long from = froms[_i % NFROMS];
    struct consumer c;

    consumer_init(&c, 23, 5);
    c.srv.sh->no_hints = sh->no_hints;
    c.srv.sh->links = sh->links;
    c.srv.sh->lie_page_size = sh->lie_page_size;
    if (from > 0) {
        seed(&c, from, "urn:x:feeds:x", "a");
        open_follower(&c);
    }
    ck_assert_int_eq(fr_follower_position(c.f), from);
    catch_up(&c, 23);
    assert_applied(&c, 23, 0);
    ck_assert_str_eq(fr_follower_feed_id(c.f), "urn:x:feeds:x");
    c.srv.sh->count = 37;
    catch_up(&c, 37);
    assert_applied(&c, 37, 0);
    ck_assert_msg(tk_query_int(c.db, "SELECT count(*) FROM feed_followers") == 1, "%s", sh->name);
    consumer_release(&c);
}
END_TEST

/* A long walk back through 150 pages without hints: bounded by the
 * positions, it reaches page 0 and comes forward again. */
START_TEST(t_long_walk)
{
    struct consumer c;

    consumer_init(&c, 301, 2);
    c.srv.sh->no_hints = 1;
    c.srv.sh->links = BS_LINKS_RELATIVE;
    catch_up(&c, 301);
    assert_applied(&c, 301, 0);
    consumer_release(&c);
}
END_TEST

/* Waits at most seconds for thread th to end; 1 if it did (joined). */
static int join_within(pthread_t th, int seconds)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    return pthread_timedjoin_np(th, NULL, &until) == 0;
}

struct stepper {
    struct fr_follower *f;
    enum fr_error err;
};

static void *step_thread(void *arg)
{
    struct stepper *s = arg;

    s->err = fr_follower_step(s->f, 0);
    return NULL;
}

/* One step of f, which must end within 10 s (a producer that hangs holds a
 * connection for 60 s: only the follower's own timeouts end it sooner). */
static enum fr_error step_in_time(struct fr_follower *f)
{
    struct stepper s = {f, FR_OK};
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, step_thread, &s), 0);
    ck_assert_msg(join_within(th, 10), "a bad producer held the follower past 10 s");
    return s.err;
}

/* Puts the producer in a bad state, checks that a step fails with want and
 * applies nothing, then lets it behave and checks a full recovery. */
typedef void bad_fn(struct consumer *c);

static void fault(bad_fn *make_bad, enum fr_error want)
{
    struct consumer c;
    enum fr_error err;

    consumer_init(&c, 12, 5);
    make_bad(&c);
    for (int i = 0; i < 3; i++) {
        err = step_in_time(c.f);
        ck_assert_msg(err == want, "got %s (%s), want %s", fr_strerror(err),
                      fr_follower_last_error(c.f), fr_strerror(want));
        ck_assert_str_ne(fr_follower_last_error(c.f), "");
        ck_assert_int_eq(rows(&c), 0);
        ck_assert_int_eq(fr_follower_position(c.f), 0);
    }
    ck_assert_int_ge(tk_query_int(c.db, "SELECT errors FROM feed_followers"), 3);
    ck_assert_int_eq(
        tk_query_int(c.db, "SELECT count(*) FROM feed_followers WHERE last_error != ''"), 1);
    if (c.srv.pid == 0)
        bs_restart(&c.srv);
    c.srv.sh->mode = BS_FEED;
    catch_up(&c, 12);
    assert_applied(&c, 12, 0);
    consumer_release(&c);
}

static void bad_down(struct consumer *c)
{
    bs_stop(&c->srv);
}

static void bad_500(struct consumer *c)
{
    bs_raw(&c->srv, 500, "application/json", "{\"error\": \"boom\"}");
}

static void bad_503(struct consumer *c)
{
    bs_raw(&c->srv, 503, "text/plain", "busy");
}

static void bad_hang(struct consumer *c)
{
    c->srv.sh->mode = BS_HANG;
}

static void bad_close(struct consumer *c)
{
    c->srv.sh->mode = BS_CLOSE;
}

static const char good_head[] =
    "<?xml version=\"1.0\"?>\n"
    "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:f=\"urn:x-feed-integration:1\">"
    "<id>urn:x:feeds:x</id><f:pageSize>5</f:pageSize><f:head>2</f:head>"
    "<entry><id>urn:uuid:a-1</id><f:position>1</f:position><content type=\"application/xml\">"
    "<Thing><customerId>c1</customerId><n>1</n></Thing></content></entry>"
    "<entry><id>urn:uuid:a-2</id><f:position>2</f:position><content type=\"application/xml\">"
    "<Thing><customerId>c2</customerId><n>2</n></Thing></content></entry>"
    "</feed>\n";

static void bad_cut(struct consumer *c)
{
    bs_raw(&c->srv, 200, "application/atom+xml", good_head);
    c->srv.sh->mode = BS_CUT;
}

static void bad_type(struct consumer *c)
{
    bs_raw(&c->srv, 200, "text/html; charset=utf-8", good_head);
}

static void bad_no_type(struct consumer *c)
{
    bs_raw(&c->srv, 200, "", good_head);
}

static void bad_xml(struct consumer *c)
{
    bs_raw(&c->srv, 200, "application/atom+xml",
           "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\" "
           "xmlns:f=\"urn:x-feed-integration:1\"><id>urn:x:feeds:x</id><f:pageSize>5</"
           "f:pageSize><f:head>2</f:head>"
           "<entry><id>urn:uuid:a-1</id><f:position>1</f:position><content>"
           "<Thing><customerId>c1</customerId><n>1</n></Thing></content></entry>"
           "<entry><id>urn:uuid:a-2</id><f:position>2</f:position><content>"
           "<Thing><customerId>c2</customerId><n>2</Thing></content></entry></feed>");
}

static void bad_not_atom(struct consumer *c)
{
    bs_raw(&c->srv, 200, "application/xml", "<html><body>hello</body></html>");
}

static void bad_empty(struct consumer *c)
{
    bs_raw(&c->srv, 200, "application/atom+xml", "");
}

static void bad_laughs(struct consumer *c)
{
    bs_raw(&c->srv, 200, "application/atom+xml",
           "<?xml version=\"1.0\"?>\n"
           "<!DOCTYPE feed [\n"
           " <!ENTITY lol \"lol\">\n"
           " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
           " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
           " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
           " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
           " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
           " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
           " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
           " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
           " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
           "]>\n"
           "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:f=\"urn:x-feed-integration:1\">"
           "<id>urn:x:feeds:x</id><f:pageSize>5</f:pageSize><f:head>1</f:head>"
           "<entry><id>urn:uuid:a-1</id><f:position>1</f:position><content>"
           "<Thing><customerId>&lol9;</customerId><n>1</n></Thing></content></entry></feed>");
}

static void bad_xxe(struct consumer *c)
{
    bs_raw(&c->srv, 200, "application/atom+xml",
           "<?xml version=\"1.0\"?>\n"
           "<!DOCTYPE feed [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
           "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:f=\"urn:x-feed-integration:1\">"
           "<id>urn:x:feeds:x</id><f:pageSize>5</f:pageSize><f:head>1</f:head>"
           "<entry><id>urn:uuid:a-1</id><f:position>1</f:position><content>"
           "<Thing><customerId>&xxe;</customerId><n>1</n></Thing></content></entry></feed>");
}

static void bad_undeclared_entity(struct consumer *c)
{
    bs_raw(&c->srv, 200, "application/atom+xml",
           "<?xml version=\"1.0\"?>\n"
           "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:f=\"urn:x-feed-integration:1\">"
           "<id>urn:x:feeds:x</id><f:pageSize>5</f:pageSize><f:head>1</f:head>"
           "<entry><id>urn:uuid:a-1</id><f:position>1</f:position><content>"
           "<Thing><customerId>&xxe;</customerId><n>1</n></Thing></content></entry></feed>");
}

static void bad_huge(struct consumer *c)
{
    c->srv.sh->mode = BS_HUGE;
}

static void bad_huge_nolen(struct consumer *c)
{
    c->srv.sh->mode = BS_HUGE_NOLEN;
}

static void bad_deep(struct consumer *c)
{
    char body[8192];
    size_t n = 0;

    n +=
        (size_t)snprintf(body + n, sizeof body - n, "<feed xmlns=\"http://www.w3.org/2005/Atom\">");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "<a>");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "</a>");
    snprintf(body + n, sizeof body - n, "</feed>");
    bs_raw(&c->srv, 200, "application/atom+xml", body);
}

static void bad_gap(struct consumer *c)
{
    bs_raw(&c->srv, 200, "application/atom+xml",
           "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:f=\"urn:x-feed-integration:1\">"
           "<id>urn:x:feeds:x</id><f:pageSize>5</f:pageSize><f:head>3</f:head>"
           "<entry><id>urn:uuid:a-1</id><f:position>1</f:position><content>"
           "<Thing><customerId>c1</customerId><n>1</n></Thing></content></entry>"
           "<entry><id>urn:uuid:a-3</id><f:position>3</f:position><content>"
           "<Thing><customerId>c3</customerId><n>3</n></Thing></content></entry></feed>");
}

static void bad_no_position(struct consumer *c)
{
    bs_raw(&c->srv, 200, "application/atom+xml",
           "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:f=\"urn:x-feed-integration:1\">"
           "<id>urn:x:feeds:x</id><f:pageSize>5</f:pageSize><f:head>1</f:head>"
           "<entry><id>urn:uuid:a-1</id><f:position>one</f:position><content>"
           "<Thing><customerId>c1</customerId><n>1</n></Thing></content></entry></feed>");
}

/* A gzip bomb: 40 MB of zeros in 40 KB, over the 32 MB cap once inflated. */
static void bad_gzip_bomb(struct consumer *c)
{
    static char zeros[1 << 16];
    static unsigned char gz[200 * 1024];
    z_stream z = {0};

    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_out = gz;
    z.avail_out = sizeof gz;
    for (int i = 0; i < 40 * 16; i++) {
        z.next_in = (Bytef *)zeros;
        z.avail_in = sizeof zeros;
        ck_assert_int_eq(deflate(&z, Z_NO_FLUSH), Z_OK);
    }
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    ck_assert_uint_lt(z.total_out, 100 * 1024);
    bs_raw_gzip(&c->srv, "application/atom+xml", gz, z.total_out);
    deflateEnd(&z);
}

START_TEST(t_fault_down)
{
    fault(bad_down, FR_ERR_HTTP);
}
END_TEST
START_TEST(t_fault_500)
{
    fault(bad_500, FR_ERR_HTTP);
}
END_TEST
START_TEST(t_fault_503)
{
    fault(bad_503, FR_ERR_HTTP);
}
END_TEST
START_TEST(t_fault_hang)
{
    fault(bad_hang, FR_ERR_HTTP);
}
END_TEST
START_TEST(t_fault_close)
{
    fault(bad_close, FR_ERR_HTTP);
}
END_TEST
START_TEST(t_fault_cut)
{
    fault(bad_cut, FR_ERR_HTTP);
}
END_TEST
START_TEST(t_fault_type)
{
    fault(bad_type, FR_ERR_HTTP);
}
END_TEST
START_TEST(t_fault_no_type)
{
    fault(bad_no_type, FR_ERR_HTTP);
}
END_TEST
START_TEST(t_fault_xml)
{
    fault(bad_xml, FR_ERR_PARSE);
}
END_TEST
START_TEST(t_fault_not_atom)
{
    fault(bad_not_atom, FR_ERR_PARSE);
}
END_TEST
START_TEST(t_fault_empty)
{
    fault(bad_empty, FR_ERR_PARSE);
}
END_TEST
START_TEST(t_fault_laughs)
{
    fault(bad_laughs, FR_ERR_PARSE);
}
END_TEST
START_TEST(t_fault_xxe)
{
    fault(bad_xxe, FR_ERR_PARSE);
}
END_TEST
START_TEST(t_fault_undeclared_entity)
{
    fault(bad_undeclared_entity, FR_ERR_PARSE);
}
END_TEST
START_TEST(t_fault_huge)
{
    fault(bad_huge, FR_ERR_TOO_LARGE);
}
END_TEST
START_TEST(t_fault_gzip_bomb)
{
    fault(bad_gzip_bomb, FR_ERR_TOO_LARGE);
}
END_TEST
START_TEST(t_fault_huge_nolen)
{
    fault(bad_huge_nolen, FR_ERR_TOO_LARGE);
}
END_TEST
START_TEST(t_fault_deep)
{
    fault(bad_deep, FR_ERR_TOO_LARGE);
}
END_TEST
START_TEST(t_fault_gap)
{
    fault(bad_gap, FR_ERR_PARSE);
}
END_TEST
START_TEST(t_fault_no_position)
{
    fault(bad_no_position, FR_ERR_PARSE);
}
END_TEST

START_TEST(t_xxe_never_applied)
{
    struct consumer c;

    consumer_init(&c, 0, 5);
    bad_xxe(&c);
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_PARSE);
    ck_assert_int_eq(
        tk_query_int(c.db, "SELECT count(*) FROM applied WHERE customer LIKE '%root%'"), 0);
    ck_assert_ptr_null(strstr(fr_follower_last_error(c.f), "root:"));
    consumer_release(&c);
}
END_TEST

START_TEST(t_tolerant_reader)
{
    struct consumer c;

    consumer_init(&c, 23, 5);
    c.srv.sh->skip_every = 4;
    catch_up(&c, 23);
    assert_applied(&c, 23, 5);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT skipped FROM feed_followers"), 5);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM applied WHERE pos % 4 = 0"), 0);
    consumer_release(&c);
}
END_TEST

START_TEST(t_refused)
{
    struct consumer c;
    enum fr_error err;

    consumer_init(&c, 3, 5);
    c.srv.sh->refuse_at = 2;
    err = fr_follower_step(c.f, 0);
    ck_assert_int_eq(err, FR_ERR_REFUSED);
    ck_assert_int_eq(rows(&c), 0);
    ck_assert_int_eq(fr_follower_position(c.f), 0);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "entry 2"));
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "customer refuse"));
    /* run() stops on it rather than skipping it. */
    ck_assert_int_eq(fr_follower_run(c.f), FR_ERR_REFUSED);
    ck_assert_int_eq(rows(&c), 0);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM feed_followers"
                                        " WHERE last_error LIKE '%refused entry 2%'"),
                     1);
    consumer_release(&c);
}
END_TEST

START_TEST(t_refused_in_archive_keeps_earlier_pages)
{
    struct consumer c;

    consumer_init(&c, 12, 5);
    c.srv.sh->refuse_at = 7;
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK); /* head: learn P */
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK); /* page 0 */
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_REFUSED);
    assert_applied(&c, 5, 0);
    consumer_release(&c);
}
END_TEST

START_TEST(t_backwards_head)
{
    struct consumer c;
    enum fr_error err;

    consumer_init(&c, 23, 5);
    catch_up(&c, 23);
    c.srv.sh->count = 10;
    err = fr_follower_step(c.f, 0);
    ck_assert_int_eq(err, FR_ERR_BACKWARDS);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "backwards"));
    /* After a restart too, and run() stops with it. */
    open_follower(&c);
    ck_assert_int_eq(fr_follower_run(c.f), FR_ERR_BACKWARDS);
    assert_applied(&c, 23, 0);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM feed_followers"
                                        " WHERE last_error LIKE '%backwards%'"),
                     1);
    consumer_release(&c);
}
END_TEST

/* Another id at the stored position, whether it is in the head or in an
 * archive page (23: head; 20: last of a full page; 17: inside one). */
static void backwards_id(long long at)
{
    struct consumer c;

    consumer_init(&c, at, 5);
    catch_up(&c, at);
    snprintf(c.srv.sh->id_prefix, sizeof c.srv.sh->id_prefix, "b");
    c.srv.sh->count = 25;
    open_follower(&c);
    ck_assert_int_eq(fr_follower_run(c.f), FR_ERR_BACKWARDS);
    assert_applied(&c, at, 0);
    consumer_release(&c);
}

START_TEST(t_backwards_id_head)
{
    backwards_id(23);
}
END_TEST
START_TEST(t_backwards_id_page_end)
{
    backwards_id(20);
}
END_TEST
START_TEST(t_backwards_id_page)
{
    backwards_id(17);
}
END_TEST

START_TEST(t_backwards_id_while_running)
{
    struct consumer c;

    consumer_init(&c, 3, 5);
    catch_up(&c, 3);
    snprintf(c.srv.sh->id_prefix, sizeof c.srv.sh->id_prefix, "b");
    c.srv.sh->count = 4;
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_BACKWARDS);
    assert_applied(&c, 3, 0);
    consumer_release(&c);
}
END_TEST

/* The producer goes down and comes back restored with other entries, while
 * the follower runs; the stored position 20 ends a page, so the next page
 * alone would not show it. */
START_TEST(t_backwards_after_outage)
{
    struct consumer c;
    enum fr_error err = FR_OK;

    consumer_init(&c, 20, 5);
    catch_up(&c, 20);
    bs_stop(&c.srv);
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_HTTP);
    snprintf(c.srv.sh->id_prefix, sizeof c.srv.sh->id_prefix, "b");
    c.srv.sh->count = 30;
    bs_restart(&c.srv);
    for (int i = 0; i < 5 && err == FR_OK; i++)
        err = fr_follower_step(c.f, 0);
    ck_assert_int_eq(err, FR_ERR_BACKWARDS);
    assert_applied(&c, 20, 0);
    consumer_release(&c);
}
END_TEST

struct runner {
    struct fr_follower *f;
    enum fr_error result;
};

static void *run_thread(void *arg)
{
    struct runner *r = arg;

    r->result = fr_follower_run(r->f);
    return NULL;
}

/* What the follower logged about its long-poll mode. */
static volatile int saw_cache_mode, saw_honoured, saw_plain_token;

static void capture_log(enum fr_log_level level, const char *msg, const char *const *keys,
                        const char *const *values, size_t n, void *userdata)
{
    (void)keys;
    (void)values;
    (void)n;
    (void)userdata;
    if (strstr(msg, "long-poll not honoured"))
        saw_cache_mode = 1;
    if (strstr(msg, "long-poll honoured again"))
        saw_honoured = 1;
    if (level == FR_LOG_WARN && strstr(msg, "token is sent over plain http"))
        saw_plain_token = 1;
}

/* Waits until *flag is set, for at most ms; whether it was. */
static int wait_flag(volatile int *flag, int ms)
{
    int64_t end = tk_now_ms() + ms;

    while (!*flag && tk_now_ms() < end)
        usleep(10 * 1000);
    return *flag;
}

/* Requests the producer receives in the next ms milliseconds. */
static int requests_in(const struct consumer *c, int ms)
{
    int r0 = c->srv.sh->requests;
    int64_t end = tk_now_ms() + ms;

    while (tk_now_ms() < end)
        usleep(20 * 1000);
    return c->srv.sh->requests - r0;
}

static int wait_rows(const struct consumer *c, long long want, int ms)
{
    int64_t end = tk_now_ms() + ms;
    sqlite3 *db;
    char *path = tk_path(c->dir, "consumer.db");
    long long n = -1;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    free(path);
    sqlite3_busy_timeout(db, 2000);
    while (tk_now_ms() < end) {
        n = tk_query_int(db, "SELECT count(*) FROM applied");
        if (n >= want)
            break;
        usleep(10000);
    }
    sqlite3_close(db);
    return n == want;
}

/* Whether the follower's row records at least want errors within ms. */
static int wait_errors(const struct consumer *c, long long want, int ms)
{
    sqlite3 *db = other_connection(c);
    long long n = 0;

    sqlite3_busy_timeout(db, 2000);
    for (int64_t end = tk_now_ms() + ms; tk_now_ms() < end; usleep(10000)) {
        n = tk_query_int(db, "SELECT coalesce(max(errors), 0) FROM feed_followers");
        if (n >= want)
            break;
    }
    sqlite3_close(db);
    return n >= want;
}

/* Whether the producer holds a long-poll within ms. */
static int wait_holding(const struct consumer *c, int ms)
{
    for (int64_t end = tk_now_ms() + ms; !c->srv.sh->holding && tk_now_ms() < end;)
        usleep(5000);
    return c->srv.sh->holding;
}

/* The loop: goes on after failing while the producer is down, catches up
 * when it returns, long-polls the head, and a stop ends even a held poll
 * (the follower asks for 30 s holds: only the stop can end it sooner). */
START_TEST(t_run_recovers_and_stops)
{
    struct consumer c;
    struct runner r;
    pthread_t th;

    consumer_init(&c, 12, 5);
    c.wait = 30;
    open_follower(&c);
    bs_stop(&c.srv);
    r.f = c.f;
    ck_assert_int_eq(pthread_create(&th, NULL, run_thread, &r), 0);
    ck_assert_msg(wait_errors(&c, 1, 5000), "no failure recorded while the producer is down");
    bs_restart(&c.srv);
    ck_assert(wait_rows(&c, 12, 5000));
    c.srv.sh->count = 13;
    ck_assert(wait_rows(&c, 13, 3000));
    ck_assert_msg(wait_holding(&c, 5000), "the follower does not long-poll the head");
    fr_follower_stop(c.f);
    ck_assert_msg(join_within(th, 10), "a stop did not end the held long-poll");
    ck_assert_int_eq(r.result, FR_ERR_STOPPED);
    assert_applied(&c, 13, 0);
    consumer_release(&c);
}
END_TEST

static void on_status(const struct fr_status *st, void *userdata)
{
    int *n = userdata;

    ck_assert_int_eq(st->position, 12);
    ck_assert_int_eq(st->head, 12);
    ck_assert_int_ge(st->errors, 1);
    ck_assert_str_ne(st->last_success, "");
    ck_assert_str_ne(st->last_error, "");
    ck_assert_ptr_nonnull(strstr(st->feed_url, "/feeds/x"));
    ck_assert_str_eq(st->feed_id, "urn:x:feeds:x");
    (*n)++;
}

/* A producer (a cache) that answers long-polls at once without
 * Preference-Applied: the follower polls the head about once a second,
 * still gets new entries, and long-polls again once a wait is honoured. */
START_TEST(t_cache_mode)
{
    struct consumer c;
    struct runner r;
    pthread_t th;
    int n;

    saw_cache_mode = saw_honoured = 0;
    consumer_init(&c, 12, 5);
    c.log = capture_log;
    open_follower(&c);
    c.srv.sh->no_hold = 1;
    r.f = c.f;
    ck_assert_int_eq(pthread_create(&th, NULL, run_thread, &r), 0);
    ck_assert(wait_rows(&c, 12, 5000));
    ck_assert(wait_flag(&saw_cache_mode, 5000));
    n = requests_in(&c, 3000);
    ck_assert_msg(n >= 1 && n <= 5, "%d requests in 3 s in cache mode", n);
    c.srv.sh->count = 13;
    ck_assert(wait_rows(&c, 13, 3000));
    c.srv.sh->no_hold = 0;
    ck_assert(wait_flag(&saw_honoured, 5000));
    fr_follower_stop(c.f);
    pthread_join(th, NULL);
    ck_assert_int_eq(r.result, FR_ERR_STOPPED);
    assert_applied(&c, 13, 0);
    consumer_release(&c);
}
END_TEST

/* A head of entries 5 and 6 whose prev-archive page is not there. */
static const char hand_head_orphan[] =
    "<?xml version=\"1.0\"?>\n"
    "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:f=\"urn:x-feed-integration:1\">\n"
    " <id>urn:example:hand</id>\n"
    " <link rel=\"self\" href=\"/feeds/x\"/><link rel=\"current\" href=\"/feeds/x\"/>\n"
    " <link rel=\"prev-archive\" href=\"/feeds/x/pages/0\"/>\n"
    " <entry><id>urn:uuid:a-5</id><f:position>5</f:position><content type=\"application/xml\">"
    "<Thing><customerId>c5</customerId><n>5</n></Thing></content></entry>\n"
    " <entry><id>urn:uuid:a-6</id><f:position>6</f:position><content type=\"application/xml\">"
    "<Thing><customerId>c6</customerId><n>6</n></Thing></content></entry>\n"
    "</feed>\n";

/* A head whose archive page is a 404 (a cache kept a stale one): each
 * good head fetch must not end the back-off, or the follower spins. */
START_TEST(t_stale_404_backs_off)
{
    struct consumer c;
    struct runner r;
    pthread_t th;
    int n;

    consumer_init(&c, 0, 5);
    c.max_backoff_ms = 2000;
    open_follower(&c);
    bs_file(&c.srv, "/feeds/x", hand_head_orphan);
    c.srv.sh->mode = BS_FILES;
    r.f = c.f;
    ck_assert_int_eq(pthread_create(&th, NULL, run_thread, &r), 0);
    n = requests_in(&c, 3000);
    fr_follower_stop(c.f);
    pthread_join(th, NULL);
    ck_assert_msg(n >= 4 && n <= 40, "%d requests in 3 s against a stale 404", n);
    ck_assert_int_eq(rows(&c), 0);
    consumer_release(&c);
}
END_TEST

/* A token sent over plain http to a host that is not loopback is warned
 * about when the follower opens; https and loopback hosts are not. */
START_TEST(t_plain_http_token_warning)
{
    static const struct {
        const char *url;
        int warn;
    } cases[] = {
        {"http://feeds.example.com/feeds/x", 1},
        {"http://10.0.0.7:8081/feeds/x", 1},
        {"http://127.0.0.1.example.com/feeds/x", 1},
        {"http://[2001:db8::1]:80/feeds/x", 1},
        {"https://feeds.example.com/feeds/x", 0},
        {"http://127.0.0.1:8081/feeds/x", 0},
        {"http://127.9.9.9/feeds/x", 0},
        {"http://localhost:8081/feeds/x", 0},
        {"http://LOCALHOST/feeds/x", 0},
        {"http://[::1]:8081/feeds/x", 0},
    };
    sqlite3 *db;

    ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int with_token = 0; with_token < 2; with_token++) {
            struct fr_config cfg = {.feed_url = cases[i].url,
                                    .db = db,
                                    .token = with_token ? "t0ken" : NULL,
                                    .log = capture_log};
            struct fr_follower *f = NULL;

            saw_plain_token = 0;
            ck_assert_int_eq(fr_follower_open(&cfg, &f), FR_OK);
            ck_assert_msg(saw_plain_token == (with_token && cases[i].warn), "%s, token %d: %s",
                          cases[i].url, with_token, saw_plain_token ? "warned" : "no warning");
            fr_follower_close(f);
        }
    }
    sqlite3_close(db);
}
END_TEST

START_TEST(t_status)
{
    struct consumer c;
    sqlite3 *empty;
    int n = 0;

    consumer_init(&c, 12, 5);
    bad_500(&c);
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_HTTP);
    c.srv.sh->mode = BS_FEED;
    catch_up(&c, 12);
    ck_assert_int_eq(fr_status_list(c.db, on_status, &n), FR_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(sqlite3_open(":memory:", &empty), SQLITE_OK);
    n = 0;
    ck_assert_int_eq(fr_status_list(empty, on_status, &n), FR_OK);
    ck_assert_int_eq(n, 0);
    sqlite3_close(empty);
    consumer_release(&c);
}
END_TEST

/* The lines a follower logged, by level, and whether a "waiting" and an
 * "answers" line came. */
struct log_count {
    int by_level[FR_LOG_FATAL + 1];
    int waiting, answers;
};

static void count_log(enum fr_log_level level, const char *msg, const char *const *keys,
                      const char *const *values, size_t n, void *userdata)
{
    struct log_count *lc = userdata;

    (void)keys;
    (void)values;
    (void)n;
    lc->by_level[level]++;
    if (strcmp(msg, "waiting for the producer") == 0 && level == FR_LOG_INFO)
        lc->waiting++;
    if (strcmp(msg, "the producer answers") == 0)
        lc->answers++;
}

/* A producer that is not up yet when the follower starts is waited for
 * quietly: one info line, no error lines (the failures are still
 * recorded); once it has answered, losing it is an error again. */
START_TEST(t_quiet_start)
{
    struct consumer c;
    struct log_count lc = {0};

    consumer_init(&c, 3, 5);
    bs_stop(&c.srv);
    c.log = count_log;
    c.log_userdata = &lc;
    open_follower(&c);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_HTTP);
    ck_assert_int_eq(lc.waiting, 1);
    ck_assert_int_eq(lc.by_level[FR_LOG_ERROR], 0);
    ck_assert_int_eq(lc.by_level[FR_LOG_WARN], 0);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT errors FROM feed_followers"), 3);
    bs_restart(&c.srv);
    catch_up(&c, 3);
    ck_assert_int_eq(lc.answers, 1);
    ck_assert_int_eq(lc.by_level[FR_LOG_ERROR], 0);
    bs_stop(&c.srv);
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_HTTP);
    ck_assert_int_eq(lc.by_level[FR_LOG_ERROR], 1);
    ck_assert_int_eq(lc.waiting, 1);
    consumer_release(&c);
}
END_TEST

/* Something a producer answers other than a refused connection is an
 * error from the first time. */
START_TEST(t_quiet_start_only_for_refused)
{
    struct consumer c;
    struct log_count lc = {0};

    consumer_init(&c, 3, 5);
    bad_500(&c);
    c.log = count_log;
    c.log_userdata = &lc;
    open_follower(&c);
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_HTTP);
    ck_assert_int_eq(lc.waiting, 0);
    ck_assert_int_eq(lc.by_level[FR_LOG_ERROR], 1);
    consumer_release(&c);
}
END_TEST

struct poll_status {
    int n, resolved;
    char last_poll[32], last_applied[32];
};

static void on_poll_status(const struct fr_status *st, void *userdata)
{
    struct poll_status *ps = userdata;

    ps->n++;
    ps->resolved = st->error_resolved;
    snprintf(ps->last_poll, sizeof ps->last_poll, "%s", st->last_poll);
    snprintf(ps->last_applied, sizeof ps->last_applied, "%s", st->last_applied);
}

/* A poll that finds nothing new (304) is recorded as the last good poll,
 * apart from the last entry applied, and makes an older error resolved. */
START_TEST(t_last_poll_apart_from_last_applied)
{
    struct consumer c;
    struct poll_status ps = {0};

    consumer_init(&c, 3, 5);
    catch_up(&c, 3);
    ck_assert_int_eq(fr_status_list(c.db, on_poll_status, &ps), FR_OK);
    ck_assert_int_eq(ps.n, 1);
    ck_assert_str_ne(ps.last_poll, "");
    ck_assert_str_ne(ps.last_applied, "");
    ck_assert_int_eq(sqlite3_exec(c.db,
                                  "UPDATE feed_followers SET last_poll = '', last_success = '',"
                                  " last_applied = '2000-01-01T00:00:00Z',"
                                  " last_error = 'old', last_error_at = '2001-01-01T00:00:00Z'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    memset(&ps, 0, sizeof ps);
    ck_assert_int_eq(fr_status_list(c.db, on_poll_status, &ps), FR_OK);
    ck_assert_int_eq(ps.resolved, 0);
    /* Caught up: the next step is a conditional GET answered 304. */
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK);
    ck_assert_int_eq(fr_follower_position(c.f), 3);
    memset(&ps, 0, sizeof ps);
    ck_assert_int_eq(fr_status_list(c.db, on_poll_status, &ps), FR_OK);
    ck_assert_str_ne(ps.last_poll, "");
    ck_assert_str_eq(ps.last_applied, "2000-01-01T00:00:00Z");
    ck_assert_int_eq(ps.resolved, 1);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT last_success = '' FROM feed_followers"), 1);
    /* An error newer than every success is not resolved. */
    ck_assert_int_eq(
        sqlite3_exec(c.db, "UPDATE feed_followers SET last_error_at = '9999-01-01T00:00:00Z'", NULL,
                     NULL, NULL),
        SQLITE_OK);
    ck_assert_int_eq(fr_status_list(c.db, on_poll_status, &ps), FR_OK);
    ck_assert_int_eq(ps.resolved, 0);
    /* A new entry moves last_applied. */
    c.srv.sh->count = 4;
    catch_up(&c, 4);
    ck_assert_int_eq(fr_status_list(c.db, on_poll_status, &ps), FR_OK);
    ck_assert_str_ne(ps.last_applied, "2000-01-01T00:00:00Z");
    consumer_release(&c);
}
END_TEST

START_TEST(t_bad_arguments)
{
    struct fr_follower *f = (struct fr_follower *)1;
    struct fr_config cfg = {.feed_url = "file:///etc/passwd"};
    sqlite3 *db;

    ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    ck_assert_int_eq(fr_follower_open(&cfg, &f), FR_ERR_INVALID);
    ck_assert_ptr_null(f);
    cfg.db = db;
    ck_assert_int_eq(fr_follower_open(&cfg, &f), FR_ERR_INVALID);
    cfg.feed_url = "http://127.0.0.1:1/feeds/x";
    cfg.token = "a\r\nX-Evil: 1";
    ck_assert_int_eq(fr_follower_open(&cfg, &f), FR_ERR_INVALID);
    cfg.token = "t";
    ck_assert_int_eq(fr_follower_open(&cfg, &f), FR_OK);
    ck_assert_int_eq(fr_follower_on(f, "A", on_thing, NULL), FR_OK);
    ck_assert_int_eq(fr_follower_on(f, "A", on_thing, NULL), FR_ERR_INVALID);
    ck_assert_str_eq(fr_follower_last_error(f), "");
    fr_follower_close(f);
    fr_follower_close(NULL);
    ck_assert_str_eq(fr_strerror(FR_ERR_BACKWARDS), "the feed went backwards");
    sqlite3_close(db);
}
END_TEST

/* ---- Links ------------------------------------------------------------ */

/* Hrefs a head document may not send the follower to: another port, another
 * host name for the same address, another scheme, a network-path reference
 * to another host. The head otherwise holds entries 1..3, ready to apply. */
static const char *const hostile_hrefs[] = {
    "http://127.0.0.1:%d/feeds/x/pages/0",
    "http://localhost:%d/feeds/x/pages/0",
    "https://127.0.0.1:%d/feeds/x/pages/0",
    "//evil.example/feeds/x/pages/0",
    "file:///etc/passwd",
};

START_TEST(t_hostile_link_refused)
{
    struct consumer c;
    struct bs_server other;
    enum fr_error err;

    consumer_init(&c, 3, 5);
    bs_start(&other, 0);
    other.sh->count = 3;
    snprintf(c.srv.sh->head_prev_href, sizeof c.srv.sh->head_prev_href, hostile_hrefs[_i],
             _i == 1 ? c.srv.port : other.port);
    for (int i = 0; i < 2; i++) {
        err = fr_follower_step(c.f, 0);
        ck_assert_msg(err == FR_ERR_PARSE, "%s: got %s (%s)", c.srv.sh->head_prev_href,
                      fr_strerror(err), fr_follower_last_error(c.f));
        ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "prev-archive"));
        ck_assert_int_eq(rows(&c), 0);
        ck_assert_int_eq(fr_follower_position(c.f), 0);
    }
    ck_assert_int_eq(other.sh->requests, 0);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM feed_followers"
                                        " WHERE last_error LIKE '%prev-archive%' AND errors = 2"),
                     1);
    /* The producer fixes its links: everything flows. */
    c.srv.sh->head_prev_href[0] = '\0';
    catch_up(&c, 3);
    assert_applied(&c, 3, 0);
    bs_free(&other);
    consumer_release(&c);
}
END_TEST

/* A feed written by hand, the way another producer might: no f:pageSize or
 * f:head, archive pages at URLs of its own choosing, relative and absolute
 * links, an unknown entry type, unknown elements and attributes everywhere,
 * entries without title, category or updated, a payload in a namespace. */
static const char hand_a[] =
    "<?xml version=\"1.0\"?>\n"
    "<feed xmlns=\"http://www.w3.org/2005/Atom\" "
    "xmlns:fh=\"http://purl.org/syndication/history/1.0\""
    " xmlns:f=\"urn:x-feed-integration:1\" xmlns:o=\"urn:example:other\">\n"
    " <id>urn:example:hand</id><title>hand</title><o:colour>blue</o:colour>\n"
    " <fh:archive/>\n"
    " <link rel=\"self\" href=\"2026-11-a.xml\"/>\n"
    " <link rel=\"next-archive\" href=\"/archive/2026-11-b.xml\" type=\"application/atom+xml\"/>\n"
    " <link rel=\"current\" href=\"../feeds/x\"/>\n"
    " <link rel=\"alternate\" href=\"http://elsewhere.example/\"/>\n"
    " <entry><id>urn:uuid:a-1</id><f:position>1</f:position><o:rating>5</o:rating>"
    "<content type=\"application/xml\"><Thing><customerId>c1</customerId><n>1</n>"
    "<colour>red</colour></Thing></content></entry>\n"
    " <entry><id>urn:uuid:a-2</id><title>Thing</title><f:position>2</f:position>"
    "<content type=\"application/xml\"><t:Thing xmlns:t=\"urn:example:things\" version=\"1\""
    " extra=\"yes\"><t:customerId>c2</t:customerId><t:n>2</t:n></t:Thing></content></entry>\n"
    "</feed>\n";
static const char hand_b[] =
    "<?xml version=\"1.0\"?>\n"
    "<feed xmlns=\"http://www.w3.org/2005/Atom\" "
    "xmlns:fh=\"http://purl.org/syndication/history/1.0\""
    " xmlns:f=\"urn:x-feed-integration:1\">\n"
    " <id>urn:example:hand</id>\n"
    " <fh:archive/>\n"
    " <link rel=\"prev-archive\" href=\"2026-11-a.xml\"/>\n"
    " <link rel=\"next-archive\" href=\"http://127.0.0.1:%d/feeds/x\"/>\n"
    " <link rel=\"current\" href=\"http://127.0.0.1:%d/feeds/x\"/>\n"
    " <entry><id>urn:uuid:a-3</id><f:position>3</f:position><content type=\"application/xml\">"
    "<SomethingNew><what>ever</what></SomethingNew></content></entry>\n"
    " <entry><id>urn:uuid:a-4</id><f:position>4</f:position><content type=\"application/xml\">"
    "<Thing version=\"2\"><customerId>c4</customerId><n>4</n><nested><deeper>x</deeper></nested>"
    "</Thing></content></entry>\n"
    "</feed>\n";
static const char hand_head[] =
    "<?xml version=\"1.0\"?>\n"
    "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:f=\"urn:x-feed-integration:1\">\n"
    " <id>\n   urn:example:hand\n </id>\n"
    " <link rel=\"self\" href=\"x\"/><link rel=\"current\" href=\"/feeds/x\"/>\n"
    " <link rel=\"prev-archive\" href=\"../archive/2026-11-b.xml?from=head&amp;v=1\"/>\n"
    " <entry><id>urn:uuid:a-5</id><f:position>5</f:position><content type=\"application/xml\">"
    "<Thing><customerId>c5</customerId><n>5</n></Thing></content></entry>\n"
    " <entry><id>urn:uuid:a-6</id><f:position>6</f:position><content type=\"application/xml\">"
    "<Thing><customerId>c6</customerId><n>6</n></Thing></content></entry>\n"
    "%s"
    "</feed>\n";

/* The start of a hand-written document of feed urn:example:hand, and an
 * entry of it at position n. */
static const char hand_open[] =
    "<?xml version=\"1.0\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\""
    " xmlns:fh=\"http://purl.org/syndication/history/1.0\" xmlns:f=\"urn:x-feed-integration:1\">"
    "<id>urn:example:hand</id>";
#define ENTRY(n)                                                                                   \
    "<entry><id>urn:uuid:a-" #n "</id><f:position>" #n "</f:position><content><Thing>"             \
    "<customerId>c" #n "</customerId><n>" #n "</n></Thing></content></entry>"

/* Serves the hand-written feed; extra (may be "") goes at the end of the
 * head. The "?from=head&v=1" on the head's link must reach the server. */
static void serve_hand(struct consumer *c, const char *extra)
{
    char head[4096];

    snprintf(head, sizeof head, hand_head, extra);
    bs_file(&c->srv, "/archive/2026-11-a.xml", hand_a);
    bs_file(&c->srv, "/archive/2026-11-b.xml", hand_b);
    bs_file(&c->srv, "/archive/2026-11-b.xml?from=head&v=1", hand_b);
    bs_file(&c->srv, "/feeds/x", head);
    c->srv.sh->mode = BS_FILES;
}

START_TEST(t_hand_written_feed)
{
    struct consumer c;

    consumer_init(&c, 0, 5);
    serve_hand(&c, "");
    catch_up(&c, 6);
    assert_applied(&c, 6, 1);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT skipped FROM feed_followers"), 1);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM applied WHERE pos = 3"), 0);
    ck_assert_str_eq(fr_follower_feed_id(c.f), "urn:example:hand");
    /* Caught up, a new entry in the head is applied by the next step. */
    serve_hand(&c, " <entry><id>urn:uuid:a-7</id><f:position>7</f:position><content>"
                   "<Thing><customerId>c7</customerId><n>7</n></Thing></content></entry>\n");
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK);
    assert_applied(&c, 7, 1);
    /* Restarted: the id at 7 is checked in the head. */
    open_follower(&c);
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK);
    ck_assert_int_eq(fr_follower_position(c.f), 7);
    consumer_release(&c);

    consumer_init(&c, 0, 5);
    serve_hand(&c, "");
    seed(&c, 1, "urn:example:hand", "a");
    open_follower(&c);
    catch_up(&c, 6);
    assert_applied(&c, 6, 1);
    consumer_release(&c);
}
END_TEST

/* An empty head without f:head: its position is the last of its
 * prev-archive page, read once (archive pages never change), so a follower
 * caught up asks for the head alone. */
START_TEST(t_empty_head_without_hints)
{
    struct consumer c;
    char head[1024];
    int before;

    consumer_init(&c, 0, 5);
    serve_hand(&c, "");
    snprintf(head, sizeof head,
             "%s<link rel=\"prev-archive\" href=\"/archive/2026-11-b.xml\"/></feed>", hand_open);
    bs_file(&c.srv, "/feeds/x", head);
    catch_up(&c, 4);
    assert_applied(&c, 4, 1);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT head FROM feed_followers"), 4);
    for (int i = 0; i < 3; i++) {
        before = c.srv.sh->requests;
        ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK);
        ck_assert_int_eq(c.srv.sh->requests, before + 1);
        ck_assert_str_eq(c.srv.sh->last_path, "/feeds/x");
    }
    consumer_release(&c);

    /* The synthetic feed with an empty head: restarted at 10, the id at 10
     * is checked in page 1; a head found behind by that page is caught. */
    consumer_init(&c, 10, 5);
    c.srv.sh->no_hints = 1;
    c.srv.sh->links = BS_LINKS_RELATIVE;
    catch_up(&c, 10);
    open_follower(&c);
    c.srv.sh->count = 12;
    catch_up(&c, 12);
    assert_applied(&c, 12, 0);
    c.srv.sh->count = 10;
    open_follower(&c);
    ck_assert_int_eq(fr_follower_run(c.f), FR_ERR_BACKWARDS);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "head is 10"));
    assert_applied(&c, 12, 0);
    consumer_release(&c);
}
END_TEST

/* A pageSize hint that agrees with the head but not with the pages: the
 * page it jumps to holds less than it says, so the follower walks on from
 * it, and stops trusting the hint. */
START_TEST(t_misleading_page_size)
{
    static const char *const pages[] = {
        "<fh:archive/><link rel=\"next-archive\" href=\"1\"/>" ENTRY(1),
        "<fh:archive/><link rel=\"prev-archive\" href=\"0\"/><link rel=\"next-archive\" "
        "href=\"2\"/>" ENTRY(2) ENTRY(3) ENTRY(4) ENTRY(5),
        "<fh:archive/><link rel=\"prev-archive\" href=\"1\"/><link rel=\"next-archive\" "
        "href=\"3\"/>" ENTRY(6),
    };
    char path[64], doc[4096];
    struct consumer c;

    for (long long from = 0; from < 7; from++) {
        consumer_init(&c, 0, 5);
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "/feeds/x/pages/%d", i);
            snprintf(doc, sizeof doc, "%s%s</feed>", hand_open, pages[i]);
            bs_file(&c.srv, path, doc);
        }
        snprintf(doc, sizeof doc,
                 "%s<link rel=\"prev-archive\" href=\"/feeds/x/pages/2\"/>"
                 "<f:pageSize>2</f:pageSize>" ENTRY(7) "</feed>",
                 hand_open);
        bs_file(&c.srv, "/feeds/x", doc);
        c.srv.sh->mode = BS_FILES;
        if (from > 0) {
            seed(&c, from, "urn:example:hand", "a");
            open_follower(&c);
        }
        catch_up(&c, 7);
        assert_applied(&c, 7, 0);
        consumer_release(&c);
    }
}
END_TEST

/* Archive pages whose links do not continue the positions are bad
 * documents, and the follower never loops on them. */
START_TEST(t_links_that_loop)
{
    char doc[4096];
    struct consumer c;

    consumer_init(&c, 0, 5);
    snprintf(doc, sizeof doc,
             "%s<fh:archive/><link rel=\"prev-archive\" href=\"/feeds/x/pages/0\"/>"
             "<link rel=\"next-archive\" href=\"/feeds/x/pages/0\"/>" ENTRY(3) ENTRY(4) "</feed>",
             hand_open);
    bs_file(&c.srv, "/feeds/x/pages/0", doc);
    snprintf(doc, sizeof doc,
             "%s<link rel=\"prev-archive\" href=\"/feeds/x/pages/0\"/>" ENTRY(5) "</feed>",
             hand_open);
    bs_file(&c.srv, "/feeds/x", doc);
    c.srv.sh->mode = BS_FILES;
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK); /* head: behind, go back */
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK); /* page 0 starts at 3: go back */
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "prev-archive"));
    ck_assert_int_eq(rows(&c), 0);
    consumer_release(&c);
}
END_TEST

/* ---- Identity ----------------------------------------------------------- */

/* The same feed at another URL (another host name for the producer): the
 * follower continues from the position stored for the feed. */
START_TEST(t_same_feed_other_url)
{
    struct consumer c;

    consumer_init(&c, 12, 5);
    catch_up(&c, 12);
    snprintf(c.url, sizeof c.url, "http://localhost:%d/feeds/x", c.srv.port);
    open_follower(&c);
    c.srv.sh->count = 17;
    catch_up(&c, 17);
    assert_applied(&c, 17, 0);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM feed_followers"), 1);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM feed_followers"
                                        " WHERE feed_url LIKE 'http://localhost:%'"
                                        " AND feed_id = 'urn:x:feeds:x'"),
                     1);
    /* And back again. */
    c.url[0] = '\0';
    open_follower(&c);
    c.srv.sh->count = 18;
    catch_up(&c, 18);
    assert_applied(&c, 18, 0);
    consumer_release(&c);
}
END_TEST

/* Another feed at a URL whose state belongs to a feed stops the follower,
 * applying nothing, also after a restart. */
START_TEST(t_other_feed_at_known_url)
{
    struct consumer c;

    consumer_init(&c, 3, 5);
    catch_up(&c, 3);
    snprintf(c.srv.sh->feed_id, sizeof c.srv.sh->feed_id, "urn:x:feeds:other");
    c.srv.sh->count = 6;
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_OTHER_FEED);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "urn:x:feeds:other"));
    ck_assert_int_eq(fr_follower_run(c.f), FR_ERR_OTHER_FEED);
    open_follower(&c);
    ck_assert_int_eq(fr_follower_run(c.f), FR_ERR_OTHER_FEED);
    assert_applied(&c, 3, 0);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM feed_followers"
                                        " WHERE feed_id = 'urn:x:feeds:x'"
                                        " AND last_error LIKE '%another feed%'"),
                     1);
    ck_assert_str_eq(fr_strerror(FR_ERR_OTHER_FEED),
                     "the URL serves another feed than the one whose position is stored");
    consumer_release(&c);
}
END_TEST

/* An archive page of another feed, reached by a link, is a bad document
 * (the follower is not stopped); the URL the state belongs to decides. */
START_TEST(t_page_of_other_feed)
{
    struct consumer c;
    char doc[2048];

    consumer_init(&c, 0, 5);
    serve_hand(&c, "");
    snprintf(doc, sizeof doc, "%s", hand_b);
    memcpy(strstr(doc, "urn:example:hand"), "urn:example:ohno", 16);
    bs_file(&c.srv, "/archive/2026-11-b.xml?from=head&v=1", doc);
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK); /* head: behind */
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "urn:example:ohno"));
    ck_assert_int_eq(rows(&c), 0);
    bs_file(&c.srv, "/archive/2026-11-b.xml?from=head&v=1", hand_b);
    catch_up(&c, 6);
    assert_applied(&c, 6, 1);
    consumer_release(&c);
}
END_TEST

/* A document without a feed id cannot be followed. */
START_TEST(t_no_feed_id)
{
    struct consumer c;

    consumer_init(&c, 0, 5);
    bs_raw(&c.srv, 200, "application/atom+xml",
           "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:f=\"urn:x-feed-integration:1\">"
           "<entry><id>urn:uuid:a-1</id><f:position>1</f:position><content>"
           "<Thing><customerId>c1</customerId><n>1</n></Thing></content></entry></feed>");
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "feed <id>"));
    ck_assert_int_eq(rows(&c), 0);
    consumer_release(&c);
}
END_TEST

/* The table as the version keyed by URL made it. */
static const char old_schema[] = "CREATE TABLE feed_followers ("
                                 " feed_url TEXT PRIMARY KEY,"
                                 " position INTEGER NOT NULL DEFAULT 0,"
                                 " last_id TEXT NOT NULL DEFAULT '',"
                                 " head INTEGER NOT NULL DEFAULT 0,"
                                 " skipped INTEGER NOT NULL DEFAULT 0,"
                                 " errors INTEGER NOT NULL DEFAULT 0,"
                                 " last_success TEXT NOT NULL DEFAULT '',"
                                 " last_error TEXT NOT NULL DEFAULT '',"
                                 " last_error_at TEXT NOT NULL DEFAULT '')";

static void on_old_status(const struct fr_status *st, void *userdata)
{
    int *n = userdata;

    ck_assert_int_eq(st->position, 7);
    ck_assert_str_eq(st->feed_id, "");
    (*n)++;
}

/* A consumer database with the old table and a row at position 7 of the
 * feed (prefix: the entry ids it applied), the follower not yet open. */
static void old_consumer(struct consumer *c, const char *prefix)
{
    consumer_init(c, 23, 5);
    fr_follower_close(c->f);
    c->f = NULL;
    ck_assert_int_eq(sqlite3_exec(c->db, "DROP TABLE feed_followers", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(c->db, old_schema, NULL, NULL, NULL), SQLITE_OK);
    seed(c, 7, NULL, prefix);
}

START_TEST(t_migrate_old_schema)
{
    struct consumer c;
    int n = 0;

    old_consumer(&c, "a");
    ck_assert_int_eq(fr_status_list(c.db, on_old_status, &n), FR_OK);
    ck_assert_int_eq(n, 1);
    open_follower(&c);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM pragma_table_info('feed_followers')"
                                        " WHERE name IN ('feed_id', 'last_poll', 'last_applied')"),
                     3);
    ck_assert_int_eq(fr_follower_position(c.f), 7);
    ck_assert_str_eq(fr_follower_feed_id(c.f), "");
    catch_up(&c, 23);
    assert_applied(&c, 23, 0);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM feed_followers"
                                        " WHERE feed_id = 'urn:x:feeds:x' AND position = 23"),
                     1);
    /* Opening it again changes nothing. */
    open_follower(&c);
    ck_assert_str_eq(fr_follower_feed_id(c.f), "urn:x:feeds:x");
    ck_assert_int_eq(fr_follower_position(c.f), 23);
    consumer_release(&c);
}
END_TEST

/* A migrated row is checked at its position like after any restart: the
 * producer behind it was restored with other entries. */
START_TEST(t_migrate_checks_position)
{
    struct consumer c;

    old_consumer(&c, "zzz");
    open_follower(&c);
    ck_assert_int_eq(fr_follower_run(c.f), FR_ERR_BACKWARDS);
    ck_assert_int_eq(rows(&c), 7);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT position FROM feed_followers"), 7);
    consumer_release(&c);
}
END_TEST

/* The old version followed one feed at two URLs from two rows (the bug
 * this identity fixes): the row further on is kept, nothing is applied
 * twice more. */
START_TEST(t_migrate_merges_two_urls)
{
    struct consumer c;
    sqlite3_stmt *st;
    char other[128];

    old_consumer(&c, "a");
    snprintf(other, sizeof other, "http://localhost:%d/feeds/x", c.srv.port);
    ck_assert_int_eq(sqlite3_prepare_v2(c.db,
                                        "INSERT INTO feed_followers (feed_url, position, last_id)"
                                        " VALUES (?1, 4, 'urn:uuid:a-4')",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, other, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    /* The row at 4 is identified first, then the one at 7 finds it. */
    snprintf(c.url, sizeof c.url, "%s", other);
    open_follower(&c);
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK);
    ck_assert_int_eq(fr_follower_position(c.f), 4);
    c.url[0] = '\0';
    open_follower(&c);
    catch_up(&c, 23);
    assert_applied(&c, 23, 0);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM feed_followers"), 1);
    consumer_release(&c);
}
END_TEST

/* ---- Busy databases ----------------------------------------------------- */

/* Another connection holds the consumer's database (BEGIN EXCLUSIVE): the
 * follower's own statements are busy; nothing is applied, the follower is
 * not stopped, and once the lock is gone everything is applied and the
 * error recorded with it. */
START_TEST(t_busy_own_statements)
{
    struct consumer c;
    sqlite3 *locker;
    enum fr_error err;

    consumer_init(&c, 12, 5);
    c.busy_timeout_ms = 50;
    open_follower(&c);
    locker = other_connection(&c);
    ck_assert_int_eq(sqlite3_exec(locker, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    /* A step may read only the head; every one that writes is busy. */
    for (int i = 0, busy = 0; i < 5; i++) {
        err = fr_follower_step(c.f, 0);
        ck_assert_msg(err == FR_ERR_BUSY || err == FR_OK, "got %s (%s)", fr_strerror(err),
                      fr_follower_last_error(c.f));
        if (err == FR_ERR_BUSY) {
            ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "busy"));
            busy++;
        }
        if (i == 4)
            ck_assert_int_ge(busy, 4);
    }
    ck_assert_int_eq(fr_follower_position(c.f), 0);
    ck_assert_int_eq(tk_query_int(locker, "SELECT count(*) FROM applied"), 0);
    /* The errors could not be written yet. */
    ck_assert_int_eq(tk_query_int(locker, "SELECT count(*) FROM feed_followers WHERE errors > 0"),
                     0);
    ck_assert_int_eq(sqlite3_exec(locker, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    catch_up(&c, 12);
    assert_applied(&c, 12, 0);
    ck_assert_int_ge(tk_query_int(c.db, "SELECT errors FROM feed_followers"), 3);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM feed_followers"
                                        " WHERE last_error LIKE '%busy%' AND last_error_at != ''"),
                     1);
    sqlite3_close(locker);
    consumer_release(&c);
}
END_TEST

/* In rollback-journal mode a reader holding its lock makes COMMIT busy. */
START_TEST(t_busy_commit)
{
    struct consumer c;
    sqlite3 *reader;
    sqlite3_stmt *st;

    consumer_init(&c, 3, 5);
    ck_assert_int_eq(sqlite3_exec(c.db, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL), SQLITE_OK);
    c.busy_timeout_ms = 50;
    open_follower(&c);
    reader = other_connection(&c);
    ck_assert_int_eq(sqlite3_prepare_v2(reader, "SELECT name FROM sqlite_schema", -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_BUSY);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "commit"));
    sqlite3_finalize(st);
    ck_assert_int_eq(rows(&c), 0);
    catch_up(&c, 3);
    assert_applied(&c, 3, 0);
    sqlite3_close(reader);
    consumer_release(&c);
}
END_TEST

/* Inserts each entry into side, a table another connection of the shared
 * cache may be reading; refuses when the insert fails. */
static int on_side(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                   void *userdata)
{
    sqlite3_stmt *st;
    int rc;

    (void)userdata;
    if (sqlite3_prepare_v2(db, "INSERT INTO side (pos) VALUES (?1)", -1, &st, NULL) != SQLITE_OK) {
        snprintf(why, why_size, "prepare failed");
        return 1;
    }
    sqlite3_bind_int64(st, 1, e->position);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(why, why_size, "insert failed");
        return 1;
    }
    return 0;
}

/* A handler that refuses after its statement found the table locked is
 * not refusing the entry: it is retried. */
START_TEST(t_busy_in_handler)
{
    struct consumer c;
    sqlite3 *reader;
    sqlite3_stmt *st;
    char *path;
    enum fr_error err;

    consumer_init_flags(&c, 3, 5, SQLITE_OPEN_SHAREDCACHE);
    ck_assert_int_eq(sqlite3_exec(c.db,
                                  "CREATE TABLE side (pos INTEGER); INSERT INTO side VALUES (0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    fr_follower_close(c.f);
    c.f = NULL;
    ck_assert_int_eq(fr_follower_open(&(struct fr_config){.feed_url = bs_url(&c.srv),
                                                          .db = c.db,
                                                          .wait = 1,
                                                          .connect_timeout = 1,
                                                          .read_timeout = 1,
                                                          .max_backoff_ms = 200},
                                      &c.f),
                     FR_OK);
    ck_assert_int_eq(fr_follower_on(c.f, "Thing", on_side, NULL), FR_OK);
    path = tk_path(c.dir, "consumer.db");
    ck_assert_int_eq(
        sqlite3_open_v2(path, &reader, SQLITE_OPEN_READWRITE | SQLITE_OPEN_SHAREDCACHE, NULL),
        SQLITE_OK);
    free(path);
    ck_assert_int_eq(sqlite3_prepare_v2(reader, "SELECT pos FROM side", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    for (int i = 0; i < 2; i++) {
        err = fr_follower_step(c.f, 0);
        ck_assert_msg(err == FR_ERR_BUSY, "got %s (%s)", fr_strerror(err),
                      fr_follower_last_error(c.f));
        ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "insert failed"));
        ck_assert_int_eq(fr_follower_position(c.f), 0);
    }
    sqlite3_finalize(st);
    catch_up(&c, 3);
    ck_assert_int_eq(tk_query_int(c.db, "SELECT count(*) FROM side"), 4);
    sqlite3_close(reader);
    consumer_release(&c);
}
END_TEST

/* FR_HANDLER_RETRY: the document is rolled back and tried again, the
 * entries before it in the document included; run() goes on. */
START_TEST(t_handler_retry)
{
    struct consumer c;

    consumer_init(&c, 4, 5);
    c.retry_at = 3;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_BUSY);
        ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "not now"));
        ck_assert_int_eq(rows(&c), 0);
    }
    c.retry_at = 0;
    catch_up(&c, 4);
    assert_applied(&c, 4, 0);
    consumer_release(&c);
}
END_TEST

/* A follower started while another connection holds the database opens
 * (its table is current: it writes nothing) and applies once the lock is
 * gone; a database that still needs the table is busy to open. */
START_TEST(t_open_while_locked)
{
    struct consumer c;
    struct fr_follower *f = (struct fr_follower *)1;
    sqlite3 *locker, *fresh;
    char *path;

    consumer_init(&c, 3, 5);
    c.busy_timeout_ms = 50;
    locker = other_connection(&c);
    ck_assert_int_eq(sqlite3_exec(locker, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    open_follower(&c);
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_BUSY);
    ck_assert_int_eq(sqlite3_exec(locker, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(locker);
    catch_up(&c, 3);
    assert_applied(&c, 3, 0);

    path = tk_path(c.dir, "fresh.db");
    ck_assert_int_eq(sqlite3_open(path, &fresh), SQLITE_OK);
    ck_assert_int_eq(sqlite3_open(path, &locker), SQLITE_OK);
    free(path);
    ck_assert_int_eq(sqlite3_exec(locker, "BEGIN EXCLUSIVE; CREATE TABLE t (x)", NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(
        fr_follower_open(
            &(struct fr_config){.feed_url = bs_url(&c.srv), .db = fresh, .busy_timeout_ms = 50},
            &f),
        FR_ERR_BUSY);
    ck_assert_ptr_null(f);
    sqlite3_exec(locker, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(locker);
    sqlite3_close(fresh);
    consumer_release(&c);
}
END_TEST

/* fr_follower_stop() ends a wait for a locked database at once, not when
 * the (here 60 s) busy timeout runs out: the test case's 30 s timeout fails
 * it otherwise. */
START_TEST(t_stop_while_busy)
{
    struct consumer c;
    struct runner r;
    pthread_t th;
    sqlite3 *locker;

    consumer_init(&c, 3, 5);
    c.busy_timeout_ms = 60000;
    open_follower(&c);
    locker = other_connection(&c);
    ck_assert_int_eq(sqlite3_exec(locker, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    r.f = c.f;
    ck_assert_int_eq(pthread_create(&th, NULL, run_thread, &r), 0);
    /* Once the head is answered the follower waits for the lock. */
    for (int64_t end = tk_now_ms() + 5000; c.srv.sh->requests < 1 && tk_now_ms() < end;)
        usleep(10000);
    ck_assert_int_ge(c.srv.sh->requests, 1);
    fr_follower_stop(c.f);
    pthread_join(th, NULL);
    ck_assert_int_eq(r.result, FR_ERR_STOPPED);
    ck_assert_int_eq(tk_query_int(locker, "SELECT count(*) FROM applied"), 0);
    sqlite3_exec(locker, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(locker);
    consumer_release(&c);
}
END_TEST

/* Any other database failure is a real fault: it stops the follower. */
START_TEST(t_db_fault_is_fatal)
{
    struct consumer c;

    consumer_init(&c, 3, 5);
    catch_up(&c, 3);
    ck_assert_int_eq(
        sqlite3_exec(c.db,
                     "CREATE TRIGGER no_save BEFORE UPDATE OF position ON feed_followers"
                     " BEGIN SELECT RAISE(ABORT, 'saving is broken'); END",
                     NULL, NULL, NULL),
        SQLITE_OK);
    c.srv.sh->count = 4;
    ck_assert_int_eq(fr_follower_run(c.f), FR_ERR_DB);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "saving is broken"));
    assert_applied(&c, 3, 0);
    consumer_release(&c);
}
END_TEST

/* What the head hook of t_head_hook saw, and what it answers. */
struct head_calls {
    int n;              /* calls */
    long long last;     /* the position of the last */
    long long rows;     /* entries applied when it was called */
    int in_transaction; /* a call found a transaction open */
    int answer;         /* what it returns */
};

static int on_head(sqlite3 *db, int64_t position, char *why, size_t why_size, void *userdata)
{
    struct head_calls *h = userdata;

    h->n++;
    h->last = position;
    h->rows = tk_query_int(db, "SELECT count(*) FROM applied");
    if (!sqlite3_get_autocommit(db))
        h->in_transaction = 1;
    if (h->answer != FR_HANDLER_OK)
        snprintf(why, why_size, "hook says %d", h->answer);
    return h->answer;
}

/* The head hook runs once the head is reached and after each head document
 * (not after archive pages, not after a 304), outside any transaction, with
 * the entries committed; a retry keeps them applied and calls it again on a
 * full fetch of the head; a refusal is fatal. */
START_TEST(t_head_hook)
{
    struct consumer c;
    struct head_calls h = {0};

    consumer_init(&c, 23, 5);
    ck_assert_int_eq(fr_follower_at_head(c.f, on_head, &h), FR_OK);
    ck_assert_int_eq(fr_follower_at_head(c.f, on_head, &h), FR_ERR_INVALID);
    catch_up(&c, 23);
    ck_assert_int_eq(h.n, 1);
    ck_assert_int_eq(h.last, 23);
    ck_assert_int_eq(h.rows, 23);
    ck_assert_int_eq(h.in_transaction, 0);
    /* At the head, nothing new: a 304, no call. */
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK);
    ck_assert_int_eq(h.n, 1);
    c.srv.sh->count = 31;
    catch_up(&c, 31);
    ck_assert_int_eq(h.last, 31);
    ck_assert_int_eq(h.rows, 31);
    /* A retry: the entries stay applied, the error is recorded, and the
     * next step fetches the head in full and calls the hook again. */
    h.answer = FR_HANDLER_RETRY;
    c.srv.sh->count = 33;
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_ERR_BUSY);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "hook says 2"));
    assert_applied(&c, 33, 0);
    h.answer = FR_HANDLER_OK;
    h.n = 0;
    ck_assert_int_eq(fr_follower_step(c.f, 0), FR_OK);
    ck_assert_int_eq(h.n, 1);
    ck_assert_int_eq(h.last, 33);
    h.answer = FR_HANDLER_REFUSE;
    c.srv.sh->count = 34;
    ck_assert_int_eq(fr_follower_run(c.f), FR_ERR_REFUSED);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(c.f), "hook says 1"));
    assert_applied(&c, 34, 0);
    consumer_release(&c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("feed_reader");
    TCase *walk = tcase_create("walk"), *faults = tcase_create("faults"),
          *rules = tcase_create("rules"), *links = tcase_create("links"),
          *identity = tcase_create("identity"), *busy = tcase_create("busy");

    tcase_set_timeout(walk, 30);
    tcase_set_timeout(faults, 60);
    tcase_set_timeout(rules, 30);
    tcase_set_timeout(links, 30);
    tcase_set_timeout(identity, 30);
    tcase_set_timeout(busy, 30);
    tcase_add_test(walk, t_walk_from_zero);
    tcase_add_loop_test(walk, t_walk, 0, NSHAPES * NFROMS);
    tcase_add_test(walk, t_long_walk);
    tcase_add_loop_test(links, t_hostile_link_refused, 0,
                        (int)(sizeof hostile_hrefs / sizeof hostile_hrefs[0]));
    tcase_add_test(links, t_hand_written_feed);
    tcase_add_test(links, t_empty_head_without_hints);
    tcase_add_test(links, t_misleading_page_size);
    tcase_add_test(links, t_links_that_loop);
    tcase_add_test(identity, t_same_feed_other_url);
    tcase_add_test(identity, t_other_feed_at_known_url);
    tcase_add_test(identity, t_no_feed_id);
    tcase_add_test(identity, t_page_of_other_feed);
    tcase_add_test(identity, t_migrate_old_schema);
    tcase_add_test(identity, t_migrate_checks_position);
    tcase_add_test(identity, t_migrate_merges_two_urls);
    tcase_add_test(busy, t_busy_own_statements);
    tcase_add_test(busy, t_busy_commit);
    tcase_add_test(busy, t_busy_in_handler);
    tcase_add_test(busy, t_handler_retry);
    tcase_add_test(rules, t_head_hook);
    tcase_add_test(busy, t_db_fault_is_fatal);
    tcase_add_test(busy, t_open_while_locked);
    tcase_add_test(busy, t_stop_while_busy);
    tcase_add_test(faults, t_fault_down);
    tcase_add_test(faults, t_fault_500);
    tcase_add_test(faults, t_fault_503);
    tcase_add_test(faults, t_fault_hang);
    tcase_add_test(faults, t_fault_close);
    tcase_add_test(faults, t_fault_cut);
    tcase_add_test(faults, t_fault_type);
    tcase_add_test(faults, t_fault_no_type);
    tcase_add_test(faults, t_fault_xml);
    tcase_add_test(faults, t_fault_not_atom);
    tcase_add_test(faults, t_fault_empty);
    tcase_add_test(faults, t_fault_laughs);
    tcase_add_test(faults, t_fault_xxe);
    tcase_add_test(faults, t_fault_undeclared_entity);
    tcase_add_test(faults, t_fault_huge);
    tcase_add_test(faults, t_fault_huge_nolen);
    tcase_add_test(faults, t_fault_gzip_bomb);
    tcase_add_test(faults, t_fault_deep);
    tcase_add_test(faults, t_fault_gap);
    tcase_add_test(faults, t_fault_no_position);
    tcase_add_test(faults, t_xxe_never_applied);
    tcase_add_test(faults, t_run_recovers_and_stops);
    tcase_add_test(faults, t_cache_mode);
    tcase_add_test(faults, t_plain_http_token_warning);
    tcase_add_test(faults, t_stale_404_backs_off);
    tcase_add_test(rules, t_tolerant_reader);
    tcase_add_test(rules, t_refused);
    tcase_add_test(rules, t_refused_in_archive_keeps_earlier_pages);
    tcase_add_test(rules, t_backwards_head);
    tcase_add_test(rules, t_backwards_id_head);
    tcase_add_test(rules, t_backwards_id_page_end);
    tcase_add_test(rules, t_backwards_id_page);
    tcase_add_test(rules, t_backwards_id_while_running);
    tcase_add_test(rules, t_backwards_after_outage);
    tcase_add_test(rules, t_status);
    tcase_add_test(rules, t_quiet_start);
    tcase_add_test(rules, t_quiet_start_only_for_refused);
    tcase_add_test(rules, t_last_poll_apart_from_last_applied);
    tcase_add_test(rules, t_bad_arguments);
    suite_add_tcase(s, walk);
    suite_add_tcase(s, faults);
    suite_add_tcase(s, rules);
    suite_add_tcase(s, links);
    suite_add_tcase(s, identity);
    suite_add_tcase(s, busy);
    return s;
}

int main(void)
{
    return tk_run(suite());
}
