#include "http_routes.h"

#include "billing.h"
#include "cookies.h"
#include "customer_list.h"
#include "customers.h"
#include "db.h"
#include "flash.h"
#include "form.h"
#include "log.h"
#include "money.h"
#include "pages.h"
#include "sign_in.h"
#include "strbuf.h"
#include "users.h"
#include "views.h"

#include <feedserver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a handler works with: who asked, and how access is set up. */
struct call {
    struct caller who;
    const struct access_config *cfg;
};

typedef void handler_fn(struct fs_request *req, struct call *c);

/* One route: its method and pattern, who may use it, and its handler. */
struct route {
    const char *method, *pattern;
    enum access_rule rule;
    handler_fn *fn;
};

/* A mounted route: the userdata of its fs_server route. */
struct binding {
    const struct route *route;
    const struct access_config *cfg;
};

/* A handler's answer, decided first and sent in one place by answer(). */
struct answer {
    enum sub_result result;
    char why[256];            /* what to fix, when result is not SUB_OK */
    unsigned status;          /* the status on success */
    char *json;               /* the JSON body on success (malloc), or NULL for none */
    const char *customer;     /* the customer concerned, for the browser's redirect */
    const struct caller *who; /* who asked (may be NULL) */
    int portal;               /* whether the route is the portal's */
    char done[256];           /* for a browser: what happened, shown once on the next page */
    const char *secret;       /* for a browser: a new login key to show once, or NULL */
    const char *detail;       /* what the secret is for, or NULL */
};

static unsigned status_of(enum sub_result r)
{
    switch (r) {
    case SUB_OK:
        return 200;
    case SUB_INVALID:
        return 400;
    case SUB_UNAUTHENTICATED:
        return 401;
    case SUB_FORBIDDEN:
        return 403;
    case SUB_NOT_FOUND:
        return 404;
    case SUB_CONFLICT:
        return 409;
    case SUB_ERROR:
        /* the database failed (a lookup included: never a default
         * instead); the change was rolled back, so trying again is safe */
        return 503;
    }
    return 500;
}

static void redirect(struct fs_request *req, const char *location)
{
    fs_reply_header(req, "Location", location);
    fs_reply(req, 303, "text/plain; charset=utf-8", "See Other\n", 10);
}

/*
 * Post/Redirect/Get for a browser's form: 303 to location with a one-time
 * flash (flash.h) saying what happened (a->done, or a->why when bad), and
 * the new key when there is one; a reload of that page shows neither
 * again and posts nothing. The flash is for who asked and for the page.
 */
static void redirect_with_flash(struct fs_request *req, struct answer *a, const char *location,
                                int bad)
{
    char id[FLASH_ID_SIZE], target[224];
    const char *scope = a->customer ? a->customer : "";

    if (flash_put(a->who ? a->who->author : "", scope, bad, bad ? a->why : a->done, a->secret,
                  a->detail, id) != 0 ||
        snprintf(target, sizeof target, "%s?flash=%s", location, id) >= (int)sizeof target) {
        redirect(req, location);
        return;
    }
    redirect(req, target);
}

/*
 * Sends a: an error (JSON {"error"}, or an HTML page for a browser; a
 * browser that must sign in to read a page is sent to the sign-in page;
 * a browser's form with a value to fix or a conflict goes back to its page
 * with the reason as a flash), or on success the JSON body with a.status,
 * or for a browser a 303 to the customer's page with a flash saying what
 * was done. Drops a session cookie that is over. Frees a->json.
 */
