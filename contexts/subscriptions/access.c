#include "access.h"

#include "cookies.h"
#include "csrf.h"
#include "form.h"
#include "log.h"
#include "sign_in.h"

#include <feedserver.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *caller_base(const struct caller *who)
{
    return who && who->kind == CALLER_USER ? "/portal" : "";
}

enum sub_result access_anonymous(const struct access_config *cfg, int loopback, struct caller *who,
                                 char *why, size_t why_size)
{
    if (cfg->nadmin_tokens > 0)
        return sub_fail(
            SUB_UNAUTHENTICATED, why, why_size,
            "sign in first: send an admin token in the header Authorization: Bearer TOKEN, "
            "or sign in at /login");
    if (!loopback)
        return sub_fail(SUB_FORBIDDEN, why, why_size,
                        "Subscriptions answers loopback clients only: no admin token is "
                        "configured (start serve with --admin-token TOKEN to serve others)");
    who->kind = CALLER_OPERATOR;
    who->token_index = -1;
    author_operator(-1, NULL, who->author);
    return SUB_OK;
}

/* The token of an "Authorization: Bearer TOKEN" header, or NULL. */
static const char *bearer(const struct fs_request *req)
{
    const char *h = fs_request_header(req, "Authorization");

    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return h;
}

/* Copies the CSRF token the request carries (its header, else its form
 * field) into out; "" when it carries none. */
static void presented_csrf(struct fs_request *req, char *out, size_t out_size)
{
    static const struct form_field fields[] = {{CSRF_FIELD, FORM_TEXT}, {NULL, 0}};
    const char *h = fs_request_header(req, CSRF_HEADER);
    char err[128];
    struct form f;

    out[0] = '\0';
    if (h) {
        snprintf(out, out_size, "%s", strlen(h) < out_size ? h : "");
        return;
    }
    if (form_parse(req, fields, &f, err, sizeof err) == 0) {
        const char *v = form_get(&f, CSRF_FIELD);
        if (v && strlen(v) < out_size)
            snprintf(out, out_size, "%s", v);
    }
    form_release(&f);
}

/* What the session cookie of a request shows. */
enum cookie_session {
    NO_SESSION,     /* no cookie, or one whose session is over */
    LIVE_SESSION,   /* a live session, and the CSRF token if the request needs one */
    NO_CSRF,        /* a live session, but a change without its CSRF token */
    SESSION_FAILED, /* the database failed */
};

/* Finds the live session of kind in the request's cookie and fills
 * who->session, who->csrf and who->has_session; a change must carry the
 * session's CSRF token. A cookie whose session is over sets
 * who->stale_cookie. */
static enum cookie_session session_of(struct fs_request *req, enum session_kind kind,
                                      struct caller *who)
{
    char id[SHA256_HEX_SIZE], presented[2 * SHA256_HEX_SIZE];
    enum cookie_session result = SESSION_FAILED;
    int live;

    if (!cookie_get(fs_request_header(req, "Cookie"),
                    kind == SESSION_OPERATOR ? OPERATOR_COOKIE : PORTAL_COOKIE, id, sizeof id))
        return NO_SESSION;
    live = session_find(fs_request_db(req), kind, id, &who->session);
    if (live == 0) {
        who->stale_cookie = 1;
        result = NO_SESSION;
    } else if (live == 1 && csrf_token(id, who->csrf) == 0) {
        who->has_session = 1;
        result = LIVE_SESSION;
        if (csrf_changes_state(fs_request_method(req))) {
            presented_csrf(req, presented, sizeof presented);
            if (!csrf_token_ok(id, presented))
                result = NO_CSRF;
        }
    }
    memset(id, 0, sizeof id);
    return result;
}

static const char NO_CSRF_WHY[] = "this form carries no valid CSRF token for your session: "
                                  "reload the page and submit it again";

static enum sub_result identify_operator(struct fs_request *req, const struct access_config *cfg,
                                         struct caller *who, char *why, size_t why_size)
{
    const char *token = cfg->nadmin_tokens ? bearer(req) : NULL;
    enum cookie_session live;

