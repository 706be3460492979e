/*
 * check_product1.c - Product 1's domain rules against temporary databases:
 * the user directory replica (each event, directly and through a real
 * follower of a served feed), sign-in, sessions and their end, the key
 * vault, analyses moving queued -> done/failed exactly once with their
 * AnalysisCompleted entry in the shape of the contract sample, and the
 * runner and retry worker against a fake Cloud API.
 */
#include "analyses.h"
#include "analysis_runner.h"
#include "cloud_client.h"
#include "db.h"
#include "directory.h"
#include "feedreader.h"
#include "feedserver.h"
#include "key_vault.h"
#include "retry_worker.h"
#include "schema.h"
#include "secrets.h"
#include "sessions.h"
#include "sign_in.h"
#include "testkit.h"

#include <check.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The samples' keys and ids (tests/samples/subscriptions/README). */
#define CUSTOMER "c_5f1d0a9e3b7c4d21"
#define USER "u_8a3e2f6b1c0d4e59"
#define EMAIL "ada@example.com"
#define KEY1_ID "k_2b7f9c1e4a6d8053"
#define KEY1 "kmOH4d1Wx6m9SVZE9mcTz4tagUOh5hn0I0JIxYptLr8"
#define KEY2_ID "k_93c4e7a1b5f20d68"
#define KEY2 "Q63wgyfW3F9D9HGMbqZ_KoSplEN57MtbYKAo_1hXoSM"

/* ---- Fixture: a temporary database with Product 1's schema -------------- */

static char *dir;
static char *db_path;
static sqlite3 *db;

static void setup(void)
{
    dir = tk_tempdir();
    db_path = tk_path(dir, "product1.db");
    ck_assert_int_eq(fs_db_open(db_path, &db), FS_OK);
    ck_assert_int_eq(schema_create(db), 0);
    ck_assert_int_eq(cloud_client_global_init(NULL), 0);
}

static void teardown(void)
{
    sqlite3_close(db);
    tk_rmtree(dir);
    free(db_path);
    free(dir);
}

static const char *sha(const char *key)
{
    static char out[2][SHA256_HEX_SIZE];
    static int i;

    i = !i;
    ck_assert_int_eq(sha256_hex(key, strlen(key), out[i]), 0);
    return out[i];
}

/* The sample story's first two events: a customer and its user with KEY1,
 * then KEY2 issued. */
static void directory_with_ada(void)
{
    ck_assert_int_eq(directory_customer_registered(db, CUSTOMER, "Example Ltd", "payg"), 0);
    ck_assert_int_eq(directory_user_added(db, CUSTOMER, USER, EMAIL, KEY1_ID, sha(KEY1)), 0);
    ck_assert_int_eq(directory_key_issued(db, CUSTOMER, USER, KEY2_ID, sha(KEY2)), 0);
}

static enum directory_match find(const char *email, const char *key)
{
    struct user_ref u;
    enum directory_match m = directory_find(db, email, sha(key), &u);

    user_ref_release(&u);
    return m;
}

/* ---- Pure parts --------------------------------------------------------- */

START_TEST(test_sha256_is_the_contract_hash)
{
    /* The sample UserAdded's keySha256 is the hash of KEY1's text. */
    ck_assert_str_eq(sha(KEY1), "a6e69f9d0527be5055332dee561f47182baa4258f479a9a4b73f45e3a6af53a3");
}
END_TEST

START_TEST(test_random_ids_differ)
{
    char a[65], b[65], id1[ANALYSIS_ID_SIZE], id2[ANALYSIS_ID_SIZE];

    ck_assert_int_eq(random_hex(32, a, sizeof a), 0);
    ck_assert_int_eq(random_hex(32, b, sizeof b), 0);
    ck_assert_uint_eq(strlen(a), 64);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(random_hex(32, a, 64), -1);
    ck_assert_int_eq(analysis_new_id(id1), 0);
    ck_assert_int_eq(analysis_new_id(id2), 0);
    ck_assert_str_ne(id1, id2);
    ck_assert_int_eq(strncmp(id1, "an_", 3), 0);
}
END_TEST

