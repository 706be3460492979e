/*
 * check_cloud_api.c - the Cloud API's domain rules against temporary
 * databases: the analysis figures, the credential replica (each event type,
 * directly and through a real follower of a served feed), group-committed
 * metering (a call with an Idempotency-Key charged exactly once, however
 * its copies race), and the publication of usage windows exactly once, in
 * the shape of the contract sample tests/samples/usage/UsageRecorded.xml.
 * An empty replica built in bulk must end row for row as one built entry
 * by entry, also when the node is killed while staging or building.
 */
#include "analyze.h"
#include "credentials.h"
#include "credentials_bulk.h"
#include "credentials_follow.h"
#include "credit.h"
#include "db.h"
#include "feedreader.h"
#include "feedserver.h"
#include "idempotency.h"
#include "metering.h"
#include "replica.h"
#include "schema.h"
#include "secrets.h"
#include "strbuf.h"
#include "testkit.h"
#include "usage_windows.h"

#include <check.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- Fixture: a temporary database with the Cloud API's schema ---------- */

static char *dir;
static char *db_path;
static sqlite3 *db;

static void setup(void)
{
    dir = tk_tempdir();
    db_path = tk_path(dir, "cloud-api.db");
    ck_assert_int_eq(fs_db_open(db_path, &db), FS_OK);
    ck_assert_int_eq(schema_create_replica(db), 0);
    ck_assert_int_eq(schema_create_usage(db), 0);
}

/* Gives customer a credit of cents on this node, at 1 cent a unit, as a
 * CreditUpdated would (credit.h). */
