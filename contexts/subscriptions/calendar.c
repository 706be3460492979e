#include "calendar.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static _Atomic long long fixed_now;

time_t sub_clock_now(void)
{
    long long t = atomic_load(&fixed_now);

    return t ? (time_t)t : time(NULL);
}

void sub_clock_set(time_t t)
{
    atomic_store(&fixed_now, (long long)t);
}

void sub_time_format(time_t t, char out[SUB_TIME_SIZE])
{
    struct tm tm;

    if (!gmtime_r(&t, &tm) || strftime(out, SUB_TIME_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, SUB_TIME_SIZE, "1970-01-01T00:00:00Z");
}

void sub_month_of(time_t t, char out[SUB_MONTH_SIZE])
{
    struct tm tm;

    if (!gmtime_r(&t, &tm) || strftime(out, SUB_MONTH_SIZE, "%Y-%m", &tm) == 0)
        snprintf(out, SUB_MONTH_SIZE, "1970-01");
}

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

int sub_month_valid(const char *s)
{
    int year, month;

    if (!s || strlen(s) != 7 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2))
        return 0;
    year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    month = (s[5] - '0') * 10 + (s[6] - '0');
    return year >= 1970 && month >= 1 && month <= 12;
}

void sub_month_next(const char *month, char out[SUB_MONTH_SIZE])
{
    int year = (month[0] - '0') * 1000 + (month[1] - '0') * 100 + (month[2] - '0') * 10 +
               (month[3] - '0');
    int m = (month[5] - '0') * 10 + (month[6] - '0');

    if (m == 12) {
        year++;
        m = 1;
    } else {
        m++;
    }
    if (year > 9999) {
        year = 9999;
        m = 12;
    }
    out[0] = (char)('0' + year / 1000);
    out[1] = (char)('0' + year / 100 % 10);
    out[2] = (char)('0' + year / 10 % 10);
    out[3] = (char)('0' + year % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '\0';
}

int sub_month_of_time(const char *s, char out[SUB_MONTH_SIZE])
{
    char month[SUB_MONTH_SIZE];

    if (!s || strlen(s) < 11 || s[10] != 'T' || s[7] != '-' || !digits(s + 8, 2))
        return -1;
    memcpy(month, s, 7);
    month[7] = '\0';
    if (!sub_month_valid(month))
        return -1;
    memcpy(out, month, SUB_MONTH_SIZE);
    return 0;
}
