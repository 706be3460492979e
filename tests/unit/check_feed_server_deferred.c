/*
 * check_feed_server_deferred - deferred answers (fs_request_defer(),
 * feedserver.h): a handler returns unanswered and another thread answers
 * later, or the handler answers before it returns; many calls answered
 * out of order by one thread; and a server closed while answers are
 * pending, whose handles are answered after the close (no crash, no leak
 * under SANITIZE=address).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feedserver.h"
#include "testkit.h"

/* Calls most deferred at once. */
#define MAX_PENDING 16

static char *dir;
static char *dbpath;
static struct fs_server *srv;
static char base[64];

/* Handles deferred by the "/later" route, for the test to answer. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t arrived = PTHREAD_COND_INITIALIZER;
static struct fs_deferred *pending[MAX_PENDING];
static char pending_name[MAX_PENDING][32];
static int npending;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* GET /later?name=N: defers, and leaves the handle to the test. */
static void later_route(struct fs_request *req, void *userdata)
{
    struct fs_deferred *d = fs_request_defer(req);
    const char *name = fs_request_query(req, "name");

    (void)userdata;
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_null(fs_request_defer(req));
    fs_reply_header(req, "X-Before", "kept");
    pthread_mutex_lock(&mu);
    ck_assert_int_lt(npending, MAX_PENDING);
    snprintf(pending_name[npending], sizeof pending_name[0], "%s", name ? name : "-");
    pending[npending++] = d;
    pthread_cond_broadcast(&arrived);
    pthread_mutex_unlock(&mu);
}

/* GET /now: defers, then answers at once, before returning. */
static void now_route(struct fs_request *req, void *userdata)
{
    struct fs_deferred *d = fs_request_defer(req);

    (void)userdata;
    ck_assert_ptr_nonnull(d);
    fs_deferred_error(d, 409, "taken: %s", "a@b");
}

/* Waits until n handles are pending; returns them in pending[]. */
static void wait_pending(int n)
{
    struct timespec deadline;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&mu);
    while (npending < n)
        ck_assert_int_eq(pthread_cond_timedwait(&arrived, &mu, &deadline), 0);
    pthread_mutex_unlock(&mu);
}

static void setup(void)
{
    struct fs_server_config cfg = {.listen = "127.0.0.1:0", .threads = 2};

    dir = tk_tempdir();
    dbpath = tk_path(dir, "d.db");
    cfg.db_path = dbpath;
    npending = 0;
    ck_assert_int_eq(fs_server_open(&cfg, &srv), FS_OK);
    ck_assert_int_eq(fs_server_route(srv, "GET", "/later", 0, later_route, NULL), FS_OK);
    ck_assert_int_eq(fs_server_route(srv, "GET", "/now", 0, now_route, NULL), FS_OK);
    ck_assert_int_eq(fs_server_start(srv), FS_OK);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", fs_server_port(srv));
}

static void teardown(void)
{
    fs_server_close(srv);
    srv = NULL;
    tk_rmtree(dir);
    free(dbpath);
    free(dir);
}

/* A client call in its own thread. */
struct call {
    pthread_t thread;
    char url[128];
    struct tk_response r;
};

static void *call_main(void *arg)
{
    struct call *c = arg;

    tk_http("GET", c->url, NULL, NULL, &c->r);
    return NULL;
}

static void call_start(struct call *c, const char *path)
{
    memset(c, 0, sizeof *c);
    snprintf(c->url, sizeof c->url, "%s%s", base, path);
    ck_assert_int_eq(pthread_create(&c->thread, NULL, call_main, c), 0);
}

/* The answering thread: answers pending[0] after a pause. */
static void *answer_later(void *arg)
{
    char *body = strdup("{\"ok\":true}");

    (void)arg;
    sleep_ms(100);
    fs_deferred_header(pending[0], "X-After", "added");
    fs_deferred_reply(pending[0], 201, "application/json", body, strlen(body));
    return NULL;
}

START_TEST(answered_from_another_thread)
{
    struct call c;
    pthread_t t;

    call_start(&c, "/later?name=one");
    wait_pending(1);
    ck_assert_int_eq(pthread_create(&t, NULL, answer_later, NULL), 0);
    pthread_join(t, NULL);
    pthread_join(c.thread, NULL);
    ck_assert_int_eq(c.r.status, 201);
    ck_assert_str_eq(c.r.body, "{\"ok\":true}");
    ck_assert_str_eq(tk_header(&c.r, "Content-Type"), "application/json");
    ck_assert_str_eq(tk_header(&c.r, "X-Before"), "kept");
    ck_assert_str_eq(tk_header(&c.r, "X-After"), "added");
    ck_assert_double_ge(c.r.seconds, 0.09);
    tk_response_release(&c.r);
}
END_TEST

START_TEST(answered_before_the_handler_returns)
{
    struct tk_response r;
    char url[128];

    snprintf(url, sizeof url, "%s/now", base);
    for (int i = 0; i < 3; i++) {
        tk_http("GET", url, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 409);
        ck_assert_str_eq(r.body, "{\"error\": \"taken: a@b\"}\n");
        ck_assert_str_eq(tk_header(&r, "Cache-Control"), "no-store");
        tk_response_release(&r);
    }
}
END_TEST

START_TEST(many_answered_out_of_order_by_one_thread)
{
    struct call c[MAX_PENDING];
    char path[64];

    for (int i = 0; i < MAX_PENDING; i++) {
        snprintf(path, sizeof path, "/later?name=c%d", i);
        call_start(&c[i], path);
    }
    wait_pending(MAX_PENDING);
    for (int i = MAX_PENDING - 1; i >= 0; i--) {
        char *body = strdup(pending_name[i]);

        fs_deferred_reply(pending[i], 200, "text/plain", body, strlen(body));
    }
    for (int i = 0; i < MAX_PENDING; i++) {
        pthread_join(c[i].thread, NULL);
        ck_assert_int_eq(c[i].r.status, 200);
        snprintf(path, sizeof path, "c%d", i);
        ck_assert_str_eq(c[i].r.body, path);
        tk_response_release(&c[i].r);
    }
}
END_TEST

/* A server closed with two answers pending: close returns (the daemon
 * cannot stop with a connection suspended), the clients' connections are
 * closed unanswered, and the handles, still valid, are answered after the
 * close. */
START_TEST(server_closed_with_answers_pending)
{
    struct call c[2];
    char *body;

    call_start(&c[0], "/later?name=a");
    call_start(&c[1], "/later?name=b");
    wait_pending(2);
    sleep_ms(50); /* lets the handlers return and the connections suspend */
    fs_server_close(srv);
    srv = NULL;
    for (int i = 0; i < 2; i++) {
        pthread_join(c[i].thread, NULL);
        ck_assert_int_ne(c[i].r.status, 200);
        tk_response_release(&c[i].r);
    }
    body = strdup("too late");
    fs_deferred_reply(pending[0], 200, "text/plain", body, strlen(body));
    fs_deferred_error(pending[1], 503, "%s", "too late");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("feed_server_deferred");
    TCase *tc = tcase_create("deferred");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, answered_from_another_thread);
    tcase_add_test(tc, answered_before_the_handler_returns);
    tcase_add_test(tc, many_answered_out_of_order_by_one_thread);
    tcase_add_test(tc, server_closed_with_answers_pending);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
