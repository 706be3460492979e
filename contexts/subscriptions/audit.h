/*
 * audit.h - who made each change: the author stored with every internal
 * event (domain_events.author), and a customer's history in words.
 *
 * An author is a short text that names who acted, never with what secret:
 *
 *   operator:token-N                  an operator presenting the N-th
 *                                     --admin-token (from 1) as a Bearer token
 *   operator:token-N:session-HHHHHHHHHHHH
 *                                     an operator signed in with that token;
 *                                     H.. are the first hex digits of the
 *                                     SHA-256 of the session id (the key of
 *                                     its row in sessions), never the id
 *   operator:loopback                 a loopback client of a server that has
 *                                     no admin token
 *   user:UID                          an administrator of the customer,
 *                                     signed in to the portal
 *   billing                           the billing rules: usage charges, the
 *                                     month closer, and the locks they cause
 *
 * Events stored before authors were recorded have none (NULL). Every event
 * a command appends carries the command's author, also the consequences it
 * causes in the same transaction (the unlock after a payment).
 */
#ifndef SUB_AUDIT_H
#define SUB_AUDIT_H

#include <sqlite3.h>

struct strbuf;

/* Bytes of an author with the NUL. */
#define AUTHOR_SIZE 64

/* The author of billing's own changes. */
#define AUTHOR_BILLING "billing"

/* Hex digits of a session's SHA-256 kept in an author. */
#define AUTHOR_SESSION_DIGITS 12

/* Writes the author of an operator into out: token_index is the 0-based
 * index of the admin token (-1: a loopback client, no token configured);
 * session_hash (may be NULL) the SHA-256 hex of the session id. */
void author_operator(int token_index, const char *session_hash, char out[AUTHOR_SIZE]);

/* Writes the author of a customer's administrator user_id into out. */
void author_user(const char *user_id, char out[AUTHOR_SIZE]);

/* Appends author (may be NULL) in words for people, such as "operator
 * (token 1, session 3f2a9c1b04de)" or "customer admin u_..." (escaped for
 * HTML when html is non-zero). */
void audit_author_words(struct strbuf *sb, const char *author, int html);

/* One change in a customer's history. Every pointer is valid only during
 * the callback. */
struct history_item {
    long long seq;      /* the internal event's number */
    const char *at;     /* RFC 3339 UTC */
    const char *type;   /* the internal event type, such as "payment_recorded" */
    const char *author; /* as above; NULL when not recorded */
    const char *what;   /* the change in words, such as "payment of 12.50" */
};

typedef void history_fn(const struct history_item *item, void *userdata);

/*
 * Calls fn for the latest limit changes of customer customer_id, newest
 * first: every internal event about it except usage charges (those are
 * listed with the charges). Returns 0, or -1 (logged) on a database error.
 */
int audit_history(sqlite3 *db, const char *customer_id, int limit, history_fn *fn, void *userdata);

#endif
