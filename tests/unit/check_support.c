/*
 * Unit tests of contexts/support: request bodies (form and JSON) read
 * through a real in-process server, whole-number parsing, escaping, and the
 * command-line rules every program follows (exit 2 on a bad argument, 0 on
 * --help), and log lines that stay one line whatever their values hold.
 */
#include "testkit.h"

#include "checkpointer.h"
#include "cli.h"
#include "db.h"
#include "flash.h"
#include "form.h"
#include "log.h"
#include "strbuf.h"
#include "web.h"

#include <check.h>
#include <feedserver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static struct fs_server *server;
static char base[64];

/* The echo route reads "name" as text and "amount_cents" as a number. */
static const struct form_field echo_fields[] = {
    {"name", FORM_TEXT}, {"amount_cents", FORM_INTEGER}, {NULL, 0}};

/* Answers 200 with "name=value;" for each field, or 400 with the error. */
static void echo_form(struct fs_request *req, void *userdata)
{
    struct form f;
    char err[200];
    struct strbuf sb = STRBUF_INIT;
    size_t len;
    char *out;

    (void)userdata;
    if (form_parse(req, echo_fields, &f, err, sizeof err) != 0) {
        fs_reply_error(req, 400, "%s", err);
        return;
    }
    for (size_t i = 0; i < f.count; i++)
        sb_printf(&sb, "%s=%s;", f.names[i], f.values[i] ? f.values[i] : "(null)");
    form_release(&f);
    out = sb_detach(&sb, &len);
    fs_reply_take(req, 200, "text/plain", out, len);
}

static void setup(void)
{
    struct fs_server_config cfg = {0};
    char *db = NULL;

    dir = tk_tempdir();
    db = tk_path(dir, "t.db");
    cfg.listen = "127.0.0.1:0";
    cfg.db_path = db;
    ck_assert_int_eq(fs_server_open(&cfg, &server), FS_OK);
    ck_assert_int_eq(fs_server_route(server, "POST", "/echo", 1024, echo_form, NULL), FS_OK);
    ck_assert_int_eq(fs_server_start(server), FS_OK);
    snprintf(base, sizeof base, "http://127.0.0.1:%u/echo", fs_server_port(server));
    free(db);
}

static void teardown(void)
{
    fs_server_close(server);
    tk_rmtree(dir);
    free(dir);
}

static void post(const char *type, const char *body, long want_status, const char *want_body)
{
    char header[128];
    const char *headers[] = {header, NULL};
    struct tk_response r;

    snprintf(header, sizeof header, "Content-Type: %s", type);
    tk_http("POST", base, headers, body, &r);
    ck_assert_int_eq(r.status, want_status);
    if (want_body)
        ck_assert_str_eq(r.body, want_body);
    tk_response_release(&r);
}

START_TEST(form_fields_are_decoded)
{
    post("application/x-www-form-urlencoded", "name=Acme+Ltd&email=a%40b.example&empty=", 200,
         "name=Acme Ltd;email=a@b.example;empty=;");
}
END_TEST

START_TEST(form_bad_escape_is_400)
{
    post("application/x-www-form-urlencoded", "name=%zz", 400, NULL);
    post("application/x-www-form-urlencoded", "name=%4", 400, NULL);
    post("application/x-www-form-urlencoded", "name=%00", 400, NULL);
}
END_TEST

START_TEST(json_object_fields)
{
    post("application/json", "{\"name\":\"Acme\",\"amount_cents\":250,\"x\":null}", 200,
         "name=Acme;amount_cents=250;x=(null);");
}
END_TEST

START_TEST(broken_json_is_400)
{
    post("application/json", "{\"name\":", 400, NULL);
    post("application/json", "[1,2]", 400, NULL);
    post("application/json", "", 400, NULL);
}
END_TEST

/* Text a feed cannot carry is a 400 naming the field, from a form or JSON,
 * before any route sees it. */