static void answer(struct fs_request *req, struct answer *a)
{
    const char *base = a->portal ? "/portal" : "";
    const char *login = a->portal ? "/portal/login" : "/login";
    int html = fs_request_wants_html(req), get = strcmp(fs_request_method(req), "GET") == 0;
    char location[160];

    if (a->who && a->who->stale_cookie) {
        if (a->portal)
            cookie_clear(req, PORTAL_COOKIE, PORTAL_COOKIE_PATH);
        else
            cookie_clear(req, OPERATOR_COOKIE, "/");
    }
    if (a->customer)
        snprintf(location, sizeof location, "%s/customers/%s", base, a->customer);
    else
        snprintf(location, sizeof location, "%s", a->portal ? "/portal" : "/customers");
    if (a->result != SUB_OK) {
        if (!a->why[0])
            snprintf(a->why, sizeof a->why, "the database failed; try again");
        if (a->result == SUB_UNAUTHENTICATED && html && get) {
            redirect(req, login);
        } else if (html && !get && (a->result == SUB_INVALID || a->result == SUB_CONFLICT)) {
            redirect_with_flash(req, a, location, 1);
        } else if (html) {
            page_error(req, status_of(a->result), a->why,
                       a->result == SUB_UNAUTHENTICATED ? login
                       : a->result == SUB_NOT_FOUND     ? (a->portal ? "/portal" : "/customers")
                                                        : location);
        } else {
            if (a->result == SUB_UNAUTHENTICATED && !a->portal)
                fs_reply_header(req, "WWW-Authenticate", "Bearer realm=\"subscriptions\"");
            fs_reply_error(req, status_of(a->result), "%s", a->why);
        }
    } else if (html && !get) {
        redirect_with_flash(req, a, location, 0);
    } else if (a->json) {
        /* Answers depend on who asks (a cookie, a token): no cache keeps them. */
        fs_reply_header(req, "Cache-Control", "no-store");
        fs_reply_take(req, a->status, "application/json", a->json, strlen(a->json));
        a->json = NULL;
    } else {
        fs_reply(req, a->status, "text/plain; charset=utf-8", "", 0);
    }
    free(a->json);
    a->json = NULL;
}

/* A fresh answer for call c with status on success. */
static struct answer answer_for(const struct call *c, unsigned status, const char *customer)
{
    struct answer a = {.status = status, .customer = customer, .who = &c->who};

    a.portal = c->who.kind == CALLER_USER;
    return a;
}

/* Parses the body into f, checking the fields the route reads (a list
 * ending with a NULL name); on failure fills a with a 400. */
static int read_form(struct fs_request *req, const struct form_field *fields, struct form *f,
                     struct answer *a)
{
    if (form_parse(req, fields, f, a->why, sizeof a->why) != 0) {
        a->result = SUB_INVALID;
        return -1;
    }
    return 0;
}

/* The customer document after a change, as the answer's body. */
static void with_customer(struct fs_request *req, struct answer *a)
{
    if (a->result == SUB_OK && !fs_request_wants_html(req))
        a->result = view_customer(fs_request_db(req), a->customer, &a->json, a->why, sizeof a->why);
}

static void on_list(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 200, NULL);
    struct customer_query q;

    if (fs_request_wants_html(req)) {
        page_customers(req, &c->who);
        return;
    }
    if (customer_query_read(req, 1, &q, a.why, sizeof a.why) != 0) {
        a.result = SUB_INVALID;
    } else {
        long long total = customer_count(fs_request_db(req), &q);
        char count[24];

        a.json = customer_list_json(fs_request_db(req), &q);
        if (!a.json || total < 0) {
            a.result = SUB_ERROR;
        } else {
            snprintf(count, sizeof count, "%lld", total);
            fs_reply_header(req, "X-Total-Count", count);
        }
    }
    answer(req, &a);
}

static const struct form_field register_fields[] = {{"name", FORM_TEXT},
                                                    {"plan", FORM_TEXT},
                                                    {"credit_limit_cents", FORM_INTEGER},
                                                    {"credit_limit", FORM_TEXT},
                                                    {NULL, 0}};