    if (token) {
        who->token_index = sign_in_token_index(cfg->admin_tokens, cfg->nadmin_tokens, token);
        if (who->token_index < 0)
            return sub_fail(SUB_UNAUTHENTICATED, why, why_size,
                            "this admin token is not valid: check the token given to serve with "
                            "--admin-token");
        who->kind = CALLER_OPERATOR;
        author_operator(who->token_index, NULL, who->author);
        return SUB_OK;
    }
    live = cfg->nadmin_tokens ? session_of(req, SESSION_OPERATOR, who) : NO_SESSION;
    if (live == SESSION_FAILED)
        return sub_fail(SUB_ERROR, why, why_size, "the database failed; try again");
    if (live == NO_CSRF)
        return sub_fail(SUB_FORBIDDEN, why, why_size, "%s", NO_CSRF_WHY);
    if (live == LIVE_SESSION) {
        who->kind = CALLER_OPERATOR;
        who->token_index = who->session.token_index;
        author_operator(who->token_index, who->session.hash, who->author);
        return SUB_OK;
    }
    return access_anonymous(cfg, fs_request_is_loopback(req), who, why, why_size);
}

static enum sub_result identify_user(struct fs_request *req, enum access_rule rule,
                                     struct caller *who, char *why, size_t why_size)
{
    const char *customer = fs_request_param(req, 0);
    enum cookie_session live = session_of(req, SESSION_PORTAL, who);

    if (live == SESSION_FAILED)
        return sub_fail(SUB_ERROR, why, why_size, "the database failed; try again");
    if (live == NO_SESSION)
        return sub_fail(SUB_UNAUTHENTICATED, why, why_size,
                        "sign in to the customer portal first, at /portal/login");
    if (live == NO_CSRF)
        return sub_fail(SUB_FORBIDDEN, why, why_size, "%s", NO_CSRF_WHY);
    who->kind = CALLER_USER;
    who->token_index = -1;
    author_user(who->session.user_id, who->author);
    if (customer && strcmp(customer, who->session.customer_id) != 0)
        return sub_fail(SUB_NOT_FOUND, why, why_size, "no customer with id %s", customer);
    if (rule == ACCESS_PORTAL_ADMIN && !who->session.is_admin)
        return sub_fail(SUB_FORBIDDEN, why, why_size,
                        "only an administrator of your customer may manage its users and keys: "
                        "ask one of them, or the operator");
    return SUB_OK;
}

/* The request's path for a log line: itself when it is made of characters
 * that cannot break the line, else a placeholder. */
static const char *printable_path(const struct fs_request *req)
{
    const char *path = fs_request_path(req);
    size_t len = strlen(path);

    if (len > 200 || strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789/_.-") != len)
        return "(not printable)";
    return path;
}

enum sub_result access_check(struct fs_request *req, const struct access_config *cfg,
                             enum access_rule rule, struct caller *who, char *why, size_t why_size)
{
    enum sub_result r = SUB_OK;

    memset(who, 0, sizeof *who);
    who->token_index = -1;
    if (csrf_changes_state(fs_request_method(req)) && csrf_check_request(req, why, why_size) != 0)
        r = SUB_FORBIDDEN;
    else if (rule == ACCESS_OPERATOR)
        r = identify_operator(req, cfg, who, why, why_size);
    else if (rule == ACCESS_PORTAL || rule == ACCESS_PORTAL_ADMIN)
        r = identify_user(req, rule, who, why, why_size);
    if (r == SUB_UNAUTHENTICATED || r == SUB_FORBIDDEN)
        log_info("request refused", "method=%s path=\"%s\" status=%s loopback=%d reason=\"%s\"",
                 fs_request_method(req), printable_path(req),
                 r == SUB_UNAUTHENTICATED ? "401" : "403", fs_request_is_loopback(req), why);
    return r;
}