START_TEST(text_a_feed_cannot_carry_is_400)
{
    static const char *const forms[] = {"name=x%C0%80y",    "name=x%ED%A0%80y",
                                        "name=x%EF%BF%BEy", "name=x%F4%90%80%80y",
                                        "name=x%01y",       "other=x%FFy"};
    static const char *const json[] = {
        "{\"name\":\"x\\ud800y\"}",       /* lone high surrogate */
        "{\"name\":\"x\\udc00y\"}",       /* lone low surrogate */
        "{\"name\":\"Acme\\u0000Evil\"}", /* NUL, which SQLite would cut at */
        "{\"name\":\"x\\uFFFEy\"}",       "{\"name\":\"bell\\u0007\"}",
    };
    char header[128];
    const char *headers[] = {header, NULL};
    struct tk_response r;

    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        snprintf(header, sizeof header, "Content-Type: application/x-www-form-urlencoded");
        tk_http("POST", base, headers, forms[i], &r);
        ck_assert_msg(r.status == 400, "%s answered %ld", forms[i], r.status);
        ck_assert_ptr_nonnull(strstr(r.body, i < 5 ? "the field name" : "the field other"));
        tk_response_release(&r);
    }
    for (size_t i = 0; i < sizeof json / sizeof json[0]; i++) {
        snprintf(header, sizeof header, "Content-Type: application/json");
        tk_http("POST", base, headers, json[i], &r);
        ck_assert_msg(r.status == 400, "%s answered %ld", json[i], r.status);
        tk_response_release(&r);
    }
    /* A pair that is a real character is fine. */
    post("application/json", "{\"name\":\"\\ud83d\\ude00\"}", 200, "name=\xf0\x9f\x98\x80;");
    post("application/x-www-form-urlencoded", "name=caf%C3%A9", 200, "name=caf\xc3\xa9;");
}
END_TEST

/* A value of the wrong JSON type for the field a route reads is a 400. */
START_TEST(wrong_json_types_are_400)
{
    post("application/json", "{\"name\":42}", 400, NULL);
    post("application/json", "{\"name\":{\"a\":1}}", 400, NULL);
    post("application/json", "{\"name\":[\"a\"]}", 400, NULL);
    post("application/json", "{\"name\":true}", 400, NULL);
    post("application/json", "{\"amount_cents\":true}", 400, NULL);
    post("application/json", "{\"amount_cents\":2.5}", 400, NULL);
    post("application/json", "{\"amount_cents\":null}", 400, NULL);
    post("application/json", "{\"amount_cents\":\"250\"}", 200, "amount_cents=250;");
    post("application/json", "{\"other\":true}", 200, "other=1;");
}
END_TEST

START_TEST(unknown_content_type_is_400)
{
    post("text/csv", "a,b", 400, NULL);
}
END_TEST

START_TEST(whole_numbers)
{
    long long v = 0;

    ck_assert_int_eq(parse_int64("250", 0, 1000, &v), 0);
    ck_assert_int_eq(v, 250);
    ck_assert_int_eq(parse_int64("-5", -10, 10, &v), 0);
    ck_assert_int_eq(v, -5);
    ck_assert_int_eq(parse_int64("", 0, 10, &v), -1);
    ck_assert_int_eq(parse_int64("12abc", 0, 100, &v), -1);
    ck_assert_int_eq(parse_int64("1.5", 0, 100, &v), -1);
    ck_assert_int_eq(parse_int64(" 1", 0, 100, &v), -1);
    ck_assert_int_eq(parse_int64("101", 0, 100, &v), -1);
    ck_assert_int_eq(parse_int64("99999999999999999999", 0, 100, &v), -1);
    ck_assert_int_eq(parse_int64(NULL, 0, 100, &v), -1);
}
END_TEST

