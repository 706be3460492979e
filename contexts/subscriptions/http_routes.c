#include "http_routes.h"

#include "billing.h"
#include "customers.h"
#include "form.h"
#include "log.h"
#include "pages.h"
#include "strbuf.h"
#include "users.h"
#include "views.h"

#include <feedserver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A handler's answer, decided first and sent in one place by answer(). */
struct answer {
    enum sub_result result;
    char why[256];         /* what to fix, when result is not SUB_OK */
    unsigned status;       /* the status on success */
    char *json;            /* the JSON body on success (malloc), or NULL for none */
    const char *customer;  /* the customer concerned, for the browser's redirect */
};

static unsigned status_of(enum sub_result r)
{
    switch (r) {
    case SUB_OK:
        return 200;
    case SUB_INVALID:
        return 400;
    case SUB_NOT_FOUND:
        return 404;
    case SUB_CONFLICT:
        return 409;
    case SUB_ERROR:
        break;
    }
    return 500;
}

/*
 * Sends a: an error (JSON {"error"}, or an HTML page for a browser), or on
 * success the JSON body with a.status, or for a browser a 303 to the
 * customer's page. Frees a->json.
 */
static void answer(struct fs_request *req, struct answer *a)
{
    char location[160];

    if (a->customer)
        snprintf(location, sizeof location, "/customers/%s", a->customer);
    else
        snprintf(location, sizeof location, "/customers");
    if (a->result != SUB_OK) {
        if (!a->why[0])
            snprintf(a->why, sizeof a->why, "the database failed; try again");
        if (fs_request_wants_html(req))
            page_error(req, status_of(a->result), a->why,
                       a->result == SUB_NOT_FOUND ? "/customers" : location);
        else
            fs_reply_error(req, status_of(a->result), "%s", a->why);
    } else if (fs_request_wants_html(req) && strcmp(fs_request_method(req), "GET") != 0) {
        fs_reply_header(req, "Location", location);
        fs_reply(req, 303, "text/plain; charset=utf-8", "See Other\n", 10);
    } else if (a->json) {
        fs_reply_take(req, a->status, "application/json", a->json, strlen(a->json));
        a->json = NULL;
    } else {
        fs_reply(req, a->status, "text/plain; charset=utf-8", "", 0);
    }
    free(a->json);
    a->json = NULL;
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

static void on_list(struct fs_request *req, void *userdata)
{
    struct answer a = {.status = 200};

    (void)userdata;
    if (fs_request_wants_html(req)) {
        page_customers(req);
        return;
    }
    a.json = view_customers(fs_request_db(req));
    if (!a.json)
        a.result = SUB_ERROR;
    answer(req, &a);
}

static const struct form_field register_fields[] = {
    {"name", FORM_TEXT}, {"plan", FORM_TEXT}, {"credit_limit_cents", FORM_INTEGER}, {NULL, 0}};

static void on_register(struct fs_request *req, void *userdata)
{
    struct answer a = {.status = 201};
    struct form f;
    char id[SUB_ID_SIZE], location[64];
    const char *limit_text;
    long long limit = 0;
    int has_limit;

    (void)userdata;
    if (read_form(req, register_fields, &f, &a) == 0) {
        limit_text = form_get(&f, "credit_limit_cents");
        has_limit = limit_text && *limit_text;
        if (has_limit && parse_int64(limit_text, 0, SUB_MONEY_MAX, &limit) != 0)
            a.result = sub_fail(SUB_INVALID, a.why, sizeof a.why,
                                "credit_limit_cents: a whole number of cents from 0 to %lld",
                                SUB_MONEY_MAX);
        else
            a.result = customer_register(fs_request_db(req), form_get(&f, "name"),
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

static void on_customer(struct fs_request *req, void *userdata)
{
    const char *id = fs_request_param(req, 0);
    struct answer a = {.status = 200, .customer = id};

    (void)userdata;
    if (fs_request_wants_html(req)) {
        page_customer(req, id);
        return;
    }
    a.result = view_customer(fs_request_db(req), id, &a.json, a.why, sizeof a.why);
    answer(req, &a);
}

static void on_invoices(struct fs_request *req, void *userdata)
{
    const char *id = fs_request_param(req, 0);
    struct answer a = {.status = 200, .customer = id};

    (void)userdata;
    if (fs_request_wants_html(req)) {
        page_invoices(req, id);
        return;
    }
    a.result = view_invoices(fs_request_db(req), id, &a.json, a.why, sizeof a.why);
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
    fs_reply_header(req, "Cache-Control", "no-store");
    if (fs_request_wants_html(req)) {
        page_new_key(req, a->customer, email, key);
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

static void on_add_user(struct fs_request *req, void *userdata)
{
    struct answer a = {.status = 201, .customer = fs_request_param(req, 0)};
    struct new_key key;
    struct form f;

    (void)userdata;
    memset(&key, 0, sizeof key);
    if (read_form(req, user_fields, &f, &a) == 0)
        a.result = user_add(fs_request_db(req), a.customer, form_get(&f, "email"), &key, a.why,
                            sizeof a.why);
    answer_key(req, &a, a.result == SUB_OK ? form_get(&f, "email") : NULL, &key);
    form_release(&f);
}

static void on_issue_key(struct fs_request *req, void *userdata)
{
    struct answer a = {.status = 201, .customer = fs_request_param(req, 0)};
    struct new_key key;

    (void)userdata;
    a.result = key_issue(fs_request_db(req), a.customer, fs_request_param(req, 1), &key, a.why,
                         sizeof a.why);
    answer_key(req, &a, NULL, &key);
}

static void on_revoke_key(struct fs_request *req, void *userdata)
{
    struct answer a = {.status = 204, .customer = fs_request_param(req, 0)};

    (void)userdata;
    a.result = key_revoke(fs_request_db(req), a.customer, fs_request_param(req, 1),
                          fs_request_param(req, 2), a.why, sizeof a.why);
    answer(req, &a);
}

static void on_remove_user(struct fs_request *req, void *userdata)
{
    struct answer a = {.status = 204, .customer = fs_request_param(req, 0)};

    (void)userdata;
    a.result = user_remove(fs_request_db(req), a.customer, fs_request_param(req, 1), a.why,
                           sizeof a.why);
    answer(req, &a);
}

static const struct form_field payment_fields[] = {{"amount_cents", FORM_INTEGER}, {NULL, 0}};

static void on_payment(struct fs_request *req, void *userdata)
{
    struct answer a = {.status = 200, .customer = fs_request_param(req, 0)};
    struct form f;
    const char *amount;
    long long cents = 0;

    (void)userdata;
    if (read_form(req, payment_fields, &f, &a) == 0) {
        amount = form_get(&f, "amount_cents");
        if (!amount || parse_int64(amount, 1, SUB_MONEY_MAX, &cents) != 0)
            a.result = sub_fail(SUB_INVALID, a.why, sizeof a.why,
                                "amount_cents: a whole number of cents from 1 to %lld",
                                SUB_MONEY_MAX);
        else
            a.result = billing_pay(fs_request_db(req), a.customer, cents, a.why, sizeof a.why);
        with_customer(req, &a);
    }
    form_release(&f);
    answer(req, &a);
}

static void on_lock(struct fs_request *req, void *userdata)
{
    struct answer a = {.status = 200, .customer = fs_request_param(req, 0)};

    (void)userdata;
    a.result = customer_lock(fs_request_db(req), a.customer, a.why, sizeof a.why);
    with_customer(req, &a);
    answer(req, &a);
}

static void on_unlock(struct fs_request *req, void *userdata)
{
    struct answer a = {.status = 200, .customer = fs_request_param(req, 0)};

    (void)userdata;
    a.result = customer_unlock(fs_request_db(req), a.customer, a.why, sizeof a.why);
    with_customer(req, &a);
    answer(req, &a);
}

static const struct form_field plan_fields[] = {{"plan", FORM_TEXT}, {NULL, 0}};

static void on_plan(struct fs_request *req, void *userdata)
{
    struct answer a = {.status = 200, .customer = fs_request_param(req, 0)};
    char from[SUB_MONTH_SIZE];
    struct form f;

    (void)userdata;
    if (read_form(req, plan_fields, &f, &a) == 0) {
        a.result = customer_change_plan(fs_request_db(req), a.customer, form_get(&f, "plan"),
                                        from, a.why, sizeof a.why);
        with_customer(req, &a);
    }
    form_release(&f);
    answer(req, &a);
}

int http_routes_mount(struct fs_server *server)
{
    static const struct {
        const char *method, *pattern;
        fs_route_fn *fn;
    } ROUTES[] = {
        {"GET", "/", on_list},
        {"GET", "/customers", on_list},
        {"POST", "/customers", on_register},
        {"GET", "/customers/*", on_customer},
        {"GET", "/customers/*/invoices", on_invoices},
        {"POST", "/customers/*/users", on_add_user},
        {"POST", "/customers/*/users/*/keys", on_issue_key},
        {"DELETE", "/customers/*/users/*/keys/*", on_revoke_key},
        {"POST", "/customers/*/users/*/keys/*/revoke", on_revoke_key},
        {"DELETE", "/customers/*/users/*", on_remove_user},
        {"POST", "/customers/*/users/*/remove", on_remove_user},
        {"POST", "/customers/*/payments", on_payment},
        {"POST", "/customers/*/lock", on_lock},
        {"POST", "/customers/*/unlock", on_unlock},
        {"POST", "/customers/*/plan", on_plan},
    };

    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        enum fs_error err = fs_server_route(server, ROUTES[i].method, ROUTES[i].pattern,
                                            SUB_MAX_BODY, ROUTES[i].fn, NULL);
        if (err != FS_OK) {
            log_error("cannot mount route", "method=%s pattern=%s error=\"%s\"", ROUTES[i].method,
                      ROUTES[i].pattern, fs_strerror(err));
            return -1;
        }
    }
    return 0;
}
