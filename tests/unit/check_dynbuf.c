/*
 * check_dynbuf - the one buffer: growth, its cap, failures that stick and
 * reach the caller (never an abort), ownership, the escapers and the log
 * line format of docs/logging.md.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dynbuf.h"
#include "testkit.h"

START_TEST(adds_grow_and_stay_a_string)
{
    struct dynbuf b = DYNBUF_INIT(1 << 20);
    char big[1000];

    ck_assert_str_eq(dynbuf_ptr(&b), "");
    ck_assert_int_eq(dynbuf_adds(&b, "abc"), DYNBUF_OK);
    ck_assert_int_eq(dynbuf_add(&b, "d\0e", 3), DYNBUF_OK);
    ck_assert_uint_eq(dynbuf_len(&b), 6);
    ck_assert_int_eq(memcmp(dynbuf_ptr(&b), "abcd\0e", 7), 0);
    ck_assert_int_eq(dynbuf_printf(&b, "-%d-%s", 42, "x"), DYNBUF_OK);
    ck_assert_str_eq(dynbuf_ptr(&b) + 6, "-42-x");
    memset(big, 'z', sizeof big);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(dynbuf_add(&b, big, sizeof big), DYNBUF_OK);
    ck_assert_uint_eq(dynbuf_len(&b), 11 + 100 * sizeof big);
    ck_assert_int_eq(dynbuf_ptr(&b)[dynbuf_len(&b)], '\0');
    dynbuf_truncate(&b, 3);
    ck_assert_str_eq(dynbuf_ptr(&b), "abc");
    dynbuf_release(&b);
    ck_assert_str_eq(dynbuf_ptr(&b), "");
    ck_assert_int_eq(dynbuf_adds(&b, "again"), DYNBUF_OK);
    ck_assert_str_eq(dynbuf_ptr(&b), "again");
    dynbuf_release(&b);
}
END_TEST

START_TEST(the_cap_is_an_error_that_sticks)
{
    struct dynbuf b;

    dynbuf_init(&b, 8);
    ck_assert_int_eq(dynbuf_adds(&b, "12345678"), DYNBUF_OK);
    ck_assert_int_eq(dynbuf_adds(&b, "9"), DYNBUF_TOO_BIG);
    ck_assert_int_eq(dynbuf_error(&b), DYNBUF_TOO_BIG);
    /* The bytes are gone and every later add fails the same way. */
    ck_assert_uint_eq(dynbuf_len(&b), 0);
    ck_assert_str_eq(dynbuf_ptr(&b), "");
    ck_assert_int_eq(dynbuf_adds(&b, ""), DYNBUF_TOO_BIG);
    ck_assert_int_eq(dynbuf_printf(&b, "%d", 1), DYNBUF_TOO_BIG);
    ck_assert_ptr_null(dynbuf_take(&b, NULL));
    /* take and reset forget the failure, and the cap stays. */
    ck_assert_int_eq(dynbuf_adds(&b, "1234"), DYNBUF_OK);
    dynbuf_reset(&b, SIZE_MAX);
    ck_assert_int_eq(dynbuf_printf(&b, "%s", "123456789"), DYNBUF_TOO_BIG);
    dynbuf_reset(&b, 0);
    ck_assert_int_eq(dynbuf_error(&b), DYNBUF_OK);
    ck_assert_int_eq(dynbuf_printf(&b, "%s", "12345678"), DYNBUF_OK);
    dynbuf_release(&b);
    /* A max of 0 holds nothing, so a buffer nobody gave a cap fails loudly. */
    dynbuf_init(&b, 0);
    ck_assert_int_eq(dynbuf_add(&b, "", 0), DYNBUF_OK);
    ck_assert_int_eq(dynbuf_adds(&b, "x"), DYNBUF_TOO_BIG);
    dynbuf_release(&b);
    ck_assert_str_eq(dynbuf_strerror(DYNBUF_TOO_BIG), "too large");
}
END_TEST

START_TEST(take_hands_over_the_bytes)
{
    struct dynbuf b = DYNBUF_INIT(64);
    size_t len = 99;
    char *p = dynbuf_take(&b, &len);

    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p, "");
    ck_assert_uint_eq(len, 0);
    free(p);
    dynbuf_adds(&b, "mine");
    p = dynbuf_take(&b, &len);
    ck_assert_str_eq(p, "mine");
    ck_assert_uint_eq(len, 4);
    ck_assert_uint_eq(dynbuf_len(&b), 0);
    free(p);
    ck_assert_int_eq(dynbuf_adds(&b, "next"), DYNBUF_OK);
    dynbuf_release(&b);
}
END_TEST