START_TEST(test_session_cookie_parsing)
{
    char id[SHA256_HEX_SIZE];
    const char *good = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF";
    char header[256];

    snprintf(header, sizeof header, "a=1; " SESSION_COOKIE "=%s; b=2", good);
    ck_assert_int_eq(session_cookie_id(header, id), 1);
    ck_assert_str_eq(id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    snprintf(header, sizeof header, SESSION_COOKIE "=%s", good);
    ck_assert_int_eq(session_cookie_id(header, id), 1);
    ck_assert_int_eq(session_cookie_id(NULL, id), 0);
    ck_assert_int_eq(session_cookie_id("", id), 0);
    ck_assert_int_eq(session_cookie_id(SESSION_COOKIE "=abc", id), 0);
    ck_assert_int_eq(session_cookie_id("x" SESSION_COOKIE "=abc", id), 0);
    snprintf(header, sizeof header, SESSION_COOKIE "=%sff", good);
    ck_assert_int_eq(session_cookie_id(header, id), 0);
    snprintf(header, sizeof header, SESSION_COOKIE "=%.63sz", good);
    ck_assert_int_eq(session_cookie_id(header, id), 0);
}
END_TEST

START_TEST(test_key_vault)
{
    struct key_vault *v = vault_new();
    char key[LOGIN_KEY_MAX + 1], hash[65], hashes[4][65];

    ck_assert_int_eq(vault_get(v, "h1", key), 0);
    vault_put(v, "h1", "c1", "u1", "key-one");
    vault_put(v, "h2", "c1", "u2", "key-two");
    vault_put(v, "h1", "c1", "u1", "key-one-again");
    ck_assert_uint_eq(vault_count(v), 2);
    ck_assert_int_eq(vault_get(v, "h1", key), 1);
    ck_assert_str_eq(key, "key-one-again");
    ck_assert_int_eq(vault_find_user(v, "c1", "u2", hash, key), 1);
    ck_assert_str_eq(hash, "h2");
    ck_assert_str_eq(key, "key-two");
    ck_assert_int_eq(vault_find_user(v, "c2", "u2", hash, key), 0);
    ck_assert_uint_eq(vault_hashes(v, hashes, 4), 2);
    ck_assert_uint_eq(vault_hashes(v, hashes, 1), 1);
    vault_forget(v, "h1");
    vault_forget(v, "nope");
    ck_assert_int_eq(vault_get(v, "h1", key), 0);
    ck_assert_uint_eq(vault_count(v), 1);
    vault_free(v);
    vault_free(NULL);
}
END_TEST

/* ---- The user directory ------------------------------------------------- */

START_TEST(test_directory_finds_by_email_and_key)
{
    struct user_ref u;

    directory_with_ada();
    ck_assert_int_eq(directory_find(db, EMAIL, sha(KEY1), &u), DIRECTORY_OK);
    ck_assert_str_eq(u.customer_id, CUSTOMER);
    ck_assert_str_eq(u.user_id, USER);
    ck_assert_str_eq(u.key_id, KEY1_ID);
    user_ref_release(&u);
    ck_assert_int_eq(find(EMAIL, KEY2), DIRECTORY_OK);
    ck_assert_int_eq(find("ADA@Example.com", KEY2), DIRECTORY_OK);
    ck_assert_int_eq(find(EMAIL, "not-the-key"), DIRECTORY_NO_MATCH);
    ck_assert_int_eq(find("bob@example.com", KEY1), DIRECTORY_NO_MATCH);
    ck_assert_int_eq(find("", KEY1), DIRECTORY_NO_MATCH);
    /* An uppercase hash from the feed is the same hash. */
    ck_assert_int_eq(directory_key_issued(db, CUSTOMER, USER, "k3", "4CB8C55B3A1F"), 0);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM login_keys WHERE key_sha256 = '4cb8c55b3a1f'"),
                     1);
}
END_TEST

START_TEST(test_directory_email_in_two_customers_key_decides)
{
    struct user_ref u;

    directory_with_ada();
    ck_assert_int_eq(directory_customer_registered(db, "c2", "Other", "team"), 0);
    ck_assert_int_eq(directory_user_added(db, "c2", "u2", EMAIL, "k9", sha("other-key")), 0);
    ck_assert_int_eq(directory_find(db, EMAIL, sha("other-key"), &u), DIRECTORY_OK);
    ck_assert_str_eq(u.customer_id, "c2");
    user_ref_release(&u);
    ck_assert_int_eq(directory_find(db, EMAIL, sha(KEY1), &u), DIRECTORY_OK);
    ck_assert_str_eq(u.customer_id, CUSTOMER);
    user_ref_release(&u);
    /* Locking one customer leaves the other's user signing in. */
    ck_assert_int_eq(directory_customer_locked(db, CUSTOMER, "overdraft"), 0);
    ck_assert_int_eq(find(EMAIL, KEY1), DIRECTORY_LOCKED);
    ck_assert_int_eq(find(EMAIL, "other-key"), DIRECTORY_OK);
}
END_TEST

START_TEST(test_directory_revoke_lock_unlock_remove)
{
    directory_with_ada();
    ck_assert_int_eq(directory_key_revoked(db, CUSTOMER, USER, KEY1_ID), 0);
    ck_assert_int_eq(find(EMAIL, KEY1), DIRECTORY_REVOKED);
    ck_assert_int_eq(find(EMAIL, KEY2), DIRECTORY_OK);
    ck_assert_int_eq(directory_customer_locked(db, CUSTOMER, "manual"), 0);
    ck_assert_int_eq(find(EMAIL, KEY2), DIRECTORY_LOCKED);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM customers WHERE lock_reason = 'manual'"), 1);
    ck_assert_int_eq(directory_customer_unlocked(db, CUSTOMER), 0);
    ck_assert_int_eq(find(EMAIL, KEY2), DIRECTORY_OK);
    ck_assert_int_eq(directory_user_removed(db, CUSTOMER, USER), 0);
    ck_assert_int_eq(find(EMAIL, KEY2), DIRECTORY_NO_MATCH);
    /* Events about ids never seen do not fail. */
    ck_assert_int_eq(directory_customer_locked(db, "c-unknown", NULL), 0);
    ck_assert_int_eq(directory_key_revoked(db, "c-unknown", "u", "k"), 0);
    ck_assert_int_eq(directory_user_removed(db, "c-unknown", "u"), 0);
    /* Applying an event twice has the same effect as once. */
    ck_assert_int_eq(directory_customer_registered(db, CUSTOMER, "Example Ltd", "payg"), 0);
    ck_assert_int_eq(directory_customer_registered(db, CUSTOMER, "Example Ltd", "payg"), 0);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM customers"), 2);
}
END_TEST

/* ---- Sign-in and sessions ----------------------------------------------- */

static int sign_in_as(struct key_vault *v, const char *email, const char *key,
                      char id[SHA256_HEX_SIZE])
{
    struct user_ref u;
    enum sign_in_result r = sign_in(db, v, email, key, 3600, &u, id);

    user_ref_release(&u);
    return r;
}

