#include "analysis_runner.h"

#include "analyses.h"
#include "cloud_client.h"
#include "log.h"
#include "sessions.h"
#include "strbuf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* For this long after a text is submitted, a 401 from the Cloud API is taken
 * as its replica not having the key yet (both replicas follow the same feed
 * and converge within 1-2 s, DESIGN.md R1): the analysis stays queued. */
#define KEY_PROPAGATION_SECONDS 10

/* At most this many analyses are sent at once by one process. */
#define MAX_IN_FLIGHT 64

struct analysis_runner {
    /* base URL of the Cloud API */
    const char *cloud_url;
    /* login keys of live sessions */
    struct key_vault *vault;
    /* guards everything below */
    pthread_mutex_t lock;
    /* ids of the analyses being sent now */
    char in_flight[MAX_IN_FLIGHT][ANALYSIS_ID_SIZE];
    /* 1: the last call got an answer; 0: it did not; -1: no call yet */
    int reachable;
    /* why the last call got no answer */
    char last_error[256];
    struct runner_stats stats;
};

struct analysis_runner *runner_new(const char *cloud_url, struct key_vault *vault)
{
    struct analysis_runner *r = xmalloc(sizeof *r);

    memset(r, 0, sizeof *r);
    r->cloud_url = cloud_url;
    r->vault = vault;
    r->reachable = -1;
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

void runner_free(struct analysis_runner *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Marks id in flight; returns 0, or -1 when it already is (or the set is
 * full, which makes the caller try later). */
static int claim(struct analysis_runner *r, const char *id)
{
    int free_slot = -1, result = 0;

    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < MAX_IN_FLIGHT; i++) {
        if (r->in_flight[i][0] == '\0') {
            if (free_slot < 0)
                free_slot = i;
        } else if (strcmp(r->in_flight[i], id) == 0) {
            result = -1;
        }
    }
    if (result == 0 && free_slot < 0)
        result = -1;
    if (result == 0)
        snprintf(r->in_flight[free_slot], ANALYSIS_ID_SIZE, "%s", id);
    pthread_mutex_unlock(&r->lock);
    return result;
}

static void release(struct analysis_runner *r, const char *id)
{
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < MAX_IN_FLIGHT; i++)
        if (strcmp(r->in_flight[i], id) == 0)
            r->in_flight[i][0] = '\0';
    pthread_mutex_unlock(&r->lock);
}

static void note_call(struct analysis_runner *r, const struct cloud_reply *reply)
{
    pthread_mutex_lock(&r->lock);
    if (reply->outcome == CLOUD_UNREACHABLE) {
        r->reachable = 0;
        snprintf(r->last_error, sizeof r->last_error, "%s", reply->error);
        r->stats.unreachable++;
    } else {
        r->reachable = 1;
        r->last_error[0] = '\0';
    }
    pthread_mutex_unlock(&r->lock);
}

static void count(struct analysis_runner *r, enum run_result res)
{
    pthread_mutex_lock(&r->lock);
    if (res == RUN_DONE)
        r->stats.done++;
    else if (res == RUN_FAILED)
        r->stats.failed++;
    pthread_mutex_unlock(&r->lock);
}

/* Finds the key of a live session of job's user; 1 found, 0 none, -1 error. */
static int find_key(struct analysis_runner *r, sqlite3 *db, const struct analysis_job *job,
                    char key[LOGIN_KEY_MAX + 1])
{
    char hash[65];

    while (vault_find_user(r->vault, job->customer_id, job->user_id, hash, key)) {
        int live = session_is_live(db, hash);
        if (live == 1)
            return 1;
        if (live < 0)
            return -1;
        vault_forget(r->vault, hash);
    }
    return 0;
}

