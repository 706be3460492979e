#include "http_routes.h"

#include "analyses.h"
#include "cloud_client.h"
#include "cookies.h"
#include "feedserver.h"
#include "flash.h"
#include "form.h"
#include "log.h"
#include "pages.h"
#include "sessions.h"
#include "sign_in.h"
#include "strbuf.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Largest bodies accepted, by route. A form-encoded text of
 * ANALYSIS_TEXT_MAX bytes may take three times as many. */
#define LOGIN_MAX_BODY (16 * 1024)
#define LOGOUT_MAX_BODY 1024
#define ANALYSES_MAX_BODY (3 * ANALYSIS_TEXT_MAX + 1024)

/* A cookie with the time a browser's session expires (no secret). */
#define EXPIRY_COOKIE "p1_expires"

/* The signed-in user of a request. */
struct caller {
    struct user_ref user;
    /* SHA-256 of the session id */
    char hash[SHA256_HEX_SIZE];
    /* the login key the vault holds for the session */
    char key[LOGIN_KEY_MAX + 1];
};

static void caller_release(struct caller *c)
{
    volatile char *p = c->key;

    for (size_t i = 0; i < sizeof c->key; i++)
        p[i] = '\0';
    user_ref_release(&c->user);
}

/*
 * Finds the signed-in user of req. Returns 1 (fills *c; release it), 0 when
 * the request has no live session, -1 on a database error. A session whose
 * row says it ended loses its key here; a live row whose key this process
 * does not hold (the server restarted) is ended.
 */
static int current_caller(struct product1_app *app, struct fs_request *req, struct caller *c)
{
    char id[SHA256_HEX_SIZE];
    sqlite3 *db = fs_request_db(req);
    int live;

    memset(c, 0, sizeof *c);
    if (!session_cookie_id(fs_request_header(req, "Cookie"), id))
        return 0;
    live = session_find(db, id, &c->user, c->hash);
    if (live < 0)
        return -1;
    if (live == 0) {
        vault_forget(app->vault, c->hash);
        return 0;
    }
    if (!vault_get(app->vault, c->hash, c->key)) {
        session_end_because(db, c->hash, SESSION_END_RESTARTED);
        user_ref_release(&c->user);
        return 0;
    }
    return 1;
}

static void redirect(struct fs_request *req, const char *location)
{
    static const char body[] = "See Other\n";

    fs_reply_header(req, "Location", location);
    fs_reply(req, 303, "text/plain; charset=utf-8", body, sizeof body - 1);
}

static void reply_json(struct fs_request *req, unsigned status, char *json)
{
    size_t len = strlen(json);

    fs_reply_header(req, "Cache-Control", "no-store");
    fs_reply_take(req, status, "application/json", json, len);
}

/* Answers a request that needs a user but has none: a browser goes to the
 * sign-in page, a script gets 401. */
static void reply_signed_out(struct fs_request *req)
{
    if (fs_request_wants_html(req))
        redirect(req, "/");
    else
        fs_reply_error(req, 401, "sign in first: POST /login with email and login_key");
}

static void cloud_state_of(struct product1_app *app, struct cloud_state *s, char *buf, size_t n)
{
    s->reachable = runner_reachable(app->runner, buf, n);
    s->error = buf;
}

/* Redirects a browser to / with a one-time message (flash.h) for the
 * session keyed by owner ("" for no session). */
static void redirect_home_with(struct fs_request *req, const char *owner, int bad, const char *text)
{
    char id[FLASH_ID_SIZE], location[48];

    if (flash_put(owner, "", bad, text, NULL, NULL, id) != 0) {
        redirect(req, "/");
        return;
    }
    snprintf(location, sizeof location, "/?flash=%s", id);
    redirect(req, location);
}

/*
 * Sets the EXPIRY_COOKIE: when the session of a new sign-in expires (Unix
 * time, no secret), kept SESSION_END_GRACE seconds longer than the session
 * cookie, which the browser drops at that moment; so the sign-in page can
 * still say that the session expired.
 */
static void set_expiry_cookie(struct fs_request *req, unsigned lifetime)
{
    char until[24];

    snprintf(until, sizeof until, "%lld", (long long)time(NULL) + (long long)lifetime);
    cookie_set(req, EXPIRY_COOKIE, until, "/", lifetime + SESSION_END_GRACE);
}

/* Why the browser's session ended, in words, or NULL: by its session
 * cookie (sessions.h), else by its EXPIRY_COOKIE once that time passed. */