START_TEST(test_sign_in_paths)
{
    struct key_vault *v = vault_new();
    char id[SHA256_HEX_SIZE], hash[SHA256_HEX_SIZE], key[LOGIN_KEY_MAX + 1];
    char long_key[LOGIN_KEY_MAX + 2];
    struct user_ref u;

    directory_with_ada();
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY1, id), SIGN_IN_OK);
    ck_assert_uint_eq(strlen(id), 64);
    ck_assert_int_eq(session_find(db, id, &u, hash), 1);
    ck_assert_str_eq(u.email, EMAIL);
    ck_assert_str_eq(u.key_id, KEY1_ID);
    user_ref_release(&u);
    /* Only the hash of the session id is stored, and the key nowhere. */
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM sessions WHERE id_sha256 = '"
                               "x"
                               "'"),
                     0);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM sessions WHERE length(id_sha256) = 64"), 1);
    ck_assert_str_eq(hash, sha(id));
    ck_assert_int_eq(vault_get(v, hash, key), 1);
    ck_assert_str_eq(key, KEY1);

    ck_assert_int_eq(sign_in_as(v, EMAIL, "wrong", id), SIGN_IN_WRONG_PAIR);
    ck_assert_str_eq(id, "");
    ck_assert_int_eq(sign_in_as(v, "eve@example.com", KEY1, id), SIGN_IN_WRONG_PAIR);
    ck_assert_int_eq(sign_in_as(v, EMAIL, "", id), SIGN_IN_WRONG_PAIR);
    memset(long_key, 'a', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    ck_assert_int_eq(sign_in_as(v, EMAIL, long_key, id), SIGN_IN_WRONG_PAIR);
    ck_assert_int_eq(directory_key_revoked(db, CUSTOMER, USER, KEY1_ID), 0);
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY1, id), SIGN_IN_REVOKED);
    ck_assert_int_eq(directory_customer_locked(db, CUSTOMER, "overdraft"), 0);
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY2, id), SIGN_IN_LOCKED);
    ck_assert_uint_eq(vault_count(v), 1);
    vault_free(v);
}
END_TEST

START_TEST(test_sessions_end_with_revocation_lock_and_removal)
{
    struct key_vault *v = vault_new();
    char s1[SHA256_HEX_SIZE], s2[SHA256_HEX_SIZE], hash[SHA256_HEX_SIZE];
    struct user_ref u;

    directory_with_ada();
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY1, s1), SIGN_IN_OK);
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY2, s2), SIGN_IN_OK);
    /* Revoking KEY1 ends the session signed in with it, not the other. */
    ck_assert_int_eq(directory_key_revoked(db, CUSTOMER, USER, KEY1_ID), 0);
    ck_assert_int_eq(session_find(db, s1, &u, hash), 0);
    ck_assert_int_eq(session_is_live(db, hash), 0);
    ck_assert_int_eq(session_find(db, s2, &u, hash), 1);
    user_ref_release(&u);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM sessions"), 1);
    /* A lock ends every session of the customer, and an unlock does not
     * bring them back. */
    ck_assert_int_eq(directory_customer_locked(db, CUSTOMER, "overdraft"), 0);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM sessions"), 0);
    ck_assert_int_eq(directory_customer_unlocked(db, CUSTOMER), 0);
    ck_assert_int_eq(session_find(db, s2, &u, hash), 0);
    /* Removing the user ends theirs. */
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY2, s2), SIGN_IN_OK);
    ck_assert_int_eq(directory_user_removed(db, CUSTOMER, USER), 0);
    ck_assert_int_eq(session_find(db, s2, &u, hash), 0);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM sessions"), 0);
    vault_free(v);
}
END_TEST

START_TEST(test_session_expiry_and_sign_out)
{
    struct key_vault *v = vault_new();
    char s1[SHA256_HEX_SIZE], s2[SHA256_HEX_SIZE], hash[SHA256_HEX_SIZE];
    struct user_ref u;

    directory_with_ada();
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY1, s1), SIGN_IN_OK);
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY2, s2), SIGN_IN_OK);
    ck_assert_int_eq(
        tk_query_int(db, "SELECT count(*) FROM sessions WHERE expires_at - created_at = 3600"), 2);
    /* Its expiry passes: it is no longer live, and the purge deletes it. */
    ck_assert_int_eq(sqlite3_exec(db,
                                  "UPDATE sessions SET expires_at = created_at - 1 "
                                  "WHERE key_id = '" KEY1_ID "'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(session_find(db, s1, &u, hash), 0);
    ck_assert_int_eq(sessions_purge_expired(db), 1);
    ck_assert_int_eq(sessions_purge_expired(db), 0);
    /* Signing out ends the other. */
    ck_assert_int_eq(session_find(db, s2, &u, hash), 1);
    user_ref_release(&u);
    ck_assert_int_eq(session_end(db, hash), 0);
    ck_assert_int_eq(session_find(db, s2, &u, hash), 0);
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY2, s2), SIGN_IN_OK);
    ck_assert_int_eq(sessions_clear(db), 0);
    ck_assert_int_eq(session_find(db, s2, &u, hash), 0);
    vault_free(v);
}
END_TEST

/* ---- Analyses ------------------------------------------------------------ */

static const char RESULT[] = "{\"characters\":11,\"words\":2,\"lines\":1,\"units\":1}";

static struct user_ref ada(void)
{
    struct user_ref u = {(char *)CUSTOMER, (char *)USER, (char *)KEY1_ID, (char *)EMAIL};
    return u;
}

