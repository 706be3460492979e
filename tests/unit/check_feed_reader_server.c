/*
 * check_feed_reader_server.c - the follower against the real feed-server
 * library, in process on a loopback port: the paging walk, long-poll,
 * tokens, and a producer whose database is replaced by an older or another
 * copy (the feed goes backwards).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "feedreader.h"
#include "feedserver.h"
#include "testkit.h"

struct env {
    char *dir, *prod_path;
    struct fs_server *srv;
    unsigned port;
    char url[128];
    sqlite3 *prod, *cons;
    struct fr_follower *f;
};

static const char *const tokens[] = {"s3cret"};

static int on_usage(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                    void *userdata)
{
    sqlite3_stmt *st;
    int rc;

    (void)userdata;
    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "INSERT INTO applied (id, pos, customer) VALUES (?1, ?2, ?3)", -1,
                           &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, e->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, e->position);
    sqlite3_bind_text(st, 3, fr_entry_field(e, "customerId"), -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(why, why_size, "insert failed: %s", sqlite3_errmsg(db));
        return 1;
    }
    return 0;
}

/* Appends n entries to the producer's feed "u", one transaction. */
static void append(sqlite3 *db, int n)
{
    struct fs_feed *u;

    ck_assert_int_eq(fs_feed_open(db, "u", &u), FS_OK);
    ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    for (int i = 0; i < n; i++) {
        char cust[32];
        struct fs_field fields[] = {{"customerId", cust}, {"units", "3"}};
        struct fs_event ev = {.type = "UsageRecorded", .fields = fields, .nfields = 2};
        int64_t pos;

        snprintf(cust, sizeof cust, "cus_%d", i);
        ck_assert_int_eq(fs_feed_append(u, &ev, &pos), FS_OK);
    }
    ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    fs_feed_close(u);
}

/* Serves prod_path on port (0: any) with or without the token. */
static void serve(struct env *e, unsigned port, int with_token)
{
    char listen[64];
    struct fs_server_config cfg = {.listen = listen, .db_path = e->prod_path};

    if (with_token) {
        cfg.tokens = tokens;
        cfg.ntokens = 1;
    }
    snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
    ck_assert_int_eq(fs_server_open(&cfg, &e->srv), FS_OK);
    ck_assert_int_eq(fs_server_feed(e->srv, "u"), FS_OK);
    ck_assert_int_eq(fs_server_start(e->srv), FS_OK);
    e->port = fs_server_port(e->srv);
    snprintf(e->url, sizeof e->url, "http://127.0.0.1:%u/feeds/u", e->port);
}

/* Opens the follower, asking for long-polls of wait seconds. */
static void open_follower_wait(struct env *e, const char *token, unsigned wait)
{
    struct fr_config cfg = {.feed_url = e->url,
                            .db = e->cons,
                            .token = token,
                            .wait = wait,
                            .connect_timeout = 1,
                            .read_timeout = 2,
                            .max_backoff_ms = 200};

    fr_follower_close(e->f);
    e->f = NULL;
    ck_assert_int_eq(fr_follower_open(&cfg, &e->f), FR_OK);
    ck_assert_int_eq(fr_follower_on(e->f, "UsageRecorded", on_usage, NULL), FR_OK);
}

static void open_follower(struct env *e, const char *token)
{
    open_follower_wait(e, token, 2);
}

