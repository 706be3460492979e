#include "http_routes.h"

#include "analyze.h"
#include "credentials.h"
#include "feedserver.h"
#include "idempotency.h"
#include "metering.h"
#include "ops.h"
#include "pages.h"
#include "secrets.h"
#include "strbuf.h"
#include "usage_windows.h"
#include "web.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

/* Longest key text looked up; a longer one cannot be a login key. */
#define KEY_MAX 512

static const char challenge[] = "Bearer realm=\"cloud-api\"";
static const char challenge_invalid[] = "Bearer realm=\"cloud-api\", error=\"invalid_token\"";

/*
 * Finds the key in an Authorization header value "Bearer KEY" (scheme in
 * any case, RFC 7235). Sets *key and *len and returns 0; returns -1 when the
 * header holds no bearer credentials.
 */
static int bearer_key(const char *value, const char **key, size_t *len)
{
    const char *p = value, *end;

    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return -1;
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (end == p)
        return -1;
    *key = p;
    *len = (size_t)(end - p);
    return 0;
}

/* Answers 403 with the lock's reason, so the caller knows what unlocks it. */
static void reply_locked(struct fs_request *req, const struct credential *cred)
{
    struct strbuf sb = STRBUF_INIT;
    char *body;
    size_t len;

    sb_puts(&sb, "{\"error\": \"the customer's account is locked");
    if (strcmp(cred->lock_reason, "overdraft") == 0)
        sb_puts(&sb, " because its balance is past its credit limit: a payment unlocks it");
    else
        sb_puts(&sb, ": ask the operator to unlock it");
    sb_puts(&sb, "\", \"reason\": ");
    sb_json_string(&sb, cred->lock_reason[0] ? cred->lock_reason : "manual");
    sb_puts(&sb, "}");
    body = sb_detach(&sb, &len);
    fs_reply_take(req, 403, "application/json", body, len);
}

/* The body of the 403 to a call that would take its customer past its
 * credit limit: what restores access. */
static const char no_credit_body[] =
    "{\"error\": \"this call would take the customer's balance past its credit limit: a"
    " payment restores access\", \"reason\": \"credit_limit\"}";

static const char conflict_why[] =
    "this Idempotency-Key was used with another body: use a new key for a new call";
static const char unmetered_why[] =
    "the call could not be metered, so it was neither done nor charged: retry shortly";

/* An analyze call whose answer waits for its commit: what the meter's
 * done function needs to answer it. Owned by the meter from
 * meter_submit() to analyze_committed(), which frees it. */
struct pending_call {
    struct cloud_api *api;
    struct fs_deferred *answer; /* the deferred answer, passed on exactly once */
    char *json;                 /* the answer of a metered call (malloc'd) */
    size_t len;
};

/*
 * The meter's done function for a deferred analyze call (committer
 * thread, after the commit): answers it as analyze() would have, 200 with
 * the answer (or the stored one, for a replay) only when its units are
 * committed, else 403, 422 or 503, and frees p.
 */
static void analyze_committed(enum meter_result result, char *stored, void *userdata)
{
    struct pending_call *p = userdata;
    struct cloud_api *api = p->api;
    char *body;

    switch (result) {
    case METER_RECORDED:
        atomic_fetch_add(&api->ok, 1);
        fs_deferred_reply(p->answer, 200, "application/json", p->json, p->len);
        p->json = NULL;
        break;
    case METER_REPLAYED:
        atomic_fetch_add(&api->ok, 1);
        atomic_fetch_add(&api->replayed, 1);
        fs_deferred_header(p->answer, "Idempotent-Replayed", "true");
        fs_deferred_reply(p->answer, 200, "application/json", stored, stored ? strlen(stored) : 0);
        stored = NULL;
        break;
    case METER_REFUSED:
        atomic_fetch_add(&api->over_credit, 1);
        body = strdup(no_credit_body);
        fs_deferred_reply(p->answer, body ? 403 : 503, "application/json", body,
                          sizeof no_credit_body - 1);
        break;
    case METER_CONFLICT:
        atomic_fetch_add(&api->failed, 1);
        fs_deferred_error(p->answer, 422, "%s", conflict_why);
        break;
    case METER_FAILED:
    default:
        atomic_fetch_add(&api->failed, 1);
        fs_deferred_error(p->answer, 503, "%s", unmetered_why);
        break;
    }
    free(stored);
    free(p->json);
    free(p);
}