struct first_entry {
    char *xml;
    char *type;
};

static int keep_entry(const struct fs_entry *e, void *userdata)
{
    struct first_entry *fe = userdata;

    fe->xml = strdup(e->xml);
    fe->type = strdup(e->type);
    return 1;
}

/* fs_feed_head() and fs_feed_read() of Product 1's feed on db, through a
 * handle opened for the call. */
static enum fs_error product1_head(int64_t *head)
{
    struct fs_feed *feed;
    enum fs_error err;

    ck_assert_int_eq(fs_feed_open(db, PRODUCT1_FEED, &feed), FS_OK);
    err = fs_feed_head(feed, head);
    fs_feed_close(feed);
    return err;
}

static enum fs_error product1_read(int64_t first, int64_t last, fs_entry_fn *fn, void *userdata)
{
    struct fs_feed *feed;
    enum fs_error err;

    ck_assert_int_eq(fs_feed_open(db, PRODUCT1_FEED, &feed), FS_OK);
    err = fs_feed_read(feed, first, last, fn, userdata);
    fs_feed_close(feed);
    return err;
}

START_TEST(test_analysis_done_once_and_published)
{
    struct user_ref u = ada();
    struct first_entry fe = {NULL, NULL};
    char *json;
    int64_t head = -1;

    ck_assert_int_eq(analysis_create(db, "an_1", &u, "hello world"), 0);
    ck_assert_int_eq(analyses_count(db, "queued", CUSTOMER, USER), 1);
    ck_assert_int_eq(analysis_complete(db, "an_1", "not json"), ANALYSIS_BAD_RESULT);
    ck_assert_int_eq(analysis_complete(db, "an_1", "[1]"), ANALYSIS_BAD_RESULT);
    ck_assert_int_eq(analysis_complete(db, "an_1", "{\"units\":\"1\"}"), ANALYSIS_BAD_RESULT);
    ck_assert_int_eq(analysis_complete(db, "an_1", RESULT), ANALYSIS_CHANGED);
    ck_assert_int_eq(analysis_complete(db, "an_1", RESULT), ANALYSIS_NOT_QUEUED);
    ck_assert_int_eq(analysis_fail(db, "an_1", "late"), ANALYSIS_NOT_QUEUED);
    ck_assert_int_eq(analysis_complete(db, "an_unknown", RESULT), ANALYSIS_NOT_QUEUED);
    ck_assert_int_eq(product1_head(&head), FS_OK);
    ck_assert_int_eq(head, 1);
    ck_assert_int_eq(product1_read(1, 1, keep_entry, &fe), FS_OK);
    ck_assert_str_eq(fe.type, "AnalysisCompleted");
    ck_assert_ptr_nonnull(strstr(fe.xml, "<analysisId>an_1</analysisId>"));
    ck_assert_ptr_nonnull(strstr(fe.xml, "<units>1</units>"));
    ck_assert_ptr_nonnull(strstr(fe.xml, "<customerId>" CUSTOMER "</customerId>"));
    ck_assert_ptr_nonnull(strstr(fe.xml, "<userId>" USER "</userId>"));
    json = analysis_json(db, "an_1");
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "\"status\":\"done\""));
    ck_assert_ptr_nonnull(strstr(json, "\"result\":{\"characters\":11"));
    free(json);
    free(fe.xml);
    free(fe.type);
}
END_TEST

START_TEST(test_analysis_failed_and_listed)
{
    struct user_ref u = ada(), other = {(char *)"c2", (char *)"u2", (char *)"k", (char *)"x@y.z"};
    struct analysis_job job;
    char ids[4][ANALYSIS_ID_SIZE];
    char *json, *one;
    int64_t head = -1;

    ck_assert_int_eq(analysis_create(db, "an_1", &u, "first"), 0);
    ck_assert_int_eq(analysis_create(db, "an_2", &u, "second"), 0);
    ck_assert_int_eq(analysis_create(db, "an_3", &other, "someone else's"), 0);
    ck_assert_int_eq(analyses_queued(db, NULL, ids, 4), 3);
    ck_assert_str_eq(ids[0], "an_1");
    ck_assert_int_eq(analyses_queued(db, &other, ids, 4), 1);
    ck_assert_str_eq(ids[0], "an_3");
    ck_assert_int_eq(analyses_queued(db, &u, ids, 1), 1);
    ck_assert_int_eq(analysis_load_queued(db, "an_2", &job), 1);
    ck_assert_str_eq(job.text, "second");
    ck_assert_uint_eq(job.len, 6);
    ck_assert_str_eq(job.user_id, USER);
    analysis_job_release(&job);
    ck_assert_int_eq(analysis_fail(db, "an_1", "the Cloud API refused the login key (401)"),
                     ANALYSIS_CHANGED);
    ck_assert_int_eq(analysis_load_queued(db, "an_1", &job), 0);
    ck_assert_int_eq(analysis_complete(db, "an_1", RESULT), ANALYSIS_NOT_QUEUED);
    ck_assert_int_eq(product1_head(&head), FS_OK);
    ck_assert_int_eq(head, 0);
    json = analyses_json(db, &u);
    ck_assert_ptr_nonnull(json);
    ck_assert_int_eq(json[0], '[');
    ck_assert_ptr_nonnull(strstr(json, "\"id\":\"an_2\",\"status\":\"queued\""));
    ck_assert_ptr_nonnull(strstr(json, "\"status\":\"failed\""));
    ck_assert_ptr_nonnull(strstr(json, "\"result\":null"));
    ck_assert_ptr_null(strstr(json, "an_3"));
    ck_assert_ptr_nonnull(strstr(json, "\"created_at\":\"20"));
    free(json);
    one = analysis_json_for(db, &other, "an_1");
    ck_assert_ptr_null(one);
    one = analysis_json_for(db, &u, "an_1");
    ck_assert_ptr_nonnull(one);
    free(one);
}
END_TEST