static void env_init(struct env *e, int n, int with_token)
{
    char *cons;

    memset(e, 0, sizeof *e);
    e->dir = tk_tempdir();
    e->prod_path = tk_path(e->dir, "prod.db");
    cons = tk_path(e->dir, "cons.db");
    ck_assert_int_eq(fs_db_open(e->prod_path, &e->prod), FS_OK);
    ck_assert_int_eq(fs_feed_declare(e->prod, "u", 5), FS_OK);
    if (n > 0)
        append(e->prod, n);
    ck_assert_int_eq(sqlite3_open(cons, &e->cons), SQLITE_OK);
    free(cons);
    ck_assert_int_eq(sqlite3_exec(e->cons,
                                  "PRAGMA journal_mode=WAL;"
                                  "CREATE TABLE applied (id TEXT UNIQUE NOT NULL,"
                                  " pos INTEGER UNIQUE NOT NULL, customer TEXT)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    serve(e, 0, with_token);
    open_follower(e, with_token ? "s3cret" : NULL);
}

static void env_release(struct env *e)
{
    fr_follower_close(e->f);
    fs_server_close(e->srv);
    sqlite3_close(e->prod);
    sqlite3_close(e->cons);
    tk_rmtree(e->dir);
    free(e->dir);
    free(e->prod_path);
}

/* Steps (long-polling at the head: the server learns of an append made on
 * another connection a few ms later) until position want. */
static void catch_up(struct env *e, long long want)
{
    for (int i = 0; i < 100 && fr_follower_position(e->f) < want; i++) {
        enum fr_error err = fr_follower_step(e->f, 1);
        ck_assert_msg(err == FR_OK, "step: %s: %s", fr_strerror(err), fr_follower_last_error(e->f));
    }
    ck_assert_int_eq(fr_follower_position(e->f), want);
}

static void assert_applied(const struct env *e, long long n)
{
    ck_assert_int_eq(tk_query_int(e->cons, "SELECT count(*) FROM applied"), n);
    ck_assert_int_eq(tk_query_int(e->cons, "SELECT count(DISTINCT id) FROM applied"), n);
    ck_assert_int_eq(tk_query_int(e->cons, "SELECT max(pos) FROM applied"), n);
    ck_assert_int_eq(tk_query_int(e->cons, "SELECT count(*) FROM applied WHERE customer IS NULL"),
                     0);
    ck_assert_int_eq(tk_query_int(e->cons, "SELECT position FROM feed_followers"), n);
}

/* The stored id of entry pos in the producer. */
static int copy_id(const struct fs_entry *entry, void *userdata)
{
    snprintf(userdata, 64, "%s", entry->id);
    return 1;
}

static void walk_from(long long from)
{
    struct env e;
    char id[64] = "", sql[512];

    env_init(&e, 23, 0);
    if (from > 0) {
        struct fs_feed *u;

        ck_assert_int_eq(fs_feed_open(e.prod, "u", &u), FS_OK);
        ck_assert_int_eq(fs_feed_read(u, from, from, copy_id, id), FS_OK);
        fs_feed_close(u);
        snprintf(
            sql, sizeof sql,
            "INSERT INTO feed_followers (feed_url, position, last_id) VALUES ('%s', %lld, '%s');"
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < %lld)"
            " INSERT INTO applied SELECT 'x' || i, i, 'c' FROM k",
            e.url, from, id, from);
        ck_assert_int_eq(sqlite3_exec(e.cons, sql, NULL, NULL, NULL), SQLITE_OK);
        open_follower(&e, NULL);
    }
    catch_up(&e, 23);
    assert_applied(&e, 23);
    append(e.prod, 9);
    catch_up(&e, 32);
    assert_applied(&e, 32);
    env_release(&e);
}

/* Requires customerId and units, and also keyId, which no entry has, while
 * *userdata is non-zero: one fr_entry_fields() call decides. */
static int on_usage_fields(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                           void *userdata)
{
    static const char *const present[] = {"customerId", "units"};
    static const char *const absent[] = {"customerId", "keyId"};
    const char *v[2];

    (void)db;
    if (fr_entry_fields(e, *(int *)userdata ? absent : present, v, 2, why, why_size) != 0)
        return FR_HANDLER_REFUSE;
    ck_assert_str_eq(v[1], "3");
    return FR_HANDLER_OK;
}

START_TEST(t_required_fields_in_one_call)
{
    struct env e;
    struct fr_config cfg;
    int missing = 1;

    env_init(&e, 2, 0);
    cfg = (struct fr_config){.feed_url = e.url, .db = e.cons, .wait = 1};
    for (int round = 0; round < 2; round++) {
        fr_follower_close(e.f);
        e.f = NULL;
        ck_assert_int_eq(fr_follower_open(&cfg, &e.f), FR_OK);
        ck_assert_int_eq(fr_follower_on(e.f, "UsageRecorded", on_usage_fields, &missing), FR_OK);
        if (missing) {
            ck_assert_int_eq(fr_follower_step(e.f, 0), FR_ERR_REFUSED);
            ck_assert_ptr_nonnull(
                strstr(fr_follower_last_error(e.f), "UsageRecorded at position 1 has no keyId"));
            ck_assert_int_eq(fr_follower_position(e.f), 0);
        } else {
            ck_assert_int_eq(fr_follower_step(e.f, 0), FR_OK);
            ck_assert_int_eq(fr_follower_position(e.f), 2);
        }
        missing = 0;
    }
    env_release(&e);
}
END_TEST

START_TEST(t_walk_from_0)
{
    walk_from(0);
}
END_TEST
START_TEST(t_walk_from_7)
{
    walk_from(7);
}
END_TEST
START_TEST(t_walk_from_10)
{
    walk_from(10);
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

static long long applied_now(const struct env *e, long long want, int ms)
{
    char *path = tk_path(e->dir, "cons.db");
    int64_t end = tk_now_ms() + ms;
    sqlite3 *db;
    long long n = -1;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    free(path);
    sqlite3_busy_timeout(db, 2000);
    while (tk_now_ms() < end && (n = tk_query_int(db, "SELECT count(*) FROM applied")) < want)
        usleep(5000);
    sqlite3_close(db);
    return n;
}

/* Waits at most 5 s until the server holds a long-poll. */
static void wait_held(const struct env *e)
{
    struct fs_server_stats st = {0};

    for (int64_t end = tk_now_ms() + 5000; tk_now_ms() < end; usleep(2000)) {
        fs_server_stats(e->srv, &st);
        if (st.long_polls_held >= 1)
            return;
    }
    ck_abort_msg("the follower does not long-poll the head");
}

/* Long-poll: an entry appended while the follower's long-poll is held
 * wakes it and is applied; a stop ends a held long-poll. The follower asks
 * for 20 s holds, so only a wake-up (or the stop) ends one within the
 * 10 s each step is given. */
START_TEST(t_long_poll)
{
    struct env e;
    struct runner r;
    struct fs_server_stats st;
    struct timespec until;
    pthread_t th;

    env_init(&e, 3, 1);
    open_follower_wait(&e, "s3cret", 20);
    r.f = e.f;
    ck_assert_int_eq(pthread_create(&th, NULL, run_thread, &r), 0);
    ck_assert_int_eq(applied_now(&e, 3, 5000), 3);
    for (int i = 1; i <= 8; i++) {
        wait_held(&e);
        append(e.prod, 1);
        ck_assert_int_eq(applied_now(&e, 3 + i, 10000), 3 + i);
    }
    fs_server_stats(e.srv, &st);
    ck_assert_uint_ge(st.long_polls_woken, 8);
    wait_held(&e);
    fr_follower_stop(e.f);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    ck_assert_msg(pthread_timedjoin_np(th, NULL, &until) == 0, "a stop did not end the held poll");
    ck_assert_int_eq(r.result, FR_ERR_STOPPED);
    assert_applied(&e, 11);
    env_release(&e);
}
END_TEST

START_TEST(t_token)
{
    struct env e;

    env_init(&e, 3, 1);
    open_follower(&e, "wrong");
    ck_assert_int_eq(fr_follower_step(e.f, 0), FR_ERR_HTTP);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(e.f), "401"));
    ck_assert_int_eq(tk_query_int(e.cons, "SELECT count(*) FROM applied"), 0);
    open_follower(&e, "s3cret");
    catch_up(&e, 3);
    assert_applied(&e, 3);
    env_release(&e);
}
END_TEST

