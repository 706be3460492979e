/*
 * feedgen - append N generated entries to a feed, for tests and benchmarks.
 *
 *   feedgen --db FILE --feed NAME --count N [--page-size P] [--batch B] [--type T]
 *           [--random-keys 1|2]
 *
 * Declares the feed (page size P, default 500) if needed and appends N
 * entries with realistic fields in transactions of B entries (default 1000),
 * and prints the new head position. With --type UserAdded the entries are
 * contract-shaped UserAdded events (one new user and key each: customerId,
 * userId, email, keyId, keySha256), so a credential replica can catch up on
 * them (keySha256 counts up, unless --random-keys 1 makes it look like a
 * real key's hash: 64 hex digits spread evenly, as random SHA-256 values
 * are, which is what a replica's key index really gets; --random-keys 2
 * also makes the customer, user and key ids random, "c_", "u_" or "k_"
 * and 16 hex digits, as Subscriptions makes them (sub_id_new()), so every
 * index keyed by them gets them in random order too: 997 customers still);
 * any other type gets UsageRecorded's fields
 * (customerId, userId, keyId, units, window times, node).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedserver.h"

/* splitmix64 of n * 4 + k: distinct for distinct (n, k < 4), evenly spread. */
static unsigned long long mix(long long n, int k)
{
    unsigned long long x =
        (unsigned long long)n * 4 + (unsigned long long)k + 0x9e3779b97f4a7c15ULL;

    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void usage(void)
{
    fprintf(stderr, "usage: feedgen --db FILE --feed NAME --count N [--page-size P] [--batch B] "
                    "[--type T] [--random-keys 1|2]\n");
    exit(2);
}

static long long number(const char *s, long long min, long long max)
{
    char *end;
    long long v;

    if (!s)
        usage();
    v = strtoll(s, &end, 10);
    if (end == s || *end || v < min || v > max)
        usage();
    return v;
}

static int exec(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    sqlite3_finalize(st);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dbpath = NULL, *feed = NULL, *type = "UsageRecorded";
    long long count = -1, page_size = 0, batch = 1000, done = 0, random_keys = 0;
    sqlite3 *db = NULL;
    struct fs_feed *handle = NULL;
    int64_t pos = 0;
    enum fs_error err;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--db") == 0 && v)
            dbpath = v;
        else if (strcmp(a, "--feed") == 0 && v)
            feed = v;
        else if (strcmp(a, "--type") == 0 && v)
            type = v;
        else if (strcmp(a, "--count") == 0)
            count = number(v, 0, 1000000000);
        else if (strcmp(a, "--page-size") == 0)
            page_size = number(v, 1, 1000000);
        else if (strcmp(a, "--batch") == 0)
            batch = number(v, 1, 10000000);
        else if (strcmp(a, "--random-keys") == 0)
            random_keys = number(v, 0, 2);
        else
            usage();
        i++;
    }
    if (!dbpath || !feed || count < 0)
        usage();
    if ((err = fs_db_open(dbpath, &db)) != FS_OK ||
        (err = fs_feed_declare(db, feed, (unsigned)page_size)) != FS_OK ||
        (err = fs_feed_open(db, feed, &handle)) != FS_OK) {
        fprintf(stderr, "feedgen: %s\n", fs_strerror(err));
        sqlite3_close(db);
        return 1;
    }
    /* A big page cache keeps the random event-id index in memory. */
    if (exec(db, "PRAGMA cache_size=-262144") != SQLITE_OK)
        goto dberr;
    while (done < count) {
        if (exec(db, "BEGIN IMMEDIATE") != SQLITE_OK)
            goto dberr;
        for (long long j = 0; j < batch && done < count; j++, done++) {
            char customer[32], user[32], key[32], units[16], email[48], sha[65];
            struct fs_field usage[] = {
                {"customerId", customer},
                {"userId", user},
                {"keyId", key},
                {"units", units},
                {"windowStart", "2026-11-26T15:00:00Z"},
                {"windowEnd", "2026-11-26T15:00:10Z"},
                {"node", "node-1"},
            };
            struct fs_field user_added[] = {
                {"customerId", customer}, {"userId", user},   {"email", email},
                {"keyId", key},           {"keySha256", sha},
            };
            int is_user = strcmp(type, "UserAdded") == 0;
            struct fs_event ev = {.type = type,
                                  .fields = is_user ? user_added : usage,
                                  .nfields = is_user ? 5 : sizeof usage / sizeof usage[0]};

            snprintf(customer, sizeof customer, "cus_%08lld", done % 997);
            snprintf(user, sizeof user, "usr_%08lld", is_user ? done : done % 7919);
            snprintf(key, sizeof key, "key_%08lld", is_user ? done : done % 104729);
            snprintf(units, sizeof units, "%lld", 1 + done % 50);
            snprintf(email, sizeof email, "user%lld@gen.example", done);
            if (is_user && random_keys == 2) {
                snprintf(customer, sizeof customer, "c_%016llx", mix(done % 997, 1));
                snprintf(user, sizeof user, "u_%016llx", mix(done, 2));
                snprintf(key, sizeof key, "k_%016llx", mix(done, 3));
            }
            /* A distinct 64-hex-digit hash per entry (not a real key's). */
            if (random_keys) {
                /* splitmix64 of the entry number: distinct, evenly spread. */
                unsigned long long z[4];

                for (int k = 0; k < 4; k++)
                    z[k] = mix(done, k);
                snprintf(sha, sizeof sha, "%016llx%016llx%016llx%016llx", z[0], z[1], z[2], z[3]);
            } else {
                snprintf(sha, sizeof sha, "%016llx%048x", done, 0);
            }
            if ((err = fs_feed_append(handle, &ev, &pos)) != FS_OK) {
                fprintf(stderr, "feedgen: append: %s\n", fs_strerror(err));
                exec(db, "ROLLBACK");
                fs_feed_close(handle);
                sqlite3_close(db);
                return 1;
            }
        }
        if (exec(db, "COMMIT") != SQLITE_OK)
            goto dberr;
    }
    if (fs_feed_head(handle, &pos) != FS_OK)
        goto dberr;
    printf("%lld\n", (long long)pos);
    fs_feed_close(handle);
    sqlite3_close(db);
    return 0;
dberr:
    fprintf(stderr, "feedgen: %s\n", sqlite3_errmsg(db));
    fs_feed_close(handle);
    sqlite3_close(db);
    return 1;
}