/* ---- The contract sample ------------------------------------------------- */

START_TEST(test_emits_the_contract_sample)
{
    static const char sample_path[] = "tests/samples/product1/AnalysisCompleted.xml";
    struct user_ref u = ada();
    struct first_entry fe = {NULL, NULL};

    ck_assert_int_eq(
        analysis_create(db, "an_0f3c9a7d2b5e4c18a6d1e7f09b3c5a21", &u, "Hello, sample."), 0);
    ck_assert_int_eq(analysis_complete(db, "an_0f3c9a7d2b5e4c18a6d1e7f09b3c5a21",
                                       "{\"characters\":14,\"words\":2,\"lines\":1,\"units\":1}"),
                     ANALYSIS_CHANGED);
    ck_assert_int_eq(product1_read(1, 1, keep_entry, &fe), FS_OK);
    ck_assert_ptr_nonnull(fe.xml);
    tk_assert_entry_matches_sample(fe.xml, sample_path);
    free(fe.xml);
    free(fe.type);
}
END_TEST

/* ---- The follower applies the subscriptions feed ------------------------- */

static void append_event(sqlite3 *pdb, const char *type, const struct fs_field *fields, size_t n)
{
    struct fs_event ev = {NULL, type, 1, NULL, fields, n};

    ck_assert_int_eq(sqlite3_exec(pdb, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(db_feed_append(pdb, "subscriptions", &ev, NULL), FS_OK);
    ck_assert_int_eq(sqlite3_exec(pdb, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
}

static enum fr_error follow_to(struct fr_follower *f, int64_t position)
{
    int64_t deadline = tk_now_ms() + 5000;
    enum fr_error err = FR_OK;

    while (fr_follower_position(f) < position && tk_now_ms() < deadline) {
        err = fr_follower_step(f, 0);
        if (err != FR_OK)
            return err;
        if (fr_follower_position(f) < position)
            usleep(20000);
    }
    ck_assert_int_eq(fr_follower_position(f), position);
    return err;
}

/* A feed server on the subscriptions feed of a producer database, and a
 * follower of it on the test's database with Product 1's handlers. */
struct feed_rig {
    char *pdb_path;
    sqlite3 *pdb;
    sqlite3 *cdb;
    struct fs_server *server;
    struct fr_follower *f;
};

static void rig_open(struct feed_rig *r)
{
    struct fs_server_config cfg;
    struct fr_config fc;
    char url[128];

    memset(r, 0, sizeof *r);
    r->pdb_path = tk_path(dir, "subscriptions.db");
    ck_assert_int_eq(fs_db_open(r->pdb_path, &r->pdb), FS_OK);
    ck_assert_int_eq(fs_feed_declare(r->pdb, "subscriptions", 3), FS_OK);
    memset(&cfg, 0, sizeof cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.db_path = r->pdb_path;
    ck_assert_int_eq(fs_server_open(&cfg, &r->server), FS_OK);
    ck_assert_int_eq(fs_server_feed(r->server, "subscriptions"), FS_OK);
    ck_assert_int_eq(fs_server_start(r->server), FS_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/feeds/subscriptions", fs_server_port(r->server));
    ck_assert_int_eq(fs_db_open(db_path, &r->cdb), FS_OK);
    memset(&fc, 0, sizeof fc);
    fc.feed_url = url;
    fc.db = r->cdb;
    ck_assert_int_eq(fr_follower_open(&fc, &r->f), FR_OK);
    ck_assert_int_eq(directory_follow(r->f), 0);
}

static void rig_close(struct feed_rig *r)
{
    fr_follower_close(r->f);
    fs_server_close(r->server);
    sqlite3_close(r->cdb);
    sqlite3_close(r->pdb);
    free(r->pdb_path);
}

START_TEST(test_follower_applies_every_type)
{
    struct feed_rig r;
    struct key_vault *v = vault_new();
    char s1[SHA256_HEX_SIZE], hash[SHA256_HEX_SIZE];
    struct user_ref u;
    const struct fs_field reg[] = {{"customerId", CUSTOMER}, {"name", "Example"}, {"plan", "payg"}};
    const struct fs_field added[] = {{"customerId", CUSTOMER}, {"userId", USER},
                                     {"email", EMAIL},         {"keyId", KEY1_ID},
                                     {"keySha256", sha(KEY1)}, {"futureField", "ignored"}};
    const struct fs_field issued[] = {
        {"customerId", CUSTOMER}, {"userId", USER}, {"keyId", KEY2_ID}, {"keySha256", sha(KEY2)}};
    const struct fs_field unknown[] = {{"customerId", CUSTOMER}, {"whatever", "1"}};
    const struct fs_field revoked[] = {
        {"customerId", CUSTOMER}, {"userId", USER}, {"keyId", KEY1_ID}};
    const struct fs_field lock[] = {{"customerId", CUSTOMER}, {"reason", "overdraft"}};
    const struct fs_field unlock[] = {{"customerId", CUSTOMER}};
    const struct fs_field removed[] = {{"customerId", CUSTOMER}, {"userId", USER}};

    rig_open(&r);
    append_event(r.pdb, "CustomerRegistered", reg, 3);
    append_event(r.pdb, "UserAdded", added, 6);
    append_event(r.pdb, "LoginKeyIssued", issued, 4);
    append_event(r.pdb, "SomethingNew", unknown, 2);
    ck_assert_int_eq(follow_to(r.f, 4), FR_OK);
    ck_assert_int_eq(find(EMAIL, KEY1), DIRECTORY_OK);
    ck_assert_int_eq(find(EMAIL, KEY2), DIRECTORY_OK);
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM customers WHERE name = 'Example'"), 1);

    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY1, s1), SIGN_IN_OK);
    append_event(r.pdb, "LoginKeyRevoked", revoked, 3);
    ck_assert_int_eq(follow_to(r.f, 5), FR_OK);
    ck_assert_int_eq(find(EMAIL, KEY1), DIRECTORY_REVOKED);
    ck_assert_int_eq(session_find(db, s1, &u, hash), 0);

    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY2, s1), SIGN_IN_OK);
    append_event(r.pdb, "CustomerLocked", lock, 2);
    ck_assert_int_eq(follow_to(r.f, 6), FR_OK);
    ck_assert_int_eq(find(EMAIL, KEY2), DIRECTORY_LOCKED);
    ck_assert_int_eq(session_find(db, s1, &u, hash), 0);

    append_event(r.pdb, "CustomerUnlocked", unlock, 1);
    ck_assert_int_eq(follow_to(r.f, 7), FR_OK);
    ck_assert_int_eq(find(EMAIL, KEY2), DIRECTORY_OK);
    append_event(r.pdb, "UserRemoved", removed, 2);
    ck_assert_int_eq(follow_to(r.f, 8), FR_OK);
    ck_assert_int_eq(find(EMAIL, KEY2), DIRECTORY_NO_MATCH);
    rig_close(&r);
    vault_free(v);
}
END_TEST

START_TEST(test_follower_refuses_broken_contract)
{
    struct feed_rig r;
    const struct fs_field no_key[] = {{"customerId", CUSTOMER}, {"userId", USER}};
    enum fr_error err;
    int64_t deadline;

    rig_open(&r);
    deadline = tk_now_ms() + 5000;
    append_event(r.pdb, "LoginKeyRevoked", no_key, 2);
    while ((err = fr_follower_step(r.f, 0)) == FR_OK && tk_now_ms() < deadline)
        usleep(20000);
    ck_assert_int_eq(err, FR_ERR_REFUSED);
    ck_assert_int_eq(fr_follower_position(r.f), 0);
    ck_assert_ptr_nonnull(strstr(fr_follower_last_error(r.f), "keyId"));
    rig_close(&r);
}
END_TEST

/* ---- The runner and the retry worker against a fake Cloud API ------------ */

/* How the fake Cloud API answers: 200, 401, 500 or 413. */
static atomic_int fake_status = 200;
static atomic_int fake_calls;
/* The Idempotency-Key of every call, in order, each followed by ',' ("-"
 * for a call without one). */
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static char fake_idem[1024];

static void fake_analyze(struct fs_request *req, void *userdata)
{
    const char *auth = fs_request_header(req, "Authorization");
    const char *idem = fs_request_header(req, "Idempotency-Key");
    size_t len = 0, used;
    char body[128];
    int status = atomic_load(&fake_status);

    (void)userdata;
    atomic_fetch_add(&fake_calls, 1);
    pthread_mutex_lock(&fake_lock);
    used = strlen(fake_idem);
    snprintf(fake_idem + used, sizeof fake_idem - used, "%s,", idem ? idem : "-");
    pthread_mutex_unlock(&fake_lock);
    fs_request_body(req, &len);
    if (status == 200 && (!auth || strcmp(auth, "Bearer " KEY1) != 0))
        status = 401;
    if (status != 200) {
        fs_reply_error(req, (unsigned)status, "fake says %d", status);
        return;
    }
    snprintf(body, sizeof body, "{\"characters\":%zu,\"words\":1,\"lines\":1,\"units\":%zu}", len,
             1 + len / 1000);
    fs_reply(req, 200, "application/json", body, strlen(body));
}

static struct fs_server *fake_cloud_open(char *url, size_t url_size)
{
    struct fs_server_config cfg;
    struct fs_server *s;
    char *path = tk_path(dir, "fake-cloud.db");

    memset(&cfg, 0, sizeof cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.db_path = path;
    ck_assert_int_eq(fs_server_open(&cfg, &s), FS_OK);
    ck_assert_int_eq(fs_server_route(s, "POST", "/api/v1/analyze", 2 << 20, fake_analyze, NULL),
                     FS_OK);
    ck_assert_int_eq(fs_server_start(s), FS_OK);
    snprintf(url, url_size, "http://127.0.0.1:%u/", fs_server_port(s));
    free(path);
    return s;
}

START_TEST(test_runner_outcomes)
{
    struct key_vault *v = vault_new();
    struct analysis_runner *r;
    struct fs_server *cloud;
    struct user_ref u = ada();
    char url[64], reason[256], err[256], s1[SHA256_HEX_SIZE];

    directory_with_ada();
    cloud = fake_cloud_open(url, sizeof url);
    r = runner_new(url, v);
    ck_assert_int_eq(runner_reachable(r, err, sizeof err), -1);

    ck_assert_int_eq(analysis_create(db, "an_ok", &u, "hello"), 0);
    ck_assert_int_eq(runner_run(r, db, "an_ok", KEY1, reason, sizeof reason), RUN_DONE);
    ck_assert_int_eq(runner_reachable(r, err, sizeof err), 1);
    ck_assert_int_eq(tk_query_int(db, "SELECT units FROM analyses WHERE id = 'an_ok' AND status = 'done'"),
                     1);
    ck_assert_int_eq(runner_run(r, db, "an_ok", KEY1, reason, sizeof reason), RUN_GONE);

    atomic_store(&fake_status, 500);
    ck_assert_int_eq(analysis_create(db, "an_q", &u, "later"), 0);
    ck_assert_int_eq(runner_run(r, db, "an_q", KEY1, reason, sizeof reason), RUN_QUEUED);
    ck_assert_int_eq(runner_reachable(r, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "500"));
    /* Without a key given or held for a live session, it waits. */
    atomic_store(&fake_status, 200);
    ck_assert_int_eq(runner_run(r, db, "an_q", NULL, reason, sizeof reason), RUN_NO_KEY);
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY1, s1), SIGN_IN_OK);
    ck_assert_int_eq(runner_run(r, db, "an_q", NULL, reason, sizeof reason), RUN_DONE);
    ck_assert_int_eq(tk_query_int(db, "SELECT attempts FROM analyses WHERE id = 'an_q'"), 2);

    /* A 401 just after submission may be the Cloud API's replica lagging:
     * the analysis stays queued; later, it fails for good. */
    ck_assert_int_eq(analysis_create(db, "an_refused", &u, "x"), 0);
    ck_assert_int_eq(runner_run(r, db, "an_refused", "some-other-key", reason, sizeof reason),
                     RUN_QUEUED);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "UPDATE analyses SET created_at = "
                                  "strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 minute') "
                                  "WHERE id = 'an_refused'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(runner_run(r, db, "an_refused", "some-other-key", reason, sizeof reason),
                     RUN_FAILED);
    ck_assert_ptr_nonnull(strstr(reason, "401"));
    ck_assert_int_eq(tk_query_int(db, "SELECT count(*) FROM analyses WHERE id = 'an_refused' "
                               "AND status = 'failed' AND reason LIKE '%login key%'"),
                     1);
    atomic_store(&fake_status, 413);
    ck_assert_int_eq(analysis_create(db, "an_big", &u, "x"), 0);
    ck_assert_int_eq(runner_run(r, db, "an_big", KEY1, reason, sizeof reason), RUN_FAILED);
    ck_assert_int_eq(analyses_count(db, "failed", CUSTOMER, USER), 2);
    ck_assert_int_eq(analyses_count(db, "done", CUSTOMER, USER), 2);
    /* every call, retries included, names its analysis, so that the Cloud
     * API charges a resent one once */
    pthread_mutex_lock(&fake_lock);
    ck_assert_str_eq(fake_idem, "an_ok,an_q,an_q,an_refused,an_refused,an_big,");
    pthread_mutex_unlock(&fake_lock);
    runner_free(r);
    fs_server_close(cloud);
    vault_free(v);
}
END_TEST