/* Replaces the producer's database file by the one at path and serves it on
 * the same port. */
static void replace_producer(struct env *e, const char *path)
{
    unsigned port = e->port;
    char *wal, *shm;

    fs_server_close(e->srv);
    e->srv = NULL;
    sqlite3_close(e->prod);
    e->prod = NULL;
    wal = tk_path(e->dir, "prod.db-wal");
    shm = tk_path(e->dir, "prod.db-shm");
    unlink(wal);
    unlink(shm);
    free(wal);
    free(shm);
    ck_assert_int_eq(rename(path, e->prod_path), 0);
    ck_assert_int_eq(fs_db_open(e->prod_path, &e->prod), FS_OK);
    serve(e, port, 0);
}

/* A backup of the producer's database taken now, at path. */
static void backup(struct env *e, const char *path)
{
    sqlite3 *dst;
    sqlite3_backup *b;

    ck_assert_int_eq(sqlite3_open(path, &dst), SQLITE_OK);
    b = sqlite3_backup_init(dst, "main", e->prod, "main");
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(sqlite3_backup_step(b, -1), SQLITE_DONE);
    sqlite3_backup_finish(b);
    sqlite3_close(dst);
}

START_TEST(t_restored_older_copy)
{
    struct env e;
    char *old;

    env_init(&e, 12, 0);
    old = tk_path(e.dir, "old.db");
    backup(&e, old);
    append(e.prod, 11);
    catch_up(&e, 23);
    replace_producer(&e, old);
    ck_assert_int_eq(fr_follower_step(e.f, 0), FR_ERR_BACKWARDS);
    open_follower(&e, NULL);
    ck_assert_int_eq(fr_follower_run(e.f), FR_ERR_BACKWARDS);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(e.f), "backwards"));
    assert_applied(&e, 23);
    free(old);
    env_release(&e);
}
END_TEST