static void grant(const char *customer, long long cents)
{
    char sql[256];

    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO credit_use(customer_id, credit_left_cents,"
             " unit_price_cents) VALUES ('%s', %lld, 1)",
             customer, cents);
    ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static void teardown(void)
{
    sqlite3_close(db);
    tk_rmtree(dir);
    free(db_path);
    free(dir);
}

/* ---- Analysis ------------------------------------------------------------ */

static void check_analysis(const char *text, size_t len, uint64_t chars, uint64_t words,
                           uint64_t lines)
{
    struct analysis a;

    analyze_text(text, len, &a);
    ck_assert_msg(a.characters == chars && a.words == words && a.lines == lines,
                  "'%s': got %llu/%llu/%llu, want %llu/%llu/%llu", text,
                  (unsigned long long)a.characters, (unsigned long long)a.words,
                  (unsigned long long)a.lines, (unsigned long long)chars, (unsigned long long)words,
                  (unsigned long long)lines);
    ck_assert_uint_eq(a.units, 1 + len / 1000);
}

START_TEST(test_analysis_figures)
{
    check_analysis("", 0, 0, 0, 0);
    check_analysis("a", 1, 1, 1, 1);
    check_analysis("a\n", 2, 2, 1, 1);
    check_analysis("a\nb", 3, 3, 2, 2);
    check_analysis("\n\n", 2, 2, 0, 2);
    check_analysis("  hello \t world\r\nsecond line", 28, 28, 4, 2);
    check_analysis("h\xc3\xa9llo w\xc3\xb6rld", 13, 11, 2, 1);
    check_analysis("\xf0\x9f\x98\x80 smile", 10, 7, 2, 1);
    /* invalid bytes: a stray continuation, a lone lead, an overlong form */
    check_analysis("\x80\xff", 2, 2, 1, 1);
    check_analysis("\xe2\x82", 2, 2, 1, 1);
    check_analysis("\xc0\xaf", 2, 2, 1, 1);
    check_analysis("a\0b", 3, 3, 1, 1);
}
END_TEST

START_TEST(test_units)
{
    ck_assert_uint_eq(analyze_units(0), 1);
    ck_assert_uint_eq(analyze_units(999), 1);
    ck_assert_uint_eq(analyze_units(1000), 2);
    ck_assert_uint_eq(analyze_units(2500), 3);
    ck_assert_uint_eq(analyze_units(1024 * 1024), 1049);
}
END_TEST

/* ---- Credential replica -------------------------------------------------- */

static const char key1[] = "kmOH4d1Wx6m9SVZE9mcTz4tagUOh5hn0I0JIxYptLr8";
static const char key2[] = "Q63wgyfW3F9D9HGMbqZ_KoSplEN57MtbYKAo_1hXoSM";
static const char key3[] = "third-key-of-the-second-user-xxxxxxxxxxxxxx";

static char *hash(const char *key)
{
    static char hex[4][65];
    static int next;
    char *h = hex[next++ % 4];

    ck_assert_int_eq(sha256_hex(key, strlen(key), h), 0);
    return h;
}

static enum credential_state state_of(struct key_lookup *kl, const char *key, struct credential *c)
{
    key_lookup_find(kl, key, strlen(key), c);
    return c->state;
}

START_TEST(test_hash_matches_contract)
{
    /* The sample pair published in tests/samples/subscriptions/README. */
    ck_assert_str_eq(hash(key1),
                     "a6e69f9d0527be5055332dee561f47182baa4258f479a9a4b73f45e3a6af53a3");
    ck_assert(replica_is_sha256_hex(hash(key2)));
    ck_assert(!replica_is_sha256_hex("abc"));
    ck_assert(
        !replica_is_sha256_hex("g6e69f9d0527be5055332dee561f47182baa4258f479a9a4b73f45e3a6af53a3"));
}
END_TEST

START_TEST(test_replica_rules)
{
    struct key_lookup *kl;
    struct credential c;
    char upper[65];

    ck_assert_int_eq(key_lookup_open(db_path, &kl), 0);
    ck_assert_int_eq(state_of(kl, key1, &c), CREDENTIAL_UNKNOWN);

    ck_assert_int_eq(credentials_apply_customer_registered(db, "c1", "Acme", "payg"), 0);
    ck_assert_int_eq(credentials_apply_user_added(db, "c1", "u1", "a@x.io", "k1", hash(key1)), 0);
    ck_assert_int_eq(state_of(kl, key1, &c), CREDENTIAL_VALID);
    ck_assert_str_eq(c.key_id, "k1");
    ck_assert_str_eq(c.user_id, "u1");
    ck_assert_str_eq(c.customer_id, "c1");

    /* upper-case hex in the feed is accepted */
    for (int i = 0; i < 64; i++) {
        char ch = hash(key2)[i];
        upper[i] = (ch >= 'a' && ch <= 'f') ? (char)(ch - 'a' + 'A') : ch;
    }
    upper[64] = '\0';
    ck_assert_int_eq(credentials_apply_key_issued(db, "c1", "u1", "k2", upper), 0);
    ck_assert_int_eq(state_of(kl, key2, &c), CREDENTIAL_VALID);
    ck_assert_str_eq(c.key_id, "k2");

    /* a revocation names the key of one user only */
    ck_assert_int_eq(credentials_apply_key_revoked(db, "u-other", "k1"), 0);
    ck_assert_int_eq(state_of(kl, key1, &c), CREDENTIAL_VALID);
    ck_assert_int_eq(credentials_apply_key_revoked(db, "u1", "k1"), 0);
    ck_assert_int_eq(state_of(kl, key1, &c), CREDENTIAL_REVOKED);
    ck_assert_int_eq(state_of(kl, key2, &c), CREDENTIAL_VALID);

    ck_assert_int_eq(credentials_apply_customer_locked(db, "c1", "overdraft"), 0);
    ck_assert_int_eq(state_of(kl, key2, &c), CREDENTIAL_LOCKED);
    ck_assert_str_eq(c.lock_reason, "overdraft");
    ck_assert_int_eq(state_of(kl, key1, &c), CREDENTIAL_REVOKED);
    ck_assert_int_eq(credentials_apply_customer_unlocked(db, "c1"), 0);
    ck_assert_int_eq(state_of(kl, key2, &c), CREDENTIAL_VALID);

    /* a second user of the customer; removing the first leaves it alone */
    ck_assert_int_eq(credentials_apply_user_added(db, "c1", "u2", NULL, "k3", hash(key3)), 0);
    ck_assert_int_eq(credentials_apply_user_removed(db, "c1", "u1"), 0);
    ck_assert_int_eq(state_of(kl, key2, &c), CREDENTIAL_USER_REMOVED);
    ck_assert_int_eq(state_of(kl, key3, &c), CREDENTIAL_VALID);

    /* re-adding the removed user does not revive their old keys */
    ck_assert_int_eq(credentials_apply_user_added(db, "c1", "u1", "a@x.io", "k4", hash("new")), 0);
    ck_assert_int_eq(state_of(kl, "new", &c), CREDENTIAL_VALID);
    ck_assert_int_eq(state_of(kl, key2, &c), CREDENTIAL_REVOKED);

    /* a lock that arrives before its customer is remembered */
    ck_assert_int_eq(credentials_apply_customer_locked(db, "c9", "manual"), 0);
    ck_assert_int_eq(credentials_apply_user_added(db, "c9", "u9", NULL, "k9", hash("nine")), 0);
    ck_assert_int_eq(state_of(kl, "nine", &c), CREDENTIAL_LOCKED);
    ck_assert_str_eq(c.lock_reason, "manual");
    key_lookup_close(kl);
}
END_TEST

/* ---- The follower over a served feed -------------------------------------- */

static void append_event(sqlite3 *pdb, const char *type, const struct fs_field *fields, size_t n)
{
    struct fs_event ev = {NULL, type, 1, NULL, fields, n};

    ck_assert_int_eq(sqlite3_exec(pdb, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(db_feed_append(pdb, "subscriptions", &ev, NULL), FS_OK);
    ck_assert_int_eq(sqlite3_exec(pdb, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
}

/* Steps f until it has applied position, for at most 5 s: the server learns
 * of entries committed by other connections within a short interval. */
static void follow_to(struct fr_follower *f, int64_t position)
{
    int64_t deadline = tk_now_ms() + 5000;

    while (fr_follower_position(f) < position && tk_now_ms() < deadline) {
        ck_assert_int_eq(fr_follower_step(f, 0), FR_OK);
        if (fr_follower_position(f) < position)
            usleep(20000);
    }
    ck_assert_int_eq(fr_follower_position(f), position);
}

/* The replica as versions before 2026-12 made it: users without their list
 * of keys, keys indexed by id and by user. */
static const char old_replica_sql[] =
    "CREATE TABLE replica_users (user_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL,"
    " email TEXT, removed INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE replica_keys (key_sha256 TEXT PRIMARY KEY, key_id TEXT NOT NULL,"
    " user_id TEXT NOT NULL, customer_id TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)"
    " WITHOUT ROWID;"
    "CREATE INDEX replica_keys_by_id ON replica_keys(key_id);"
    "CREATE INDEX replica_keys_by_user ON replica_keys(user_id);"
    "INSERT INTO replica_users(user_id, customer_id) VALUES ('u1', 'c1'), ('u3', 'c1');"
    "INSERT INTO replica_keys(key_sha256, key_id, user_id, customer_id) VALUES"
    " ('aa', 'k1', 'u1', 'c1'), ('bb', 'k2', 'u1', 'c1'), ('cc', 'k3', 'u2', 'c2');";

/* The plan of sql on d names the primary key of replica_keys, not a scan. */
static void check_plan_uses_key(sqlite3 *d, const char *sql)
{
    sqlite3_stmt *plan;
    int by_key = 0;

    ck_assert_int_eq(sqlite3_prepare_v2(d, sql, -1, &plan, NULL), SQLITE_OK);
    while (sqlite3_step(plan) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(plan, 3);

        ck_assert_msg(!strstr(detail, "SCAN replica_keys"), "%s: %s", sql, detail);
        if (strstr(detail, "replica_keys USING PRIMARY KEY"))
            by_key = 1;
    }
    sqlite3_finalize(plan);
    ck_assert_msg(by_key, "%s does not use replica_keys' primary key", sql);
}

/* A replica made before users listed their keys: the schema step lists
 * every key in its user's row (making the row of a user only a key names),
 * drops the indexes by user and by key id, and keeps the rows; revocations
 * and removals then find the keys through the lists, by primary key. */
START_TEST(test_replica_migrates_to_key_lists)
{
    char *path = tk_path(dir, "old.db");
    sqlite3 *old;

    ck_assert_int_eq(fs_db_open(path, &old), FS_OK);
    ck_assert_int_eq(sqlite3_exec(old, old_replica_sql, NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(schema_create_replica(old), 0);
    ck_assert_int_eq(tk_query_int(old, "SELECT count(*) FROM sqlite_schema WHERE name IN"
                                       " ('replica_keys_by_id', 'replica_keys_by_user')"),
                     0);
    ck_assert_int_eq(tk_query_int(old, "SELECT count(*) FROM replica_keys"), 3);
    ck_assert_int_eq(tk_query_int(old, "SELECT keys = '[\"aa\",\"bb\"]' FROM replica_users"
                                       " WHERE user_id = 'u1'"),
                     1);
    ck_assert_int_eq(tk_query_int(old, "SELECT keys = '[\"cc\"]' AND customer_id = 'c2'"
                                       " FROM replica_users WHERE user_id = 'u2'"),
                     1);
    ck_assert_int_eq(tk_query_int(old, "SELECT keys FROM replica_users WHERE user_id = 'u3'"), 0);
    /* Run again, as every start does: nothing changes. */
    ck_assert_int_eq(schema_create_replica(old), 0);
    ck_assert_int_eq(tk_query_int(old, "SELECT count(*) FROM replica_users"), 3);

    ck_assert_int_eq(credentials_apply_key_revoked(old, "u1", "k2"), 0);
    ck_assert_int_eq(tk_query_int(old, "SELECT revoked FROM replica_keys WHERE key_id = 'k2'"), 1);
    ck_assert_int_eq(tk_query_int(old, "SELECT revoked FROM replica_keys WHERE key_id = 'k1'"), 0);
    ck_assert_int_eq(credentials_apply_user_removed(old, "c2", "u2"), 0);
    ck_assert_int_eq(tk_query_int(old, "SELECT revoked FROM replica_keys WHERE key_id = 'k3'"), 1);
    /* A key issued after the migration joins its user's list once. */
    ck_assert_int_eq(credentials_apply_key_issued(old, "c1", "u1", "k4", hash(key1)), 0);
    ck_assert_int_eq(credentials_apply_key_issued(old, "c1", "u1", "k4", hash(key1)), 0);
    ck_assert_int_eq(tk_query_int(old, "SELECT json_array_length(keys) FROM replica_users"
                                       " WHERE user_id = 'u1'"),
                     3);
    ck_assert_int_eq(credentials_apply_user_removed(old, "c1", "u1"), 0);
    ck_assert_int_eq(tk_query_int(old, "SELECT count(*) FROM replica_keys WHERE user_id = 'u1'"
                                       " AND revoked = 0"),
                     0);
    check_plan_uses_key(old, "EXPLAIN QUERY PLAN UPDATE replica_keys SET revoked = 1 WHERE"
                             " key_sha256 IN (SELECT value FROM json_each((SELECT keys FROM"
                             " replica_users WHERE user_id = 'u1'))) AND user_id = 'u1'");
    sqlite3_close(old);
    free(path);
}
END_TEST

START_TEST(test_follower_applies_every_type)
{
    char *pdb_path = tk_path(dir, "subscriptions.db");
    sqlite3 *pdb, *cdb;
    struct fs_server *server;
    struct fs_server_config cfg;
    struct fr_follower *f;
    struct fr_config fc;
    struct key_lookup *kl;
    struct credential c;
    char url[128];
    const struct fs_field reg[] = {{"customerId", "c1"}, {"name", "Acme"}, {"plan", "payg"}};
    const struct fs_field added[] = {{"customerId", "c1"},      {"userId", "u1"},
                                     {"email", "a@x.io"},       {"keyId", "k1"},
                                     {"keySha256", hash(key1)}, {"futureField", "ignored"}};
    const struct fs_field issued[] = {
        {"customerId", "c1"}, {"userId", "u1"}, {"keyId", "k2"}, {"keySha256", hash(key2)}};
    const struct fs_field revoked[] = {{"customerId", "c1"}, {"userId", "u1"}, {"keyId", "k1"}};
    const struct fs_field unknown[] = {{"customerId", "c1"}, {"whatever", "1"}};
    const struct fs_field lock[] = {{"customerId", "c1"}, {"reason", "manual"}};
    const struct fs_field unlock[] = {{"customerId", "c1"}};
    const struct fs_field removed[] = {{"customerId", "c1"}, {"userId", "u1"}};
    const struct fs_field credit[] = {{"customerId", "c1"},
                                      {"creditLeftCents", "1000"},
                                      {"unitPriceCents", "1"},
                                      {"chargedThrough", "node-1=3"}};
    int64_t head = 0;
    struct fs_feed *feed;

    ck_assert_int_eq(fs_db_open(pdb_path, &pdb), FS_OK);
    ck_assert_int_eq(fs_feed_declare(pdb, "subscriptions", 3), FS_OK);
    memset(&cfg, 0, sizeof cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.db_path = pdb_path;
    ck_assert_int_eq(fs_server_open(&cfg, &server), FS_OK);
    ck_assert_int_eq(fs_server_feed(server, "subscriptions"), FS_OK);
    ck_assert_int_eq(fs_server_start(server), FS_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/feeds/subscriptions", fs_server_port(server));

    ck_assert_int_eq(fs_db_open(db_path, &cdb), FS_OK);
    memset(&fc, 0, sizeof fc);
    fc.feed_url = url;
    fc.db = cdb;
    ck_assert_int_eq(fr_follower_open(&fc, &f), FR_OK);
    ck_assert_int_eq(credentials_follow_setup(f, cdb, NULL), 0);
    ck_assert_int_eq(key_lookup_open(db_path, &kl), 0);

    append_event(pdb, "CustomerRegistered", reg, 3);
    append_event(pdb, "UserAdded", added, 6);
    append_event(pdb, "LoginKeyIssued", issued, 4);
    append_event(pdb, "SomethingNew", unknown, 2);
    follow_to(f, 4);
    ck_assert_int_eq(fr_follower_position(f), 4);
    ck_assert_int_eq(state_of(kl, key1, &c), CREDENTIAL_VALID);
    ck_assert_int_eq(state_of(kl, key2, &c), CREDENTIAL_VALID);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM replica_customers WHERE name = 'Acme'"
                                      " AND plan = 'payg'"),
                     1);

    append_event(pdb, "LoginKeyRevoked", revoked, 3);
    append_event(pdb, "CustomerLocked", lock, 2);
    follow_to(f, 6);
    ck_assert_int_eq(state_of(kl, key1, &c), CREDENTIAL_REVOKED);
    ck_assert_int_eq(state_of(kl, key2, &c), CREDENTIAL_LOCKED);
    ck_assert_str_eq(c.lock_reason, "manual");

    append_event(pdb, "CustomerUnlocked", unlock, 1);
    follow_to(f, 7);
    ck_assert_int_eq(state_of(kl, key2, &c), CREDENTIAL_VALID);

    append_event(pdb, "UserRemoved", removed, 2);
    append_event(pdb, "CreditUpdated", credit, 4);
    follow_to(f, 9);
    ck_assert_int_eq(tk_query_int(db, "SELECT credit_left_cents FROM credit_use"
                                      " WHERE customer_id = 'c1' AND unit_price_cents = 1"),
                     1000);
    ck_assert_int_eq(state_of(kl, key2, &c), CREDENTIAL_USER_REMOVED);
    ck_assert_int_eq(fs_feed_open(pdb, "subscriptions", &feed), FS_OK);
    ck_assert_int_eq(fs_feed_head(feed, &head), FS_OK);
    fs_feed_close(feed);
    ck_assert_int_eq(fr_follower_position(f), head);

    key_lookup_close(kl);
    fr_follower_close(f);
    fs_server_close(server);
    sqlite3_close(cdb);
    sqlite3_close(pdb);
    free(pdb_path);
}
END_TEST

START_TEST(test_follower_refuses_broken_contract)
{
    char *pdb_path = tk_path(dir, "subscriptions.db");
    sqlite3 *pdb, *cdb;
    struct fs_server *server;
    struct fs_server_config cfg;
    struct fr_follower *f;
    struct fr_config fc;
    char url[128];
    const struct fs_field bad[] = {
        {"customerId", "c1"}, {"userId", "u1"}, {"keyId", "k1"}, {"keySha256", "not-a-hash"}};
    enum fr_error err = FR_OK;

    ck_assert_int_eq(fs_db_open(pdb_path, &pdb), FS_OK);
    ck_assert_int_eq(fs_feed_declare(pdb, "subscriptions", 0), FS_OK);
    append_event(pdb, "UserAdded", bad, 4);
    memset(&cfg, 0, sizeof cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.db_path = pdb_path;
    ck_assert_int_eq(fs_server_open(&cfg, &server), FS_OK);
    ck_assert_int_eq(fs_server_feed(server, "subscriptions"), FS_OK);
    ck_assert_int_eq(fs_server_start(server), FS_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/feeds/subscriptions", fs_server_port(server));
    ck_assert_int_eq(fs_db_open(db_path, &cdb), FS_OK);
    memset(&fc, 0, sizeof fc);
    fc.feed_url = url;
    fc.db = cdb;
    ck_assert_int_eq(fr_follower_open(&fc, &f), FR_OK);
    ck_assert_int_eq(credentials_follow_setup(f, cdb, NULL), 0);
    for (int i = 0; i < 5 && err == FR_OK; i++)
        err = fr_follower_step(f, 0);
    ck_assert_int_eq(err, FR_ERR_REFUSED);
    ck_assert_int_eq(fr_follower_position(f), 0);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM replica_keys"), 0);
    fr_follower_close(f);
    fs_server_close(server);
    sqlite3_close(cdb);
    sqlite3_close(pdb);
    free(pdb_path);
}
END_TEST

/* ---- An empty replica built in bulk ---------------------------------------- */

static unsigned long long rng;

/* A pseudo-random number below n, the same sequence for the same seed. */
static unsigned rnd(unsigned n)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((rng >> 33) % n);
}

/* The hash of key number i, in upper case when upper (the replica keeps it
 * lowercase). */
static void key_hash(unsigned i, int upper, char out[65])
{
    char key[32];

    snprintf(key, sizeof key, "key-%u", i);
    ck_assert_int_eq(sha256_hex(key, strlen(key), out), 0);
    for (char *p = out; upper && *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
}

/*
 * Appends n events drawn from seed to the subscriptions feed of pdb: every
 * type the replica applies, optional fields present or not, and types it
 * does not know; ids from small pools, so that users are added again, keys
 * issued twice and to other users, revoked before they exist, removed users
 * and locked customers come back.
 */
static void random_feed(sqlite3 *pdb, unsigned seed, int n)
{
    rng = seed;
    ck_assert_int_eq(sqlite3_exec(pdb, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    for (int i = 0; i < n; i++) {
        char c[16], u[16], k[16], h[65], cents[24], price[8], through[32], email[32];
        unsigned r = rnd(100);
        struct fs_field f[6];
        size_t nf = 0;
        struct fs_event ev = {NULL, NULL, 1, NULL, f, 0};

        snprintf(c, sizeof c, "c%u", rnd(8));
        snprintf(u, sizeof u, "u%u", rnd(40));
        snprintf(k, sizeof k, "k%u", rnd(30));
        snprintf(email, sizeof email, "%s-%u@example.com", u, rnd(3));
        key_hash(rnd(70), rnd(4) == 0, h);
        f[nf++] = (struct fs_field){"customerId", c};
        if (r < 25) {
            ev.type = "UserAdded";
            f[nf++] = (struct fs_field){"userId", u};
            if (rnd(10) < 7)
                f[nf++] = (struct fs_field){"email", email};
            f[nf++] = (struct fs_field){"keyId", k};
            f[nf++] = (struct fs_field){"keySha256", h};
        } else if (r < 45) {
            ev.type = "LoginKeyIssued";
            f[nf++] = (struct fs_field){"userId", u};
            f[nf++] = (struct fs_field){"keyId", k};
            f[nf++] = (struct fs_field){"keySha256", h};
        } else if (r < 60) {
            ev.type = "LoginKeyRevoked";
            f[nf++] = (struct fs_field){"userId", u};
            f[nf++] = (struct fs_field){"keyId", k};
        } else if (r < 67) {
            ev.type = "UserRemoved";
            f[nf++] = (struct fs_field){"userId", u};
        } else if (r < 75) {
            ev.type = "CustomerRegistered";
            if (rnd(10) < 7)
                f[nf++] = (struct fs_field){"name", u};
            if (rnd(10) < 7)
                f[nf++] = (struct fs_field){"plan", rnd(2) ? "payg" : "pro"};
        } else if (r < 82) {
            ev.type = "CustomerLocked";
            if (rnd(3))
                f[nf++] = (struct fs_field){"reason", rnd(2) ? "overdraft" : ""};
        } else if (r < 88) {
            ev.type = "CustomerUnlocked";
        } else if (r < 94) {
            ev.type = "CreditUpdated";
            snprintf(cents, sizeof cents, "%d", (int)rnd(5000) - 1000);
            snprintf(price, sizeof price, "%u", 1 + rnd(3));
            snprintf(through, sizeof through, "node-1=%u", rnd(5));
            f[nf++] = (struct fs_field){"creditLeftCents", cents};
            f[nf++] = (struct fs_field){"unitPriceCents", price};
            if (rnd(2))
                f[nf++] = (struct fs_field){"chargedThrough", through};
        } else {
            ev.type = "SomethingNew";
            f[nf++] = (struct fs_field){"userId", u};
        }
        ev.nfields = nf;
        ck_assert_int_eq(db_feed_append(pdb, "subscriptions", &ev, NULL), FS_OK);
    }
    ck_assert_int_eq(sqlite3_exec(pdb, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
}

/* A producer serving the subscriptions feed of path in pages of page_size. */
struct producer {
    sqlite3 *db;
    struct fs_server *server;
    char url[128];
    int64_t head;
};

static void producer_start(struct producer *p, const char *path, unsigned seed, int n,
                           int page_size)
{
    struct fs_server_config cfg;
    struct fs_feed *feed;

    memset(&cfg, 0, sizeof cfg);
    ck_assert_int_eq(fs_db_open(path, &p->db), FS_OK);
    ck_assert_int_eq(fs_feed_declare(p->db, "subscriptions", page_size), FS_OK);
    random_feed(p->db, seed, n);
    ck_assert_int_eq(fs_feed_open(p->db, "subscriptions", &feed), FS_OK);
    ck_assert_int_eq(fs_feed_head(feed, &p->head), FS_OK);
    fs_feed_close(feed);
    cfg.listen = "127.0.0.1:0";
    cfg.db_path = path;
    ck_assert_int_eq(fs_server_open(&cfg, &p->server), FS_OK);
    ck_assert_int_eq(fs_server_feed(p->server, "subscriptions"), FS_OK);
    ck_assert_int_eq(fs_server_start(p->server), FS_OK);
    snprintf(p->url, sizeof p->url, "http://127.0.0.1:%u/feeds/subscriptions",
             fs_server_port(p->server));
}

static void producer_stop(struct producer *p)
{
    fs_server_close(p->server);
    sqlite3_close(p->db);
}

/* A new node's follower on the database at path: opened and set up, with
 * o (NULL: the defaults). */
static struct fr_follower *node_open(const struct producer *p, const char *path,
                                     const struct credentials_follow_options *o, sqlite3 **cdb)
{
    struct fr_config fc;
    struct fr_follower *f;

    ck_assert_int_eq(fs_db_open(path, cdb), FS_OK);
    memset(&fc, 0, sizeof fc);
    fc.feed_url = p->url;
    fc.db = *cdb;
    fc.max_backoff_ms = 50;
    ck_assert_int_eq(fr_follower_open(&fc, &f), FR_OK);
    ck_assert_int_eq(credentials_follow_setup(f, *cdb, (void *)(uintptr_t)o), 0);
    return f;
}

/* Closes what node_open() opened, as program_follow() does. */
static void node_close(struct fr_follower *f, sqlite3 *cdb)
{
    fr_follower_close(f);
    for (sqlite3_stmt *st = sqlite3_next_stmt(cdb, NULL); st; st = sqlite3_next_stmt(cdb, NULL))
        sqlite3_finalize(st);
    ck_assert_int_eq(sqlite3_close(cdb), SQLITE_OK);
}

/* Steps f until it is at the producer's head with its replica built. */
static void node_catch_up(const struct producer *p, struct fr_follower *f, sqlite3 *cdb)
{
    for (int i = 0; i < 10000; i++) {
        enum fr_error err;

        if (fr_follower_position(f) == p->head && credentials_bulk_pending(cdb) == 0)
            return;
        err = fr_follower_step(f, 0);
        ck_assert_msg(err == FR_OK, "%s: %s", fr_strerror(err), fr_follower_last_error(f));
    }
    ck_abort_msg("not caught up");
}

/* Every row of the replica's tables and of credit_use, in key order, as
 * text: what two ways of applying one feed must agree on. */
static char *dump(const char *path)
{
    static const char *const tables[] = {"replica_customers", "replica_users", "replica_keys",
                                         "credit_use"};
    struct strbuf out = STRBUF_INIT;
    sqlite3 *d;

    ck_assert_int_eq(sqlite3_open_v2(path, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        char sql[96];
        sqlite3_stmt *st;

        snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY 1", tables[t]);
        ck_assert_int_eq(sqlite3_prepare_v2(d, sql, -1, &st, NULL), SQLITE_OK);
        sb_puts(&out, tables[t]);
        sb_puts(&out, ":\n");
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count(st); i++) {
                const char *v = (const char *)sqlite3_column_text(st, i);
                char type[4];

                snprintf(type, sizeof type, " %d:", sqlite3_column_type(st, i));
                sb_puts(&out, type);
                sb_puts(&out, v ? v : "NULL");
            }
            sb_puts(&out, "\n");
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(d);
    return sb_detach(&out, NULL);
}

/* What the feed of each seed is like, so that the comparison means
 * something: some keys revoked and some not, some users removed, some
 * customers locked. */
static void check_feed_has_every_case(const char *path)
{
    sqlite3 *d;

    ck_assert_int_eq(sqlite3_open(path, &d), SQLITE_OK);
    ck_assert_int_gt(tk_query_int(d, "SELECT count(*) FROM replica_keys WHERE revoked"), 0);
    ck_assert_int_gt(tk_query_int(d, "SELECT count(*) FROM replica_keys WHERE NOT revoked"), 0);
    ck_assert_int_gt(tk_query_int(d, "SELECT count(*) FROM replica_users WHERE removed"), 0);
    ck_assert_int_gt(tk_query_int(d, "SELECT count(*) FROM replica_users WHERE NOT removed"), 0);
    ck_assert_int_gt(tk_query_int(d, "SELECT count(*) FROM replica_users WHERE email IS NULL"), 0);
    ck_assert_int_gt(tk_query_int(d, "SELECT count(*) FROM replica_customers WHERE locked"), 0);
    ck_assert_int_gt(tk_query_int(d, "SELECT count(*) FROM credit_use"), 0);
    sqlite3_close(d);
}

/* Fails showing where two dumps first differ. */
static void assert_same_dump(const char *want, const char *got)
{
    size_t i = 0;

    while (want[i] && want[i] == got[i])
        i++;
    ck_assert_msg(want[i] == got[i], "dumps differ at byte %zu: want \"%.120s\", got \"%.120s\"", i,
                  want + i, got + i);
}

/* The feed's replica made one entry at a time, in ref.db. */
static char *reference(const struct producer *p)
{
    const struct credentials_follow_options one = {1};
    char *path = tk_path(dir, "ref.db"), *d;
    struct fr_follower *f;
    sqlite3 *cdb;

    f = node_open(p, path, &one, &cdb);
    ck_assert_int_eq(credentials_bulk_on(cdb), 0);
    node_catch_up(p, f, cdb);
    ck_assert_int_eq(credentials_bulk_pending(cdb), 0);
    node_close(f, cdb);
    check_feed_has_every_case(path);
    d = dump(path);
    free(path);
    return d;
}

/* Feeds of each seed and page size (1: every entry is a document). */
static const struct {
    unsigned seed;
    int entries, page_size;
} bulk_feeds[] = {{1, 1500, 20}, {2, 1500, 7}, {3, 300, 1}, {4, 2000, 100}};

/* An empty node stages the whole feed and builds its replica at the head:
 * the same rows as one entry at a time; then it applies new entries one at
 * a time, and a key it knows is served. */
START_TEST(test_bulk_build_matches_one_at_a_time)
{
    char *ppath = tk_path(dir, "subscriptions.db"), *path = tk_path(dir, "bulk.db");
    char *want, *got;
    struct producer p;
    struct fr_follower *f;
    struct key_lookup *kl;
    struct credential c;
    sqlite3 *cdb;

    producer_start(&p, ppath, bulk_feeds[_i].seed, bulk_feeds[_i].entries,
                   bulk_feeds[_i].page_size);
    want = reference(&p);
    f = node_open(&p, path, NULL, &cdb);
    ck_assert_int_eq(credentials_bulk_on(cdb), 1);
    ck_assert_int_eq(key_lookup_open(path, &kl), 0);
    ck_assert_int_eq(state_of(kl, key1, &c), CREDENTIAL_BUILDING);
    node_catch_up(&p, f, cdb);
    ck_assert_int_eq(credentials_bulk_on(cdb), 0);
    ck_assert_int_eq(tk_query_int(cdb, "SELECT count(*) FROM sqlite_schema"
                                       " WHERE name LIKE 'replica_bulk%'"),
                     0);
    ck_assert_int_eq(state_of(kl, key1, &c), CREDENTIAL_UNKNOWN);
    got = dump(path);
    assert_same_dump(want, got);
    free(got);
    /* Built: the next entries are applied one at a time. */
    append_event(p.db, "UserAdded",
                 (const struct fs_field[]){{"customerId", "c-new"},
                                           {"userId", "new"},
                                           {"keyId", "k-new"},
                                           {"keySha256", hash(key1)}},
                 4);
    p.head++;
    node_catch_up(&p, f, cdb);
    ck_assert_int_eq(state_of(kl, key1, &c), CREDENTIAL_VALID);
    ck_assert_str_eq(c.user_id, "new");
    key_lookup_close(kl);
    node_close(f, cdb);
    producer_stop(&p);
    free(want);
    free(ppath);
    free(path);
}
END_TEST

static int crash_countdown;

/* The SQL function crash(): kills this process on its crash_countdown-th
 * call, as a power cut would, in the middle of a transaction. */
static void crash_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    if (--crash_countdown == 0)
        raise(SIGKILL);
    sqlite3_result_null(ctx);
}

/* In a child process: a node on path that is killed by trigger (a TEMP
 * trigger calling crash()) on the countdown-th call. Returns once the
 * child has died by SIGKILL. */
static void node_killed(const struct producer *p, const char *path, const char *trigger,
                        int countdown)
{
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        sqlite3 *cdb;
        struct fr_follower *f = node_open(p, path, NULL, &cdb);

        crash_countdown = countdown;
        if (sqlite3_create_function(cdb, "crash", 0, SQLITE_UTF8, NULL, crash_fn, NULL, NULL) !=
                SQLITE_OK ||
            sqlite3_exec(cdb, trigger, NULL, NULL, NULL) != SQLITE_OK)
            _exit(3);
        for (int i = 0; i < 10000; i++)
            fr_follower_step(f, 0);
        _exit(4);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the node was not killed");
}

/* A node killed while staging resumes staging; killed while building, it
 * keeps its staged rows and builds again: the same rows in the end. */
START_TEST(test_bulk_build_survives_crashes)
{
    char *ppath = tk_path(dir, "subscriptions.db"), *path = tk_path(dir, "bulk.db");
    char *want, *got;
    struct producer p;
    struct fr_follower *f;
    sqlite3 *cdb, *look;
    long long staged;

    producer_start(&p, ppath, 5, 1500, 20);
    want = reference(&p);
    /* Killed while staging, halfway through a page. */
    node_killed(&p, path,
                "CREATE TEMP TRIGGER die AFTER INSERT ON main.replica_bulk"
                " WHEN NEW.position >= 710 BEGIN SELECT crash(); END",
                1);
    ck_assert_int_eq(fs_db_open(path, &look), FS_OK);
    staged = tk_query_int(look, "SELECT max(position) FROM feed_followers");
    ck_assert_int_gt(staged, 0);
    ck_assert_int_lt(staged, 710);
    ck_assert_int_eq(tk_query_int(look, "SELECT max(position) FROM replica_bulk") <= staged, 1);
    ck_assert_int_eq(tk_query_int(look, "SELECT count(*) FROM replica_keys"), 0);
    /* Killed while building, after some keys are in. */
    node_killed(&p, path,
                "CREATE TEMP TRIGGER die AFTER INSERT ON main.replica_keys"
                " BEGIN SELECT crash(); END",
                50);
    ck_assert_int_eq(tk_query_int(look, "SELECT max(position) FROM feed_followers"), p.head);
    ck_assert_int_eq(credentials_bulk_pending(look), 1);
    ck_assert_int_eq(tk_query_int(look, "SELECT count(*) FROM replica_keys"), 0);
    ck_assert_int_eq(tk_query_int(look, "SELECT count(*) FROM replica_users"), 0);
    sqlite3_close(look);
    /* Started again: still staging (its position is not 0), built at the
     * head. */
    f = node_open(&p, path, NULL, &cdb);
    ck_assert_int_eq(credentials_bulk_on(cdb), 1);
    node_catch_up(&p, f, cdb);
    node_close(f, cdb);
    got = dump(path);
    assert_same_dump(want, got);
    free(got);
    producer_stop(&p);
    free(want);
    free(ppath);
    free(path);
}
END_TEST

/* Only an empty replica at position 0 is built in bulk. */
START_TEST(test_bulk_only_when_empty)
{
    ck_assert_int_eq(credentials_bulk_start(db, 5, 1), 0);
    ck_assert_int_eq(credentials_bulk_start(db, 0, 0), 0);
    ck_assert_int_eq(credentials_apply_customer_registered(db, "c1", NULL, NULL), 0);
    ck_assert_int_eq(credentials_bulk_start(db, 0, 1), 0);
    ck_assert_int_eq(credentials_bulk_pending(db), 0);
    ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM replica_customers", NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(credentials_bulk_start(db, 0, 1), 1);
    ck_assert_int_eq(credentials_bulk_pending(db), 1);
    /* Found again after a restart, even where bulk is not allowed. */
    ck_assert_int_eq(credentials_bulk_start(db, 7, 0), 1);
    ck_assert_int_eq(credentials_bulk_build(db), 0);
    ck_assert_int_eq(credentials_bulk_pending(db), 0);
    ck_assert_int_eq(credentials_bulk_on(db), 0);
}
END_TEST

/* ---- Metering ------------------------------------------------------------ */

static time_t fake_now = 1000;

static time_t fake_clock(void)
{
    return fake_now;
}

static struct meter *open_meter(unsigned window)
{
    struct meter *m;
    struct meter_config mc = {db_path, window, 0, fake_clock};

    grant("c1", 1000000000);
    grant("c2", 1000000000);
    grant("c_5f1d0a9e3b7c4d21", 1000000000);
    ck_assert_int_eq(meter_open(&mc, &m), 0);
    return m;
}

struct burst {
    struct meter *m;
    int id;
};

#define BURST_THREADS 8
#define BURST_CALLS 60

static void *burst_thread(void *arg)
{
    struct burst *b = arg;
    char user[16];

    snprintf(user, sizeof user, "u%d", b->id % 2);
    for (int i = 0; i < BURST_CALLS; i++)
        if (meter_record(b->m, "c1", user, "k1", (uint64_t)(1 + i % 3)) != 0)
            return (void *)1;
    return NULL;
}

START_TEST(test_meter_group_commit_counts_every_unit)
{
    struct meter *m = open_meter(10);
    pthread_t t[BURST_THREADS];
    struct burst b[BURST_THREADS];
    struct meter_stats s;
    long long want = 0;

    for (int i = 0; i < BURST_CALLS; i++)
        want += 1 + i % 3;
    want *= BURST_THREADS;
    for (int i = 0; i < BURST_THREADS; i++) {
        b[i].m = m;
        b[i].id = i;
        ck_assert_int_eq(pthread_create(&t[i], NULL, burst_thread, &b[i]), 0);
    }
    for (int i = 0; i < BURST_THREADS; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        ck_assert_ptr_null(rv);
    }
    /* durable already: read through another connection before closing */
    ck_assert_int_eq(tk_query_int(db, "SELECT sum(units) FROM usage_units"), want);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM usage_units"), 2);
    ck_assert_int_eq(tk_query_int(db, "SELECT min(window_start) FROM usage_units"), 1000);
    ck_assert_int_eq(tk_query_int(db, "SELECT max(window_end) FROM usage_units"), 1010);
    meter_get_stats(m, &s);
    ck_assert_uint_eq(s.calls, BURST_THREADS * BURST_CALLS);
    ck_assert_uint_eq(s.units, (uint64_t)want);
    ck_assert_uint_le(s.commits, s.calls);
    meter_close(m);
}
END_TEST

START_TEST(test_windows_published_exactly_once)
{
    struct meter *m = open_meter(10);
    int64_t n = -1, head = 0;
    struct fs_feed *feed;

    fake_now = 1003;
    ck_assert_int_eq(meter_record(m, "c1", "u1", "k1", 2), 0);
    ck_assert_int_eq(meter_record(m, "c1", "u1", "k1", 3), 0);
    ck_assert_int_eq(meter_record(m, "c1", "u2", "k2", 1), 0);
    fake_now = 1012;
    ck_assert_int_eq(meter_record(m, "c1", "u1", "k1", 7), 0);

    /* window [1000,1010) is still open at 1009 */
    ck_assert_int_eq(usage_publish_closed(db, "n1", 10, 1009, &n), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(usage_publish_closed(db, "n1", 10, 1010, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(usage_publish_closed(db, "n1", 10, 1015, &n), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(fs_feed_open(db, CLOUD_API_USAGE_FEED, &feed), FS_OK);
    ck_assert_int_eq(fs_feed_head(feed, &head), FS_OK);
    fs_feed_close(feed);
    ck_assert_int_eq(head, 2);

    /* a clock stepped back never adds to a published window */
    fake_now = 1001;
    ck_assert_int_eq(meter_record(m, "c1", "u1", "k1", 4), 0);
    ck_assert_int_eq(tk_query_int(db, "SELECT units FROM usage_units WHERE window_start = 1000"
                                      " AND user_id = 'u1'"),
                     5);
    ck_assert_int_eq(tk_query_int(db, "SELECT units FROM usage_units WHERE window_start = 1010"
                                      " AND user_id = 'u1'"),
                     11);

    /* windows closed while down are published by the next run */
    ck_assert_int_eq(usage_publish_closed(db, "n1", 10, 5000, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM usage_units WHERE position IS NULL"),
                     0);
    ck_assert_int_eq(tk_query_int(db, "SELECT sum(units) FROM usage_units"), 17);
    meter_close(m);
}
END_TEST

/* ---- Idempotency-Key: a pair is metered exactly once ------------------------ */

START_TEST(test_idempotency_key_syntax)
{
    char longest[IDEMPOTENCY_KEY_MAX + 2];

    ck_assert(idempotency_key_valid("an_0123456789abcdef0123456789abcdef"));
    ck_assert(idempotency_key_valid("A.b_c:d-9"));
    ck_assert(idempotency_key_valid("x"));
    memset(longest, 'k', IDEMPOTENCY_KEY_MAX);
    longest[IDEMPOTENCY_KEY_MAX] = '\0';
    ck_assert(idempotency_key_valid(longest));
    longest[IDEMPOTENCY_KEY_MAX] = 'k';
    longest[IDEMPOTENCY_KEY_MAX + 1] = '\0';
    ck_assert(!idempotency_key_valid(longest));
    ck_assert(!idempotency_key_valid(""));
    ck_assert(idempotency_key_valid("a/b{}~!\"#"));
    ck_assert(!idempotency_key_valid("a b"));
    ck_assert(!idempotency_key_valid("a\x7f"));
    ck_assert(!idempotency_key_valid("caf\xc3\xa9"));
    ck_assert(!idempotency_key_valid("a\n"));
}
END_TEST

#define ONCE_THREADS 8
#define ONCE_KEYS 20
#define ONCE_UNITS 5

struct once_burst {
    struct meter *m;
    pthread_barrier_t *start;
    int id;
    /* per idempotency key: what the call got, and the body it answered */
    enum meter_result got[ONCE_KEYS];
    char body[ONCE_KEYS][64];
};

/* Meters ONCE_KEYS calls of one login key, each with its own Idempotency-Key
 * and a body naming this thread, all threads starting together. */
static void *once_thread(void *arg)
{
    struct once_burst *b = arg;

    pthread_barrier_wait(b->start);
    for (int i = 0; i < ONCE_KEYS; i++) {
        char idem[16], mine[64], *stored = NULL;
        struct meter_once once = {"hash-1", idem, "same-request", mine};

        snprintf(idem, sizeof idem, "idem-%d", i);
        snprintf(mine, sizeof mine, "{\"thread\":%d,\"key\":%d}", b->id, i);
        b->got[i] = meter_record_once(b->m, &once, "c1", "u1", "k1", ONCE_UNITS, &stored);
        snprintf(b->body[i], sizeof b->body[i], "%s", stored ? stored : mine);
        free(stored);
    }
    return NULL;
}

static char *stored_body(const char *key_sha256, const char *idem)
{
    int found = -1;
    char request[65];
    char *body = idempotency_find(db, key_sha256, idem, 0, request, &found);

    ck_assert_int_eq(found, 1);
    return body;
}

/* meter_record_once() for login key hash (its customer "c1" for "hash-1",
 * else "c2") with idem, a request body named request and answer body. */
static enum meter_result once_call(struct meter *m, const char *hash, const char *idem,
                                   const char *request, const char *body, uint64_t units,
                                   char **stored)
{
    struct meter_once once = {hash, idem, request, body};
    int first = strcmp(hash, "hash-1") == 0;

    return meter_record_once(m, &once, first ? "c1" : "c2", first ? "u1" : "u2",
                             first ? "k1" : "k2", units, stored);
}

START_TEST(test_meter_once_charges_each_pair_once)
{
    struct meter *m;
    struct once_burst b[ONCE_THREADS];
    pthread_t t[ONCE_THREADS];
    pthread_barrier_t start;
    struct meter_stats s;
    char *stored = NULL, *body;
    int64_t deleted = -1;

    fake_now = 1000;
    m = open_meter(10);
    pthread_barrier_init(&start, NULL, ONCE_THREADS);
    for (int i = 0; i < ONCE_THREADS; i++) {
        memset(&b[i], 0, sizeof b[i]);
        b[i].m = m;
        b[i].start = &start;
        b[i].id = i;
        ck_assert_int_eq(pthread_create(&t[i], NULL, once_thread, &b[i]), 0);
    }
    for (int i = 0; i < ONCE_THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);

    /* each Idempotency-Key: one call recorded, every other one answered
     * with the body that call stored */
    for (int k = 0; k < ONCE_KEYS; k++) {
        char idem[16];
        int recorded = 0;

        snprintf(idem, sizeof idem, "idem-%d", k);
        body = stored_body("hash-1", idem);
        for (int i = 0; i < ONCE_THREADS; i++) {
            ck_assert_int_ne(b[i].got[k], METER_FAILED);
            recorded += b[i].got[k] == METER_RECORDED;
            ck_assert_str_eq(b[i].body[k], body);
        }
        ck_assert_int_eq(recorded, 1);
        free(body);
    }
    ck_assert_int_eq(tk_query_int(db, "SELECT sum(units) FROM usage_units"),
                     ONCE_KEYS * ONCE_UNITS);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM analyze_replays"), ONCE_KEYS);

    /* twice in a row: the second is a replay of the first */
    ck_assert_int_eq(once_call(m, "hash-1", "again", "r1", "{\"a\":1}", 3, &stored),
                     METER_RECORDED);
    ck_assert_ptr_null(stored);
    ck_assert_int_eq(once_call(m, "hash-1", "again", "r1", "{\"a\":2}", 3, &stored),
                     METER_REPLAYED);
    ck_assert_str_eq(stored, "{\"a\":1}");
    free(stored);
    /* the same key with another request body: a conflict, nothing charged */
    ck_assert_int_eq(once_call(m, "hash-1", "again", "r2", "{\"a\":2}", 3, &stored),
                     METER_CONFLICT);
    ck_assert_ptr_null(stored);
    ck_assert_int_eq(tk_query_int(db, "SELECT sum(units) FROM usage_units"),
                     ONCE_KEYS * ONCE_UNITS + 3);

    /* another login key with the same Idempotency-Key is another call */
    ck_assert_int_eq(once_call(m, "hash-2", "again", "r1", "{\"b\":1}", 4, &stored),
                     METER_RECORDED);
    ck_assert_int_eq(tk_query_int(db, "SELECT units FROM usage_units WHERE customer_id = 'c2'"), 4);
    body = stored_body("hash-1", "again");
    ck_assert_str_eq(body, "{\"a\":1}");
    free(body);
    /* and a call without one is metered as ever */
    ck_assert_int_eq(meter_record(m, "c1", "u1", "k1", 2), 0);
    ck_assert_int_eq(tk_query_int(db, "SELECT units FROM usage_units WHERE customer_id = 'c1'"),
                     ONCE_KEYS * ONCE_UNITS + 3 + 2);
    meter_get_stats(m, &s);
    ck_assert_uint_eq(s.calls, ONCE_KEYS + 3);
    ck_assert_uint_eq(s.replays, (uint64_t)(ONCE_THREADS - 1) * ONCE_KEYS + 1);
    ck_assert_uint_eq(s.refused, 1);
    ck_assert_uint_eq(s.units, ONCE_KEYS * ONCE_UNITS + 3 + 4 + 2);

    /* kept 24 hours after the commit, then the pair is new again */
    ck_assert_int_eq(idempotency_purge(db, 1000 + IDEMPOTENCY_RETENTION_SECONDS - 1,
                                       IDEMPOTENCY_RETENTION_SECONDS, &deleted),
                     0);
    ck_assert_int_eq(deleted, 0);
    /* past the retention a row not purged yet is not replayed either */
    fake_now = 1000 + IDEMPOTENCY_RETENTION_SECONDS;
    ck_assert_int_eq(once_call(m, "hash-1", "idem-0", "r9", "{\"c\":1}", 3, &stored),
                     METER_RECORDED);
    ck_assert_int_eq(idempotency_purge(db, 1000 + IDEMPOTENCY_RETENTION_SECONDS,
                                       IDEMPOTENCY_RETENTION_SECONDS, &deleted),
                     0);
    ck_assert_int_eq(deleted, ONCE_KEYS + 1);
    ck_assert_int_eq(once_call(m, "hash-1", "again", "r3", "{\"a\":3}", 3, &stored),
                     METER_RECORDED);
    meter_close(m);
}
END_TEST

/* ---- The credit limit (credit.h) ------------------------------------------- */

struct credit_burst {
    struct meter *m;
    uint64_t accepted; /* units of the calls recorded */
    int refused;       /* calls refused */
};

/* Calls 7 units at a time until refused twice. */
static void *credit_thread(void *arg)
{
    struct credit_burst *b = arg;

    while (b->refused < 2) {
        enum meter_result r = meter_record(b->m, "c1", "u1", "k1", 7);

        if (r == METER_RECORDED)
            b->accepted += 7;
        else if (r == METER_REFUSED)
            b->refused++;
        else
            return (void *)1;
    }
    return NULL;
}

START_TEST(test_meter_credit_limit_holds)
{
    struct meter *m;
    struct credit_burst b[BURST_THREADS];
    pthread_t t[BURST_THREADS];
    uint64_t total = 0;
    long long pos;
    char through[64];
    struct meter_stats s;

    fake_now = 1000;
    m = open_meter(10);
    grant("c1", 100);
    ck_assert_int_eq(meter_record(m, "c1", "u1", "k1", 60), METER_RECORDED);
    ck_assert_int_eq(meter_record(m, "c1", "u1", "k1", 41), METER_REFUSED);
    ck_assert_int_eq(meter_record(m, "c1", "u2", "k2", 40), METER_RECORDED);
    ck_assert_int_eq(meter_record(m, "c1", "u1", "k1", 1), METER_REFUSED);
    /* a customer this node has no credit for is refused */
    ck_assert_int_eq(meter_record(m, "c-unknown", "u9", "k9", 1), METER_REFUSED);
    ck_assert_int_eq(tk_query_int(db, "SELECT sum(units) FROM usage_units"), 100);
    ck_assert_int_eq(
        tk_query_int(db, "SELECT served_units FROM credit_use WHERE customer_id = 'c1'"), 100);

    /* the window is published, then charged: a CreditUpdated with the
     * balance after the charge (0 left) and this node's position; then a
     * payment of 500 */
    ck_assert_int_eq(credit_set_node(db, "n1"), 0);
    ck_assert_int_eq(usage_publish_closed(db, "n1", 10, 1010, NULL), 0);
    pos = tk_query_int(db, "SELECT max(position) FROM usage_units");
    snprintf(through, sizeof through, "other=9 n1=%lld", pos);
    ck_assert_int_eq(credit_apply_update(db, "c1", "0", "1", through), 0);
    ck_assert_int_eq(
        tk_query_int(db, "SELECT served_units FROM credit_use WHERE customer_id = 'c1'"), 0);
    ck_assert_int_eq(meter_record(m, "c1", "u1", "k1", 1), METER_REFUSED);
    ck_assert_int_eq(credit_apply_update(db, "c1", "500", "1", through), 0);

    /* many threads racing for the last of it never overspend it */
    fake_now = 1012;
    for (int i = 0; i < BURST_THREADS; i++) {
        memset(&b[i], 0, sizeof b[i]);
        b[i].m = m;
        ck_assert_int_eq(pthread_create(&t[i], NULL, credit_thread, &b[i]), 0);
    }
    for (int i = 0; i < BURST_THREADS; i++) {
        void *rv;

        pthread_join(t[i], &rv);
        ck_assert_ptr_null(rv);
        total += b[i].accepted;
    }
    ck_assert_uint_eq(total, 500 / 7 * 7);
    ck_assert_int_eq(
        tk_query_int(db, "SELECT sum(units) FROM usage_units WHERE window_start = 1010"),
        (long long)total);
    meter_get_stats(m, &s);
    ck_assert_uint_ge(s.refused, 2 * BURST_THREADS);

    /* an older CreditUpdated position changes nothing of served */
    ck_assert_int_eq(credit_apply_update(db, "c1", "0", "1", "n1=1"), 0);
    ck_assert_int_eq(
        tk_query_int(db, "SELECT served_units FROM credit_use WHERE customer_id = 'c1'"),
        (long long)total);
    ck_assert_int_eq(credit_apply_update(db, "c1", "x", "1", through), -2);
    ck_assert_int_eq(credit_apply_update(db, "c1", "1", "1", "n1"), -2);
    meter_close(m);
}
END_TEST

/* Appends junk to the end of the meter's first journal file, as a write
 * cut short would leave. */
static void tear_journal(void)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof path, "%s-meter0", db_path);
    fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "\x30\0\0\0torn", 8), 8);
    close(fd);
}

/* A process that journals calls with meter_record_fast() and dies before
 * any fold, as SIGKILL would leave it. */
static void journal_and_die(void)
{
    struct meter_config mc = {db_path, 10, 0, fake_clock};
    struct meter *m;
    enum meter_result r;

    if (meter_open(&mc, &m) != 0 || meter_record(m, "c2", "u1", "k1", 1) != METER_RECORDED)
        _exit(2);
    for (int i = 0; i < 20; i++)
        if (meter_record_fast(m, "c2", "u1", "k1", 5, &r) != 1 || r != METER_RECORDED)
            _exit(3);
    kill(getpid(), SIGKILL);
}

/* The fast path: a customer is decided at once only once a committed call
 * read its credit; the credit holds across both paths; journaled units are
 * folded into usage_units and credit_use, and a crash before the fold
 * loses none of them: the next open folds the journal, once, past a torn
 * record at its end. */
START_TEST(test_meter_journal_survives_a_crash)
{
    struct meter_config mc = {db_path, 10, 0, fake_clock};
    struct meter *m;
    enum meter_result r = METER_FAILED;
    int status;
    pid_t pid;

    fake_now = 1000;
    m = open_meter(10);
    grant("c1", 100);
    ck_assert_int_eq(meter_record_fast(m, "c1", "u1", "k1", 10, &r), 0);
    ck_assert_int_eq(meter_record(m, "c1", "u1", "k1", 10), METER_RECORDED);
    ck_assert_int_eq(meter_record_fast(m, "c1", "u1", "k1", 50, &r), 1);
    ck_assert_int_eq(r, METER_RECORDED);
    ck_assert_int_eq(meter_record_fast(m, "c1", "u2", "k2", 41, &r), 1);
    ck_assert_int_eq(r, METER_REFUSED);
    ck_assert_int_eq(meter_record_fast(m, "c1", "u2", "k2", 40, &r), 1);
    ck_assert_int_eq(r, METER_RECORDED);
    /* the committed path counts the journaled units too */
    ck_assert_int_eq(meter_record(m, "c1", "u1", "k1", 1), METER_REFUSED);
    meter_close(m);
    ck_assert_int_eq(tk_query_int(db, "SELECT sum(units) FROM usage_units"), 100);
    ck_assert_int_eq(
        tk_query_int(db, "SELECT served_units FROM credit_use WHERE customer_id = 'c1'"), 100);

    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        journal_and_die();
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    tear_journal();
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(meter_open(&mc, &m), 0);
        meter_close(m);
        ck_assert_int_eq(
            tk_query_int(db, "SELECT sum(units) FROM usage_units WHERE customer_id = 'c2'"), 101);
        ck_assert_int_eq(
            tk_query_int(db, "SELECT served_units FROM credit_use WHERE customer_id = 'c2'"), 101);
    }
}
END_TEST

START_TEST(test_charged_through_syntax)
{
    long long p = -1;

    ck_assert_int_eq(credit_position_of("a=1 n1=42 b=7", "n1", &p), 0);
    ck_assert_int_eq(p, 42);
    ck_assert_int_eq(credit_position_of("a=1", "n1", &p), 0);
    ck_assert_int_eq(p, 0);
    ck_assert_int_eq(credit_position_of("", "n1", &p), 0);
    ck_assert_int_eq(credit_position_of(NULL, "n1", &p), 0);
    ck_assert_int_eq(credit_position_of("n10=5", "n1", &p), 0);
    ck_assert_int_eq(p, 0);
    ck_assert_int_eq(credit_position_of("n1=x", "n1", &p), -1);
    ck_assert_int_eq(credit_position_of("n1=-3", "n1", &p), -1);
    ck_assert_int_eq(credit_position_of("n1", "n1", &p), -1);
}
END_TEST

/* ---- The contract sample -------------------------------------------------- */

struct first_entry {
    char *xml;
};

static int keep_xml(const struct fs_entry *e, void *userdata)
{
    struct first_entry *fe = userdata;

    fe->xml = strdup(e->xml);
    return 1;
}

START_TEST(test_emits_the_contract_sample)
{
    struct meter *m = open_meter(10);
    struct first_entry fe = {NULL};
    struct fs_feed *feed;

    /* the sample's example values: window 2026-11-26T16:00:00Z..16:00:10Z */
    fake_now = 1795708805;
    ck_assert_int_eq(
        meter_record(m, "c_5f1d0a9e3b7c4d21", "u_8a3e2f6b1c0d4e59", "k_93c4e7a1b5f20d68", 42), 0);
    meter_close(m);
    ck_assert_int_eq(usage_publish_closed(db, "node-1", 10, 1795708810, NULL), 0);
    ck_assert_int_eq(fs_feed_open(db, CLOUD_API_USAGE_FEED, &feed), FS_OK);
    ck_assert_int_eq(fs_feed_read(feed, 1, 1, keep_xml, &fe), FS_OK);
    fs_feed_close(feed);
    ck_assert_ptr_nonnull(fe.xml);
    tk_assert_entry_matches_sample(fe.xml, "tests/samples/usage/UsageRecorded.xml");
    free(fe.xml);
}
END_TEST

static Suite *cloud_api_suite(void)
{
    Suite *s = suite_create("cloud_api");
    TCase *pure = tcase_create("analysis");
    TCase *domain = tcase_create("domain");

    tcase_add_test(pure, test_analysis_figures);
    tcase_add_test(pure, test_units);
    tcase_add_test(pure, test_hash_matches_contract);
    tcase_add_test(pure, test_idempotency_key_syntax);
    tcase_add_test(pure, test_charged_through_syntax);
    suite_add_tcase(s, pure);
    tcase_add_checked_fixture(domain, setup, teardown);
    tcase_set_timeout(domain, 30);
    tcase_add_test(domain, test_replica_rules);
    tcase_add_test(domain, test_replica_migrates_to_key_lists);
    tcase_add_test(domain, test_follower_applies_every_type);
    tcase_add_test(domain, test_follower_refuses_broken_contract);
    tcase_add_loop_test(domain, test_bulk_build_matches_one_at_a_time, 0,
                        (int)(sizeof bulk_feeds / sizeof bulk_feeds[0]));
    tcase_add_test(domain, test_bulk_build_survives_crashes);
    tcase_add_test(domain, test_bulk_only_when_empty);
    tcase_add_test(domain, test_meter_group_commit_counts_every_unit);
    tcase_add_test(domain, test_meter_credit_limit_holds);
    tcase_add_test(domain, test_meter_journal_survives_a_crash);
    tcase_add_test(domain, test_windows_published_exactly_once);
    tcase_add_test(domain, test_meter_once_charges_each_pair_once);
    tcase_add_test(domain, test_emits_the_contract_sample);
    suite_add_tcase(s, domain);
    return s;
}

int main(void)
{
    return tk_run(cloud_api_suite());
}