/* Records the Cloud API's answer on the analysis. */
static enum run_result record(sqlite3 *db, const struct analysis_job *job,
                              const struct cloud_reply *reply, char *reason, size_t reason_size)
{
    char why[320];
    enum analysis_change change;

    switch (reply->outcome) {
    case CLOUD_UNREACHABLE:
        log_warn("cloud api unreachable, analysis stays queued", "id=%s error=\"%s\"", job->id,
                 reply->error);
        return RUN_QUEUED;
    case CLOUD_DONE:
        change = analysis_complete(db, job->id, reply->body);
        if (change != ANALYSIS_BAD_RESULT)
            return change == ANALYSIS_CHANGED      ? RUN_DONE
                   : change == ANALYSIS_NOT_QUEUED ? RUN_GONE
                                                   : RUN_ERROR;
        snprintf(why, sizeof why, "the Cloud API's answer could not be read");
        break;
    case CLOUD_REFUSED:
        if (reply->status == 401 && job->age < KEY_PROPAGATION_SECONDS) {
            log_warn("the Cloud API does not know the key yet, analysis stays queued", "id=%s",
                     job->id);
            return RUN_QUEUED;
        }
        if (reply->status == 403 && strstr(reply->body, "\"credit_limit\""))
            snprintf(why, sizeof why,
                     "this text would take your company past its credit limit: a payment"
                     " restores access");
        else
            snprintf(why, sizeof why, "the Cloud API refused the login key (%ld)", reply->status);
        break;
    case CLOUD_REJECTED:
    default:
        snprintf(why, sizeof why, "the Cloud API refused the text (%ld)", reply->status);
        break;
    }
    if (reason)
        snprintf(reason, reason_size, "%s", why);
    change = analysis_fail(db, job->id, why);
    return change == ANALYSIS_CHANGED      ? RUN_FAILED
           : change == ANALYSIS_NOT_QUEUED ? RUN_GONE
                                           : RUN_ERROR;
}

enum run_result runner_run(struct analysis_runner *r, sqlite3 *db, const char *id, const char *key,
                           char *reason, size_t reason_size)
{
    return runner_run_within(r, db, id, key, 0, reason, reason_size);
}

/* Whether a run for a waiting request should skip the call: the last call
 * did not reach the Cloud API. */
static int known_unreachable(struct analysis_runner *r)
{
    int down;

    pthread_mutex_lock(&r->lock);
    down = r->reachable == 0;
    pthread_mutex_unlock(&r->lock);
    return down;
}

enum run_result runner_run_within(struct analysis_runner *r, sqlite3 *db, const char *id,
                                  const char *key, unsigned budget_ms, char *reason,
                                  size_t reason_size)
{
    struct analysis_job job;
    struct cloud_reply reply = {0};
    char held[LOGIN_KEY_MAX + 1];
    enum run_result res = RUN_ERROR;
    int found;

    memset(&job, 0, sizeof job);
    held[0] = '\0';
    if (reason && reason_size)
        reason[0] = '\0';
    if (claim(r, id) != 0)
        return RUN_BUSY;
    found = analysis_load_queued(db, id, &job);
    if (found <= 0) {
        res = found == 0 ? RUN_GONE : RUN_ERROR;
        goto out;
    }
    if (key) {
        snprintf(held, sizeof held, "%s", key);
    } else {
        found = find_key(r, db, &job, held);
        if (found <= 0) {
            res = found == 0 ? RUN_NO_KEY : RUN_ERROR;
            goto out;
        }
    }
    if (budget_ms && known_unreachable(r)) {
        res = RUN_QUEUED;
        goto out;
    }
    analysis_count_attempt(db, id);
    cloud_analyze(r->cloud_url, held, job.id, job.text, job.len, budget_ms, &reply);
    note_call(r, &reply);
    res = record(db, &job, &reply, reason, reason_size);
    count(r, res);
out : {
    volatile char *p = held;
    for (size_t i = 0; i < sizeof held; i++)
        p[i] = '\0';
}
    cloud_reply_release(&reply);
    analysis_job_release(&job);
    release(r, id);
    return res;
}

int runner_reachable(struct analysis_runner *r, char *error, size_t error_size)
{
    int reachable;

    pthread_mutex_lock(&r->lock);
    reachable = r->reachable;
    if (error && error_size)
        snprintf(error, error_size, "%s", r->last_error);
    pthread_mutex_unlock(&r->lock);
    return reachable;
}

void runner_stats(struct analysis_runner *r, struct runner_stats *out)
{
    pthread_mutex_lock(&r->lock);
    *out = r->stats;
    pthread_mutex_unlock(&r->lock);
}
