/*
 * dynbuf.h - a growable byte buffer for building documents and replies.
 *
 * Invariants: data is NULL or a malloc'd block of cap bytes holding len
 * bytes followed by a NUL; once an allocation fails, oom stays set and every
 * later add is a no-op, so a builder checks for failure once at the end.
 */
#ifndef FS_DYNBUF_H
#define FS_DYNBUF_H

#include <stddef.h>

struct fs__buf {
    char *data; /* the bytes, NUL-terminated; NULL while empty */
    size_t len; /* bytes held, without the NUL */
    size_t cap; /* bytes allocated */
    int oom;    /* an allocation failed; the content is incomplete */
};

void fs__buf_add(struct fs__buf *b, const void *data, size_t len);
void fs__buf_adds(struct fs__buf *b, const char *s);
void fs__buf_printf(struct fs__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds s with &, <, >, " and ' written as character references, for HTML
 * text and attribute values. */
void fs__buf_add_html(struct fs__buf *b, const char *s);
/* Adds s, UTF-8 text, as the inside of a JSON string: '"' and backslash
 * are escaped with a backslash, control characters (below U+0020) as
 * \u00XX; everything else is copied as it is. */
void fs__buf_add_json(struct fs__buf *b, const char *s);
/* The same for the len bytes at s (which need not end with a NUL). */
void fs__buf_add_json_len(struct fs__buf *b, const char *s, size_t len);
/* Hands the bytes over to the caller (who frees them) and empties b. Returns
 * NULL if b ran out of memory (then b is released). */
char *fs__buf_take(struct fs__buf *b, size_t *len);
void fs__buf_release(struct fs__buf *b);
/* Empties b but keeps its memory for the next adds (oom stays as it is). */
void fs__buf_clear(struct fs__buf *b);

#endif
