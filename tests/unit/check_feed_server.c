/*
 * check_feed_server - the feeds over HTTP: Atom documents and their paging,
 * headers, ETags and 304, long-polls woken by appends in this process and in
 * another, the HTML view, tokens, and the errors of bad requests and routes.
 */
#include <check.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "feedserver.h"
#include "testkit.h"

#define P 5
#define CC_HEAD_OPEN "public, max-age=1, stale-while-revalidate=0"
#define CC_PAGE_OPEN "public, max-age=31536000, immutable"

static char *dir;
static char *dbpath;
static sqlite3 *db;
static struct fs_server *srv;
static char base[64];

static void exec(sqlite3 *c, const char *sql)
{
    sqlite3_stmt *st;

    ck_assert_int_eq(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

/* Appends n entries to "usage" on connection c in one transaction. */
static void append_n(sqlite3 *c, int n)
{
    struct fs_feed *usage;

    ck_assert_int_eq(fs_feed_open(c, "usage", &usage), FS_OK);
    exec(c, "BEGIN IMMEDIATE");
    for (int i = 0; i < n; i++) {
        char units[16];
        struct fs_field f[] = {{"customerId", "cus_42"}, {"units", units}};
        struct fs_event ev = {.type = "UsageRecorded", .fields = f, .nfields = 2};

        snprintf(units, sizeof units, "%d", 100 + i);
        ck_assert_int_eq(fs_feed_append(usage, &ev, NULL), FS_OK);
    }
    exec(c, "COMMIT");
    fs_feed_close(usage);
}

static void head_seen(const char *feed, int64_t head, void *userdata)
{
    if (strcmp(feed, "usage") == 0)
        *(int64_t *)userdata = head;
}

/* Waits until the server has seen head (its watcher looks every few ms). */
static void wait_head(int64_t head)
{
    int64_t seen = -1, until = tk_now_ms() + 5000;

    while (tk_now_ms() < until) {
        fs_server_heads(srv, head_seen, &seen);
        if (seen == head)
            return;
        usleep(2000);
    }
    ck_abort_msg("server never saw head %lld (saw %lld)", (long long)head, (long long)seen);
}

/* Waits until the server holds n long-polls (at most 5 s). */
static void wait_held(uint64_t n)
{
    struct fs_server_stats st = {0};

    for (int64_t until = tk_now_ms() + 5000; tk_now_ms() < until; usleep(2000)) {
        fs_server_stats(srv, &st);
        if (st.long_polls_held >= n)
            return;
    }
    ck_abort_msg("the server holds %llu long-polls, not %llu",
                 (unsigned long long)st.long_polls_held, (unsigned long long)n);
}

static void start(const char *const *tokens, size_t ntokens)
{
    struct fs_server_config cfg = {.listen = "127.0.0.1:0", .tokens = tokens, .ntokens = ntokens};

    dir = tk_tempdir();
    dbpath = tk_path(dir, "feeds.db");
    cfg.db_path = dbpath;
    ck_assert_int_eq(fs_db_open(dbpath, &db), FS_OK);
    ck_assert_int_eq(fs_feed_declare(db, "usage", P), FS_OK);
    ck_assert_int_eq(fs_server_open(&cfg, &srv), FS_OK);
    ck_assert_int_eq(fs_server_feed(srv, "usage"), FS_OK);
    ck_assert_int_eq(fs_server_feed(srv, "nosuch"), FS_ERR_NOT_FOUND);
}

static void go(void)
{
    ck_assert_int_eq(fs_server_start(srv), FS_OK);
    ck_assert_int_gt(fs_server_port(srv), 0);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", fs_server_port(srv));
}

static void setup(void)
{
    start(NULL, 0);
    go();
}

static void teardown(void)
{
    fs_server_close(srv);
    sqlite3_close(db);
    tk_rmtree(dir);
    free(dbpath);
    free(dir);
    srv = NULL;
}

static void get(const char *path, const char *const *headers, struct tk_response *r)
{
    char url[256];

    snprintf(url, sizeof url, "%s%s", base, path);
    tk_http("GET", url, headers, NULL, r);
}

/* GETs path with headers (NULL-terminated, or NULL) and asserts the answer's
 * status; for the checks that need nothing else from the response. */
static void expect_status(const char *path, const char *const *headers, long status)
{
    struct tk_response r;

    get(path, headers, &r);
    ck_assert_msg(r.status == status, "GET %s: status %ld, want %ld", path, r.status, status);
    tk_response_release(&r);
}

/* A parsed Atom document with XPath over the prefixes a, fh and f. */
struct doc {
    xmlDocPtr xml;
    xmlXPathContextPtr xp;
};

static void parse(const struct tk_response *r, struct doc *d)
{
    d->xml = xmlReadMemory(r->body, (int)r->body_len, NULL, NULL, XML_PARSE_NONET);
    ck_assert_msg(d->xml != NULL, "not well-formed XML: %s", r->body);
    d->xp = xmlXPathNewContext(d->xml);
    xmlXPathRegisterNs(d->xp, BAD_CAST "a", BAD_CAST "http://www.w3.org/2005/Atom");
    xmlXPathRegisterNs(d->xp, BAD_CAST "fh", BAD_CAST "http://purl.org/syndication/history/1.0");
    xmlXPathRegisterNs(d->xp, BAD_CAST "f", BAD_CAST FS_NAMESPACE);
}

static void unparse(struct doc *d)
{
    xmlXPathFreeContext(d->xp);
    xmlFreeDoc(d->xml);
}

static double num(struct doc *d, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, d->xp);
    double v;

    ck_assert_ptr_nonnull(o);
    v = xmlXPathCastToNumber(o);
    xmlXPathFreeObject(o);
    return v;
}

/* The string value of expr, in a static buffer. */
static const char *str(struct doc *d, const char *expr)
{
    static char buf[512];
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, d->xp);
    xmlChar *s;

    ck_assert_ptr_nonnull(o);
    s = xmlXPathCastToString(o);
    snprintf(buf, sizeof buf, "%s", (const char *)s);
    xmlFree(s);
    xmlXPathFreeObject(o);
    return buf;
}

/* Checks the RFC 4287 required elements and the contract's entry format,
 * and that entries run from first in ascending order; returns how many. */
static int check_atom(struct doc *d, int first)
{
    int n = (int)num(d, "count(/a:feed/a:entry)");
    char expr[128];

    ck_assert_int_eq((int)num(d, "count(/a:feed/a:id)"), 1);
    ck_assert(strncmp(str(d, "/a:feed/a:id"), "urn:uuid:", 9) == 0);
    ck_assert_int_eq((int)num(d, "count(/a:feed/a:title)"), 1);
    ck_assert_int_eq((int)num(d, "count(/a:feed/a:updated)"), 1);
    ck_assert_int_eq((int)num(d, "count(/a:feed/a:author/a:name)"), 1);
    ck_assert_int_eq((int)num(d, "count(/a:feed/a:link[@rel='self'])"), 1);
    ck_assert_int_eq((int)num(d, "count(/a:feed/a:link[@rel='current'])"), 1);
    ck_assert_int_eq((int)num(d, "/a:feed/f:pageSize"), P);
    for (int i = 0; i < n; i++) {
        snprintf(expr, sizeof expr, "/a:feed/a:entry[%d]/f:position", i + 1);
        ck_assert_int_eq((int)num(d, expr), first + i);
        snprintf(expr, sizeof expr, "count(/a:feed/a:entry[%d]/a:id[starts-with(., 'urn:uuid:')])",
                 i + 1);
        ck_assert_int_eq((int)num(d, expr), 1);
        snprintf(expr, sizeof expr, "count(/a:feed/a:entry[%d]/a:updated)", i + 1);
        ck_assert_int_eq((int)num(d, expr), 1);
        snprintf(expr, sizeof expr,
                 "count(/a:feed/a:entry[%d][a:title='UsageRecorded']"
                 "/a:category[@term='UsageRecorded'])",
                 i + 1);
        ck_assert_int_eq((int)num(d, expr), 1);
        snprintf(expr, sizeof expr,
                 "count(/a:feed/a:entry[%d]/a:content[@type='application/xml']"
                 "/UsageRecorded[@version='1']/customerId)",
                 i + 1);
        ck_assert_int_eq((int)num(d, expr), 1);
    }
    return n;
}

START_TEST(empty_feed_head_is_valid_atom)
{
    struct tk_response r;
    struct doc d;

    get("/feeds/usage", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(tk_header(&r, "Content-Type"), "application/atom+xml"));
    parse(&r, &d);
    ck_assert_int_eq(check_atom(&d, 1), 0);
    ck_assert_int_eq((int)num(&d, "/a:feed/f:head"), 0);
    ck_assert_int_eq((int)num(&d, "count(/a:feed/a:link[@rel='prev-archive'])"), 0);
    unparse(&d);
    tk_response_release(&r);
}
END_TEST

/* The Link header (RFC 8288) that document page (-1: the head) of a feed
 * with `full` full pages carries: the same links as its Atom document. */
static const char *links_of(int page, int full)
{
    static char out[512];
    int n;

    if (page < 0) {
        n = snprintf(out, sizeof out,
                     "</feeds/usage>; rel=\"self\", </feeds/usage>; rel=\"current\"");
        if (full > 0)
            snprintf(out + n, sizeof out - (size_t)n,
                     ", </feeds/usage/pages/%d>; rel=\"prev-archive\"", full - 1);
        return out;
    }
    n = snprintf(out, sizeof out,
                 "</feeds/usage/pages/%d>; rel=\"self\", </feeds/usage>; rel=\"current\", ", page);
    if (page > 0)
        n += snprintf(out + n, sizeof out - (size_t)n,
                      "</feeds/usage/pages/%d>; rel=\"prev-archive\", ", page - 1);
    snprintf(out + n, sizeof out - (size_t)n, "</feeds/usage/pages/%d>; rel=\"next-archive\"",
             page + 1);
    return out;
}

static void expect_links(const struct tk_response *r, int page, int full)
{
    const char *got = tk_header(r, "Link");
    char want[512];

    snprintf(want, sizeof want, "%s", links_of(page, full));
    ck_assert_msg(got && strcmp(got, want) == 0, "Link: %s, not %s", got ? got : "(none)", want);
}

static void etag_of(const char *path, const char *h, char *out, size_t size);