START_TEST(test_runner_unreachable)
{
    struct key_vault *v = vault_new();
    struct analysis_runner *r = runner_new("http://127.0.0.1:1", v);
    struct user_ref u = ada();
    char reason[256], err[256];

    ck_assert_int_eq(analysis_create(db, "an_1", &u, "hello"), 0);
    ck_assert_int_eq(runner_run(r, db, "an_1", KEY1, reason, sizeof reason), RUN_QUEUED);
    ck_assert_int_eq(runner_reachable(r, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "cannot be reached"));
    ck_assert_int_eq(analyses_count(db, "queued", NULL, NULL), 1);
    runner_free(r);
    vault_free(v);
}
END_TEST

START_TEST(test_worker_finishes_queued_when_the_api_is_back)
{
    struct key_vault *v = vault_new();
    struct analysis_runner *r;
    struct retry_worker *w;
    struct fs_server *cloud;
    struct user_ref u = ada();
    char url[64], s1[SHA256_HEX_SIZE];
    int64_t deadline;
    int64_t head = 0;

    directory_with_ada();
    atomic_store(&fake_status, 503);
    cloud = fake_cloud_open(url, sizeof url);
    r = runner_new(url, v);
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY1, s1), SIGN_IN_OK);
    ck_assert_int_eq(analysis_create(db, "an_1", &u, "one"), 0);
    ck_assert_int_eq(analysis_create(db, "an_2", &u, "two"), 0);
    w = retry_worker_start(db_path, r, v, 1000);
    ck_assert_ptr_nonnull(w);
    deadline = tk_now_ms() + 5000;
    while (atomic_load(&fake_calls) < 2 && tk_now_ms() < deadline)
        usleep(20000);
    ck_assert_int_ge(atomic_load(&fake_calls), 2);
    ck_assert_int_eq(analyses_count(db, "queued", NULL, NULL), 2);
    atomic_store(&fake_status, 200);
    deadline = tk_now_ms() + 10000;
    while (analyses_count(db, "done", NULL, NULL) < 2 && tk_now_ms() < deadline)
        usleep(50000);
    ck_assert_int_eq(analyses_count(db, "done", NULL, NULL), 2);
    ck_assert_int_eq(product1_head(&head), FS_OK);
    ck_assert_int_eq(head, 2);
    retry_worker_stop(w);
    runner_free(r);
    fs_server_close(cloud);
    vault_free(v);
}
END_TEST

