/*
 * analyze.h - what POST /api/v1/analyze computes from a text, and what it
 * costs.
 *
 * The rules, part of the public contract (GET / states them too):
 *  - characters: Unicode code points of the UTF-8 text. A byte that does not
 *    start a well-formed sequence counts as one character, as a decoder that
 *    substitutes U+FFFD for it would.
 *  - words: maximal runs of bytes that are not ASCII whitespace (space, tab,
 *    newline, vertical tab, form feed, carriage return).
 *  - lines: the number of '\n', plus one when the text is not empty and does
 *    not end with '\n' (its last line is unterminated). "" has 0 lines,
 *    "a" 1, "a\n" 1, "a\nb" 2.
 *  - units: 1 + bytes / 1000 (integer division): every call costs at least
 *    one unit.
 */
#ifndef CLOUD_API_ANALYZE_H
#define CLOUD_API_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

struct analysis {
    uint64_t characters;
    uint64_t words;
    uint64_t lines;
    uint64_t units;
};

/* Fills *out with the figures of the len bytes at text (any bytes, NUL
 * included; text may be NULL when len is 0). */
void analyze_text(const char *text, size_t len, struct analysis *out);

/* The units a call with a body of len bytes costs. */
uint64_t analyze_units(size_t len);

#endif