static const char *sign_out_reason(struct fs_request *req)
{
    char id[SHA256_HEX_SIZE], lock[32], until[24];
    const char *cookies = fs_request_header(req, "Cookie");
    enum session_end_reason why = SESSION_END_UNKNOWN;
    long long t;

    if (session_cookie_id(cookies, id))
        why = session_end_reason(fs_request_db(req), id, lock, sizeof lock);
    else if (cookie_get(cookies, EXPIRY_COOKIE, until, sizeof until) &&
             parse_int64(until, 0, LLONG_MAX, &t) == 0 && t <= (long long)time(NULL))
        why = SESSION_END_EXPIRED;
    memset(id, 0, sizeof id);
    return page_sign_out_words(why, lock);
}

/* GET /: the user's page when signed in (with the message of the last
 * action, once), else the sign-in page, saying why the user was signed out
 * when the session ended without them. */
static void home_route(struct fs_request *req, void *userdata)
{
    struct product1_app *app = userdata;
    struct caller c;
    struct cloud_state cloud;
    struct flash f;
    char err[256];
    int found = current_caller(app, req, &c);

    if (found < 0) {
        page_sign_in(req, 500, "Product 1 cannot read its database right now: try again soon.",
                     NULL);
    } else if (found == 0) {
        const char *why = sign_out_reason(req);

        if (!why && flash_take(fs_request_query(req, "flash"), "", "", &f))
            page_sign_in_with(req, 200, NULL, NULL, f.text);
        else
            page_sign_in_with(req, 200, NULL, NULL, why);
    } else {
        flash_take(fs_request_query(req, "flash"), c.hash, "", &f);
        cloud_state_of(app, &cloud, err, sizeof err);
        page_user(req, 200, fs_request_db(req), &c.user, &cloud, NULL, &f);
    }
    caller_release(&c);
}

static unsigned sign_in_status(enum sign_in_result r)
{
    switch (r) {
    case SIGN_IN_OK:
        return 303;
    case SIGN_IN_WRONG_PAIR:
        return 401;
    case SIGN_IN_LOCKED:
        return 403;
    case SIGN_IN_ERROR:
    default:
        return 500;
    }
}

/*
 * POST /login (email, login_key): 303 to / with the session cookie for every
 * client; 401 for a wrong pair (a revoked key too), 403 for a locked customer,
 * 400 for a missing field, as the sign-in page for a browser or JSON
 * otherwise. Wakes the retry worker, since the new key may let queued
 * analyses of this user run.
 */
static const struct form_field login_fields[] = {
    {"email", FORM_TEXT}, {"login_key", FORM_TEXT}, {NULL, 0}};

static void login_route(struct fs_request *req, void *userdata)
{
    struct product1_app *app = userdata;
    struct form f;
    struct user_ref user = {0};
    char err[256], id[SHA256_HEX_SIZE];
    const char *email, *key;
    enum sign_in_result r;
    int html = fs_request_wants_html(req);

    if (form_parse(req, login_fields, &f, err, sizeof err) != 0) {
        if (html)
            page_sign_in(req, 400, err, NULL);
        else
            fs_reply_error(req, 400, "%s", err);
        goto out;
    }
    email = form_get(&f, "email");
    key = form_get(&f, "login_key");
    if (!email || !email[0] || !key || !key[0]) {
        const char *what = !email || !email[0] ? "email" : "login_key";
        if (html)
            page_sign_in(req, 400, "Enter both your email and your login key.", email);
        else
            fs_reply_error(req, 400, "the field %s is missing or empty", what);
        goto out;
    }
    r = sign_in(fs_request_db(req), app->vault, email, key, app->session_lifetime, &user, id);
    if (r != SIGN_IN_OK) {
        if (html)
            page_sign_in(req, sign_in_status(r), sign_in_message(r), email);
        else
            fs_reply_error(req, sign_in_status(r), "%s", sign_in_message(r));
        goto out;
    }
    cookie_set(req, SESSION_COOKIE, id, "/", app->session_lifetime);
    set_expiry_cookie(req, app->session_lifetime);
    retry_worker_wake(app->worker);
    redirect(req, "/");
out:
    user_ref_release(&user);
    form_release(&f);
}

/* POST /logout: ends the session (if any), clears the cookie, 303 to /. */
static void logout_route(struct fs_request *req, void *userdata)
{
    struct product1_app *app = userdata;
    char id[SHA256_HEX_SIZE], hash[SHA256_HEX_SIZE];

    if (session_cookie_id(fs_request_header(req, "Cookie"), id) &&
        sha256_hex(id, strlen(id), hash) == 0) {
        session_end(fs_request_db(req), hash);
        vault_forget(app->vault, hash);
        log_info("signed out", NULL);
    }
    cookie_clear(req, SESSION_COOKIE, "/");
    cookie_clear(req, EXPIRY_COOKIE, "/");
    if (fs_request_wants_html(req))
        redirect_home_with(req, "", 0, "You signed out.");
    else
        redirect(req, "/");
}