static void on_register(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 201, NULL);
    struct form f;
    char id[SUB_ID_SIZE], location[64];
    const char *limit_text, *dollars;
    long long limit = 0;
    int has_limit;

    if (read_form(req, register_fields, &f, &a) == 0) {
        limit_text = form_get(&f, "credit_limit_cents");
        dollars = form_get(&f, "credit_limit");
        has_limit = (limit_text && *limit_text) || (dollars && *dollars);
        if (limit_text && *limit_text && parse_int64(limit_text, 0, SUB_MONEY_MAX, &limit) != 0)
            a.result = sub_fail(SUB_INVALID, a.why, sizeof a.why,
                                "credit_limit_cents: a whole number of cents from 0 to %lld",
                                SUB_MONEY_MAX);
        else if (!(limit_text && *limit_text) && dollars && *dollars &&
                 money_parse(dollars, 0, SUB_MONEY_MAX, &limit) != 0)
            a.result = sub_fail(SUB_INVALID, a.why, sizeof a.why,
                                "credit limit: an amount in " SUB_CURRENCY
                                " such as 250 or 250.00 (or leave it empty for the plan's)");
        else
            a.result = customer_register(fs_request_db(req), c->who.author, form_get(&f, "name"),
                                         form_get(&f, "plan"), has_limit ? &limit : NULL, id, a.why,
                                         sizeof a.why);
        if (a.result == SUB_OK) {
            struct strbuf sb = STRBUF_INIT;
            a.customer = id;
            snprintf(a.done, sizeof a.done, "Customer %.200s registered.", form_get(&f, "name"));
            snprintf(location, sizeof location, "/customers/%s", id);
            if (!fs_request_wants_html(req))
                fs_reply_header(req, "Location", location);
            sb_puts(&sb, "{\"id\":");
            sb_json_string(&sb, id);
            sb_puts(&sb, "}");
            a.json = sb_detach(&sb, NULL);
        }
    }
    form_release(&f);
    answer(req, &a);
}

static void on_customer(struct fs_request *req, struct call *c)
{
    const char *id = fs_request_param(req, 0);
    struct answer a = answer_for(c, 200, id);

    if (fs_request_wants_html(req)) {
        page_customer(req, id, &c->who);
        return;
    }
    a.result = view_customer(fs_request_db(req), id, &a.json, a.why, sizeof a.why);
    answer(req, &a);
}

static void on_invoices(struct fs_request *req, struct call *c)
{
    const char *id = fs_request_param(req, 0);
    struct answer a = answer_for(c, 200, id);

    if (fs_request_wants_html(req)) {
        page_invoices(req, id, &c->who);
        return;
    }
    a.result = view_invoices(fs_request_db(req), id, &a.json, a.why, sizeof a.why);
    answer(req, &a);
}

static void on_history(struct fs_request *req, struct call *c)
{
    const char *id = fs_request_param(req, 0);
    struct answer a = answer_for(c, 200, id);

    if (fs_request_wants_html(req)) {
        page_history(req, id, &c->who);
        return;
    }
    a.result = view_history(fs_request_db(req), id, &a.json, a.why, sizeof a.why);
    answer(req, &a);
}

/* Answers a new key: JSON {"user_id","key_id","login_key"} 201, or for a
 * browser a 303 to the customer's page, which shows it once (a flash held
 * in memory only, deleted when shown). */
static void answer_key(struct fs_request *req, struct answer *a, const char *email,
                       struct new_key *key)
{
    struct strbuf sb = STRBUF_INIT;

    if (a->result != SUB_OK) {
        answer(req, a);
        return;
    }
    if (fs_request_wants_html(req)) {
        char detail[FLASH_TEXT_SIZE];

        if (email) {
            snprintf(a->done, sizeof a->done, "User %.200s added.", email);
            snprintf(detail, sizeof detail, "%s (user %s, key %s)", email, key->user_id,
                     key->key_id);
        } else {
            snprintf(a->done, sizeof a->done, "A new login key was issued for user %s.",
                     key->user_id);
            snprintf(detail, sizeof detail, "user %s, key %s", key->user_id, key->key_id);
        }
        a->secret = key->login_key;
        a->detail = detail;
        answer(req, a);
        a->secret = NULL;
        a->detail = NULL;
    } else {
        sb_puts(&sb, "{\"user_id\":");
        sb_json_string(&sb, key->user_id);
        sb_puts(&sb, ",\"key_id\":");
        sb_json_string(&sb, key->key_id);
        sb_puts(&sb, ",\"login_key\":");
        sb_json_string(&sb, key->login_key);
        sb_puts(&sb, "}");
        a->json = sb_detach(&sb, NULL);
        answer(req, a);
    }
    memset(key->login_key, 0, sizeof key->login_key);
}

static const struct form_field user_fields[] = {{"email", FORM_TEXT}, {NULL, 0}};