START_TEST(escapers)
{
    struct dynbuf b = DYNBUF_INIT(4096);

    dynbuf_add_html(&b, "<a href=\"x\">&'</a>");
    ck_assert_str_eq(dynbuf_ptr(&b), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    dynbuf_reset(&b, SIZE_MAX);
    ck_assert_int_eq(dynbuf_add_html(&b, NULL), DYNBUF_OK);
    ck_assert_str_eq(dynbuf_ptr(&b), "");
    dynbuf_add_json(&b, "a\"b\\c\nd\x01 caf\xc3\xa9", 14);
    ck_assert_str_eq(dynbuf_ptr(&b), "a\\\"b\\\\c\\u000ad\\u0001 caf\xc3\xa9");
    dynbuf_release(&b);
}
END_TEST

START_TEST(log_values_never_leave_their_pair)
{
    struct dynbuf b = DYNBUF_INIT(1 << 16);
    char *long_value = malloc(DYNBUF_LOG_VALUE_MAX + 100);

    dynbuf_add_log_pair(&b, "a", "plain", 0);
    dynbuf_add_log_pair(&b, "b", "two words", 0);
    dynbuf_add_log_pair(&b, "c", "q\"uo\\te", 0);
    dynbuf_add_log_pair(&b, "d", "line\nfake=1\r\t\x01\x7f", 0);
    dynbuf_add_log_pair(&b, "e", "", 0);
    dynbuf_add_log_pair(&b, "f", "x=y", 0);
    dynbuf_add_log_pair(&b, "g", "word", 1);
    dynbuf_add_log_pair(&b, "bad key", NULL, 0);
    ck_assert_str_eq(dynbuf_ptr(&b), "a=plain b=\"two words\" c=\"q\\\"uo\\\\te\" "
                                     "d=\"line\\nfake=1\\r\\t\\u0001\\u007f\" e=\"\" f=\"x=y\" "
                                     "g=\"word\" bad_key=\"\"");
    ck_assert_ptr_null(strchr(dynbuf_ptr(&b), '\n'));
    /* A long value is cut, at a character, and says so. */
    dynbuf_reset(&b, SIZE_MAX);
    memset(long_value, 'x', DYNBUF_LOG_VALUE_MAX + 99);
    memcpy(long_value + DYNBUF_LOG_VALUE_MAX - 1, "\xc3\xa9", 2);
    long_value[DYNBUF_LOG_VALUE_MAX + 99] = '\0';
    dynbuf_add_log_pair(&b, "v", long_value, 0);
    ck_assert_uint_eq(dynbuf_len(&b), 2 + 1 + (DYNBUF_LOG_VALUE_MAX - 1) + 3 + 1);
    ck_assert_str_eq(dynbuf_ptr(&b) + dynbuf_len(&b) - 5, "x...\"");
    free(long_value);
    dynbuf_release(&b);
}
END_TEST

START_TEST(a_log_line_is_one_line)
{
    const char *keys[] = {"feed", "why"};
    const char *values[] = {"http://h/feeds/x", "bad\n\"doc\""};
    char line[512];
    int fds[2];
    ssize_t n;

    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(dynbuf_log_write(fds[1], "warn", "feed-reader", "cut\nshort", keys, values, 2),
                     0);
    close(fds[1]);
    n = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    ck_assert_int_gt(n, 0);
    line[n] = '\0';
    ck_assert_int_eq(strncmp(line, "ts=", 3), 0);
    ck_assert_ptr_nonnull(strstr(line, "Z level=warn lib=feed-reader msg=\"cut\\nshort\" "
                                       "feed=http://h/feeds/x why=\"bad\\n\\\"doc\\\"\"\n"));
    ck_assert_ptr_eq(strchr(line, '\n'), line + n - 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dynbuf");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, adds_grow_and_stay_a_string);
    tcase_add_test(tc, the_cap_is_an_error_that_sticks);
    tcase_add_test(tc, take_hands_over_the_bytes);
    tcase_add_test(tc, escapers);
    tcase_add_test(tc, log_values_never_leave_their_pair);
    tcase_add_test(tc, a_log_line_is_one_line);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