/*
 * Queues the metering of a call (as meter_call() does) and defers its
 * answer to analyze_committed(), so that no request thread waits for the
 * commit. Returns 0 when the answer is deferred (req must not be answered
 * any more); -1 when it could not be (out of memory), and req is to be
 * answered as before, with nothing queued.
 */
static int meter_deferred(struct fs_request *req, struct cloud_api *api,
                          const struct credential *cred, uint64_t units, struct meter_once *once,
                          const char *json, size_t len)
{
    struct pending_call *p = calloc(1, sizeof *p);

    if (!p)
        return -1;
    p->api = api;
    p->len = len;
    p->json = strdup(json);
    p->answer = p->json ? fs_request_defer(req) : NULL;
    if (!p->answer) {
        free(p->json);
        free(p);
        return -1;
    }
    if (once)
        once->body = json;
    if (meter_submit(api->meter, once, cred->customer_id, cred->user_id, cred->key_id, units,
                     analyze_committed, p) != 0) {
        atomic_fetch_add(&api->failed, 1);
        fs_deferred_error(p->answer, 503, "%s", unmetered_why);
        free(p->json);
        free(p);
    }
    return 0;
}

/*
 * Meters the units of a call by cred whose answer is json (meter.h); with
 * an Idempotency-Key (once not NULL), exactly once per pair: when the pair
 * was answered already, nothing is added and *replay receives the stored
 * answer (the caller frees it). Returns the meter's result. A build for
 * benchmarks only (CLOUD_API_UNMETERED, main.c) has no meter.
 */
static enum meter_result meter_call(struct cloud_api *api, const struct credential *cred,
                                    uint64_t units, struct meter_once *once, const char *json,
                                    char **replay)
{
    if (!api->meter)
        return METER_RECORDED;
    if (!once)
        return meter_record(api->meter, cred->customer_id, cred->user_id, cred->key_id, units);
    once->body = json;
    return meter_record_once(api->meter, once, cred->customer_id, cred->user_id, cred->key_id,
                             units, replay);
}

/*
 * POST /api/v1/analyze. Decides the status in order: credentials present
 * and well-formed, Idempotency-Key (when sent) well-formed, key known and
 * usable, then the analysis, then the metering, which checks the credit
 * limit (credit.h); a 200 is sent only after the metering succeeded.
 *
 * With an Idempotency-Key, the call is named by (SHA-256 of the login key,
 * Idempotency-Key), and its body by its SHA-256. An answer stored for that
 * pair and body is sent again as is, with Idempotent-Replayed: true, and
 * nothing is metered; the pair stored with another body is answered 422.
 * Both are first looked up here (also for a locked customer, since it
 * costs nothing), and, for a call that races with the one that stores it,
 * found by the meter in its commit (meter_record_once()). Without the
 * header the call costs no extra SQL.
 */