static void on_add_user(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 201, fs_request_param(req, 0));
    struct new_key key;
    struct form f;

    memset(&key, 0, sizeof key);
    if (read_form(req, user_fields, &f, &a) == 0)
        a.result = user_add(fs_request_db(req), c->who.author, a.customer, form_get(&f, "email"),
                            &key, a.why, sizeof a.why);
    answer_key(req, &a, a.result == SUB_OK ? form_get(&f, "email") : NULL, &key);
    form_release(&f);
}

static void on_issue_key(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 201, fs_request_param(req, 0));
    struct new_key key;

    a.result = key_issue(fs_request_db(req), c->who.author, a.customer, fs_request_param(req, 1),
                         &key, a.why, sizeof a.why);
    answer_key(req, &a, NULL, &key);
}

static void on_revoke_key(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 204, fs_request_param(req, 0));

    a.result = key_revoke(fs_request_db(req), c->who.author, a.customer, fs_request_param(req, 1),
                          fs_request_param(req, 2), a.why, sizeof a.why);
    snprintf(a.done, sizeof a.done,
             "Key %.40s revoked: the Cloud API and Product 1 refuse it as soon as they learn of it "
             "from the feed.",
             fs_request_param(req, 2));
    answer(req, &a);
}

/* The email of current user uid of customer (caller frees), or NULL. */
static char *user_email(sqlite3 *db, const char *customer, const char *uid)
{
    return db_text(db, NULL,
                   "SELECT email FROM users WHERE id = ?1 AND customer_id = ?2"
                   " AND removed_at IS NULL",
                   "tt", uid ? uid : "", customer ? customer : "");
}

static void on_remove_user(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 204, fs_request_param(req, 0));
    char *email = user_email(fs_request_db(req), a.customer, fs_request_param(req, 1));

    a.result = user_remove(fs_request_db(req), c->who.author, a.customer, fs_request_param(req, 1),
                           a.why, sizeof a.why);
    snprintf(a.done, sizeof a.done, "User %.200s removed: their keys no longer work.",
             email ? email : fs_request_param(req, 1));
    free(email);
    answer(req, &a);
}

static const struct form_field admin_fields[] = {{"admin", FORM_INTEGER}, {NULL, 0}};

static void on_set_admin(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 200, fs_request_param(req, 0));
    const char *value;
    long long admin = 0;
    struct form f;

    if (read_form(req, admin_fields, &f, &a) == 0) {
        value = form_get(&f, "admin");
        if (!value || parse_int64(value, 0, 1, &admin) != 0)
            a.result = sub_fail(SUB_INVALID, a.why, sizeof a.why,
                                "admin: 1 (make the user an administrator) or 0 (not)");
        else
            a.result = user_set_admin(fs_request_db(req), c->who.author, a.customer,
                                      fs_request_param(req, 1), (int)admin, a.why, sizeof a.why);
        if (a.result == SUB_OK && fs_request_wants_html(req)) {
            char *email = user_email(fs_request_db(req), a.customer, fs_request_param(req, 1));

            snprintf(a.done, sizeof a.done, "%.200s %s.", email ? email : fs_request_param(req, 1),
                     admin ? "is now an administrator of the customer"
                           : "is no longer an administrator");
            free(email);
        }
        with_customer(req, &a);
    }
    form_release(&f);
    answer(req, &a);
}

static const struct form_field payment_fields[] = {
    {"amount_cents", FORM_INTEGER}, {"amount", FORM_TEXT}, {NULL, 0}};

static void on_payment(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 200, fs_request_param(req, 0));
    struct form f;
    const char *amount, *dollars;
    long long cents = 0;

    if (read_form(req, payment_fields, &f, &a) == 0) {
        amount = form_get(&f, "amount_cents");
        dollars = form_get(&f, "amount");
        if (!amount && dollars) {
            if (money_parse(dollars, 1, SUB_MONEY_MAX, &cents) != 0)
                a.result = sub_fail(SUB_INVALID, a.why, sizeof a.why,
                                    "amount: an amount in " SUB_CURRENCY
                                    " above zero, such as 25 or 25.00");
        } else if (!amount || parse_int64(amount, 1, SUB_MONEY_MAX, &cents) != 0) {
            a.result =
                sub_fail(SUB_INVALID, a.why, sizeof a.why,
                         "amount_cents: a whole number of cents from 1 to %lld", SUB_MONEY_MAX);
        }
        if (a.result == SUB_OK) {
            struct strbuf sb = STRBUF_INIT;

            a.result = billing_pay(fs_request_db(req), c->who.author, a.customer, cents, a.why,
                                   sizeof a.why);
            sb_puts(&sb, "Payment of ");
            money_show(&sb, cents);
            sb_puts(&sb, " recorded.");
            snprintf(a.done, sizeof a.done, "%s", sb_str(&sb));
            sb_release(&sb);
        }
        with_customer(req, &a);
    }
    form_release(&f);
    answer(req, &a);
}

