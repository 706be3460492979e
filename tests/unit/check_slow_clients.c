/*
 * check_slow_clients - a client that sends its request slowly cannot hold a
 * connection past the deadlines, however it trickles; a held long-poll is
 * not cut; requests sent at a normal pace are untouched.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "feedserver.h"
#include "testkit.h"

static char *dir;
static char *dbpath;
static struct fs_server *srv;
static char base[64];

/* Answers a whole body (only reached by requests that arrive in time). */
static void sink_route(struct fs_request *req, void *userdata)
{
    (void)userdata;
    fs_reply(req, 204, NULL, NULL, 0);
}

static void setup(void)
{
    struct fs_server_config cfg = {
        .listen = "127.0.0.1:0", .connection_timeout = 2, .request_timeout = 1};
    sqlite3 *db = NULL;

    dir = tk_tempdir();
    dbpath = tk_path(dir, "feeds.db");
    ck_assert_int_eq(fs_db_open(dbpath, &db), FS_OK);
    ck_assert_int_eq(fs_feed_declare(db, "usage", 5), FS_OK);
    sqlite3_close(db);
    cfg.db_path = dbpath;
    ck_assert_int_eq(fs_server_open(&cfg, &srv), FS_OK);
    ck_assert_int_eq(fs_server_feed(srv, "usage"), FS_OK);
    ck_assert_int_eq(fs_server_route(srv, "POST", "/sink", 1 << 20, sink_route, NULL), FS_OK);
    ck_assert_int_eq(fs_server_start(srv), FS_OK);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", fs_server_port(srv));
}

static void teardown(void)
{
    fs_server_close(srv);
    tk_rmtree(dir);
    free(dbpath);
    free(dir);
}

static int connect_server(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(fs_server_port(srv))};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Whether the server has closed fd (end of file or an error), without
 * waiting. */
static int closed_by_server(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;

    if (poll(&p, 1, 0) <= 0)
        return 0;
    return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

/*
 * Sends prefix, then one more byte ("x") every 100 ms, as a slowloris
 * client does, until the server closes the connection or limit_ms passes.
 * Returns whether the server closed it.
 */
static int trickle(const char *prefix, int64_t limit_ms)
{
    int fd = connect_server(), closed = 0;
    int64_t until = tk_now_ms() + limit_ms;

    if (prefix[0])
        ck_assert_int_eq(send(fd, prefix, strlen(prefix), MSG_NOSIGNAL), (ssize_t)strlen(prefix));
    while (!closed && tk_now_ms() < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN};

        closed = closed_by_server(fd) || send(fd, "x", 1, MSG_NOSIGNAL) != 1;
        if (!closed)
            poll(&p, 1, 100);
    }
    close(fd);
    return closed;
}

START_TEST(trickled_headers_are_cut_at_the_request_deadline)
{
    struct fs_server_stats st;

    /* Each byte arrives well inside the 2 s idle timeout, so only the 1 s
     * request deadline can end this. */
    ck_assert_msg(trickle("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", 15000),
                  "a trickled request kept its connection for 15 s");
    fs_server_stats(srv, &st);
    ck_assert_uint_ge(st.connections_cut, 1);
}
END_TEST

START_TEST(a_trickled_request_line_is_cut_at_the_idle_timeout)
{
    ck_assert_msg(trickle("", 15000), "a trickled request line kept its connection for 15 s");
}
END_TEST

START_TEST(a_trickled_body_is_cut_too)
{
    struct fs_server_stats st;

    ck_assert_msg(
        trickle("POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", 15000),
        "a trickled body kept its connection for 15 s");
    fs_server_stats(srv, &st);
    ck_assert_uint_ge(st.connections_cut, 1);
}
END_TEST

/* A long-poll held past both deadlines is answered, not cut. */
START_TEST(a_held_long_poll_is_not_cut)
{
    struct tk_response r;
    char url[128], inm[160], etag[128];
    const char *h[] = {inm, "Prefer: wait=4", NULL};

    snprintf(url, sizeof url, "%s/feeds/usage", base);
    tk_http("GET", url, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    snprintf(etag, sizeof etag, "%s", tk_header(&r, "ETag"));
    tk_response_release(&r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    tk_http("GET", url, h, NULL, &r);
    ck_assert_int_eq(r.status, 304);
    ck_assert_ptr_nonnull(tk_header(&r, "Preference-Applied"));
    tk_response_release(&r);
}
END_TEST

/* Requests at a normal pace on one kept-alive connection are answered, one
 * after another, past the deadlines. */
START_TEST(a_busy_kept_alive_connection_is_not_cut)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = connect_server();
    int64_t until = tk_now_ms() + 2500;
    int answers = 0;

    while (tk_now_ms() < until) {
        char buf[512];
        ssize_t n;

        ck_assert_int_eq(send(fd, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
        n = recv(fd, buf, sizeof buf - 1, 0);
        ck_assert_int_gt(n, 0);
        buf[n] = '\0';
        ck_assert_ptr_nonnull(strstr(buf, "200 OK"));
        answers++;
        poll(NULL, 0, 200);
    }
    ck_assert_int_ge(answers, 5);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("slow_clients");
    TCase *tc = tcase_create("deadlines");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, trickled_headers_are_cut_at_the_request_deadline);
    tcase_add_test(tc, a_trickled_request_line_is_cut_at_the_idle_timeout);
    tcase_add_test(tc, a_trickled_body_is_cut_too);
    tcase_add_test(tc, a_held_long_poll_is_not_cut);
    tcase_add_test(tc, a_busy_kept_alive_connection_is_not_cut);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
