/*
 * text.c - what text a feed can carry.
 *
 * A feed document is XML 1.0 in UTF-8, so every text that goes into one must
 * be strict UTF-8 (RFC 3629: shortest form only, no surrogates, nothing past
 * U+10FFFF) made of XML 1.0 characters (no C0 control but tab, LF and CR; no
 * U+FFFE or U+FFFF). One byte outside those rules makes the whole document
 * not well-formed for every reader, so appends refuse it and the contexts
 * check their input with the same function.
 */
#include <stdio.h>

#include "feedserver.h"

/* Writes a reason naming the byte offset into why. */
static int refuse(char *why, size_t why_size, size_t at, const char *what)
{
    if (why && why_size)
        snprintf(why, why_size, "%s at byte %zu", what, at + 1);
    return -1;
}

int fs_text_check(const char *text, size_t len, char *why, size_t why_size)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        unsigned cp, need, min;

        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                return refuse(why, why_size, i,
                              c ? "a control character XML does not allow" : "a NUL byte");
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3, cp = c & 0x07, min = 0x10000;
        } else if (c == 0xc0 || c == 0xc1) {
            return refuse(why, why_size, i, "an overlong UTF-8 form");
        } else {
            return refuse(why, why_size, i, "a byte that is not UTF-8");
        }
        if (len - i <= need)
            return refuse(why, why_size, i, "a UTF-8 sequence cut short");
        for (unsigned k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return refuse(why, why_size, i, "a UTF-8 sequence cut short");
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min)
            return refuse(why, why_size, i, "an overlong UTF-8 form");
        if (cp >= 0xd800 && cp <= 0xdfff)
            return refuse(why, why_size, i, "a UTF-16 surrogate, which UTF-8 cannot carry");
        if (cp > 0x10ffff)
            return refuse(why, why_size, i, "a code point past U+10FFFF");
        if (cp == 0xfffe || cp == 0xffff)
            return refuse(why, why_size, i, "U+FFFE or U+FFFF, which XML does not allow");
        i += need + 1;
    }
    return 0;
}