START_TEST(test_worker_waits_for_a_session)
{
    struct key_vault *v = vault_new();
    struct analysis_runner *r;
    struct retry_worker *w;
    struct fs_server *cloud;
    struct user_ref u = ada();
    char url[64], s1[SHA256_HEX_SIZE], hash[SHA256_HEX_SIZE];
    int64_t deadline;

    directory_with_ada();
    atomic_store(&fake_status, 200);
    cloud = fake_cloud_open(url, sizeof url);
    r = runner_new(url, v);
    ck_assert_int_eq(analysis_create(db, "an_1", &u, "one"), 0);
    /* A session that ended (revoked) leaves its key unusable. */
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY1, s1), SIGN_IN_OK);
    ck_assert_int_eq(sha256_hex(s1, strlen(s1), hash), 0);
    ck_assert_int_eq(session_end(db, hash), 0);
    w = retry_worker_start(db_path, r, v, 1000);
    ck_assert_ptr_nonnull(w);
    /* Two whole rounds, woken so they need not wait for the idle pause. */
    deadline = tk_now_ms() + 10000;
    while (retry_worker_rounds(w) < 2 && tk_now_ms() < deadline) {
        retry_worker_wake(w);
        usleep(20000);
    }
    ck_assert_uint_ge(retry_worker_rounds(w), 2);
    ck_assert_int_eq(atomic_load(&fake_calls), 0);
    ck_assert_int_eq(analyses_count(db, "queued", NULL, NULL), 1);
    ck_assert_uint_eq(vault_count(v), 0);
    /* The next sign-in lets it run. */
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY1, s1), SIGN_IN_OK);
    retry_worker_wake(w);
    deadline = tk_now_ms() + 5000;
    while (analyses_count(db, "done", NULL, NULL) < 1 && tk_now_ms() < deadline)
        usleep(50000);
    ck_assert_int_eq(analyses_count(db, "done", NULL, NULL), 1);
    retry_worker_stop(w);
    runner_free(r);
    fs_server_close(cloud);
    vault_free(v);
}
END_TEST