static void on_lock(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 200, fs_request_param(req, 0));

    a.result = customer_lock(fs_request_db(req), c->who.author, a.customer, a.why, sizeof a.why);
    snprintf(a.done, sizeof a.done,
             "Customer locked: the Cloud API and Product 1 refuse all its keys until it is "
             "unlocked.");
    with_customer(req, &a);
    answer(req, &a);
}

static void on_unlock(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 200, fs_request_param(req, 0));

    a.result = customer_unlock(fs_request_db(req), c->who.author, a.customer, a.why, sizeof a.why);
    snprintf(a.done, sizeof a.done, "Customer unlocked: its keys work again.");
    with_customer(req, &a);
    answer(req, &a);
}

static const struct form_field plan_fields[] = {{"plan", FORM_TEXT}, {NULL, 0}};

static void on_plan(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 200, fs_request_param(req, 0));
    char from[SUB_MONTH_SIZE];
    struct form f;

    if (read_form(req, plan_fields, &f, &a) == 0) {
        a.result = customer_change_plan(fs_request_db(req), c->who.author, a.customer,
                                        form_get(&f, "plan"), from, a.why, sizeof a.why);
        if (a.result == SUB_OK)
            snprintf(a.done, sizeof a.done, "Plan %.20s from %s.", form_get(&f, "plan"), from);
        with_customer(req, &a);
    }
    form_release(&f);
    answer(req, &a);
}

/* ---- Confirmations ----------------------------------------------------- */

/* A GET of a destructive action's path: the confirmation page for a
 * browser; others are told to POST (405). Returns 1 when it answered. */
static int confirm_only_for_browsers(struct fs_request *req)
{
    if (fs_request_wants_html(req))
        return 0;
    fs_reply_header(req, "Allow", "POST");
    fs_reply_error(req, 405, "use POST (or DELETE) to do this; GET shows a browser a confirmation");
    return 1;
}

/* Answers the page asking to confirm what path does, or 404 (a page) for
 * a customer, user or key that is not there. */
static void on_confirm(struct fs_request *req, struct call *c)
{
    sqlite3 *db = fs_request_db(req);
    const char *path = fs_request_path(req), *customer = fs_request_param(req, 0);
    const char *uid = fs_request_param(req, 1), *kid = fs_request_param(req, 2);
    const char *base = caller_base(&c->who);
    const char *back = c->who.kind == CALLER_USER ? "/portal" : "/customers";
    char *name = NULL, *email = NULL, question[400], consequence[400], action[200];
    size_t len = strlen(path);

    if (confirm_only_for_browsers(req))
        return;
    name = db_text(db, NULL, "SELECT name FROM customers WHERE id = ?1", "t", customer);
    if (uid)
        email = user_email(db, customer, uid);
    if (!name || (uid && !email) ||
        (kid && db_int(db, NULL, 0,
                       "SELECT count(*) FROM login_keys WHERE id = ?1 AND user_id = ?2"
                       " AND customer_id = ?3 AND revoked_at IS NULL",
                       "ttt", kid, uid, customer) == 0)) {
        page_error(req, 404,
                   kid   ? "no such valid key of this user: it may be revoked already"
                   : uid ? "no such user of this customer: it may be removed already"
                         : "no such customer",
                   back);
        goto out;
    }
    snprintf(action, sizeof action, "%s", path + strlen(base));
    if (kid) {
        snprintf(question, sizeof question, "Revoke key %s of %s?", kid, email);
        snprintf(consequence, sizeof consequence,
                 "Calls and sign-ins with this key are refused by the Cloud API and Product 1 as "
                 "soon as they read it from the feed. This cannot be undone: issue a new key "
                 "instead.");
        page_confirm(req, &c->who, customer, "Revoke a key", question, consequence, action,
                     "Revoke key");
    } else if (uid) {
        snprintf(question, sizeof question, "Remove user %s from %s?", email, name);
        snprintf(consequence, sizeof consequence,
                 "All the user's keys stop working and their sessions end. This cannot be undone: "
                 "add the user again for a new key.");
        page_confirm(req, &c->who, customer, "Remove a user", question, consequence, action,
                     "Remove user");
    } else if (len > 5 && strcmp(path + len - 5, "/lock") == 0) {
        snprintf(question, sizeof question, "Lock %s?", name);
        snprintf(consequence, sizeof consequence,
                 "Every key of the customer is refused by the Cloud API and Product 1 until an "
                 "operator unlocks it; a payment does not lift a manual lock.");
        page_confirm(req, &c->who, customer, "Lock a customer", question, consequence, action,
                     "Lock");
    } else {
        page_error(req, 404, "nothing to confirm here", back);
    }
out:
    free(name);
    free(email);
}