/* The status and body of a submitted analysis after one run. */
static void reply_submitted(struct fs_request *req, const char *owner, const char *id,
                            enum run_result res, const char *reason)
{
    sqlite3 *db = fs_request_db(req);
    char location[64], text[FLASH_TEXT_SIZE];
    char *json;
    unsigned status;

    if (fs_request_wants_html(req)) {
        if (res == RUN_DONE)
            snprintf(text, sizeof text,
                     "Your text was analysed: the result is at the top of "
                     "the list.");
        else if (res == RUN_FAILED)
            snprintf(text, sizeof text, "The analysis failed: %s.", reason);
        else if (res == RUN_ERROR)
            snprintf(text, sizeof text, "The analysis could not be recorded: try again.");
        else if (res == RUN_QUEUED)
            snprintf(text, sizeof text,
                     "Your analysis is queued: the Cloud API cannot be "
                     "reached now, and it will run by itself once it is back.");
        else
            snprintf(text, sizeof text, "Your analysis is accepted and will run by itself.");
        redirect_home_with(req, owner, res == RUN_FAILED || res == RUN_ERROR, text);
        return;
    }
    switch (res) {
    case RUN_DONE:
        status = 201;
        break;
    case RUN_QUEUED:
    case RUN_NO_KEY:
    case RUN_BUSY:
    /* The retry worker runs every queued analysis of a signed-in user, so it
     * may take this one between its creation and this run, and finish it:
     * as for RUN_BUSY, the answer is the analysis as it is now. */
    case RUN_GONE:
        status = 202;
        break;
    case RUN_FAILED:
        fs_reply_error(req, 403, "%s; the analysis %s is listed as failed", reason, id);
        return;
    case RUN_ERROR:
    default:
        fs_reply_error(req, 500, "the analysis %s could not be recorded: try again", id);
        return;
    }
    json = analysis_json(db, id);
    if (!json) {
        fs_reply_error(req, 500, "the analysis %s could not be read back: list GET /analyses", id);
        return;
    }
    snprintf(location, sizeof location, "/analyses/%s", id);
    fs_reply_header(req, "Location", location);
    reply_json(req, status, json);
}

/*
 * POST /analyses (text): stores the text as a queued analysis first, then
 * runs it at once with the session's key, waiting on the Cloud API at most
 * CLOUD_PAGE_BUDGET_MS. Scripts get 201 (done) or 202 (queued: the retry
 * worker finishes it), with the analysis as JSON and its
 * Location; browsers get 303 back to their page either way.
 */
static const struct form_field analysis_fields[] = {{"text", FORM_TEXT}, {NULL, 0}};

static void submit_route(struct fs_request *req, void *userdata)
{
    struct product1_app *app = userdata;
    struct caller c;
    struct form f = {0};
    char err[256], id[ANALYSIS_ID_SIZE], reason[320];
    const char *text;
    int html = fs_request_wants_html(req);
    int found = current_caller(app, req, &c);
    unsigned bad = 0;
    enum run_result res;

    if (found <= 0) {
        if (found < 0)
            fs_reply_error(req, 500, "the database cannot be read right now: try again");
        else
            reply_signed_out(req);
        goto out;
    }
    if (form_parse(req, analysis_fields, &f, err, sizeof err) != 0) {
        bad = 400;
        goto out_bad;
    }
    text = form_get(&f, "text");
    if (!text || !text[strspn(text, " \t\r\n")]) {
        bad = 400;
        snprintf(err, sizeof err, "the field text is missing or empty: write some text to analyse");
        goto out_bad;
    }
    if (strlen(text) > ANALYSIS_TEXT_MAX) {
        bad = 413;
        snprintf(err, sizeof err, "the text is over %d bytes: send a shorter one",
                 ANALYSIS_TEXT_MAX);
        goto out_bad;
    }
    if (analysis_new_id(id) != 0 || analysis_create(fs_request_db(req), id, &c.user, text) != 0) {
        fs_reply_error(req, 500, "the analysis could not be stored: try again");
        goto out;
    }
    log_info("analysis submitted", "id=%s customer=%s user=%s bytes=%zu", id, c.user.customer_id,
             c.user.user_id, strlen(text));
    res = runner_run_within(app->runner, fs_request_db(req), id, c.key, CLOUD_PAGE_BUDGET_MS,
                            reason, sizeof reason);
    reply_submitted(req, c.hash, id, res, reason);
    goto out;
out_bad:
    if (html) {
        redirect_home_with(req, c.hash, 1, err);
    } else {
        fs_reply_error(req, bad, "%s", err);
    }
out:
    form_release(&f);
    caller_release(&c);
}