START_TEST(test_worker_not_held_up_by_signed_out_users)
{
    struct key_vault *v = vault_new();
    struct analysis_runner *r;
    struct retry_worker *w;
    struct fs_server *cloud;
    struct user_ref u = ada(), gone = {(char *)"c2", (char *)"u2", (char *)"k", (char *)"x@y.z"};
    char url[64], s1[SHA256_HEX_SIZE], id[ANALYSIS_ID_SIZE];
    int64_t deadline;

    directory_with_ada();
    atomic_store(&fake_status, 200);
    cloud = fake_cloud_open(url, sizeof url);
    r = runner_new(url, v);
    for (int i = 0; i < 80; i++) {
        snprintf(id, sizeof id, "an_gone_%d", i);
        ck_assert_int_eq(analysis_create(db, id, &gone, "waiting for its user"), 0);
    }
    ck_assert_int_eq(analysis_create(db, "an_ada", &u, "mine"), 0);
    ck_assert_int_eq(sign_in_as(v, EMAIL, KEY1, s1), SIGN_IN_OK);
    w = retry_worker_start(db_path, r, v, 1000);
    ck_assert_ptr_nonnull(w);
    deadline = tk_now_ms() + 5000;
    while (analyses_count(db, "done", NULL, NULL) < 1 && tk_now_ms() < deadline)
        usleep(50000);
    ck_assert_int_eq(
        tk_query_int(db, "SELECT count(*) FROM analyses WHERE id = 'an_ada' AND status = 'done'"), 1);
    ck_assert_int_eq(analyses_count(db, "queued", "c2", "u2"), 80);
    retry_worker_stop(w);
    runner_free(r);
    fs_server_close(cloud);
    vault_free(v);
}
END_TEST

static Suite *product1_suite(void)
{
    Suite *s = suite_create("product1");
    TCase *pure = tcase_create("pure");
    TCase *domain = tcase_create("domain");
    TCase *net = tcase_create("network");

    tcase_add_test(pure, test_sha256_is_the_contract_hash);
    tcase_add_test(pure, test_random_ids_differ);
    tcase_add_test(pure, test_session_cookie_parsing);
    tcase_add_test(pure, test_key_vault);
    suite_add_tcase(s, pure);

    tcase_add_checked_fixture(domain, setup, teardown);
    tcase_add_test(domain, test_directory_finds_by_email_and_key);
    tcase_add_test(domain, test_directory_email_in_two_customers_key_decides);
    tcase_add_test(domain, test_directory_revoke_lock_unlock_remove);
    tcase_add_test(domain, test_sign_in_paths);
    tcase_add_test(domain, test_sessions_end_with_revocation_lock_and_removal);
    tcase_add_test(domain, test_session_expiry_and_sign_out);
    tcase_add_test(domain, test_analysis_done_once_and_published);
    tcase_add_test(domain, test_analysis_failed_and_listed);
    tcase_add_test(domain, test_emits_the_contract_sample);
    suite_add_tcase(s, domain);

    tcase_add_checked_fixture(net, setup, teardown);
    tcase_set_timeout(net, 30);
    tcase_add_test(net, test_follower_applies_every_type);
    tcase_add_test(net, test_follower_refuses_broken_contract);
    tcase_add_test(net, test_runner_outcomes);
    tcase_add_test(net, test_runner_unreachable);
    tcase_add_test(net, test_worker_finishes_queued_when_the_api_is_back);
    tcase_add_test(net, test_worker_waits_for_a_session);
    tcase_add_test(net, test_worker_not_held_up_by_signed_out_users);
    suite_add_tcase(s, net);
    return s;
}

int main(void)
{
    return tk_run(product1_suite());
}
