#include "http_routes.h"

#include "billing.h"
#include "cookies.h"
#include "customers.h"
#include "form.h"
#include "log.h"
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
    char why[256];                /* what to fix, when result is not SUB_OK */
    unsigned status;              /* the status on success */
    char *json;                   /* the JSON body on success (malloc), or NULL for none */
    const char *customer;         /* the customer concerned, for the browser's redirect */
    const struct caller *who;     /* who asked (may be NULL) */
    int portal;                   /* whether the route is the portal's */
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
 * Sends a: an error (JSON {"error"}, or an HTML page for a browser; a
 * browser that must sign in to read a page is sent to the sign-in page),
 * or on success the JSON body with a.status, or for a browser a 303 to the
 * customer's page. Drops a session cookie that is over. Frees a->json.
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
        redirect(req, location);
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
        a->result = view_customer(fs_request_db(req), a->customer, &a->json, a->why,
                                  sizeof a->why);
}

static void on_list(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 200, NULL);

    if (fs_request_wants_html(req)) {
        page_customers(req, &c->who);
        return;
    }
    a.json = view_customers(fs_request_db(req));
    if (!a.json)
        a.result = SUB_ERROR;
    answer(req, &a);
}

static const struct form_field register_fields[] = {
    {"name", FORM_TEXT}, {"plan", FORM_TEXT}, {"credit_limit_cents", FORM_INTEGER}, {NULL, 0}};

static void on_register(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 201, NULL);
    struct form f;
    char id[SUB_ID_SIZE], location[64];
    const char *limit_text;
    long long limit = 0;
    int has_limit;

    if (read_form(req, register_fields, &f, &a) == 0) {
        limit_text = form_get(&f, "credit_limit_cents");
        has_limit = limit_text && *limit_text;
        if (has_limit && parse_int64(limit_text, 0, SUB_MONEY_MAX, &limit) != 0)
            a.result = sub_fail(SUB_INVALID, a.why, sizeof a.why,
                                "credit_limit_cents: a whole number of cents from 0 to %lld",
                                SUB_MONEY_MAX);
        else
            a.result = customer_register(fs_request_db(req), c->who.author, form_get(&f, "name"),
                                         form_get(&f, "plan"), has_limit ? &limit : NULL, id,
                                         a.why, sizeof a.why);
        if (a.result == SUB_OK) {
            struct strbuf sb = STRBUF_INIT;
            a.customer = id;
            snprintf(location, sizeof location, "/customers/%s", id);
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
 * browser the page that shows it once. */
static void answer_key(struct fs_request *req, struct answer *a, const char *email,
                       struct new_key *key)
{
    struct strbuf sb = STRBUF_INIT;

    if (a->result != SUB_OK) {
        answer(req, a);
        return;
    }
    if (fs_request_wants_html(req)) {
        page_new_key(req, a->who, a->customer, email, key);
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
    answer(req, &a);
}

static void on_remove_user(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 204, fs_request_param(req, 0));

    a.result = user_remove(fs_request_db(req), c->who.author, a.customer, fs_request_param(req, 1),
                           a.why, sizeof a.why);
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
        with_customer(req, &a);
    }
    form_release(&f);
    answer(req, &a);
}

static const struct form_field payment_fields[] = {{"amount_cents", FORM_INTEGER}, {NULL, 0}};

static void on_payment(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 200, fs_request_param(req, 0));
    struct form f;
    const char *amount;
    long long cents = 0;

    if (read_form(req, payment_fields, &f, &a) == 0) {
        amount = form_get(&f, "amount_cents");
        if (!amount || parse_int64(amount, 1, SUB_MONEY_MAX, &cents) != 0)
            a.result = sub_fail(SUB_INVALID, a.why, sizeof a.why,
                                "amount_cents: a whole number of cents from 1 to %lld",
                                SUB_MONEY_MAX);
        else
            a.result = billing_pay(fs_request_db(req), c->who.author, a.customer, cents, a.why,
                                   sizeof a.why);
        with_customer(req, &a);
    }
    form_release(&f);
    answer(req, &a);
}

static void on_lock(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 200, fs_request_param(req, 0));

    a.result = customer_lock(fs_request_db(req), c->who.author, a.customer, a.why, sizeof a.why);
    with_customer(req, &a);
    answer(req, &a);
}

static void on_unlock(struct fs_request *req, struct call *c)
{
    struct answer a = answer_for(c, 200, fs_request_param(req, 0));

    a.result = customer_unlock(fs_request_db(req), c->who.author, a.customer, a.why, sizeof a.why);
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
        with_customer(req, &a);
    }
    form_release(&f);
    answer(req, &a);
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
        else if ((index = sign_in_token_index(c->cfg->admin_tokens, c->cfg->nadmin_tokens,
                                              token)) < 0)
            a.result = sub_fail(SUB_UNAUTHENTICATED, a.why, sizeof a.why,
                                "this admin token is not valid: check it and try again");
        else
            a.result = start_session(req, c->cfg, SESSION_OPERATOR, index, NULL, a.why,
                                     sizeof a.why);
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

static void on_logout(struct fs_request *req, struct call *c)
{
    if (c->who.has_session && session_end(fs_request_db(req), c->who.session.hash) == 0)
        log_info("operator signed out", "session=%.*s", AUTHOR_SESSION_DIGITS,
                 c->who.session.hash);
    cookie_clear(req, OPERATOR_COOKIE, "/");
    redirect(req, "/login");
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
    redirect(req, "/portal/login");
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
    {"POST", "/customers/*/users/*/keys/*/revoke", ACCESS_OPERATOR, on_revoke_key},
    {"DELETE", "/customers/*/users/*", ACCESS_OPERATOR, on_remove_user},
    {"POST", "/customers/*/users/*/remove", ACCESS_OPERATOR, on_remove_user},
    {"POST", "/customers/*/users/*/admin", ACCESS_OPERATOR, on_set_admin},
    {"POST", "/customers/*/payments", ACCESS_OPERATOR, on_payment},
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
    {"POST", "/portal/customers/*/users/*/keys/*/revoke", ACCESS_PORTAL_ADMIN, on_revoke_key},
    {"DELETE", "/portal/customers/*/users/*", ACCESS_PORTAL_ADMIN, on_remove_user},
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