/* The feed's id in the producer's database db. */
static void feed_uuid(sqlite3 *db, char out[64])
{
    sqlite3_stmt *st;

    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "SELECT uuid FROM fs_feeds WHERE name = 'u'", -1, &st, NULL),
        SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, 64, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/* A producer database with n other entries; with uuid, of that feed id
 * (as a copy of the same feed that went another way), else of its own. */
static char *other_producer(struct env *e, int n, const char *uuid)
{
    char *path = tk_path(e->dir, "other.db");
    sqlite3 *db;
    sqlite3_stmt *st;

    ck_assert_int_eq(fs_db_open(path, &db), FS_OK);
    ck_assert_int_eq(fs_feed_declare(db, "u", 5), FS_OK);
    append(db, n);
    if (uuid) {
        ck_assert_int_eq(
            sqlite3_prepare_v2(db, "UPDATE fs_feeds SET uuid = ?1 WHERE name = 'u'", -1, &st, NULL),
            SQLITE_OK);
        sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return path;
}

/* The restored copy of the same feed has since grown past the stored
 * position with other entries: the id at the stored position differs. */
START_TEST(t_restored_copy_with_other_ids)
{
    struct env e;
    char uuid[64], *other;

    env_init(&e, 18, 0);
    catch_up(&e, 18);
    feed_uuid(e.prod, uuid);
    other = other_producer(&e, 25, uuid);
    replace_producer(&e, other);
    open_follower(&e, NULL);
    ck_assert_int_eq(fr_follower_run(e.f), FR_ERR_BACKWARDS);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(e.f), "id"));
    assert_applied(&e, 18);
    free(other);
    env_release(&e);
}
END_TEST

/* Another feed (another id) now answers at the URL: the follower stops,
 * applying nothing of it, whether it was running or restarted. */
START_TEST(t_other_feed_at_url)
{
    struct env e;
    char *other;

    env_init(&e, 18, 0);
    catch_up(&e, 18);
    other = other_producer(&e, 25, NULL);
    replace_producer(&e, other);
    ck_assert_int_eq(fr_follower_run(e.f), FR_ERR_OTHER_FEED);
    open_follower(&e, NULL);
    ck_assert_int_eq(fr_follower_run(e.f), FR_ERR_OTHER_FEED);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(e.f), "another feed"));
    assert_applied(&e, 18);
    free(other);
    env_release(&e);
}
END_TEST

static void on_status(const struct fr_status *st, void *userdata)
{
    ck_assert_str_eq(st->feed_id, userdata);
    ck_assert_int_eq(st->position, 30);
    ck_assert_ptr_nonnull(strstr(st->feed_url, "http://localhost:"));
}

/* The same feed reached by another host name continues from the position
 * stored for it: nothing applied twice, one state, shown with its id. */
