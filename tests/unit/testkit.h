/*
 * testkit.h - small helpers the Check programs share: temporary folders,
 * an HTTP client for talking to servers under test, and a clock.
 * Everything here may abort the test (ck_assert) on failure.
 */
#ifndef TESTKIT_H
#define TESTKIT_H

#include <check.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* A response as tk_http() received it. Release with tk_response_release(). */
struct tk_response {
    long status;     /* HTTP status, 0 if the request failed */
    char *headers;   /* the raw header block, NUL-terminated */
    char *body;      /* the body, NUL-terminated */
    size_t body_len;
    double seconds;  /* total time of the request */
};

/* Makes a fresh folder under $TMPDIR and returns its path (caller frees). */
char *tk_tempdir(void);

/* Removes the folder made by tk_tempdir() and everything in it. */
void tk_rmtree(const char *path);

/* Returns "dir/name" (caller frees). */
char *tk_path(const char *dir, const char *name);

/*
 * Sends method to url with the NULL-terminated list of "Name: value"
 * headers (may be NULL) and body (may be NULL), and fills *resp.
 * Times out after 40 s.
 */
void tk_http(const char *method, const char *url, const char *const *headers,
             const char *body, struct tk_response *resp);

/* The value of a response header (case-insensitive name) in a static
 * buffer, or NULL. */
const char *tk_header(const struct tk_response *resp, const char *name);

void tk_response_release(struct tk_response *resp);

/*
 * Asserts that entry_xml (one Atom <entry> as a feed serves it) has the shape
 * of the contract sample in the file sample_path: the same elements, in the
 * same namespaces and order, the same attribute names, and the same text
 * except in <id>, <updated> and <position>, which change from run to run. With
 * WRITE_SAMPLES=1 in the environment it writes entry_xml to sample_path
 * instead, to renew a sample on purpose.
 */
void tk_assert_entry_matches_sample(const char *entry_xml, const char *sample_path);

/* Runs every test of s with Check's normal output (in fork mode unless
 * CK_FORK=no) and returns the program's exit status: 0 when all passed.
 * Takes over s. */
int tk_run(Suite *s);

/* The first column of the first row of sql on db, as an integer, or -1
 * when there is no row. Fails the test if sql does not prepare. */
long long tk_query_int(sqlite3 *db, const char *sql);

/* Monotonic milliseconds. */
int64_t tk_now_ms(void);

#endif