/* Checks every document of a feed of n entries. */
static void check_paging(int n)
{
    struct tk_response r;
    struct doc d;
    char path[64];
    int full = n / P;

    append_n(db, n);
    wait_head(n);
    get("/feeds/usage", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(tk_header(&r, "Cache-Control"), CC_HEAD_OPEN);
    ck_assert_str_eq(tk_header(&r, "Vary"), "Accept, Accept-Encoding");
    expect_links(&r, -1, full);
    parse(&r, &d);
    ck_assert_int_eq(check_atom(&d, full * P + 1), n - full * P);
    ck_assert_int_eq((int)num(&d, "/a:feed/f:head"), n);
    ck_assert_int_eq((int)num(&d, "count(/a:feed/fh:archive)"), 0);
    ck_assert_str_eq(str(&d, "/a:feed/a:link[@rel='self']/@href"), "/feeds/usage");
    if (full > 0) {
        snprintf(path, sizeof path, "/feeds/usage/pages/%d", full - 1);
        ck_assert_str_eq(str(&d, "/a:feed/a:link[@rel='prev-archive']/@href"), path);
    } else {
        ck_assert_int_eq((int)num(&d, "count(/a:feed/a:link[@rel='prev-archive'])"), 0);
    }
    unparse(&d);
    tk_response_release(&r);
    for (int p = 0; p < full; p++) {
        snprintf(path, sizeof path, "/feeds/usage/pages/%d", p);
        get(path, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(tk_header(&r, "Cache-Control"), CC_PAGE_OPEN);
        ck_assert_str_eq(tk_header(&r, "Vary"), "Accept, Accept-Encoding");
        ck_assert_ptr_nonnull(tk_header(&r, "ETag"));
        expect_links(&r, p, full);
        parse(&r, &d);
        ck_assert_int_eq(check_atom(&d, p * P + 1), P);
        ck_assert_int_eq((int)num(&d, "count(/a:feed/fh:archive)"), 1);
        ck_assert_int_eq((int)num(&d, "count(/a:feed/f:head)"), 0);
        ck_assert_str_eq(str(&d, "/a:feed/a:link[@rel='self']/@href"), path);
        ck_assert_str_eq(str(&d, "/a:feed/a:link[@rel='current']/@href"), "/feeds/usage");
        snprintf(path, sizeof path, "/feeds/usage/pages/%d", p + 1);
        ck_assert_str_eq(str(&d, "/a:feed/a:link[@rel='next-archive']/@href"), path);
        if (p > 0) {
            snprintf(path, sizeof path, "/feeds/usage/pages/%d", p - 1);
            ck_assert_str_eq(str(&d, "/a:feed/a:link[@rel='prev-archive']/@href"), path);
        } else {
            ck_assert_int_eq((int)num(&d, "count(/a:feed/a:link[@rel='prev-archive'])"), 0);
        }
        unparse(&d);
        tk_response_release(&r);
    }
    /* The page after the last full one is not served as an archive. */
    snprintf(path, sizeof path, "/feeds/usage/pages/%d", full);
    get(path, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_nonnull(strstr(r.body, "not full"));
    tk_response_release(&r);
}

START_TEST(paging_at_0)
{
    check_paging(0);
}
END_TEST
START_TEST(paging_at_p_minus_1)
{
    check_paging(P - 1);
}
END_TEST
START_TEST(paging_at_p)
{
    check_paging(P);
}
END_TEST
START_TEST(paging_at_p_plus_1)
{
    check_paging(P + 1);
}
END_TEST
START_TEST(paging_at_10p)
{
    check_paging(10 * P);
}
END_TEST

START_TEST(head_etag_changes_on_append_and_304_on_match)
{
    struct tk_response r;
    char etag[128], inm[160], page_etag[128];
    const char *h[] = {inm, NULL};

    append_n(db, 2);
    wait_head(2);
    get("/feeds/usage", NULL, &r);
    snprintf(etag, sizeof etag, "%s", tk_header(&r, "ETag"));
    ck_assert(etag[0] == '"' && etag[strlen(etag) - 1] == '"');
    tk_response_release(&r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    get("/feeds/usage", h, &r);
    ck_assert_int_eq(r.status, 304);
    ck_assert_int_eq(r.body_len, 0);
    ck_assert_str_eq(tk_header(&r, "ETag"), etag);
    ck_assert_str_eq(tk_header(&r, "Cache-Control"), CC_HEAD_OPEN);
    expect_links(&r, -1, 0);
    tk_response_release(&r);
    append_n(db, 1);
    wait_head(3);
    get("/feeds/usage", h, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_ne(tk_header(&r, "ETag"), etag);
    tk_response_release(&r);
    /* Pages answer 304 too, and keep their ETag. */
    append_n(db, P);
    wait_head(3 + P);
    get("/feeds/usage/pages/0", NULL, &r);
    snprintf(page_etag, sizeof page_etag, "%s", tk_header(&r, "ETag"));
    tk_response_release(&r);
    snprintf(inm, sizeof inm, "If-None-Match: \"other\", %s", page_etag);
    get("/feeds/usage/pages/0", h, &r);
    ck_assert_int_eq(r.status, 304);
    ck_assert_str_eq(tk_header(&r, "ETag"), page_etag);
    ck_assert_str_eq(tk_header(&r, "Cache-Control"), CC_PAGE_OPEN);
    expect_links(&r, 0, 1);
    tk_response_release(&r);
    /* The head's 304 links to the full page now. */
    etag_of("/feeds/usage", NULL, etag, sizeof etag);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    get("/feeds/usage", h, &r);
    ck_assert_int_eq(r.status, 304);
    expect_links(&r, -1, 1);
    tk_response_release(&r);
}
END_TEST

/* The ETag of a GET of path with the extra header h (or none), copied. */
static void etag_of(const char *path, const char *h, char *out, size_t size)
{
    struct tk_response r;
    const char *hs[] = {h, NULL};

    get(path, h ? hs : NULL, &r);
    ck_assert_msg(r.status == 200, "%s: %ld", path, r.status);
    ck_assert_ptr_nonnull(tk_header(&r, "ETag"));
    snprintf(out, size, "%s", tk_header(&r, "ETag"));
    tk_response_release(&r);
}

#define ACCEPT_HTML "Accept: text/html"

START_TEST(representations_never_share_an_etag)
{
    char head[2][128], page[2][128];

    append_n(db, P + 1);
    wait_head(P + 1);
    etag_of("/feeds/usage", NULL, head[0], sizeof head[0]);
    etag_of("/feeds/usage", ACCEPT_HTML, head[1], sizeof head[1]);
    etag_of("/feeds/usage/pages/0", NULL, page[0], sizeof page[0]);
    etag_of("/feeds/usage/pages/0", ACCEPT_HTML, page[1], sizeof page[1]);
    ck_assert_str_ne(head[0], head[1]);
    ck_assert_str_ne(page[0], page[1]);
    ck_assert_str_ne(head[0], page[0]);
    /* An ETag of one representation is not a match for another. */
    {
        struct tk_response r;
        char inm[160];
        const char *h[] = {inm, ACCEPT_HTML, NULL};

        snprintf(inm, sizeof inm, "If-None-Match: %s", page[0]);
        expect_status("/feeds/usage/pages/0", h, 200);
        snprintf(inm, sizeof inm, "If-None-Match: %s", page[1]);
        get("/feeds/usage/pages/0", h, &r);
        ck_assert_int_eq(r.status, 304);
        ck_assert_str_eq(tk_header(&r, "ETag"), page[1]);
        tk_response_release(&r);
    }
}
END_TEST

/* Measured defect: a database restored from a copy that grew back to the
 * same count served other bytes under the ETags of the old ones. The copy
 * keeps the feed's uuid; its entries after the copy are other entries. */
START_TEST(etags_differ_after_a_restore_that_grows_back_to_the_same_count)
{
    char *copy = tk_path(dir, "copy.db"), sql[512];
    char head[2][128], page[2][128], html[2][128];
    struct fs_server_config cfg = {.listen = "127.0.0.1:0"};
    sqlite3 *c;

    append_n(db, 2);
    wait_head(2);
    snprintf(sql, sizeof sql, "VACUUM INTO '%s'", copy);
    exec(db, sql);
    append_n(db, P + 1);
    wait_head(P + 3);
    etag_of("/feeds/usage", NULL, head[0], sizeof head[0]);
    etag_of("/feeds/usage", ACCEPT_HTML, html[0], sizeof html[0]);
    etag_of("/feeds/usage/pages/0", NULL, page[0], sizeof page[0]);
    fs_server_close(srv);
    srv = NULL;

    /* The restored copy grows back to P + 3 entries, other ones. */
    ck_assert_int_eq(fs_db_open(copy, &c), FS_OK);
    append_n(c, P + 1);
    sqlite3_close(c);
    cfg.db_path = copy;
    ck_assert_int_eq(fs_server_open(&cfg, &srv), FS_OK);
    ck_assert_int_eq(fs_server_feed(srv, "usage"), FS_OK);
    go();
    wait_head(P + 3);
    etag_of("/feeds/usage", NULL, head[1], sizeof head[1]);
    etag_of("/feeds/usage", ACCEPT_HTML, html[1], sizeof html[1]);
    etag_of("/feeds/usage/pages/0", NULL, page[1], sizeof page[1]);
    ck_assert_str_ne(head[0], head[1]);
    ck_assert_str_ne(html[0], html[1]);
    ck_assert_str_ne(page[0], page[1]);
    {
        /* A client holding the old ETags gets the new bytes, not 304,
         * also for a page not rendered yet (its ETag is looked up). */
        char inm[160];
        const char *h[] = {inm, NULL};

        fs_server_close(srv);
        cfg.db_path = copy;
        ck_assert_int_eq(fs_server_open(&cfg, &srv), FS_OK);
        ck_assert_int_eq(fs_server_feed(srv, "usage"), FS_OK);
        go();
        wait_head(P + 3);
        snprintf(inm, sizeof inm, "If-None-Match: %s", page[0]);
        expect_status("/feeds/usage/pages/0", h, 200);
        snprintf(inm, sizeof inm, "If-None-Match: %s", head[0]);
        expect_status("/feeds/usage", h, 200);
    }
    free(copy);
}
END_TEST

/* A 304 for a page the server has not rendered (or has evicted) is
 * decided with one lookup, and agrees with the rendered page's ETag. */
START_TEST(page_304_without_the_page_cache)
{
    char etag[128], inm[160];
    const char *h[] = {inm, NULL};
    struct tk_response r;
    struct fs_server_config cfg = {.listen = "127.0.0.1:0", .page_cache = 1};

    append_n(db, 3 * P);
    wait_head(3 * P);
    etag_of("/feeds/usage/pages/1", NULL, etag, sizeof etag);
    fs_server_close(srv);
    cfg.db_path = dbpath;
    ck_assert_int_eq(fs_server_open(&cfg, &srv), FS_OK);
    ck_assert_int_eq(fs_server_feed(srv, "usage"), FS_OK);
    go();
    wait_head(3 * P);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    get("/feeds/usage/pages/1", h, &r);
    ck_assert_int_eq(r.status, 304);
    ck_assert_str_eq(tk_header(&r, "ETag"), etag);
    tk_response_release(&r);
    /* Page 0 takes the only cache slot; page 1 is checked again without it. */
    etag_of("/feeds/usage/pages/0", NULL, inm, sizeof inm);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    expect_status("/feeds/usage/pages/1", h, 304);
    /* The page's ETag does not match another page. */
    get("/feeds/usage/pages/2", h, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_ne(tk_header(&r, "ETag"), etag);
    tk_response_release(&r);
}
END_TEST

START_TEST(head_request_has_headers_and_no_body)
{
    struct tk_response r;
    char url[128];

    snprintf(url, sizeof url, "%s/feeds/usage", base);
    tk_http("HEAD", url, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(tk_header(&r, "ETag"));
    ck_assert_int_eq(r.body_len, 0);
    tk_response_release(&r);
}
END_TEST

/* Long-polls the head with the given ETag; returns the response. */
static void long_poll(const char *etag, unsigned wait, struct tk_response *r)
{
    char inm[160], prefer[32];
    const char *h[] = {inm, prefer, NULL};

    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    snprintf(prefer, sizeof prefer, "Prefer: wait=%u", wait);
    get("/feeds/usage", h, r);
}

static void current_etag(char *out, size_t size)
{
    struct tk_response r;

    get("/feeds/usage", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    snprintf(out, size, "%s", tk_header(&r, "ETag"));
    tk_response_release(&r);
}

/* Appends one entry once the server holds a long-poll. */
static void *append_when_held(void *arg)
{
    sqlite3 *c;

    (void)arg;
    wait_held(1);
    ck_assert_int_eq(fs_db_open(dbpath, &c), FS_OK);
    append_n(c, 1);
    sqlite3_close(c);
    return NULL;
}

START_TEST(long_poll_is_woken_by_an_append_in_this_process)
{
    struct tk_response r;
    char etag[128];
    pthread_t t;
    struct fs_server_stats st;

    current_etag(etag, sizeof etag);
    ck_assert_int_eq(pthread_create(&t, NULL, append_when_held, NULL), 0);
    long_poll(etag, 10, &r);
    pthread_join(t, NULL);
    /* Held (Preference-Applied), then answered with the new entry: woken. */
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_ne(tk_header(&r, "ETag"), etag);
    ck_assert_str_eq(tk_header(&r, "Preference-Applied"), "wait=10");
    ck_assert_ptr_nonnull(strstr(r.body, "<f:position>1</f:position>"));
    tk_response_release(&r);
    fs_server_stats(srv, &st);
    ck_assert_uint_eq(st.long_polls_woken, 1);
    ck_assert_uint_eq(st.long_polls_held, 0);
}
END_TEST

struct poll_arg {
    char etag[128];
    struct tk_response r;
};

static void *poll_thread(void *arg)
{
    struct poll_arg *p = arg;

    long_poll(p->etag, 3, &p->r);
    return NULL;
}

/* Long-polls the head for 10 s with the ETag in p. */
static void *poll10_thread(void *arg)
{
    struct poll_arg *p = arg;

    long_poll(p->etag, 10, &p->r);
    return NULL;
}

START_TEST(long_poll_is_woken_by_an_append_in_another_process)
{
    struct poll_arg poll;
    struct fs_server_stats st;
    pthread_t t;
    pid_t kid;
    int status;

    current_etag(poll.etag, sizeof poll.etag);
    ck_assert_int_eq(pthread_create(&t, NULL, poll10_thread, &poll), 0);
    wait_held(1);
    /* The other process is a program of its own (feedgen), not a bare fork:
     * a fork of this process, whose server threads may hold SQLite's or
     * malloc's locks at that instant, must not use either. */
    kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0) {
        int null = open("/dev/null", O_WRONLY);

        if (null >= 0)
            dup2(null, STDOUT_FILENO);
        execl("build/tests/feedgen", "feedgen", "--db", dbpath, "--feed", "usage", "--count", "2",
              "--page-size", "5", (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(kid, &status, 0), kid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pthread_join(t, NULL);
    ck_assert_int_eq(poll.r.status, 200);
    ck_assert_str_eq(tk_header(&poll.r, "Preference-Applied"), "wait=10");
    ck_assert_ptr_nonnull(strstr(poll.r.body, "<f:position>2</f:position>"));
    tk_response_release(&poll.r);
    fs_server_stats(srv, &st);
    ck_assert_uint_eq(st.long_polls_woken, 1);
}
END_TEST

START_TEST(long_poll_times_out_with_304)
{
    struct tk_response r;
    struct fs_server_stats st;
    char etag[128];

    current_etag(etag, sizeof etag);
    long_poll(etag, 1, &r);
    /* Held (only a held poll says Preference-Applied) and never woken. */
    ck_assert_int_eq(r.status, 304);
    ck_assert_str_eq(tk_header(&r, "Preference-Applied"), "wait=1");
    tk_response_release(&r);
    fs_server_stats(srv, &st);
    ck_assert_uint_eq(st.long_polls_woken, 0);
    /* A stale ETag is answered at once, whatever the wait: never held. */
    long_poll("\"stale\"", 10, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(tk_header(&r, "Preference-Applied"));
    tk_response_release(&r);
}
END_TEST

/* Checks that the HTML page html links, inside its <head>, to the Atom and
 * JSON representations at href. */
static void check_alternates(const char *html, const char *href)
{
    static const char *const types[] = {"application/atom+xml",
                                        "application/cloudevents-batch+json"};
    const char *end = strstr(html, "</head>");

    ck_assert_ptr_nonnull(end);
    for (size_t i = 0; i < 2; i++) {
        char want[256];
        const char *at;

        snprintf(want, sizeof want, "<link rel=\"alternate\" type=\"%s\" href=\"%s\">", types[i],
                 href);
        at = strstr(html, want);
        ck_assert_msg(at && at < end, "no %s in the head of %.400s", want, html);
    }
}

START_TEST(html_view_for_browsers)
{
    struct tk_response r, a;
    const char *h[] = {"Accept: text/html,application/xhtml+xml;q=0.9", NULL};

    append_n(db, P + 2);
    wait_head(P + 2);
    get("/feeds/usage", h, &r);
    get("/feeds/usage", NULL, &a);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(tk_header(&r, "Content-Type"), "text/html; charset=utf-8");
    ck_assert_str_eq(tk_header(&r, "Vary"), "Accept, Accept-Encoding");
    ck_assert_ptr_nonnull(strstr(r.body, "<!DOCTYPE html>"));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage/pages/0\""));
    /* The page names its feed, as feed readers look for it. */
    check_alternates(r.body, "/feeds/usage");
    ck_assert_ptr_nonnull(strstr(r.body, "cus_42"));
    ck_assert_ptr_nonnull(strstr(r.body, "customerId"));
    {
        char atom_etag[128];
        snprintf(atom_etag, sizeof atom_etag, "%s", tk_header(&a, "ETag"));
        ck_assert_str_ne(tk_header(&r, "ETag"), atom_etag);
    }
    tk_response_release(&r);
    tk_response_release(&a);
    get("/feeds/usage/pages/0", h, &r);
    ck_assert_int_eq(r.status, 200);
    expect_links(&r, 0, 1);
    check_alternates(r.body, "/feeds/usage/pages/0");
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage/pages/1\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage/entries/5\">5</a>"));
    tk_response_release(&r);
    /* The last full page's next-archive link leads a browser to the head:
     * a 303 there, never a 404 (the page's own bytes never change). */
    get("/feeds/usage/pages/1", h, &r);
    ck_assert_int_eq(r.status, 303);
    ck_assert_str_eq(tk_header(&r, "Location"), "/feeds/usage");
    ck_assert_str_eq(tk_header(&r, "Cache-Control"), "no-store");
    ck_assert_str_eq(tk_header(&r, "Content-Type"), "text/html; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage\""));
    tk_response_release(&r);
    /* Anything but a browser still gets the 404 the contract says. */
    expect_status("/feeds/usage/pages/1", NULL, 404);
}
END_TEST

/* Where needle is in hay, as an offset; fails when it is not there. */
static size_t offset_of(const char *hay, const char *needle)
{
    const char *at = strstr(hay, needle);

    ck_assert_msg(at != NULL, "no %s in %.600s", needle, hay);
    return (size_t)(at - hay);
}

START_TEST(html_lists_entries_newest_first_with_paging)
{
    struct tk_response r;
    const char *h[] = {"Accept: text/html", NULL};

    append_n(db, 2 * P + 2);
    wait_head(2 * P + 2);
    /* The head: 11 and 12, newest first; older leads to page 1. */
    get("/feeds/usage", h, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_lt(offset_of(r.body, "id=\"e12\""), offset_of(r.body, "id=\"e11\""));
    ck_assert_ptr_nonnull(strstr(r.body, "rel=\"prev-archive\" href=\"/feeds/usage/pages/1\""));
    ck_assert_ptr_null(strstr(r.body, "rel=\"next-archive\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage/tail\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage?format=atom\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage?format=json\""));
    tk_response_release(&r);
    /* Page 1: 10 down to 6; newer is page 2 (the head, by the 303),
     * older page 0, and the newest entries are one click away. */
    get("/feeds/usage/pages/1", h, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_lt(offset_of(r.body, "id=\"e10\""), offset_of(r.body, "id=\"e9\""));
    ck_assert_uint_lt(offset_of(r.body, "id=\"e7\""), offset_of(r.body, "id=\"e6\""));
    ck_assert_ptr_null(strstr(r.body, "id=\"e5\""));
    ck_assert_ptr_nonnull(strstr(r.body, "rel=\"next-archive\" href=\"/feeds/usage/pages/2\""));
    ck_assert_ptr_nonnull(strstr(r.body, "rel=\"prev-archive\" href=\"/feeds/usage/pages/0\""));
    ck_assert_ptr_nonnull(strstr(r.body, "rel=\"current\" href=\"/feeds/usage\""));
    tk_response_release(&r);
    expect_status("/feeds/usage/pages/2", h, 303);
    /* The Atom document keeps ascending order. */
    get("/feeds/usage/pages/1?format=atom", h, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(tk_header(&r, "Content-Type"), "application/atom+xml"));
    ck_assert_uint_lt(offset_of(r.body, "<f:position>6<"), offset_of(r.body, "<f:position>10<"));
    tk_response_release(&r);
    get("/feeds/usage?format=json", h, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(
        strstr(tk_header(&r, "Content-Type"), "application/cloudevents-batch+json"));
    tk_response_release(&r);
}
END_TEST

START_TEST(entry_page_in_three_representations)
{
    struct tk_response r;
    const char *h[] = {"Accept: text/html", NULL};
    char etag[128], inm[160];
    const char *cond[] = {inm, "Accept: text/html", NULL};

    append_n(db, P + 2);
    wait_head(P + 2);
    get("/feeds/usage/entries/3", h, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(tk_header(&r, "Content-Type"), "text/html; charset=utf-8");
    ck_assert_str_eq(tk_header(&r, "Vary"), "Accept");
    ck_assert_ptr_nonnull(strstr(r.body, "entry 3: UsageRecorded"));
    ck_assert_ptr_nonnull(strstr(r.body, "<dt>units</dt><dd>102</dd>"));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage/entries/2\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage/entries/4\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage/pages/0#e3\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage/entries/3?format=atom\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage/entries/3?format=json\""));
    snprintf(etag, sizeof etag, "%s", tk_header(&r, "ETag"));
    tk_response_release(&r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    expect_status("/feeds/usage/entries/3", cond, 304);
    /* The newest entry is in the head, and has no next. */
    get("/feeds/usage/entries/7", h, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage#e7\""));
    ck_assert_ptr_null(strstr(r.body, "entries/8"));
    tk_response_release(&r);
    get("/feeds/usage/entries/3", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(tk_header(&r, "Content-Type"), "application/atom+xml;type=entry"));
    ck_assert_ptr_nonnull(strstr(r.body, "<entry xmlns=\"http://www.w3.org/2005/Atom\""));
    ck_assert_ptr_nonnull(strstr(r.body, "<f:position>3</f:position>"));
    ck_assert_str_ne(tk_header(&r, "ETag"), etag);
    {
        xmlDoc *x = xmlReadMemory(r.body, (int)strlen(r.body), NULL, NULL, XML_PARSE_NONET);
        ck_assert_msg(x != NULL, "the Atom entry is not well-formed");
        xmlFreeDoc(x);
    }
    tk_response_release(&r);
    get("/feeds/usage/entries/3?format=json", h, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(tk_header(&r, "Content-Type"), "application/cloudevents+json"));
    ck_assert_int_eq(r.body[0], '{');
    ck_assert_ptr_nonnull(strstr(r.body, "\"position\":3,"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"units\":\"102\""));
    tk_response_release(&r);
    expect_status("/feeds/usage/entries/8", h, 404);
    expect_status("/feeds/usage/entries/0", h, 404);
    expect_status("/feeds/usage/entries/x", h, 404);
}
END_TEST

START_TEST(tail_page_long_polls_from_its_own_script)
{
    struct tk_response r;
    const char *h[] = {"Accept: text/html", NULL};

    get("/feeds/usage/tail", h, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(tk_header(&r, "Content-Type"), "text/html; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(r.body, "data-feed=\"/feeds/usage\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-page-size=\"5\""));
    ck_assert_ptr_nonnull(strstr(r.body, "Prefer = \"wait=25\""));
    ck_assert_ptr_nonnull(strstr(r.body, "If-None-Match"));
    ck_assert_ptr_nonnull(strstr(r.body, "application/cloudevents-batch+json"));
    /* Nothing from elsewhere. */
    ck_assert_ptr_null(strstr(r.body, "<script src"));
    ck_assert_ptr_null(strstr(r.body, "http://"));
    ck_assert_ptr_null(strstr(r.body, "https://"));
    tk_response_release(&r);
    expect_status("/feeds/usage/tails", h, 404);
}
END_TEST

/* The representation a GET of the head gets for an Accept value (NULL: the
 * request sends no Accept at all). */
static void check_accept(const char *accept, const char *want)
{
    struct tk_response r;
    char h[512];
    const char *hs[] = {h, NULL};

    snprintf(h, sizeof h, "Accept:%s%s", accept ? " " : "", accept ? accept : "");
    get("/feeds/usage", hs, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strncmp(tk_header(&r, "Content-Type"), want, strlen(want)) == 0,
                  "Accept: %s gave %s, not %s", accept ? accept : "(none)",
                  tk_header(&r, "Content-Type"), want);
    ck_assert_str_eq(tk_header(&r, "Vary"), "Accept, Accept-Encoding");
    tk_response_release(&r);
}

#define ATOM "application/atom+xml;"
#define HTML "text/html;"
#define JSON "application/cloudevents-batch+json;"

START_TEST(accept_is_negotiated_with_q_values)
{
    /* What SimplePie sends by default: it can read Atom best. */
    static const char simplepie[] =
        "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
        "application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.7, unknown/unknown;q=0.1, "
        "application/unknown;q=0.1, */*;q=0.1";
    static const char browser[] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    static const struct {
        const char *accept, *want;
    } cases[] = {
        {NULL, ATOM},
        {"*/*", ATOM},
        {"application/atom+xml", ATOM},
        {simplepie, ATOM},
        {browser, HTML},
        {"text/html", HTML},
        {"TEXT/HTML", HTML},
        {"Text/Html; Q=0.5, application/atom+xml;q=0.4", HTML},
        {"text/html;q=0", ATOM},
        {"text/html;q=0, */*", ATOM},
        {"text/html;q=0.5, */*;q=0.6", ATOM},
        /* the most specific range decides: text/html's 0.2 beats 1 for text/any */
        {"text/*, text/html;q=0.2, application/atom+xml;q=0.1", HTML},
        {"text/*;q=0.9, application/*;q=0.8", HTML},
        {"application/*;q=0.9, text/html;q=0.8", ATOM},
        /* application/xml and text/xml ask for Atom when they win */
        {"application/xml, text/html;q=0.5", ATOM},
        {"text/xml;q=0.9, text/html;q=0.8", ATOM},
        {"text/html, application/xml;q=0.9", HTML},
        /* parameters other than q are ignored, quoted ones too */
        {"text/html;level=1;q=0.6, application/atom+xml;q=0.5", HTML},
        {"text/html;x=\"a,b;q=0\";q=0.9, application/atom+xml;q=0.5", HTML},
        {"text/html ; q=0.9 ,application/atom+xml ;q=0.5", HTML},
        /* nothing acceptable, or only malformed ranges: Atom */
        {"image/png", ATOM},
        {"text/html;q=2", ATOM},
        {"text/html;q=0.5x", ATOM},
        {"text/html;q=", ATOM},
        {"html", ATOM},
        {",,, ;", ATOM},
        {"text/html;q=2, text/html;q=0.3, application/atom+xml;q=0.2", HTML},
        /* the CloudEvents batch, by its name or as JSON */
        {"application/cloudevents-batch+json", JSON},
        {"Application/CloudEvents-Batch+JSON", JSON},
        {"application/json", JSON},
        {"application/json, text/html;q=0.9", JSON},
        {"application/cloudevents-batch+json;q=0.5, application/atom+xml", ATOM},
        {"application/cloudevents-batch+json;q=0, application/json", ATOM},
        {"application/*", ATOM},
        {"application/*;q=0.5, application/json;q=0.6", JSON},
        {"text/html, application/cloudevents-batch+json", JSON},
    };

    append_n(db, P + 1);
    wait_head(P + 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_accept(cases[i].accept, cases[i].want);
}
END_TEST

/* A Prefer case: the header lines sent with a long-poll of the unchanged
 * head, and the Preference-Applied expected (NULL: not held). */
struct prefer_case {
    const char *headers[3];
    const char *applied;
};

struct prefer_poll {
    const struct prefer_case *c;
    char etag[128];
    struct tk_response r;
};

static void *prefer_poll(void *arg)
{
    struct prefer_poll *p = arg;
    char inm[160];
    const char *h[5] = {inm};
    size_t n = 1;

    snprintf(inm, sizeof inm, "If-None-Match: %s", p->etag);
    for (size_t i = 0; i < 3 && p->c->headers[i]; i++)
        h[n++] = p->c->headers[i];
    h[n] = NULL;
    get("/feeds/usage", h, &p->r);
    return NULL;
}

START_TEST(prefer_wait_is_parsed_as_rfc_7240_says)
{
    static const struct prefer_case cases[] = {
        {{"Prefer: wait=1"}, "wait=1"},
        {{"Prefer: WAIT=1"}, "wait=1"},
        {{"Prefer: Wait=\"1\""}, "wait=1"},
        {{"Prefer: wait = 1"}, "wait=1"},
        {{"Prefer: respond-async, wait=1;foo=bar"}, "wait=1"},
        {{"Prefer: handling=lenient; x=\"wait=9\", wait=1 , return=minimal"}, "wait=1"},
        {{"Prefer: respond-async", "Prefer: wait=1"}, "wait=1"},
        {{"Prefer: wait=abc"}, NULL},
        {{"Prefer: wait="}, NULL},
        {{"Prefer: wait"}, NULL},
        {{"Prefer: wait=-1"}, NULL},
        {{"Prefer: wait=1x"}, NULL},
        {{"Prefer: wait=1.5"}, NULL},
        {{"Prefer: wait=0"}, NULL},
        {{"Prefer: waiting=1"}, NULL},
        {{"Prefer: x=\"wait=1\""}, NULL},
        /* only the first wait counts */
        {{"Prefer: wait=abc, wait=1"}, NULL},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    static struct prefer_poll polls[N];
    pthread_t t[N];

    /* All at once: each held one takes its second, the others none. */
    for (size_t i = 0; i < N; i++) {
        polls[i].c = &cases[i];
        current_etag(polls[i].etag, sizeof polls[i].etag);
        ck_assert_int_eq(pthread_create(&t[i], NULL, prefer_poll, &polls[i]), 0);
    }
    for (size_t i = 0; i < N; i++) {
        const char *applied, *what = cases[i].headers[cases[i].headers[1] ? 1 : 0];

        pthread_join(t[i], NULL);
        ck_assert_msg(polls[i].r.status == 304, "%s: %ld", what, polls[i].r.status);
        applied = tk_header(&polls[i].r, "Preference-Applied");
        if (cases[i].applied)
            ck_assert_msg(applied && strcmp(applied, cases[i].applied) == 0, "%s: applied %s", what,
                          applied ? applied : "nothing");
        else
            ck_assert_msg(!applied, "%s: held (%s)", what, applied);
        tk_response_release(&polls[i].r);
    }
}
END_TEST

START_TEST(prefer_wait_is_capped)
{
    static const struct prefer_case big = {{"Prefer: wait=99999999999999999999"}, NULL};
    struct prefer_poll p = {.c = &big};
    pthread_t t;

    current_etag(p.etag, sizeof p.etag);
    /* Held (capped, not parsed as garbage), then woken by an append. */
    ck_assert_int_eq(pthread_create(&t, NULL, append_when_held, NULL), 0);
    prefer_poll(&p);
    pthread_join(t, NULL);
    ck_assert_int_eq(p.r.status, 200);
    ck_assert_str_eq(tk_header(&p.r, "Preference-Applied"), "wait=30");
    tk_response_release(&p.r);
}
END_TEST

/* ---- the CloudEvents JSON batch ---- */

#define ACCEPT_JSON "Accept: application/cloudevents-batch+json"

/* Evaluates the SQL expression expr (SQLite's JSON functions) with ?1 bound
 * to json, as an integer. */
static long long jq_int(const char *json, const char *expr)
{
    sqlite3 *m;
    sqlite3_stmt *st;
    char sql[512];
    long long v;

    snprintf(sql, sizeof sql, "SELECT %s", expr);
    ck_assert_int_eq(sqlite3_open(":memory:", &m), SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(m, sql, -1, &st, NULL) == SQLITE_OK, "%s", sql);
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(m);
    return v;
}

/* The text of json_extract(json, path) in a static buffer; "(null)" for
 * none. */
static const char *jq_text(const char *json, const char *path)
{
    static char buf[1024];
    sqlite3 *m;
    sqlite3_stmt *st;
    const unsigned char *t;

    ck_assert_int_eq(sqlite3_open(":memory:", &m), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(m, "SELECT json_extract(?1, ?2)", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    t = sqlite3_column_text(st, 0);
    snprintf(buf, sizeof buf, "%s", t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
    sqlite3_close(m);
    return buf;
}

/* Texts that JSON must escape and XML must carry: quotes, backslashes,
 * the control characters a feed may hold, markup, non-ASCII, nothing. */
static const char *const tricky[] = {
    "say \"hi\" \\ back\\",
    "tab\there\nnew line\r\ncrlf",
    "<&> 'apos' ]]> &amp;",
    "\xc3\xa9 \xe2\x80\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
    "",
    "   ",
};
#define NTRICKY (sizeof tricky / sizeof tricky[0])

/* Appends n entries whose fields are the tricky texts (entry i has version
 * i % 3 + 1), in one transaction. */
static void append_tricky(sqlite3 *c, int n)
{
    struct fs_feed *usage;

    ck_assert_int_eq(fs_feed_open(c, "usage", &usage), FS_OK);
    exec(c, "BEGIN IMMEDIATE");
    for (int i = 0; i < n; i++) {
        char units[16];
        struct fs_field f[NTRICKY + 2] = {{"customerId", "cus_42"}, {"units", units}};
        struct fs_event ev = {
            .type = "UsageRecorded", .version = i % 3 + 1, .fields = f, .nfields = NTRICKY + 2};
        char names[NTRICKY][16];

        snprintf(units, sizeof units, "%d", i);
        for (size_t k = 0; k < NTRICKY; k++) {
            snprintf(names[k], sizeof names[k], "text%zu", k);
            f[k + 2] = (struct fs_field){names[k], tricky[k]};
        }
        ck_assert_int_eq(fs_feed_append(usage, &ev, NULL), FS_OK);
    }
    exec(c, "COMMIT");
    fs_feed_close(usage);
}

/*
 * Checks that the JSON batch j is a CloudEvents batch of the same entries
 * as the Atom document a of the same path: same count and order, the
 * attributes of the mapping, and every field equal. Returns the count.
 */
static int check_batch(const char *j, const struct tk_response *a)
{
    struct doc d;
    int n;

    ck_assert_msg(jq_int(j, "json_valid(?1)") == 1, "not JSON: %s", j);
    ck_assert_int_eq(jq_int(j, "json_type(?1) = 'array'"), 1);
    parse(a, &d);
    n = (int)jq_int(j, "json_array_length(?1)");
    ck_assert_int_eq(n, (int)num(&d, "count(/a:feed/a:entry)"));
    for (int i = 0; i < n; i++) {
        char path[96], expr[256], atom[512];
        int nfields;

#define AT(suffix) (snprintf(path, sizeof path, "$[%d]%s", i, suffix), path)
#define XP(suffix) (snprintf(expr, sizeof expr, "/a:feed/a:entry[%d]%s", i + 1, suffix), expr)
        ck_assert_str_eq(jq_text(j, AT(".specversion")), "1.0");
        ck_assert_str_eq(jq_text(j, AT(".source")), "/feeds/usage");
        ck_assert_str_eq(jq_text(j, AT(".datacontenttype")), "application/json");
        snprintf(atom, sizeof atom, "%s", str(&d, XP("/a:id")));
        ck_assert_str_eq(jq_text(j, AT(".id")), atom);
        snprintf(atom, sizeof atom, "%s", str(&d, XP("/a:category/@term")));
        ck_assert_str_eq(jq_text(j, AT(".type")), atom);
        snprintf(atom, sizeof atom, "%s", str(&d, XP("/a:updated")));
        ck_assert_str_eq(jq_text(j, AT(".time")), atom);
        snprintf(expr, sizeof expr, "json_type(?1, '$[%d].position') = 'integer'", i);
        ck_assert_int_eq(jq_int(j, expr), 1);
        snprintf(expr, sizeof expr, "json_type(?1, '$[%d].eventversion') = 'integer'", i);
        ck_assert_int_eq(jq_int(j, expr), 1);
        snprintf(expr, sizeof expr, "json_extract(?1, '$[%d].position')", i);
        ck_assert_int_eq(jq_int(j, expr), (long long)num(&d, XP("/f:position")));
        snprintf(expr, sizeof expr, "json_extract(?1, '$[%d].eventversion')", i);
        ck_assert_int_eq(jq_int(j, expr), (long long)num(&d, XP("/a:content/*/@version")));
        /* data: one string member per field, in the fields' order */
        snprintf(expr, sizeof expr, "count(/a:feed/a:entry[%d]/a:content/*/*)", i + 1);
        nfields = (int)num(&d, expr);
        snprintf(expr, sizeof expr, "(SELECT count(*) FROM json_each(?1, '$[%d].data'))", i);
        ck_assert_int_eq(jq_int(j, expr), nfields);
        for (int k = 1; k <= nfields; k++) {
            char name[64], sql[256];

            snprintf(expr, sizeof expr, "local-name(/a:feed/a:entry[%d]/a:content/*/*[%d])", i + 1,
                     k);
            snprintf(name, sizeof name, "%s", str(&d, expr));
            snprintf(sql, sizeof sql,
                     "(SELECT key FROM json_each(?1, '$[%d].data') LIMIT 1 OFFSET %d) = '%s'", i,
                     k - 1, name);
            ck_assert_msg(jq_int(j, sql) == 1, "field %d of event %d is not %s", k, i, name);
            snprintf(sql, sizeof sql, "json_type(?1, '$[%d].data.%s') = 'text'", i, name);
            ck_assert_int_eq(jq_int(j, sql), 1);
            snprintf(expr, sizeof expr, "/a:feed/a:entry[%d]/a:content/*/*[%d]", i + 1, k);
            snprintf(atom, sizeof atom, "%s", str(&d, expr));
            snprintf(path, sizeof path, "$[%d].data.%s", i, name);
            ck_assert_msg(strcmp(jq_text(j, path), atom) == 0, "%s: %s vs Atom %s", path,
                          jq_text(j, path), atom);
        }
#undef AT
#undef XP
    }
    unparse(&d);
    return n;
}

START_TEST(cloudevents_batch_of_the_head_and_pages)
{
    struct tk_response j, a;
    const char *hj[] = {ACCEPT_JSON, NULL};
    char etag[128];

    /* The empty head is an empty batch. */
    get("/feeds/usage", hj, &j);
    ck_assert_int_eq(j.status, 200);
    ck_assert_str_eq(tk_header(&j, "Content-Type"),
                     "application/cloudevents-batch+json; charset=utf-8");
    ck_assert_str_eq(j.body, "[]\n");
    tk_response_release(&j);

    append_tricky(db, 2 * P + 2);
    wait_head(2 * P + 2);
    get("/feeds/usage", hj, &j);
    get("/feeds/usage", NULL, &a);
    ck_assert_int_eq(j.status, 200);
    ck_assert_str_eq(tk_header(&j, "Content-Type"),
                     "application/cloudevents-batch+json; charset=utf-8");
    ck_assert_str_eq(tk_header(&j, "Cache-Control"), CC_HEAD_OPEN);
    ck_assert_str_eq(tk_header(&j, "Vary"), "Accept, Accept-Encoding");
    expect_links(&j, -1, 2);
    ck_assert_int_eq(check_batch(j.body, &a), 2);
    ck_assert_int_eq(jq_int(j.body, "json_extract(?1, '$[0].position')"), 2 * P + 1);
    /* Control characters are escaped as \u00XX, never sent raw. */
    ck_assert_ptr_nonnull(strstr(j.body, "tab\\u0009here\\u000anew line\\u000d\\u000acrlf"));
    ck_assert_ptr_nonnull(strstr(j.body, "say \\\"hi\\\" \\\\ back\\\\"));
    ck_assert_ptr_null(strchr(j.body, '\t'));
    ck_assert_ptr_null(strchr(j.body, '\r'));
    for (size_t k = 0; k < NTRICKY; k++) {
        char path[64];

        snprintf(path, sizeof path, "$[1].data.text%zu", k);
        ck_assert_str_eq(jq_text(j.body, path), tricky[k]);
    }
    tk_response_release(&j);
    tk_response_release(&a);

    for (int p = 0; p < 2; p++) {
        char path[64];

        snprintf(path, sizeof path, "/feeds/usage/pages/%d", p);
        get(path, hj, &j);
        get(path, NULL, &a);
        ck_assert_int_eq(j.status, 200);
        ck_assert_str_eq(tk_header(&j, "Cache-Control"), CC_PAGE_OPEN);
        expect_links(&j, p, 2);
        ck_assert_int_eq(check_batch(j.body, &a), P);
        ck_assert_int_eq(jq_int(j.body, "json_extract(?1, '$[0].position')"), p * P + 1);
        snprintf(etag, sizeof etag, "%s", tk_header(&j, "ETag"));
        ck_assert_str_ne(tk_header(&a, "ETag"), etag);
        tk_response_release(&a);
        tk_response_release(&j);
        /* From the page cache: the same bytes. */
        get(path, hj, &a);
        get(path, hj, &j);
        ck_assert_str_eq(a.body, j.body);
        ck_assert_str_eq(tk_header(&j, "ETag"), etag);
        tk_response_release(&a);
        tk_response_release(&j);
    }
    /* The page being filled is a JSON 404, as for Atom. */
    get("/feeds/usage/pages/2", hj, &j);
    ck_assert_int_eq(j.status, 404);
    ck_assert_str_eq(tk_header(&j, "Content-Type"), "application/json");
    ck_assert_ptr_nonnull(strstr(jq_text(j.body, "$.error"), "not full"));
    tk_response_release(&j);
}
END_TEST

START_TEST(cloudevents_batch_304_and_long_poll)
{
    struct tk_response r;
    char etag[128], page_etag[128], atom_etag[128], inm[160];
    const char *h[] = {inm, ACCEPT_JSON, NULL};
    const char *poll[] = {inm, ACCEPT_JSON, "Prefer: wait=10", NULL};
    pthread_t t;

    append_n(db, P + 1);
    wait_head(P + 1);
    etag_of("/feeds/usage", ACCEPT_JSON, etag, sizeof etag);
    etag_of("/feeds/usage", NULL, atom_etag, sizeof atom_etag);
    etag_of("/feeds/usage/pages/0", ACCEPT_JSON, page_etag, sizeof page_etag);
    ck_assert_str_ne(etag, atom_etag);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    get("/feeds/usage", h, &r);
    ck_assert_int_eq(r.status, 304);
    expect_links(&r, -1, 1);
    tk_response_release(&r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", page_etag);
    get("/feeds/usage/pages/0", h, &r);
    ck_assert_int_eq(r.status, 304);
    expect_links(&r, 0, 1);
    tk_response_release(&r);
    /* The Atom ETag does not match the JSON head. */
    snprintf(inm, sizeof inm, "If-None-Match: %s", atom_etag);
    expect_status("/feeds/usage", h, 200);

    /* A held JSON long-poll is answered with the new entry, as JSON. */
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    ck_assert_int_eq(pthread_create(&t, NULL, append_when_held, NULL), 0);
    get("/feeds/usage", poll, &r);
    pthread_join(t, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(tk_header(&r, "Preference-Applied"), "wait=10");
    ck_assert_str_eq(tk_header(&r, "Content-Type"),
                     "application/cloudevents-batch+json; charset=utf-8");
    ck_assert_str_ne(tk_header(&r, "ETag"), etag);
    expect_links(&r, -1, 1);
    ck_assert_int_eq(jq_int(r.body, "json_array_length(?1)"), 2);
    ck_assert_int_eq(jq_int(r.body, "json_extract(?1, '$[1].position')"), P + 2);
    tk_response_release(&r);
}
END_TEST

START_TEST(bad_page_numbers_and_unknown_feeds_are_404)
{
    static const char *const paths[] = {
        "/feeds/usage/pages/-1", "/feeds/usage/pages/abc",
        "/feeds/usage/pages/01", "/feeds/usage/pages/99999999999999999999",
        "/feeds/usage/pages/1x", "/feeds/usage/pages/",
        "/feeds/usage/other",    "/feeds/nosuch",
        "/feeds/usage/pages/0",
    };
    struct tk_response r;

    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        get(paths[i], NULL, &r);
        ck_assert_msg(r.status == 404, "%s gave %ld", paths[i], r.status);
        ck_assert_ptr_nonnull(strstr(r.body, "\"error\""));
        tk_response_release(&r);
    }
    /* Unknown query parameters are ignored. */
    expect_status("/feeds/usage?foo=bar&x", NULL, 200);
}
END_TEST

static void echo_route(struct fs_request *req, void *userdata)
{
    size_t len;
    const char *body = fs_request_body(req, &len);
    char out[256];
    const char *q = fs_request_query(req, "q");
    int n;

    ck_assert_ptr_eq(userdata, (void *)&dir);
    ck_assert_ptr_nonnull(fs_request_db(req));
    n = snprintf(out, sizeof out, "%s %s %s %s %zu %s", fs_request_method(req),
                 fs_request_path(req), fs_request_param(req, 0) ? fs_request_param(req, 0) : "-",
                 q ? q : "-", len, len ? body : "-");
    fs_reply_header(req, "X-Test", "yes");
    fs_reply(req, 200, "text/plain", out, (size_t)n);
}

/* Answers "html" or "json" as fs_request_wants_html() decides. */
static void wants_route(struct fs_request *req, void *userdata)
{
    (void)userdata;
    if (fs_request_wants_html(req))
        fs_reply(req, 200, "text/plain", "html", 4);
    else
        fs_reply(req, 200, "text/plain", "json", 4);
}

static void error_route(struct fs_request *req, void *userdata)
{
    (void)userdata;
    fs_reply_error(req, 409, "email \"%s\" is taken", "a@b");
}

/* Appends one entry in its own transaction, as a context's write route
 * does, and answers 201. */
static void append_route(struct fs_request *req, void *userdata)
{
    sqlite3 *c = fs_request_db(req);
    struct fs_field f[] = {{"customerId", "cus_7"}, {"units", "1"}};
    struct fs_event ev = {.type = "UsageRecorded", .fields = f, .nfields = 2};
    int64_t pos = 0;

    struct fs_feed *usage;

    (void)userdata;
    ck_assert_int_eq(fs_feed_open(c, "usage", &usage), FS_OK);
    exec(c, "BEGIN IMMEDIATE");
    ck_assert_int_eq(fs_feed_append(usage, &ev, &pos), FS_OK);
    exec(c, "COMMIT");
    fs_feed_close(usage);
    fs_reply(req, 201, "text/plain", "ok", 2);
}

static void routes_setup(void)
{
    start(NULL, 0);
    ck_assert_int_eq(fs_server_route(srv, "POST", "/append", 0, append_route, NULL), FS_OK);
    ck_assert_int_eq(fs_server_route(srv, "GET", "/wants", 0, wants_route, NULL), FS_OK);
    ck_assert_int_eq(fs_server_route(srv, "GET", "/things/*", 0, echo_route, &dir), FS_OK);
    ck_assert_int_eq(fs_server_route(srv, "POST", "/things", 16, echo_route, &dir), FS_OK);
    ck_assert_int_eq(fs_server_route(srv, "DELETE", "/things/*", 0, error_route, NULL), FS_OK);
    ck_assert_int_eq(fs_server_route(srv, "GET", "no-slash", 0, echo_route, NULL), FS_ERR_INVALID);
    go();
}

START_TEST(routes_params_405_404_413)
{
    struct tk_response r;
    char url[128];

    snprintf(url, sizeof url, "%s/things/42?q=hello%%20world", base);
    tk_http("GET", url, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "GET /things/42 42 hello world 0 -");
    ck_assert_str_eq(tk_header(&r, "X-Test"), "yes");
    tk_response_release(&r);
    snprintf(url, sizeof url, "%s/things", base);
    tk_http("POST", url, NULL, "name=x", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "POST /things - - 6 name=x");
    tk_response_release(&r);
    tk_http("POST", url, NULL, "this body is longer than sixteen bytes", &r);
    ck_assert_int_eq(r.status, 413);
    ck_assert_ptr_nonnull(strstr(r.body, "too large"));
    tk_response_release(&r);
    {
        /* A chunked body shows no length up front: 413 once it passes the cap. */
        const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
        tk_http("POST", url, chunked, "a chunked body that is well over sixteen bytes", &r);
        ck_assert_int_eq(r.status, 413);
        tk_response_release(&r);
    }
    tk_http("PUT", url, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(tk_header(&r, "Allow"), "POST");
    tk_response_release(&r);
    snprintf(url, sizeof url, "%s/things/7", base);
    tk_http("POST", url, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(tk_header(&r, "Allow"), "GET, DELETE");
    tk_response_release(&r);
    tk_http("DELETE", url, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 409);
    ck_assert_str_eq(r.body, "{\"error\": \"email \\\"a@b\\\" is taken\"}\n");
    tk_response_release(&r);
    snprintf(url, sizeof url, "%s/nothing/here", base);
    tk_http("GET", url, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(tk_header(&r, "Content-Type"), "application/json");
    tk_response_release(&r);
    snprintf(url, sizeof url, "%s/healthz", base);
    tk_http("GET", url, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "ok\n");
    tk_response_release(&r);
    snprintf(url, sizeof url, "%s/feeds/usage", base);
    tk_http("POST", url, NULL, "x", &r);
    ck_assert_int_eq(r.status, 405);
    tk_response_release(&r);
}
END_TEST

/* The error-page hook: renders as HTML what fs_reply_error() says. */
static void html_error_page(struct fs_request *req, unsigned status, const char *message,
                            void *userdata)
{
    char body[512];
    int n = snprintf(body, sizeof body, "<html>%u %s (%s)</html>", status, message,
                     (const char *)userdata);

    fs_reply(req, status, "text/html; charset=utf-8", body, (size_t)n);
}

static void error_pages_setup(void)
{
    start(NULL, 0);
    fs_server_error_page(srv, html_error_page, (void *)"hook");
    ck_assert_int_eq(fs_server_route(srv, "DELETE", "/things/*", 0, error_route, NULL), FS_OK);
    ck_assert_int_eq(fs_server_route(srv, "POST", "/small", 4, error_route, NULL), FS_OK);
    go();
}

/* With the hook, a browser gets every error as HTML, the library's own
 * 404, 405 (keeping Allow) and 413 as well as a handler's; others get
 * JSON as before. */
START_TEST(error_pages_for_browsers)
{
    const char *html[] = {"Accept: text/html,application/xhtml+xml,*/*;q=0.8", NULL};
    struct tk_response r;
    char url[128];

    snprintf(url, sizeof url, "%s/nothing/here", base);
    tk_http("GET", url, html, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(tk_header(&r, "Content-Type"), "text/html; charset=utf-8");
    ck_assert_str_eq(r.body, "<html>404 no such resource (hook)</html>");
    tk_response_release(&r);
    tk_http("GET", url, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(tk_header(&r, "Content-Type"), "application/json");
    tk_response_release(&r);
    snprintf(url, sizeof url, "%s/things/1", base);
    tk_http("GET", url, html, NULL, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(tk_header(&r, "Allow"), "DELETE");
    ck_assert_ptr_nonnull(strstr(r.body, "<html>405 "));
    tk_response_release(&r);
    tk_http("DELETE", url, html, NULL, &r);
    ck_assert_int_eq(r.status, 409);
    ck_assert_str_eq(r.body, "<html>409 email \"a@b\" is taken (hook)</html>");
    tk_response_release(&r);
    snprintf(url, sizeof url, "%s/small", base);
    tk_http("POST", url, html, "far too long a body", &r);
    ck_assert_int_eq(r.status, 413);
    ck_assert_ptr_nonnull(strstr(r.body, "<html>413 "));
    tk_response_release(&r);
}
END_TEST

/* A context's own pages: HTML for a browser, JSON for everyone else. */
START_TEST(wants_html_only_when_html_beats_json)
{
    static const struct {
        const char *accept, *want;
    } cases[] = {
        {NULL, "json"},
        {"*/*", "json"},
        {"application/json", "json"},
        {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "html"},
        {"text/html", "html"},
        {"TEXT/HTML", "html"},
        {"text/*", "html"},
        {"text/html;q=0", "json"},
        {"text/html;q=0, */*", "json"},
        {"text/html, application/json", "json"},
        {"text/html, application/json;q=0.9", "html"},
        {"application/json;q=0.5, text/html", "html"},
        {"text/html;q=0.5, */*", "json"},
    };
    char url[128], h[256];
    const char *hs[] = {h, NULL};

    snprintf(url, sizeof url, "%s/wants", base);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tk_response r;
        const char *a = cases[i].accept;

        snprintf(h, sizeof h, "Accept:%s%s", a ? " " : "", a ? a : "");
        tk_http("GET", url, hs, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_msg(strcmp(r.body, cases[i].want) == 0, "Accept: %s gave %s", a ? a : "(none)",
                      r.body);
        tk_response_release(&r);
    }
}
END_TEST

/* Read-your-writes: once a request that appended has been answered, the
 * very next request sees the entry in the head and a new ETag, and the old
 * ETag is no longer current (so it gets 200, not 304). */
START_TEST(head_shows_an_append_as_soon_as_its_request_is_answered)
{
    char url[128], etag[128] = "", inm[160];
    const char *h[] = {inm, NULL};

    snprintf(url, sizeof url, "%s/append", base);
    for (int i = 1; i <= 300; i++) {
        struct tk_response r;
        struct doc d;

        tk_http("POST", url, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 201);
        tk_response_release(&r);
        snprintf(inm, sizeof inm, "If-None-Match: %s", etag[0] ? etag : "\"none\"");
        get("/feeds/usage", h, &r);
        ck_assert_msg(r.status == 200, "append %d: head answered %ld", i, r.status);
        ck_assert_str_ne(tk_header(&r, "ETag"), etag);
        snprintf(etag, sizeof etag, "%s", tk_header(&r, "ETag"));
        parse(&r, &d);
        ck_assert_int_eq((int)num(&d, "number(/a:feed/f:head)"), i);
        unparse(&d);
        tk_response_release(&r);
    }
}
END_TEST

static const char *const tokens[] = {"secret", "other-token"};

static void auth_setup(void)
{
    start(tokens, 2);
    go();
}

START_TEST(tokens_401_and_200)
{
    struct tk_response r;
    const char *none[] = {NULL};
    const char *wrong[] = {"Authorization: Bearer nope", NULL};
    const char *bearer[] = {"Authorization: Bearer secret", NULL};
    const char *basic[] = {"Authorization: Basic cmVhZGVyOnNlY3JldA==", NULL};
    const char *basic_wrong[] = {"Authorization: Basic cmVhZGVyOndyb25n", NULL};

    get("/feeds/usage", none, &r);
    ck_assert_int_eq(r.status, 401);
    ck_assert_ptr_nonnull(strstr(r.headers, "WWW-Authenticate: Bearer"));
    ck_assert_ptr_nonnull(strstr(r.headers, "WWW-Authenticate: Basic realm=\"feeds\""));
    tk_response_release(&r);
    expect_status("/feeds/usage", wrong, 401);
    expect_status("/feeds/usage", basic_wrong, 401);
    expect_status("/feeds/usage", bearer, 200);
    expect_status("/feeds/usage/pages/0", bearer, 404);
    expect_status("/feeds/usage", basic, 200);
    expect_status("/healthz", none, 200);
}
END_TEST

/* A protected feed is private: no shared cache stores it, so none hands
 * it to a request without the token; a 401 is stored nowhere. */
START_TEST(protected_feed_is_private)
{
    const char *bearer[] = {"Authorization: Bearer secret", NULL};
    const char *none[] = {NULL};
    struct tk_response r;

    append_n(db, 7);
    wait_head(7);
    get("/feeds/usage", bearer, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(tk_header(&r, "Cache-Control"),
                     "private, max-age=1, stale-while-revalidate=0");
    ck_assert_str_eq(tk_header(&r, "Vary"), "Accept, Accept-Encoding, Authorization");
    tk_response_release(&r);
    get("/feeds/usage/pages/0", bearer, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(tk_header(&r, "Cache-Control"), "private, max-age=31536000, immutable");
    ck_assert_str_eq(tk_header(&r, "Vary"), "Accept, Accept-Encoding, Authorization");
    tk_response_release(&r);
    get("/feeds/usage/pages/0", none, &r);
    ck_assert_int_eq(r.status, 401);
    ck_assert_str_eq(tk_header(&r, "Cache-Control"), "no-store");
    ck_assert_str_eq(tk_header(&r, "Vary"), "Accept, Accept-Encoding, Authorization");
    tk_response_release(&r);
}
END_TEST

START_TEST(protected_feed_hint_for_browsers)
{
    struct tk_response r;
    const char *html[] = {"Accept: text/html", NULL};
    const char *html_wrong[] = {"Accept: text/html", "Authorization: Bearer nope", NULL};
    const char *html_ok[] = {"Accept: text/html",
                             "Authorization: Basic cmVhZGVyOnNlY3JldA==", NULL};

    /* A browser without a token: a page that says what to do, and no
     * Basic challenge, so no password dialog hides it. */
    get("/feeds/usage", html, &r);
    ck_assert_int_eq(r.status, 401);
    ck_assert_str_eq(tk_header(&r, "Content-Type"), "text/html; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(r.headers, "WWW-Authenticate: Bearer"));
    ck_assert_ptr_null(strstr(r.headers, "Basic"));
    ck_assert_ptr_nonnull(strstr(r.body, "needs the feed token"));
    ck_assert_ptr_nonnull(strstr(r.body, "Authorization: Bearer TOKEN"));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"/feeds/usage?login\""));
    ck_assert_ptr_nonnull(strstr(r.body, "TOKEN-IS-IN-THE-VAULT"));
    tk_response_release(&r);
    /* "?login" asks the browser for it. */
    get("/feeds/usage?login", html, &r);
    ck_assert_int_eq(r.status, 401);
    ck_assert_ptr_nonnull(strstr(r.headers, "WWW-Authenticate: Basic realm=\"feeds\""));
    ck_assert_ptr_nonnull(strstr(r.body, "needs the feed token"));
    tk_response_release(&r);
    get("/feeds/usage/tail", html_wrong, &r);
    ck_assert_int_eq(r.status, 401);
    ck_assert_ptr_nonnull(strstr(r.body, "not valid"));
    tk_response_release(&r);
    get("/feeds/usage/entries/1", html, &r);
    ck_assert_int_eq(r.status, 401);
    ck_assert_ptr_nonnull(strstr(r.body, "needs the feed token"));
    tk_response_release(&r);
    get("/feeds/usage?login", html_ok, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "<h1>Feed <code>usage</code></h1>"));
    tk_response_release(&r);
}
END_TEST

/* A server whose pages are in a program's layout. */
static void layout_setup(void)
{
    static const char *const toks[] = {"secret"};
    struct fs_server_config cfg = {.listen = "127.0.0.1:0", .tokens = toks, .ntokens = 1};

    cfg.html_layout = "<!doctype html><html><head><title>{{title}} - Site</title>"
                      "<link rel=\"stylesheet\" href=\"/static/site.css\"></head><body>"
                      "<header id=\"site\">Site {{unknown}}</header><main>{{body}}</main>"
                      "<footer>{{title}}</footer></body></html>";
    cfg.token_hint_html = "<p>TOKEN-IS-IN-THE-VAULT</p>";
    dir = tk_tempdir();
    dbpath = tk_path(dir, "feeds.db");
    cfg.db_path = dbpath;
    ck_assert_int_eq(fs_db_open(dbpath, &db), FS_OK);
    ck_assert_int_eq(fs_feed_declare(db, "usage", P), FS_OK);
    ck_assert_int_eq(fs_server_open(&cfg, &srv), FS_OK);
    ck_assert_int_eq(fs_server_feed(srv, "usage"), FS_OK);
    go();
}

START_TEST(pages_are_in_the_program_layout)
{
    struct tk_response r;
    const char *h[] = {"Accept: text/html", "Authorization: Bearer secret", NULL};
    static const char *const paths[] = {"/feeds/usage", "/feeds/usage/entries/1",
                                        "/feeds/usage/tail"};

    append_n(db, 2);
    wait_head(2);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        get(paths[i], h, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "<header id=\"site\">Site </header><main>"));
        ck_assert_ptr_nonnull(strstr(r.body, "href=\"/static/site.css\">"));
        /* The page's own head elements stay in the head. */
        ck_assert_uint_lt(offset_of(r.body, "<style>"), offset_of(r.body, "</head>"));
        ck_assert_ptr_nonnull(strstr(r.body, "</main><footer>usage"));
        ck_assert_ptr_null(strstr(r.body, "{{"));
        tk_response_release(&r);
    }
    get("/feeds/usage", h, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "<title>usage, newest entries - Site</title>"));
    check_alternates(r.body, "/feeds/usage");
    tk_response_release(&r);
}
END_TEST

START_TEST(oversized_headers_are_refused)
{
    struct tk_response r;
    size_t sizes[] = {20000, 60000};

    /* Past the 16 KiB default: 431, whether the library or libmicrohttpd's
     * memory limit sees it first. */
    for (int i = 0; i < 2; i++) {
        char *big = malloc(sizes[i]);
        const char *h[] = {big, NULL};

        ck_assert_ptr_nonnull(big);
        memcpy(big, "X-Big: ", 7);
        memset(big + 7, 'a', sizes[i] - 8);
        big[sizes[i] - 1] = '\0';
        get("/feeds/usage", h, &r);
        ck_assert_msg(r.status == 431, "got %ld", r.status);
        tk_response_release(&r);
        free(big);
    }
    expect_status("/healthz", NULL, 200);
}
END_TEST

START_TEST(long_polls_past_the_cap_get_503)
{
    struct poll_arg first;
    struct tk_response r;
    struct fs_server_stats st;
    pthread_t t;
    int64_t until = tk_now_ms() + 5000;

    fs_server_close(srv);
    {
        struct fs_server_config cfg = {
            .listen = "127.0.0.1:0", .db_path = dbpath, .max_long_polls = 1};
        ck_assert_int_eq(fs_server_open(&cfg, &srv), FS_OK);
        ck_assert_int_eq(fs_server_feed(srv, "usage"), FS_OK);
        go();
    }
    current_etag(first.etag, sizeof first.etag);
    ck_assert_int_eq(pthread_create(&t, NULL, poll_thread, &first), 0);
    do {
        usleep(5000);
        fs_server_stats(srv, &st);
    } while (st.long_polls_held < 1 && tk_now_ms() < until);
    ck_assert_uint_eq(st.long_polls_held, 1);
    long_poll(first.etag, 3, &r);
    ck_assert_int_eq(r.status, 503);
    ck_assert_ptr_nonnull(tk_header(&r, "Retry-After"));
    tk_response_release(&r);
    pthread_join(t, NULL);
    ck_assert_int_eq(first.r.status, 304);
    tk_response_release(&first.r);
    fs_server_stats(srv, &st);
    ck_assert_uint_ge(st.not_modified, 1);
    ck_assert_uint_ge(st.responses[5], 1);
    ck_assert_uint_ge(st.requests, 3);
}
END_TEST

START_TEST(held_long_poll_outlives_the_idle_timeout)
{
    struct fs_server_config cfg = {
        .listen = "127.0.0.1:0", .db_path = dbpath, .connection_timeout = 1};
    struct tk_response r;
    char etag[128];

    fs_server_close(srv);
    ck_assert_int_eq(fs_server_open(&cfg, &srv), FS_OK);
    ck_assert_int_eq(fs_server_feed(srv, "usage"), FS_OK);
    go();
    current_etag(etag, sizeof etag);
    long_poll(etag, 3, &r);
    /* Held its whole wait, not cut at the idle timeout (status 0). */
    ck_assert_int_eq(r.status, 304);
    ck_assert_str_eq(tk_header(&r, "Preference-Applied"), "wait=3");
    tk_response_release(&r);
}
END_TEST

/* Inflates the gzip body of r into a new NUL-terminated buffer the caller
 * frees; its length in *len. Fails the test on a bad stream. */
static char *gunzip(const struct tk_response *r, size_t *len)
{
    z_stream z = {0};
    size_t cap = 1 << 20;
    char *out = malloc(cap);
    int rc;

    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)r->body;
    z.avail_in = (uInt)r->body_len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)(cap - 1);
    rc = inflate(&z, Z_FINISH);
    ck_assert_msg(rc == Z_STREAM_END, "inflate: %d", rc);
    *len = z.total_out;
    out[*len] = '\0';
    inflateEnd(&z);
    return out;
}

/* The header of r, or "" when it has none, copied into out. */
static const char *header_or_empty(const struct tk_response *r, const char *name, char *out,
                                   size_t size)
{
    const char *v = tk_header(r, name);

    snprintf(out, size, "%s", v ? v : "");
    return out;
}

/* Every error under /feeds/ is kept by no cache, and varies like the
 * documents; a page not full yet is such an error, in every
 * representation; a held long-poll's answer is stored nowhere. */
START_TEST(caching_headers_of_an_open_feed)
{
    static const char *const paths[] = {"/feeds/usage/pages/1", "/feeds/usage/pages/x",
                                        "/feeds/nosuch", "/feeds/usage/other"};
    const char *html[] = {"Accept: text/html", NULL};
    struct tk_response r;
    char etag[128];

    append_n(db, 7);
    wait_head(7);
    get("/feeds/usage", NULL, &r);
    ck_assert_str_eq(tk_header(&r, "Cache-Control"), CC_HEAD_OPEN);
    ck_assert_str_eq(tk_header(&r, "Vary"), "Accept, Accept-Encoding");
    ck_assert_ptr_null(tk_header(&r, "Preference-Applied"));
    tk_response_release(&r);
    get("/feeds/usage/pages/0", NULL, &r);
    ck_assert_str_eq(tk_header(&r, "Cache-Control"), CC_PAGE_OPEN);
    tk_response_release(&r);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        get(paths[i], NULL, &r);
        ck_assert_int_eq(r.status, 404);
        ck_assert_str_eq(tk_header(&r, "Cache-Control"), "no-store");
        ck_assert_str_eq(tk_header(&r, "Vary"), "Accept, Accept-Encoding");
        tk_response_release(&r);
    }
    /* A browser is sent to the head instead (the feed browser). */
    get("/feeds/usage/pages/1", html, &r);
    ck_assert_int_eq(r.status, 303);
    ck_assert_str_eq(tk_header(&r, "Cache-Control"), "no-store");
    ck_assert_str_eq(tk_header(&r, "Vary"), "Accept, Accept-Encoding");
    tk_response_release(&r);
    current_etag(etag, sizeof etag);
    long_poll(etag, 1, &r);
    ck_assert_int_eq(r.status, 304);
    ck_assert_str_eq(tk_header(&r, "Preference-Applied"), "wait=1");
    ck_assert_str_eq(tk_header(&r, "Cache-Control"), "no-store");
    tk_response_release(&r);
}
END_TEST

/* gzip when asked for, in every representation: the same bytes once
 * inflated, an ETag of its own, 304s and Link headers per encoding, and
 * archive pages served again from the page cache byte for byte. */
START_TEST(gzip_round_trip_and_etags_per_encoding)
{
    static const char *const accepts[] = {"Accept: application/atom+xml", "Accept: text/html",
                                          "Accept: application/cloudevents-batch+json"};
    static const char *const paths[] = {"/feeds/usage", "/feeds/usage/pages/0"};
    struct tk_response plain, gz, again;
    char id_etag[128], gz_etag[128], inm[200], link[640];
    struct fs_server_stats st0, st1;

    append_n(db, 7);
    wait_head(7);
    for (size_t a = 0; a < 3; a++) {
        for (size_t p = 0; p < 2; p++) {
            const char *hp[] = {accepts[a], NULL};
            const char *hg[] = {accepts[a], "Accept-Encoding: gzip, deflate", NULL};
            const char *hi[] = {accepts[a], "Accept-Encoding: gzip", inm, NULL};
            const char *hx[] = {accepts[a], inm, NULL};
            char *inflated;
            size_t n = 0;

            get(paths[p], hp, &plain);
            ck_assert_int_eq(plain.status, 200);
            ck_assert_ptr_null(tk_header(&plain, "Content-Encoding"));
            snprintf(id_etag, sizeof id_etag, "%s", tk_header(&plain, "ETag"));
            ck_assert_ptr_nonnull(strstr(id_etag, "-id\""));
            get(paths[p], hg, &gz);
            ck_assert_int_eq(gz.status, 200);
            ck_assert_str_eq(tk_header(&gz, "Content-Encoding"), "gzip");
            ck_assert_str_eq(tk_header(&gz, "Content-Type"), tk_header(&plain, "Content-Type"));
            ck_assert_str_eq(tk_header(&gz, "Vary"), "Accept, Accept-Encoding");
            snprintf(gz_etag, sizeof gz_etag, "%s", tk_header(&gz, "ETag"));
            ck_assert_ptr_nonnull(strstr(gz_etag, "-gz\""));
            ck_assert_str_ne(gz_etag, id_etag);
            ck_assert_uint_lt(gz.body_len, plain.body_len);
            inflated = gunzip(&gz, &n);
            ck_assert_uint_eq(n, plain.body_len);
            ck_assert_int_eq(memcmp(inflated, plain.body, n), 0);
            free(inflated);
            /* Once more: an archive page now comes compressed from the
             * page cache. */
            fs_server_stats(srv, &st0);
            get(paths[p], hg, &again);
            fs_server_stats(srv, &st1);
            ck_assert_uint_eq(st1.page_cache_hits - st0.page_cache_hits, p == 1 ? 1 : 0);
            ck_assert_str_eq(tk_header(&again, "ETag"), gz_etag);
            ck_assert_uint_eq(again.body_len, gz.body_len);
            ck_assert_int_eq(memcmp(again.body, gz.body, gz.body_len), 0);
            tk_response_release(&again);
            /* 304 for its own ETag, with the same Link header... */
            snprintf(inm, sizeof inm, "If-None-Match: %s", gz_etag);
            get(paths[p], hi, &again);
            ck_assert_int_eq(again.status, 304);
            ck_assert_str_eq(tk_header(&again, "ETag"), gz_etag);
            header_or_empty(&plain, "Link", link, sizeof link);
            ck_assert_str_eq(tk_header(&again, "Link"), link);
            tk_response_release(&again);
            /* ...and not for the other encoding's. */
            get(paths[p], hx, &again);
            ck_assert_int_eq(again.status, 200);
            ck_assert_str_eq(tk_header(&again, "ETag"), id_etag);
            tk_response_release(&again);
            snprintf(inm, sizeof inm, "If-None-Match: %s", id_etag);
            get(paths[p], hi, &again);
            ck_assert_int_eq(again.status, 200);
            tk_response_release(&again);
            tk_response_release(&plain);
            tk_response_release(&gz);
        }
    }
}
END_TEST

/* Accept-Encoding as RFC 9110 12.5.3 reads it: q=0 excludes, a coding
 * named outright wins over "*", names are case-insensitive. */
START_TEST(accept_encoding_is_negotiated)
{
    static const struct {
        const char *ae;
        int gzip;
    } cases[] = {
        {"gzip", 1},
        {"GZip", 1},
        {"x-gzip", 1},
        {"*", 1},
        {"br, gzip;q=0.5", 1},
        {"gzip ; q=1.0", 1},
        {"identity", 0},
        {"gzip;q=0", 0},
        {"gzip;q=0.000, *", 0},
        {"*;q=0", 0},
        {"br, deflate", 0},
        {"gzip;q=2", 0},
        {"*;q=0, gzip", 1},
        {"gzipx", 0},
        {"", 0},
        {"gzip;q=0.001", 1},
        {"deflate, *;q=0.1", 1},
    };
    struct tk_response r;
    char h[128];
    const char *hs[] = {h, NULL};

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *ce;

        snprintf(h, sizeof h, "Accept-Encoding: %s", cases[i].ae);
        get("/feeds/usage", hs, &r);
        ck_assert_int_eq(r.status, 200);
        ce = tk_header(&r, "Content-Encoding");
        ck_assert_msg(cases[i].gzip ? ce && strcmp(ce, "gzip") == 0 : ce == NULL,
                      "Accept-Encoding: %s gave %s", cases[i].ae, ce ? ce : "identity");
        tk_response_release(&r);
    }
}
END_TEST

START_TEST(listens_on_ipv6_loopback)
{
    struct fs_server *v6;
    struct fs_server_config cfg = {.listen = "[::1]:0", .db_path = dbpath};
    struct tk_response r;
    char url[128];

    ck_assert_int_eq(fs_server_open(&cfg, &v6), FS_OK);
    ck_assert_int_eq(fs_server_feed(v6, "usage"), FS_OK);
    if (fs_server_start(v6) != FS_OK) {
        /* No IPv6 on this machine: nothing to check. */
        fs_server_close(v6);
        return;
    }
    snprintf(url, sizeof url, "http://[::1]:%u/feeds/usage", fs_server_port(v6));
    tk_http("GET", url, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tk_response_release(&r);
    fs_server_close(v6);
    cfg.listen = "127.0.0.1";
    ck_assert_int_eq(fs_server_open(&cfg, &v6), FS_OK);
    ck_assert_int_eq(fs_server_start(v6), FS_ERR_INVALID);
    fs_server_close(v6);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("feed_server");
    TCase *tc = tcase_create("feeds");
    TCase *tr = tcase_create("routes");
    TCase *ta = tcase_create("auth");
    TCase *te = tcase_create("error pages");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, empty_feed_head_is_valid_atom);
    tcase_add_test(tc, paging_at_0);
    tcase_add_test(tc, paging_at_p_minus_1);
    tcase_add_test(tc, paging_at_p);
    tcase_add_test(tc, paging_at_p_plus_1);
    tcase_add_test(tc, paging_at_10p);
    tcase_add_test(tc, head_etag_changes_on_append_and_304_on_match);
    tcase_add_test(tc, head_request_has_headers_and_no_body);
    tcase_add_test(tc, representations_never_share_an_etag);
    tcase_add_test(tc, etags_differ_after_a_restore_that_grows_back_to_the_same_count);
    tcase_add_test(tc, page_304_without_the_page_cache);
    tcase_add_test(tc, long_poll_is_woken_by_an_append_in_this_process);
    tcase_add_test(tc, long_poll_is_woken_by_an_append_in_another_process);
    tcase_add_test(tc, long_poll_times_out_with_304);
    tcase_add_test(tc, html_view_for_browsers);
    tcase_add_test(tc, html_lists_entries_newest_first_with_paging);
    tcase_add_test(tc, entry_page_in_three_representations);
    tcase_add_test(tc, tail_page_long_polls_from_its_own_script);
    tcase_add_test(tc, accept_is_negotiated_with_q_values);
    tcase_add_test(tc, caching_headers_of_an_open_feed);
    tcase_add_test(tc, gzip_round_trip_and_etags_per_encoding);
    tcase_add_test(tc, accept_encoding_is_negotiated);
    tcase_add_test(tc, prefer_wait_is_parsed_as_rfc_7240_says);
    tcase_add_test(tc, prefer_wait_is_capped);
    tcase_add_test(tc, cloudevents_batch_of_the_head_and_pages);
    tcase_add_test(tc, cloudevents_batch_304_and_long_poll);
    tcase_add_test(tc, bad_page_numbers_and_unknown_feeds_are_404);
    tcase_add_test(tc, oversized_headers_are_refused);
    tcase_add_test(tc, long_polls_past_the_cap_get_503);
    tcase_add_test(tc, listens_on_ipv6_loopback);
    tcase_add_test(tc, held_long_poll_outlives_the_idle_timeout);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(tr, routes_setup, teardown);
    tcase_set_timeout(tr, 60);
    tcase_add_test(tr, routes_params_405_404_413);
    tcase_add_test(tr, wants_html_only_when_html_beats_json);
    tcase_add_test(tr, head_shows_an_append_as_soon_as_its_request_is_answered);
    suite_add_tcase(s, tr);
    tcase_add_checked_fixture(te, error_pages_setup, teardown);
    tcase_set_timeout(te, 60);
    tcase_add_test(te, error_pages_for_browsers);
    suite_add_tcase(s, te);
    tcase_add_checked_fixture(ta, auth_setup, teardown);
    tcase_set_timeout(ta, 60);
    tcase_add_test(ta, tokens_401_and_200);
    tcase_add_test(ta, protected_feed_is_private);
    suite_add_tcase(s, ta);
    {
        TCase *tl = tcase_create("browser");

        tcase_add_checked_fixture(tl, layout_setup, teardown);
        tcase_set_timeout(tl, 60);
        tcase_add_test(tl, protected_feed_hint_for_browsers);
        tcase_add_test(tl, pages_are_in_the_program_layout);
        suite_add_tcase(s, tl);
    }
    return tk_run(s);
}