/* ---- Signing in and out ------------------------------------------------ */

/* Starts a session of kind after a good sign-in and sets its cookie.
 * Returns SUB_OK, or SUB_ERROR with why filled. */
static enum sub_result start_session(struct fs_request *req, const struct access_config *cfg,
                                     enum session_kind kind, int token_index,
                                     const struct portal_user *user, char *why, size_t why_size)
{
    char id[SHA256_HEX_SIZE], hash[SHA256_HEX_SIZE];
    sqlite3 *db = fs_request_db(req);
    int rc;

    sessions_purge_expired(db);
    rc = session_start(db, kind, token_index, user ? user->customer_id : NULL,
                       user ? user->user_id : NULL, user ? user->key_id : NULL,
                       cfg->session_lifetime, id, hash);
    if (rc != 0)
        return sub_fail(SUB_ERROR, why, why_size, "signing in failed on our side: try again");
    if (kind == SESSION_OPERATOR) {
        cookie_set(req, OPERATOR_COOKIE, id, "/", cfg->session_lifetime);
        log_info("operator signed in", "token=%d session=%.*s", token_index + 1,
                 AUTHOR_SESSION_DIGITS, hash);
    } else {
        cookie_set(req, PORTAL_COOKIE, id, PORTAL_COOKIE_PATH, cfg->session_lifetime);
        log_info("portal user signed in", "customer=%s user=%s key=%s session=%.*s",
                 user->customer_id, user->user_id, user->key_id, AUTHOR_SESSION_DIGITS, hash);
    }
    memset(id, 0, sizeof id);
    return SUB_OK;
}

static void on_login_page(struct fs_request *req, struct call *c)
{
    page_operator_sign_in(req, 200, NULL, c->cfg->nadmin_tokens > 0);
}

static const struct form_field login_fields[] = {{"token", FORM_TEXT}, {NULL, 0}};

static void on_login(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 303, NULL);
    const char *token;
    int index = -1;
    struct form f;

    memset(&f, 0, sizeof f);
    if (c->cfg->nadmin_tokens == 0) {
        a.result = sub_fail(SUB_NOT_FOUND, a.why, sizeof a.why,
                            "there is no operator sign-in: no admin token is configured, so "
                            "loopback clients are served without one");
    } else if (read_form(req, login_fields, &f, &a) == 0) {
        token = form_get(&f, "token");
        if (!token || !*token)
            a.result = sub_fail(SUB_INVALID, a.why, sizeof a.why,
                                "token: give an admin token (the one serve was started with)");
        else if ((index = sign_in_token_index(c->cfg->admin_tokens, c->cfg->nadmin_tokens, token)) <
                 0)
            a.result = sub_fail(SUB_UNAUTHENTICATED, a.why, sizeof a.why,
                                "this admin token is not valid: check it and try again");
        else
            a.result =
                start_session(req, c->cfg, SESSION_OPERATOR, index, NULL, a.why, sizeof a.why);
    }
    form_release(&f);
    if (a.result == SUB_OK) {
        redirect(req, "/customers");
    } else if (fs_request_wants_html(req) && a.result != SUB_NOT_FOUND) {
        log_info("operator sign-in refused", "reason=\"%s\"", a.why);
        page_operator_sign_in(req, status_of(a.result), a.why, 1);
    } else {
        log_info("operator sign-in refused", "reason=\"%s\"", a.why);
        answer(req, &a);
    }
}

