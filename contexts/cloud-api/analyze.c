#include "analyze.h"

uint64_t analyze_units(size_t len)
{
    return 1 + (uint64_t)len / 1000;
}

/* The length of the well-formed UTF-8 sequence starting at s[0] (of n bytes
 * available), or 0 when s[0] does not start one: overlong forms, surrogates
 * and code points past U+10FFFF are not well-formed (RFC 3629). */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned char b = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;

    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF)
        need = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        need = 3;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return need;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

void analyze_text(const char *text, size_t len, struct analysis *out)
{
    const unsigned char *s = (const unsigned char *)text;
    int in_word = 0;

    out->characters = 0;
    out->words = 0;
    out->lines = 0;
    out->units = analyze_units(len);
    for (size_t i = 0; i < len;) {
        size_t step = utf8_sequence(s + i, len - i);

        if (step == 0)
            step = 1;
        out->characters++;
        if (is_space(s[i])) {
            in_word = 0;
            if (s[i] == '\n')
                out->lines++;
        } else if (!in_word) {
            in_word = 1;
            out->words++;
        }
        i += step;
    }
    if (len > 0 && s[len - 1] != '\n')
        out->lines++;
}
