#include "charts.h"

#include "money.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

/* The drawing area of the daily chart, in SVG user units. */
#define DAY_W 20
#define DAY_GAP 4
#define BARS_H 120
#define AXIS_H 18
#define TOP_H 16

int chart_days_in_month(const char *month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    char *end;
    long year, mon;

    if (!month || strlen(month) != 7 || month[4] != '-')
        return 31;
    year = strtol(month, &end, 10);
    if (end != month + 4)
        return 31;
    mon = strtol(month + 5, &end, 10);
    if (*end || mon < 1 || mon > 12)
        return 31;
    if (mon == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        return 29;
    return days[mon - 1];
}

void chart_daily_units(struct strbuf *sb, const char *month, const long long *units, int days)
{
    long long max = 0, total = 0;
    int width, peak = -1;

    if (days < 1 || days > CHART_MAX_DAYS)
        days = CHART_MAX_DAYS;
    for (int i = 0; i < days; i++) {
        total += units[i];
        if (units[i] > max) {
            max = units[i];
            peak = i;
        }
    }
    width = days * (DAY_W + DAY_GAP);
    sb_printf(sb,
              "<figure class=\"chart\" id=\"usage-chart\"><svg viewBox=\"0 0 %d %d\" "
              "width=\"%d\" height=\"%d\" role=\"img\" aria-labelledby=\"usage-chart-caption\">",
              width, TOP_H + BARS_H + AXIS_H, width, TOP_H + BARS_H + AXIS_H);
    sb_printf(sb, "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>", TOP_H + BARS_H,
              width, TOP_H + BARS_H);
    for (int i = 0; i < days; i++) {
        int x = i * (DAY_W + DAY_GAP) + DAY_GAP / 2;
        long long h = max > 0 ? (units[i] * BARS_H + max - 1) / max : 0;

        if (units[i] > 0) {
            sb_printf(sb,
                      "<rect class=\"bar\" x=\"%d\" y=\"%lld\" width=\"%d\" height=\"%lld\">"
                      "<title>%s-%02d: %lld units</title></rect>",
                      x, TOP_H + BARS_H - h, DAY_W, h, month, i + 1, units[i]);
        }
        if (i == 0 || (i + 1) % 5 == 0 || i == days - 1)
            sb_printf(sb, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d</text>", x + DAY_W / 2,
                      TOP_H + BARS_H + AXIS_H - 4, i + 1);
    }
    if (peak >= 0)
        sb_printf(sb, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"peak\">%lld</text>",
                  peak * (DAY_W + DAY_GAP) + DAY_GAP / 2 + DAY_W / 2, TOP_H - 4, max);
    sb_printf(sb, "</svg><figcaption id=\"usage-chart-caption\">Units per day in %s: %lld in all",
              month, total);
    if (peak >= 0)
        sb_printf(sb, ", at most %lld on day %d", max, peak + 1);
    else
        sb_puts(sb, " (none yet)");
    sb_puts(sb, ".</figcaption></figure>\n");
}

void chart_balance(struct strbuf *sb, long long balance_cents, long long credit_limit_cents)
{
    /* The scale runs from -limit (left) through 0 to a credit of the same
     * size (right), widened to hold a balance beyond either end. */
    long long span = credit_limit_cents > 0 ? credit_limit_cents : 100;
    long long lo, hi, zero_x, bal_x;
    const int W = 480, H = 30;
    int over = credit_limit_cents >= 0 && balance_cents < -credit_limit_cents;

    lo = -span;
    hi = span;
    if (balance_cents < lo)
        lo = balance_cents;
    if (balance_cents > hi)
        hi = balance_cents;
    zero_x = (0 - lo) * W / (hi - lo);
    bal_x = (balance_cents - lo) * W / (hi - lo);
    sb_printf(sb,
              "<figure class=\"chart\" id=\"balance-chart\"><svg viewBox=\"0 0 %d %d\" "
              "width=\"%d\" height=\"%d\" role=\"img\" aria-labelledby=\"balance-chart-caption\">"
              "<rect class=\"track\" x=\"0\" y=\"6\" width=\"%d\" height=\"18\"/>",
              W, H + 16, W, H + 16, W);
    if (balance_cents < 0)
        sb_printf(sb, "<rect class=\"%s\" x=\"%lld\" y=\"6\" width=\"%lld\" height=\"18\"/>",
                  over ? "drawn over" : "drawn", bal_x, zero_x - bal_x);
    else
        sb_printf(sb, "<rect class=\"credit\" x=\"%lld\" y=\"6\" width=\"%lld\" height=\"18\"/>",
                  zero_x, bal_x - zero_x);
    sb_printf(sb,
              "<line class=\"zero\" x1=\"%lld\" y1=\"2\" x2=\"%lld\" y2=\"28\"/>"
              "<line class=\"limit\" x1=\"%lld\" y1=\"0\" x2=\"%lld\" y2=\"30\"/>"
              "<text x=\"%lld\" y=\"%d\" text-anchor=\"start\">limit</text>"
              "<text x=\"%lld\" y=\"%d\" text-anchor=\"middle\">0</text></svg>",
              zero_x, zero_x, (-span - lo) * W / (hi - lo), (-span - lo) * W / (hi - lo),
              (-span - lo) * W / (hi - lo) + 2, H + 12, zero_x, H + 12);
    sb_puts(sb, "<figcaption id=\"balance-chart-caption\">Balance ");
    money_show(sb, balance_cents);
    sb_puts(sb, " against a credit limit of ");
    money_show(sb, credit_limit_cents);
    if (balance_cents < 0 && credit_limit_cents > 0)
        sb_printf(sb, ": %lld%% of the limit drawn", (-balance_cents * 100) / credit_limit_cents);
    else if (balance_cents >= 0)
        sb_puts(sb, ": nothing drawn on the limit");
    sb_puts(sb, over ? " (over the limit)." : ".");
    sb_puts(sb, "</figcaption></figure>\n");
}