/* GET /analyses: the user's analyses as JSON, or their page for a browser. */
static void list_route(struct fs_request *req, void *userdata)
{
    struct product1_app *app = userdata;
    struct caller c;
    struct cloud_state cloud;
    char err[256];
    char *json;
    int found = current_caller(app, req, &c);

    if (found <= 0) {
        if (found < 0)
            fs_reply_error(req, 500, "the database cannot be read right now: try again");
        else
            reply_signed_out(req);
        goto out;
    }
    if (fs_request_wants_html(req)) {
        cloud_state_of(app, &cloud, err, sizeof err);
        page_user(req, 200, fs_request_db(req), &c.user, &cloud, NULL, NULL);
        goto out;
    }
    json = analyses_json(fs_request_db(req), &c.user);
    if (!json) {
        fs_reply_error(req, 500, "the analyses cannot be read right now: try again");
        goto out;
    }
    reply_json(req, 200, json);
out:
    caller_release(&c);
}

/* GET /analyses/ID: one of the user's analyses as JSON; 404 for another's. */
static void one_route(struct fs_request *req, void *userdata)
{
    struct product1_app *app = userdata;
    struct caller c;
    const char *id = fs_request_param(req, 0);
    char *json = NULL;
    int found = current_caller(app, req, &c);

    if (found <= 0) {
        if (found < 0)
            fs_reply_error(req, 500, "the database cannot be read right now: try again");
        else
            reply_signed_out(req);
        goto out;
    }
    json = analysis_json_for(fs_request_db(req), &c.user, id ? id : "");
    if (!json) {
        fs_reply_error(req, 404, "no analysis %s among yours: list them with GET /analyses",
                       id ? id : "");
        goto out;
    }
    reply_json(req, 200, json);
out:
    caller_release(&c);
}

int http_routes_mount(struct fs_server *server, struct product1_app *app)
{
    static const struct {
        const char *method;
        const char *pattern;
        size_t max_body;
        fs_route_fn *fn;
    } routes[] = {
        {"GET", "/", 0, home_route},
        {"POST", "/login", LOGIN_MAX_BODY, login_route},
        {"POST", "/logout", LOGOUT_MAX_BODY, logout_route},
        {"POST", "/analyses", ANALYSES_MAX_BODY, submit_route},
        {"GET", "/analyses", 0, list_route},
        {"GET", "/analyses/*", 0, one_route},
    };

    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        enum fs_error err = fs_server_route(server, routes[i].method, routes[i].pattern,
                                            routes[i].max_body, routes[i].fn, app);
        if (err != FS_OK) {
            log_error("cannot mount route", "method=%s path=%s error=\"%s\"", routes[i].method,
                      routes[i].pattern, fs_strerror(err));
            return -1;
        }
    }
    return 0;
}

void http_routes_metrics(struct fs_request *req, struct strbuf *out, void *userdata)
{
    static const char *const statuses[] = {"queued", "done", "failed"};
    struct product1_app *app = userdata;
    struct runner_stats st;
    int reachable = runner_reachable(app->runner, NULL, 0);

    sb_puts(out, "# HELP product1_analyses Analyses stored, by status.\n"
                 "# TYPE product1_analyses gauge\n");
    for (size_t i = 0; i < 3; i++) {
        long long n = analyses_count(fs_request_db(req), statuses[i], NULL, NULL);
        if (n >= 0)
            sb_printf(out, "product1_analyses{status=\"%s\"} %lld\n", statuses[i], n);
    }
    runner_stats(app->runner, &st);
    sb_printf(out,
              "# HELP product1_cloud_calls_total Calls to the Cloud API, by outcome.\n"
              "# TYPE product1_cloud_calls_total counter\n"
              "product1_cloud_calls_total{outcome=\"done\"} %llu\n"
              "product1_cloud_calls_total{outcome=\"failed\"} %llu\n"
              "product1_cloud_calls_total{outcome=\"unreachable\"} %llu\n"
              "# HELP product1_cloud_api_reachable Whether the last call reached the Cloud API "
              "(-1 before the first).\n"
              "# TYPE product1_cloud_api_reachable gauge\n"
              "product1_cloud_api_reachable %d\n"
              "# HELP product1_sessions_with_key Sessions whose login key this process holds.\n"
              "# TYPE product1_sessions_with_key gauge\n"
              "product1_sessions_with_key %zu\n",
              (unsigned long long)st.done, (unsigned long long)st.failed,
              (unsigned long long)st.unreachable, reachable, vault_count(app->vault));
}
