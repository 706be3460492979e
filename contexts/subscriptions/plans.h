/*
 * plans.h - the plan catalogue (DESIGN.md section 7). Money in cents.
 */
#ifndef SUB_PLANS_H
#define SUB_PLANS_H

struct plan {
    const char *name;             /* "payg", "team" */
    long long monthly_fee_cents;  /* charged once per closed month */
    long long unit_price_cents;   /* per unit of usage */
    long long credit_limit_cents; /* default limit: locked below -limit */
};

/* The plan called name, or NULL. */
const struct plan *plan_find(const char *name);

/* The plan of customers registered without one. */
const struct plan *plan_default(void);

/* The names of every plan, "payg, team", for error messages. */
const char *plan_names(void);

#endif