static void analyze(struct fs_request *req, void *userdata)
{
    struct cloud_api *api = userdata;
    const char *auth = fs_request_header(req, "Authorization");
    const char *idem = fs_request_header(req, "Idempotency-Key");
    const char *key = NULL, *text, *why = NULL, *www = challenge_invalid;
    size_t key_len = 0, text_len = 0;
    struct credential cred;
    struct meter_once once;
    struct analysis a;
    unsigned status = 401;
    char json[160], key_hash[65], body_hash[65], stored_hash[65];
    char *replay = NULL;
    enum meter_result fast;
    int n = 0, found, no_credit = 0;

    memset(&cred, 0, sizeof cred);
    if (!auth) {
        why = "send your login key as 'Authorization: Bearer KEY'";
        www = challenge;
        goto out;
    }
    if (bearer_key(auth, &key, &key_len) != 0) {
        why = "use the Bearer scheme: 'Authorization: Bearer KEY'";
        www = challenge;
        goto out;
    }
    if (idem && !idempotency_key_valid(idem)) {
        status = 400;
        why = "Idempotency-Key must be 1-255 visible ASCII characters (no spaces)";
        goto out;
    }
    if (key_len > KEY_MAX) {
        why = "unknown login key";
        goto out;
    }
    key_lookup_find(api->keys, key, key_len, &cred);
    switch (cred.state) {
    case CREDENTIAL_VALID:
        break;
    case CREDENTIAL_UNKNOWN:
        why = "unknown login key: check it, or create one in Subscriptions";
        goto out;
    case CREDENTIAL_REVOKED:
        why = "this login key was revoked: use another one";
        goto out;
    case CREDENTIAL_USER_REMOVED:
        why = "the user of this login key was removed";
        goto out;
    case CREDENTIAL_LOCKED:
        status = 403;
        break;
    case CREDENTIAL_BUILDING:
        /* A new node never answers from a half-built replica. */
        status = 503;
        why = "this node is still catching up with Subscriptions: retry shortly";
        goto out;
    case CREDENTIAL_ERROR:
    default:
        status = 503;
        why = "cannot check the login key now: retry shortly";
        goto out;
    }
    text = fs_request_body(req, &text_len);
    if (idem) {
        if (sha256_hex(key, key_len, key_hash) != 0 || sha256_hex(text, text_len, body_hash) != 0) {
            status = 500;
            why = "internal error hashing the call";
            goto out;
        }
        replay =
            idempotency_find(fs_request_db(req), key_hash, idem,
                             time(NULL) - (time_t)api->idempotency_retention, stored_hash, &found);
        if (found < 0) {
            status = 503;
            why = "cannot look the Idempotency-Key up now: retry shortly";
            goto out;
        }
        if (replay && stored_hash[0] && strcmp(stored_hash, body_hash) != 0) {
            status = 422;
            why = "this Idempotency-Key was used with another body: use a new key for a new call";
            goto out;
        }
        if (replay) {
            status = 200;
            goto out;
        }
    }
    if (status == 403)
        goto out;
    analyze_text(text, text_len, &a);
    n = snprintf(json, sizeof json,
                 "{\"characters\":%" PRIu64 ",\"words\":%" PRIu64 ",\"lines\":%" PRIu64
                 ",\"units\":%" PRIu64 "}",
                 a.characters, a.words, a.lines, a.units);
    if (n < 0 || (size_t)n >= sizeof json) {
        status = 500;
        why = "internal error formatting the answer";
        goto out;
    }
    once.key_sha256 = key_hash;
    once.idempotency_key = idem;
    once.request_sha256 = body_hash;
    if (api->meter && !idem &&
        meter_record_fast(api->meter, cred.customer_id, cred.user_id, cred.key_id, a.units,
                          &fast) == 1) {
        status = fast == METER_RECORDED ? 200 : 403;
        no_credit = status == 403;
        goto out;
    }
    if (api->meter &&
        meter_deferred(req, api, &cred, a.units, idem ? &once : NULL, json, (size_t)n) == 0)
        goto done;
    switch (meter_call(api, &cred, a.units, idem ? &once : NULL, json, &replay)) {
    case METER_RECORDED:
    case METER_REPLAYED:
        status = 200;
        break;
    case METER_REFUSED:
        status = 403;
        no_credit = 1;
        break;
    case METER_CONFLICT:
        status = 422;
        why = conflict_why;
        break;
    case METER_FAILED:
    default:
        status = 503;
        why = unmetered_why;
        break;
    }
out:
    switch (status) {
    case 200:
        atomic_fetch_add(&api->ok, 1);
        if (replay) {
            atomic_fetch_add(&api->replayed, 1);
            fs_reply_header(req, "Idempotent-Replayed", "true");
            fs_reply_take(req, 200, "application/json", replay, strlen(replay));
            replay = NULL;
        } else
            fs_reply(req, 200, "application/json", json, (size_t)n);
        break;
    case 401:
        atomic_fetch_add(&api->unauthorized, 1);
        fs_reply_header(req, "WWW-Authenticate", www);
        fs_reply_error(req, 401, "%s", why);
        break;
    case 403:
        if (no_credit) {
            atomic_fetch_add(&api->over_credit, 1);
            fs_reply(req, 403, "application/json", no_credit_body, sizeof no_credit_body - 1);
        } else {
            atomic_fetch_add(&api->locked, 1);
            reply_locked(req, &cred);
        }
        break;
    default:
        atomic_fetch_add(&api->failed, 1);
        fs_reply_error(req, status, "%s", why);
        break;
    }
done:
    free(replay);
}

