#include "money.h"

#include "strbuf.h"

#include <ctype.h>
#include <stdio.h>

/* U+2212 MINUS SIGN in UTF-8: a typographic minus, not a hyphen. */
#define MINUS "\xe2\x88\x92"

void money_show(struct strbuf *sb, long long cents)
{
    unsigned long long a = cents < 0 ? 0ULL - (unsigned long long)cents : (unsigned long long)cents;
    unsigned long long dollars = a / 100;
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", dollars);

    sb_puts(sb, cents < 0 ? MINUS SUB_CURRENCY_SYMBOL : SUB_CURRENCY_SYMBOL);
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            sb_puts(sb, ",");
        sb_append(sb, &digits[i], 1);
    }
    sb_printf(sb, ".%02llu", a % 100);
}

void money_plain(struct strbuf *sb, long long cents)
{
    unsigned long long a = cents < 0 ? 0ULL - (unsigned long long)cents : (unsigned long long)cents;

    sb_printf(sb, "%s%llu.%02llu", cents < 0 ? "-" : "", a / 100, a % 100);
}

int money_parse(const char *text, long long min, long long max, long long *cents)
{
    const char *p = text;
    long long whole = 0;
    int ndigits = 0, nfrac = 0, frac = 0;

    if (!p)
        return -1;
    while (*p == ' ')
        p++;
    if (*p == '$')
        p++;
    for (; isdigit((unsigned char)*p) || (*p == ',' && ndigits > 0); p++) {
        if (*p == ',')
            continue;
        if (whole > (max / 100) + 1)
            return -1;
        whole = whole * 10 + (*p - '0');
        ndigits++;
    }
    if (*p == '.') {
        p++;
        for (; isdigit((unsigned char)*p); p++) {
            if (++nfrac > 2)
                return -1;
            frac = frac * 10 + (*p - '0');
        }
        if (nfrac == 1)
            frac *= 10;
    }
    while (*p == ' ')
        p++;
    if (*p || (ndigits == 0 && nfrac == 0) || whole > (max - frac) / 100)
        return -1;
    whole = whole * 100 + frac;
    if (whole < min || whole > max)
        return -1;
    *cents = whole;
    return 0;
}
