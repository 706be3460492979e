/*
 * analyses.h - the texts users submit for analysis, kept durably.
 *
 * An analysis is stored `queued` before the Cloud API is called, so a text
 * accepted from a user is never lost. It then moves once, and only once, to
 * `done` (with the Cloud API's result) or `failed` (with a reason). Moving
 * to `done` appends AnalysisCompleted (customerId, userId, analysisId,
 * units) to the product1 feed in the same transaction, so each completed
 * analysis is published exactly once.
 */
#ifndef PRODUCT1_ANALYSES_H
#define PRODUCT1_ANALYSES_H

#include "directory.h"

#include <sqlite3.h>
#include <stddef.h>

/* Room for an analysis id ("an_" and 32 hex digits) and its NUL. */
#define ANALYSIS_ID_SIZE 36

/* Longest text accepted, in bytes: the Cloud API's own limit (1 MiB). */
#define ANALYSIS_TEXT_MAX (1024 * 1024)

/* Makes a new random analysis id into id. Returns 0, or -1. */
int analysis_new_id(char id[ANALYSIS_ID_SIZE]);

/* Stores text (NUL-terminated) as a new queued analysis id of user u.
 * Returns 0, or -1 (logged). */
int analysis_create(sqlite3 *db, const char *id, const struct user_ref *u, const char *text);

enum analysis_change {
    ANALYSIS_CHANGED,    /* it was queued and now is done (or failed) */
    ANALYSIS_NOT_QUEUED, /* it is unknown or already done or failed: nothing changed */
    ANALYSIS_BAD_RESULT, /* the result is not a JSON object with integer units */
    ANALYSIS_DB_ERROR,   /* the database failed; nothing changed (logged) */
};

/* Marks queued analysis id done with result_json (the Cloud API's answer)
 * and publishes AnalysisCompleted, in one transaction. */
enum analysis_change analysis_complete(sqlite3 *db, const char *id, const char *result_json);

/* Marks queued analysis id failed, saying why (shown to the user). */
enum analysis_change analysis_fail(sqlite3 *db, const char *id, const char *reason);

/* Counts one more attempt to run analysis id. Returns 0, or -1. */
int analysis_count_attempt(sqlite3 *db, const char *id);

/* A queued analysis to run. Strings owned; release with analysis_job_release(). */
struct analysis_job {
    char id[ANALYSIS_ID_SIZE];
    char *customer_id;
    char *user_id;
    char *text;
    size_t len;
    /* seconds since it was submitted */
    long long age;
};

/* Loads analysis id into *job if it is still queued: returns 1, 0 if it is
 * not (unknown, done or failed), -1 on error. */
int analysis_load_queued(sqlite3 *db, const char *id, struct analysis_job *job);

void analysis_job_release(struct analysis_job *job);

/* Fills ids with up to max ids of queued analyses, oldest first, of user u
 * (or of everyone when u is NULL), and returns how many, or -1 on error. */
int analyses_queued(sqlite3 *db, const struct user_ref *u, char (*ids)[ANALYSIS_ID_SIZE], int max);

/* Counts the analyses in status, of user (customer_id, user_id) when both
 * are not NULL, else of everyone. Returns -1 on error. */
long long analyses_count(sqlite3 *db, const char *status, const char *customer_id,
                         const char *user_id);

/* The JSON {"id","status","created_at","result","reason"} of analysis id as
 * a new string (caller frees), or NULL. */
char *analysis_json(sqlite3 *db, const char *id);

/* Same, only when analysis id belongs to user u; otherwise NULL. */
char *analysis_json_for(sqlite3 *db, const struct user_ref *u, const char *id);

/* The JSON array of user u's analyses, newest first, as a new string
 * (caller frees), or NULL on error. */
char *analyses_json(sqlite3 *db, const struct user_ref *u);

/* Characters of its text an analysis shows in the user's history: a
 * preview only, read from the stored text for its owner alone (the JSON
 * API does not carry it). */
#define ANALYSIS_PREVIEW 80
#define ANALYSIS_PREVIEW_SQL "80"

/* One analysis as a page shows it. Pointers valid during the callback only;
 * result fields are NULL unless done. */
struct analysis_row {
    const char *id;
    const char *status;
    const char *created_at;
    const char *reason;
    long long characters, words, lines, units;
    const char *preview; /* the first ANALYSIS_PREVIEW characters of its text */
    int cut;             /* whether the text is longer than the preview */
};

typedef void analysis_row_fn(const struct analysis_row *row, void *userdata);

/* Calls fn for up to limit of user u's analyses, newest first. Returns 0,
 * or -1 on error. */
int analyses_each(sqlite3 *db, const struct user_ref *u, int limit, analysis_row_fn *fn,
                  void *userdata);

#endif