/* The context's own lines of /metrics. */
static void metrics(struct fs_request *req, struct strbuf *out, void *userdata)
{
    struct cloud_api *api = userdata;

    (void)req;
    sb_puts(out, "# HELP cloud_api_analyze_total Analyze calls answered, by result.\n"
                 "# TYPE cloud_api_analyze_total counter\n");
    sb_printf(out, "cloud_api_analyze_total{result=\"ok\"} %llu\n", atomic_load(&api->ok));
    sb_printf(out, "cloud_api_analyze_total{result=\"unauthorized\"} %llu\n",
              atomic_load(&api->unauthorized));
    sb_printf(out, "cloud_api_analyze_total{result=\"locked\"} %llu\n", atomic_load(&api->locked));
    sb_printf(out, "cloud_api_analyze_total{result=\"over_credit\"} %llu\n",
              atomic_load(&api->over_credit));
    sb_printf(out, "cloud_api_analyze_total{result=\"error\"} %llu\n", atomic_load(&api->failed));
    sb_puts(out, "# HELP cloud_api_analyze_replayed_total 200 answers sent again for a repeated"
                 " Idempotency-Key, not metered.\n"
                 "# TYPE cloud_api_analyze_replayed_total counter\n");
    sb_printf(out, "cloud_api_analyze_replayed_total %llu\n", atomic_load(&api->replayed));
    if (api->meter) {
        struct meter_stats s;

        meter_get_stats(api->meter, &s);
        sb_printf(out,
                  "# HELP cloud_api_units_metered_total Units metered.\n"
                  "# TYPE cloud_api_units_metered_total counter\n"
                  "cloud_api_units_metered_total %" PRIu64 "\n"
                  "# HELP cloud_api_usage_commits_total Group commits of metered calls.\n"
                  "# TYPE cloud_api_usage_commits_total counter\n"
                  "cloud_api_usage_commits_total %" PRIu64 "\n"
                  "# HELP cloud_api_usage_commit_failures_total Group commits that failed.\n"
                  "# TYPE cloud_api_usage_commit_failures_total counter\n"
                  "cloud_api_usage_commit_failures_total %" PRIu64 "\n"
                  "# HELP cloud_api_usage_largest_batch Most calls in one group commit so far.\n"
                  "# TYPE cloud_api_usage_largest_batch gauge\n"
                  "cloud_api_usage_largest_batch %" PRIu64 "\n",
                  s.units, s.commits, s.failures, s.largest_batch);
    }
    if (api->publisher) {
        uint64_t entries, failures;

        usage_publisher_counts(api->publisher, &entries, &failures);
        sb_printf(
            out,
            "# HELP cloud_api_usage_entries_published_total UsageRecorded entries published.\n"
            "# TYPE cloud_api_usage_entries_published_total counter\n"
            "cloud_api_usage_entries_published_total %" PRIu64 "\n"
            "# HELP cloud_api_usage_publish_failures_total Usage windows that could not be "
            "published (retried).\n"
            "# TYPE cloud_api_usage_publish_failures_total counter\n"
            "cloud_api_usage_publish_failures_total %" PRIu64 "\n",
            entries, failures);
    }
}

void http_routes_mount(struct fs_server *server, struct cloud_api *api)
{
    fs_server_route(server, "POST", "/api/v1/analyze", ANALYZE_MAX_BODY, analyze, api);
    pages_mount(server, api);
    ops_mount(server, "cloud-api", metrics, api);
    web_mount_static(server, "cloud-api");
}