START_TEST(t_same_feed_by_host_name)
{
    struct env e;
    char uuid[64], id[80];

    env_init(&e, 23, 0);
    catch_up(&e, 23);
    feed_uuid(e.prod, uuid);
    snprintf(id, sizeof id, "urn:uuid:%s", uuid);
    ck_assert_str_eq(fr_follower_feed_id(e.f), id);
    snprintf(e.url, sizeof e.url, "http://localhost:%u/feeds/u", e.port);
    open_follower(&e, NULL);
    append(e.prod, 7);
    catch_up(&e, 30);
    assert_applied(&e, 30);
    ck_assert_int_eq(tk_query_int(e.cons, "SELECT count(*) FROM feed_followers"), 1);
    ck_assert_int_eq(fr_status_list(e.cons, on_status, id), FR_OK);
    env_release(&e);
}
END_TEST

/* The consumer's database held by another connection (BEGIN EXCLUSIVE, as
 * `sqlite3 DB 'BEGIN EXCLUSIVE; ...'` would) while entries arrive: the
 * running follower keeps trying and applies them once the lock is gone. */
START_TEST(t_busy_while_running)
{
    struct env e;
    struct runner r = {0};
    struct fs_server_stats st0, st = {0};
    pthread_t th;
    sqlite3 *locker;
    char *path;

    env_init(&e, 3, 0);
    fr_follower_close(e.f);
    e.f = NULL;
    ck_assert_int_eq(fr_follower_open(&(struct fr_config){.feed_url = e.url,
                                                          .db = e.cons,
                                                          .wait = 2,
                                                          .connect_timeout = 1,
                                                          .read_timeout = 2,
                                                          .max_backoff_ms = 200,
                                                          .busy_timeout_ms = 100},
                                      &e.f),
                     FR_OK);
    ck_assert_int_eq(fr_follower_on(e.f, "UsageRecorded", on_usage, NULL), FR_OK);
    r.f = e.f;
    r.result = FR_OK;
    ck_assert_int_eq(pthread_create(&th, NULL, run_thread, &r), 0);
    ck_assert_int_eq(applied_now(&e, 3, 5000), 3);
    path = tk_path(e.dir, "cons.db");
    ck_assert_int_eq(sqlite3_open(path, &locker), SQLITE_OK);
    free(path);
    ck_assert_int_eq(sqlite3_exec(locker, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    fs_server_stats(e.srv, &st0);
    append(e.prod, 4);
    /* The follower meets the lock (the entries it fetched are not applied)
     * and goes on trying, fetching the head again after each back-off:
     * wait until it has tried three more times. */
    for (int64_t end = tk_now_ms() + 10000; tk_now_ms() < end; usleep(20000)) {
        fs_server_stats(e.srv, &st);
        if (st.requests >= st0.requests + 3)
            break;
    }
    ck_assert_uint_ge(st.requests, st0.requests + 3);
    ck_assert_int_eq(tk_query_int(locker, "SELECT count(*) FROM applied"), 3);
    ck_assert_int_eq(pthread_tryjoin_np(th, NULL), EBUSY); /* still following */
    ck_assert_int_eq(sqlite3_exec(locker, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(applied_now(&e, 7, 5000), 7);
    ck_assert_int_eq(pthread_tryjoin_np(th, NULL), EBUSY);
    fr_follower_stop(e.f);
    pthread_join(th, NULL);
    ck_assert_int_eq(r.result, FR_ERR_STOPPED);
    assert_applied(&e, 7);
    ck_assert_int_eq(tk_query_int(e.cons, "SELECT count(*) FROM feed_followers"
                                          " WHERE errors > 0 AND last_error LIKE '%busy%'"),
                     1);
    sqlite3_close(locker);
    env_release(&e);
}
END_TEST

/* Counts the follower's log lines: errors, and the line that ends a
 * storage fault. */
struct log_count {
    int errors, writable_again;
    char last_attempts[24];
};

static void count_lines(enum fr_log_level level, const char *msg, const char *const *keys,
                        const char *const *values, size_t n, void *userdata)
{
    struct log_count *c = userdata;

    if (level >= FR_LOG_ERROR)
        c->errors++;
    if (strcmp(msg, "the database can be written again") == 0) {
        c->writable_again++;
        for (size_t i = 0; i < n; i++)
            if (strcmp(keys[i], "failed_attempts") == 0)
                snprintf(c->last_attempts, sizeof c->last_attempts, "%s", values[i]);
    }
}

/* Applies like on_usage(), plus 3 KB of padding per entry, so that every
 * entry needs a new page of the consumer's database. */
static int on_usage_padded(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                           void *userdata)
{
    int rc = on_usage(e, db, why, why_size, userdata);

    if (rc == 0 && sqlite3_exec(db, "INSERT INTO padding VALUES (zeroblob(3000))", NULL, NULL,
                                NULL) != SQLITE_OK) {
        snprintf(why, why_size, "padding: %s", sqlite3_errmsg(db));
        return 1;
    }
    return rc;
}

/* A full disk (the consumer's database may not grow: max_page_count at its
 * size, which SQLite answers with SQLITE_FULL as for a full disk) pauses
 * the follower without stopping it, applies nothing, logs the fault once
 * however many times it retries; once there is room, every entry is applied
 * exactly once and the end of the fault is logged once, with the count. */
START_TEST(t_disk_full_pauses)
{
    struct env e;
    struct log_count c = {0};
    long long pages;
    char sql[96];

    env_init(&e, 3, 0);
    ck_assert_int_eq(sqlite3_exec(e.cons, "CREATE TABLE padding (b BLOB)", NULL, NULL, NULL),
                     SQLITE_OK);
    fr_follower_close(e.f);
    e.f = NULL;
    ck_assert_int_eq(fr_follower_open(&(struct fr_config){.feed_url = e.url,
                                                          .db = e.cons,
                                                          .wait = 1,
                                                          .max_backoff_ms = 50,
                                                          .log = count_lines,
                                                          .log_userdata = &c},
                                      &e.f),
                     FR_OK);
    ck_assert_int_eq(fr_follower_on(e.f, "UsageRecorded", on_usage_padded, NULL), FR_OK);
    catch_up(&e, 3);
    append(e.prod, 10);
    pages = tk_query_int(e.cons, "PRAGMA page_count");
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", pages);
    ck_assert_int_eq(sqlite3_exec(e.cons, sql, NULL, NULL, NULL), SQLITE_OK);
    c.errors = 0;
    /* The server learns of the append made on another connection within a
     * few ms; until then a step finds nothing new. */
    for (int64_t end = tk_now_ms() + 5000; fr_follower_step(e.f, 0) == FR_OK && tk_now_ms() < end;)
        usleep(5000);
    for (int i = 1; i < 6; i++) {
        enum fr_error err = fr_follower_step(e.f, 0);

        ck_assert_msg(err == FR_ERR_STORAGE, "step %d: %s (%s)", i, fr_strerror(err),
                      fr_follower_last_error(e.f));
        ck_assert_int_eq(fr_follower_position(e.f), 3);
    }
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(e.f), "full"));
    ck_assert_int_eq(c.errors, 1);
    ck_assert_int_eq(c.writable_again, 0);
    ck_assert_int_eq(tk_query_int(e.cons, "SELECT count(*) FROM applied"), 3);

    ck_assert_int_eq(sqlite3_exec(e.cons, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL),
                     SQLITE_OK);
    catch_up(&e, 13);
    assert_applied(&e, 13);
    ck_assert_int_eq(c.errors, 1);
    ck_assert_int_eq(c.writable_again, 1);
    ck_assert_str_eq(c.last_attempts, "6");
    ck_assert_int_eq(tk_query_int(e.cons, "SELECT count(*) FROM feed_followers WHERE errors >= 6"
                                          " AND last_error LIKE '%cannot be written%'"),
                     1);
    env_release(&e);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("feed_reader_server");
    TCase *tc = tcase_create("server");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, t_walk_from_0);
    tcase_add_test(tc, t_walk_from_7);
    tcase_add_test(tc, t_walk_from_10);
    tcase_add_test(tc, t_long_poll);
    tcase_add_test(tc, t_token);
    tcase_add_test(tc, t_restored_older_copy);
    tcase_add_test(tc, t_restored_copy_with_other_ids);
    tcase_add_test(tc, t_other_feed_at_url);
    tcase_add_test(tc, t_same_feed_by_host_name);
    tcase_add_test(tc, t_busy_while_running);
    tcase_add_test(tc, t_disk_full_pauses);
    tcase_add_test(tc, t_required_fields_in_one_call);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run(suite());
}
