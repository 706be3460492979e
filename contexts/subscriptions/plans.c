#include "plans.h"

#include <stddef.h>
#include <string.h>

static const struct plan PLANS[] = {
    {"payg", 0, 1, 1000},
    {"team", 2900, 1, 10000},
};

const struct plan *plan_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof PLANS / sizeof PLANS[0]; i++)
        if (strcmp(PLANS[i].name, name) == 0)
            return &PLANS[i];
    return NULL;
}

const struct plan *plan_default(void)
{
    return &PLANS[0];
}

const char *plan_names(void)
{
    return "payg, team";
}
