/*
 * customer_list.h - the list of customers, searched, sorted and paged: the
 * customers page and GET /customers (docs/routes.md).
 *
 * Without any query parameter GET /customers answers what it always did:
 * every customer in registration order. q, sort, order, limit and offset
 * narrow it; the answer is the same JSON array, with the number of matches
 * in the X-Total-Count header.
 */
#ifndef SUB_CUSTOMER_LIST_H
#define SUB_CUSTOMER_LIST_H

#include <sqlite3.h>
#include <stddef.h>

struct fs_request;

/* Customers a page lists. */
#define CUSTOMER_PAGE_SIZE 50

/* Most customers one JSON answer lists when a limit is given. */
#define CUSTOMER_LIMIT_MAX 1000

/* Longest search text, in bytes. */
#define CUSTOMER_QUERY_MAX 200

enum customer_sort {
    CUSTOMER_SORT_DATE, /* by registration time (then id) */
    CUSTOMER_SORT_NAME, /* by name, ignoring ASCII case (then id) */
};

/* Which customers, in which order. Strings borrowed. */
struct customer_query {
    const char *q; /* a part of the name or of a current user's email; "" for all */
    enum customer_sort sort;
    int descending;   /* newest or Z first */
    long long limit;  /* at most this many; -1 for all */
    long long offset; /* skipping this many first */
};

/*
 * Reads q, sort (name|date), order (asc|desc), limit and offset (when
 * limit_allowed) or page (from 1, pages of CUSTOMER_PAGE_SIZE, when not)
 * from req's query string into *out; missing ones keep their defaults
 * (all customers in registration order, or the first page). Returns 0, or
 * -1 with what to fix in why for a value out of its range.
 */
int customer_query_read(struct fs_request *req, int limit_allowed, struct customer_query *out,
                        char *why, size_t why_size);

/* One customer as listed; pointers valid during the callback only. */
struct customer_row {
    const char *id, *name, *plan, *registered_at;
    const char *lock_reason; /* "" when active */
    long long balance_cents;
};

typedef void customer_row_fn(const struct customer_row *row, void *userdata);

/* Calls fn for each customer q selects, in its order. Returns 0, or -1 on
 * a database error. */
int customer_list(sqlite3 *db, const struct customer_query *q, customer_row_fn *fn, void *userdata);

/* How many customers match q's search (ignoring limit and offset), or -1. */
long long customer_count(sqlite3 *db, const struct customer_query *q);

/* The JSON array [{"id","name","plan","balance_cents","status"}, ...] of
 * the customers q selects, as a new string (caller frees), or NULL. */
char *customer_list_json(sqlite3 *db, const struct customer_query *q);

#endif
