/*
 * money.h - amounts for people: the pages show and take dollars and cents
 * with their currency, while the JSON API and the database keep integer
 * cents (DESIGN.md section 7).
 *
 * One currency for the whole system: SUB_CURRENCY, shown with the symbol
 * SUB_CURRENCY_SYMBOL. A negative amount is written with the minus sign
 * U+2212, as "−$22.87".
 */
#ifndef SUB_MONEY_H
#define SUB_MONEY_H

struct strbuf;

#define SUB_CURRENCY "USD"
#define SUB_CURRENCY_SYMBOL "$"

/* Appends cents as "$1,234.56" or "−$22.87" (UTF-8, safe in HTML). */
void money_show(struct strbuf *sb, long long cents);

/* Appends cents as plain "-12.34", without the currency: the words of the
 * history (audit.h), which the JSON API also carries, keep this form. */
void money_plain(struct strbuf *sb, long long cents);

/*
 * Parses an amount a person typed in dollars: digits with an optional
 * decimal point and one or two digits after it ("12", "12.5", "12.34"), an
 * optional leading "$" and thousands commas ("$1,234.56"), surrounding
 * spaces ignored. Writes it in cents into *cents when it is in [min, max]
 * cents and returns 0; returns -1 for anything else (a sign, more decimals,
 * letters, an empty text, out of range).
 */
int money_parse(const char *text, long long min, long long max, long long *cents);

#endif