/* 303 to the sign-in page at login, with a one-time "You signed out." for
 * a browser. */
static void redirect_signed_out(struct fs_request *req, const char *login)
{
    char id[FLASH_ID_SIZE], location[96];

    if (fs_request_wants_html(req) &&
        flash_put("", SIGNED_OUT_SCOPE, 0, "You signed out.", NULL, NULL, id) == 0 &&
        snprintf(location, sizeof location, "%s?flash=%s", login, id) < (int)sizeof location)
        redirect(req, location);
    else
        redirect(req, login);
}

static void on_logout(struct fs_request *req, struct call *c)
{
    if (c->who.has_session && session_end(fs_request_db(req), c->who.session.hash) == 0)
        log_info("operator signed out", "session=%.*s", AUTHOR_SESSION_DIGITS, c->who.session.hash);
    cookie_clear(req, OPERATOR_COOKIE, "/");
    redirect_signed_out(req, "/login");
}

static void on_portal_login_page(struct fs_request *req, struct call *c)
{
    (void)c;
    page_portal_sign_in(req, 200, NULL);
}

static const struct form_field portal_login_fields[] = {
    {"email", FORM_TEXT}, {"login_key", FORM_TEXT}, {NULL, 0}};

static void on_portal_login(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 303, NULL);
    struct portal_user user;
    char location[80];
    struct form f;

    a.portal = 1;
    memset(&user, 0, sizeof user);
    if (read_form(req, portal_login_fields, &f, &a) == 0)
        a.result = sign_in_portal(fs_request_db(req), form_get(&f, "email"),
                                  form_get(&f, "login_key"), &user, a.why, sizeof a.why);
    form_release(&f);
    if (a.result == SUB_OK)
        a.result = start_session(req, c->cfg, SESSION_PORTAL, -1, &user, a.why, sizeof a.why);
    if (a.result == SUB_OK) {
        snprintf(location, sizeof location, "/portal/customers/%s", user.customer_id);
        redirect(req, location);
        return;
    }
    log_info("portal sign-in refused", "reason=\"%s\"", a.why);
    if (fs_request_wants_html(req))
        page_portal_sign_in(req, status_of(a.result), a.why);
    else
        answer(req, &a);
}

static void on_portal_logout(struct fs_request *req, struct call *c)
{
    if (session_end(fs_request_db(req), c->who.session.hash) == 0)
        log_info("portal user signed out", "session=%.*s", AUTHOR_SESSION_DIGITS,
                 c->who.session.hash);
    cookie_clear(req, PORTAL_COOKIE, PORTAL_COOKIE_PATH);
    redirect_signed_out(req, "/portal/login");
}

static void on_portal_home(struct fs_request *req, struct call *c)
{
    char location[80];

    snprintf(location, sizeof location, "/portal/customers/%s", c->who.session.customer_id);
    redirect(req, location);
}

/* ---- Mounting ---------------------------------------------------------- */