START_TEST(escaping)
{
    struct strbuf sb = STRBUF_INIT;

    sb_html(&sb, "<a href=\"x\">&'</a>");
    ck_assert_str_eq(sb_str(&sb), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    sb_release(&sb);
    sb_json_string(&sb, "a\"b\\c\nd");
    ck_assert_str_eq(sb_str(&sb), "\"a\\\"b\\\\c\\u000ad\"");
    sb_release(&sb);
}
END_TEST

/* Runs cli_parse on argv in a child and returns its exit status (or 99
 * when it returned, meaning the arguments were accepted). */
static int parse_in_child(int argc, const char *const *args)
{
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        const char *db = "default.db";
        unsigned n = 5;
        const char *listen = "127.0.0.1:1", *url = "http://h/";
        struct cli_list tokens = {{0}, 0};
        const struct cli_option options[] = {
            {"db", CLI_STRING, &db, 1, 0, 0, "FILE", "database"},
            {"count", CLI_UINT, &n, 0, 1, 10, "N", "a count"},
            {"token", CLI_LIST, &tokens, 0, 0, 0, "T", "tokens"},
            {"listen", CLI_ADDR, &listen, 0, 0, 0, "ADDR:PORT", "address"},
            {"feed", CLI_URL, &url, 0, 0, 0, "URL", "a URL"},
        };

        char *argv[12];

        for (int i = 0; i < argc && i < 12; i++)
            argv[i] = strdup(args[i]);
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(98);
        cli_parse("prog sub --db FILE", argc, argv, options, 5);
        _exit(n == 7 && tokens.count == 2 && strcmp(db, "x.db") == 0 ? 99 : 97);
    }
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(command_lines)
{
    const char *const good[] = {"--db", "x.db", "--count=7", "--token", "a", "--token", "b"};
    const char *const help[] = {"--help"};
    const char *const unknown[] = {"--db", "x.db", "--nope", "1"};
    const char *const missing[] = {"--count", "3"};
    const char *const range[] = {"--db", "x.db", "--count", "11"};
    const char *const notnum[] = {"--db", "x.db", "--count", "7x"};
    const char *const novalue[] = {"--db"};

    ck_assert_int_eq(parse_in_child(7, good), 99);
    ck_assert_int_eq(parse_in_child(1, help), 0);
    ck_assert_int_eq(parse_in_child(4, unknown), 2);
    ck_assert_int_eq(parse_in_child(2, missing), 2);
    ck_assert_int_eq(parse_in_child(4, range), 2);
    ck_assert_int_eq(parse_in_child(4, notnum), 2);
    ck_assert_int_eq(parse_in_child(1, novalue), 2);
}
END_TEST

/* Addresses, URLs and --log-level are checked by the parser, so a bad one
 * exits 2 before the program opens anything. */
START_TEST(command_line_values)
{
    static const char *const ok[][2] = {
        {"--listen", "127.0.0.1:8081"},   {"--listen", ":0"},
        {"--listen", "localhost:80"},     {"--listen", "[::1]:8081"},
        {"--feed", "http://h:1/feeds/x"}, {"--feed", "https://h/f"},
        {"--log-level", "debug"},         {"--log-level", "error"},
    };
    static const char *const bad[][2] = {
        {"--listen", "nope"},
        {"--listen", "127.0.0.1"},
        {"--listen", "1.2.3:80"},
        {"--listen", "127.0.0.1:x"},
        {"--listen", "127.0.0.1:65536"},
        {"--listen", "[::1:80"},
        {"--feed", "ftp://h/x"},
        {"--feed", "http://"},
        {"--feed", "http://h /x"},
        {"--log-level", "verbose"},
        {"--log-level", ""},
    };

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const char *argv[] = {"--db", "x.db",    "--count", "7",      "--token",
                              "a",    "--token", "b",       ok[i][0], ok[i][1]};

        ck_assert_msg(parse_in_child(10, argv) == 99, "%s %s refused", ok[i][0], ok[i][1]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[] = {"--db", "x.db", bad[i][0], bad[i][1]};

        ck_assert_msg(parse_in_child(4, argv) == 2, "%s %s accepted", bad[i][0], bad[i][1]);
    }
}
END_TEST

/* Runs log_event() or log_library() (library when lib is not NULL) with
 * standard error on a pipe and returns what it wrote (caller frees). */
static char *logged(const char *lib, const char *msg, const char *value)
{
    const char *keys[] = {"feed", "why"}, *values[] = {"http://h/feeds/x", value};
    char buf[4096];
    int fds[2], saved = dup(STDERR_FILENO);
    ssize_t n;

    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_ge(dup2(fds[1], STDERR_FILENO), 0);
    if (lib)
        log_library(LOG_WARN, lib, msg, keys, values, 2);
    else
        log_event(LOG_ERROR, msg, "id=%s n=%lld error=\"%s: %.*s\" path=%s", "c_1", 42LL, value, 3,
                  "abcdef", "/a b");
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    return strdup(buf);
}

/* Writes one line at level with log_event() and returns what reached
 * standard error (caller frees), or NULL when nothing did. */
static char *logged_at(enum log_level level)
{
    char buf[1024];
    int fds[2], saved = dup(STDERR_FILENO);
    ssize_t n;

    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_ge(dup2(fds[1], STDERR_FILENO), 0);
    log_event(level, "a line", NULL);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return strdup(buf);
}

static void expect_line(enum log_level level)
{
    char *line = logged_at(level);

    ck_assert_ptr_nonnull(line);
    free(line);
}

static void expect_none(enum log_level level)
{
    ck_assert_ptr_null(logged_at(level));
}

/* --log-level drops the lines below it; fatal lines always pass. */
START_TEST(log_level_filters)
{
    enum log_level level;

    ck_assert_int_eq(log_level_parse("warn", &level), 0);
    ck_assert_int_eq(level, LOG_WARN);
    ck_assert_int_eq(log_level_parse("WARN", &level), -1);
    log_init("check");
    log_set_level(LOG_WARN);
    expect_none(LOG_INFO);
    expect_line(LOG_WARN);
    log_set_level(LOG_ERROR);
    expect_none(LOG_WARN);
    expect_line(LOG_FATAL);
    log_set_level(LOG_DEBUG);
    expect_line(LOG_DEBUG);
    log_set_level(LOG_INFO);
}
END_TEST

START_TEST(log_lines_escape_every_value)
{
    const char *evil = "x\" forged=1\nts=0 level=fatal \\";
    char *line;

    log_init("check");
    line = logged(NULL, "msg with \"quotes\"\nand a newline", evil);
    ck_assert_ptr_nonnull(strstr(line,
                                 " level=error prog=check msg=\"msg with \\\"quotes\\\"\\nand a "
                                 "newline\" id=c_1 n=42 error=\"x\\\" forged=1\\nts=0 "
                                 "level=fatal \\\\: abc\" path=\"/a b\"\n"));
    ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
    free(line);
    line = logged("feed-reader", "cut\rshort", evil);
    ck_assert_ptr_nonnull(strstr(line, " level=warn prog=check lib=feed-reader msg=\"cut\\rshort\" "
                                       "feed=http://h/feeds/x why=\"x\\\" forged=1\\nts=0 "
                                       "level=fatal \\\\\"\n"));
    ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
    free(line);
}
END_TEST

/* A migration adds a missing column once, then finds it present; a table
 * that is not there is a failure. */
START_TEST(db_add_column_only_when_missing)
{
    sqlite3 *db;

    ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    ck_assert_int_eq(db_exec_script(db, "CREATE TABLE t (a TEXT)"), SQLITE_OK);
    ck_assert_int_eq(db_add_column(db, "t", "b", "INTEGER NOT NULL DEFAULT 7"), 1);
    ck_assert_int_eq(db_add_column(db, "t", "b", "INTEGER NOT NULL DEFAULT 7"), 0);
    ck_assert_int_eq(db_add_column(db, "t", "a", "TEXT"), 0);
    ck_assert_int_eq(db_exec(db, "INSERT INTO t (a) VALUES ('x')", ""), SQLITE_DONE);
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT b FROM t", ""), 7);
    ck_assert_int_eq(db_add_column(db, "no_such_table", "b", "TEXT"), -1);
    sqlite3_close(db);
}
END_TEST

/* A flash is shown once, only to its owner and for its page, and its
 * secret is gone once taken. */
START_TEST(flash_is_taken_once_by_its_owner)
{
    char id[FLASH_ID_SIZE], other[FLASH_ID_SIZE];
    struct flash f;

    flash_clear_all();
    ck_assert_int_eq(flash_put("alice", "c_1", 0, "User added.", "SECRETKEY", "a@x (u_1)", id), 0);
    ck_assert_uint_eq(strlen(id), FLASH_ID_SIZE - 1);
    ck_assert_int_eq(flash_take(id, "mallory", "c_1", &f), 0);
    ck_assert_str_eq(f.text, "");
    ck_assert_int_eq(flash_take(id, "alice", "c_2", &f), 0);
    ck_assert_int_eq(flash_take(NULL, "alice", "c_1", &f), 0);
    ck_assert_int_eq(flash_take("not-an-id", "alice", "c_1", &f), 0);
    ck_assert_int_eq(flash_take(id, "alice", "c_1", &f), 1);
    ck_assert_str_eq(f.text, "User added.");
    ck_assert_str_eq(f.secret, "SECRETKEY");
    ck_assert_str_eq(f.detail, "a@x (u_1)");
    ck_assert_int_eq(f.bad, 0);
    flash_release(&f);
    ck_assert_str_eq(f.secret, "");
    ck_assert_int_eq(flash_take(id, "alice", "c_1", &f), 0);

    ck_assert_int_eq(flash_put("", "", 1, "bad", NULL, NULL, other), 0);
    ck_assert_str_ne(id, other);
    ck_assert_int_eq(flash_take(other, "", "", &f), 1);
    ck_assert_int_eq(f.bad, 1);
    ck_assert_str_eq(f.secret, "");
}
END_TEST

/* A full table drops the oldest flash, never fails. */
START_TEST(flash_table_keeps_the_newest)
{
    char first[FLASH_ID_SIZE], id[FLASH_ID_SIZE];
    struct flash f;

    flash_clear_all();
    ck_assert_int_eq(flash_put("o", "", 0, "first", NULL, NULL, first), 0);
    for (int i = 0; i < FLASH_MAX + 5; i++)
        ck_assert_int_eq(flash_put("o", "", 0, "more", NULL, NULL, id), 0);
    ck_assert_int_eq(flash_take(id, "o", "", &f), 1);
    ck_assert_str_eq(f.text, "more");
}
END_TEST

START_TEST(status_titles)
{
    ck_assert_str_eq(web_status_title(404), "Not found");
    ck_assert_str_eq(web_status_title(405), "Method not allowed");
    ck_assert_str_eq(web_status_title(502), "Server error");
}
END_TEST

/* The WAL of a watched connection is checkpointed by the checkpointer's
 * thread once it passes CHECKPOINTER_PAGES, and nothing written is lost. */
START_TEST(checkpointer_checkpoints_on_its_own_thread)
{
    char *tmp = tk_tempdir(), *path = tk_path(tmp, "ckpt.db");
    struct checkpointer *c = NULL;
    sqlite3 *db = NULL;
    int64_t deadline;

    ck_assert_int_eq(fs_db_open(path, &db), FS_OK);
    ck_assert_int_eq(db_exec_script(db, "CREATE TABLE t (b BLOB)"), SQLITE_OK);
    ck_assert_int_eq(checkpointer_start(path, db, &c), 0);
    ck_assert_uint_eq(checkpointer_count(c), 0);
    /* 30 commits of 100 rows of about a page each: 3 times the threshold. */
    for (int i = 0; i < 30; i++) {
        ck_assert_int_eq(db_begin(db), SQLITE_OK);
        ck_assert_int_eq(db_exec(db,
                                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                                 " WHERE i < 100) INSERT INTO t SELECT randomblob(3900) FROM n",
                                 ""),
                         SQLITE_DONE);
        ck_assert_int_eq(db_commit(db), SQLITE_OK);
    }
    deadline = tk_now_ms() + 10000;
    while (checkpointer_count(c) == 0 && tk_now_ms() < deadline)
        usleep(10000);
    ck_assert_uint_ge(checkpointer_count(c), 1);
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT count(*) FROM t", ""), 3000);
    checkpointer_stop(c);
    ck_assert_int_eq(db_exec(db, "INSERT INTO t VALUES (x'00')", ""), SQLITE_DONE);
    ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
    tk_rmtree(tmp);
    free(path);
    free(tmp);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("support");
    TCase *bodies = tcase_create("bodies");
    TCase *pure = tcase_create("pure");

    tcase_add_checked_fixture(bodies, setup, teardown);
    tcase_add_test(bodies, form_fields_are_decoded);
    tcase_add_test(bodies, form_bad_escape_is_400);
    tcase_add_test(bodies, json_object_fields);
    tcase_add_test(bodies, broken_json_is_400);
    tcase_add_test(bodies, unknown_content_type_is_400);
    tcase_add_test(bodies, text_a_feed_cannot_carry_is_400);
    tcase_add_test(bodies, wrong_json_types_are_400);
    tcase_add_test(pure, whole_numbers);
    tcase_add_test(pure, escaping);
    tcase_add_test(pure, command_lines);
    tcase_add_test(pure, command_line_values);
    tcase_add_test(pure, log_level_filters);
    tcase_add_test(pure, log_lines_escape_every_value);
    tcase_add_test(pure, db_add_column_only_when_missing);
    tcase_add_test(pure, checkpointer_checkpoints_on_its_own_thread);
    tcase_add_test(pure, flash_is_taken_once_by_its_owner);
    tcase_add_test(pure, flash_table_keeps_the_newest);
    tcase_add_test(pure, status_titles);
    suite_add_tcase(s, bodies);
    suite_add_tcase(s, pure);
    return tk_run(s);
}