static const struct route ROUTES[] = {
    {"GET", "/", ACCESS_OPERATOR, on_list},
    {"GET", "/customers", ACCESS_OPERATOR, on_list},
    {"POST", "/customers", ACCESS_OPERATOR, on_register},
    {"GET", "/customers/*", ACCESS_OPERATOR, on_customer},
    {"GET", "/customers/*/invoices", ACCESS_OPERATOR, on_invoices},
    {"GET", "/customers/*/history", ACCESS_OPERATOR, on_history},
    {"POST", "/customers/*/users", ACCESS_OPERATOR, on_add_user},
    {"POST", "/customers/*/users/*/keys", ACCESS_OPERATOR, on_issue_key},
    {"DELETE", "/customers/*/users/*/keys/*", ACCESS_OPERATOR, on_revoke_key},
    {"GET", "/customers/*/users/*/keys/*/revoke", ACCESS_OPERATOR, on_confirm},
    {"POST", "/customers/*/users/*/keys/*/revoke", ACCESS_OPERATOR, on_revoke_key},
    {"DELETE", "/customers/*/users/*", ACCESS_OPERATOR, on_remove_user},
    {"GET", "/customers/*/users/*/remove", ACCESS_OPERATOR, on_confirm},
    {"POST", "/customers/*/users/*/remove", ACCESS_OPERATOR, on_remove_user},
    {"POST", "/customers/*/users/*/admin", ACCESS_OPERATOR, on_set_admin},
    {"POST", "/customers/*/payments", ACCESS_OPERATOR, on_payment},
    {"GET", "/customers/*/lock", ACCESS_OPERATOR, on_confirm},
    {"POST", "/customers/*/lock", ACCESS_OPERATOR, on_lock},
    {"POST", "/customers/*/unlock", ACCESS_OPERATOR, on_unlock},
    {"POST", "/customers/*/plan", ACCESS_OPERATOR, on_plan},
    {"GET", "/login", ACCESS_ANYONE, on_login_page},
    {"POST", "/login", ACCESS_ANYONE, on_login},
    {"POST", "/logout", ACCESS_OPERATOR, on_logout},
    {"GET", "/portal", ACCESS_PORTAL, on_portal_home},
    {"GET", "/portal/login", ACCESS_ANYONE, on_portal_login_page},
    {"POST", "/portal/login", ACCESS_ANYONE, on_portal_login},
    {"POST", "/portal/logout", ACCESS_PORTAL, on_portal_logout},
    {"GET", "/portal/customers/*", ACCESS_PORTAL, on_customer},
    {"GET", "/portal/customers/*/invoices", ACCESS_PORTAL, on_invoices},
    {"POST", "/portal/customers/*/users", ACCESS_PORTAL_ADMIN, on_add_user},
    {"POST", "/portal/customers/*/users/*/keys", ACCESS_PORTAL_ADMIN, on_issue_key},
    {"DELETE", "/portal/customers/*/users/*/keys/*", ACCESS_PORTAL_ADMIN, on_revoke_key},
    {"GET", "/portal/customers/*/users/*/keys/*/revoke", ACCESS_PORTAL_ADMIN, on_confirm},
    {"POST", "/portal/customers/*/users/*/keys/*/revoke", ACCESS_PORTAL_ADMIN, on_revoke_key},
    {"DELETE", "/portal/customers/*/users/*", ACCESS_PORTAL_ADMIN, on_remove_user},
    {"GET", "/portal/customers/*/users/*/remove", ACCESS_PORTAL_ADMIN, on_confirm},
    {"POST", "/portal/customers/*/users/*/remove", ACCESS_PORTAL_ADMIN, on_remove_user},
};

#define NROUTES (sizeof ROUTES / sizeof ROUTES[0])

struct http_routes {
    struct binding bindings[NROUTES];
};

/* Every route's fs_server handler: decides who asks and whether they may
 * (access.h), answering the refusal itself, then runs the route. */
static void dispatch(struct fs_request *req, void *userdata)
{
    const struct binding *b = userdata;
    struct call c = {.cfg = b->cfg};
    struct answer a = {.status = 200, .who = &c.who};

    a.portal = b->route->rule == ACCESS_PORTAL || b->route->rule == ACCESS_PORTAL_ADMIN;
    a.result = access_check(req, b->cfg, b->route->rule, &c.who, a.why, sizeof a.why);
    if (a.result == SUB_OK)
        b->route->fn(req, &c);
    else
        answer(req, &a);
    memset(&c.who, 0, sizeof c.who);
}

struct http_routes *http_routes_mount(struct fs_server *server, const struct access_config *cfg)
{
    struct http_routes *routes = xmalloc(sizeof *routes);

    for (size_t i = 0; i < NROUTES; i++) {
        enum fs_error err;

        routes->bindings[i].route = &ROUTES[i];
        routes->bindings[i].cfg = cfg;
        err = fs_server_route(server, ROUTES[i].method, ROUTES[i].pattern, SUB_MAX_BODY, dispatch,
                              &routes->bindings[i]);
        if (err != FS_OK) {
            log_error("cannot mount route", "method=%s pattern=%s error=\"%s\"", ROUTES[i].method,
                      ROUTES[i].pattern, fs_strerror(err));
            free(routes);
            return NULL;
        }
    }
    return routes;
}

void http_routes_free(struct http_routes *routes)
{
    free(routes);
}
