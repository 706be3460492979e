/*
 * dynbuf.h - a growable byte buffer with a hard cap, the one buffer of the
 * whole tree: the two libraries and the programs build documents, replies,
 * received bodies and log lines in it.
 *
 * It is shared the way curl shares curlx_dyn_* between libcurl and the curl
 * tool: one source file compiled once into its own archive
 * (build/lib/libdynbuf.a), linked once into each program, and seen only by
 * the modules whose include path names dynbuf/ (both libraries and the
 * contexts; it sees none of them). Its prefix is dynbuf_.
 *
 * A struct dynbuf is a caller-owned value: DYNBUF_INIT(max) or
 * dynbuf_init() give it its cap, dynbuf_release() frees what it holds.
 * Invariants:
 *  - buf is NULL or a malloc'd block of alloc bytes holding len bytes and a
 *    NUL after them, so the bytes are always a C string as well;
 *  - len <= max: an add that would pass max fails with DYNBUF_TOO_BIG, like
 *    curl's curlx_dyn_init(s, toobig) (a max of 0 holds nothing);
 *  - the first failure, out of memory or past the cap, is kept in err and
 *    frees the bytes held; every later add fails at once with the same
 *    error until dynbuf_reset(), so a builder may check each add or only
 *    the end (dynbuf_error(), or dynbuf_take() returning NULL).
 * Nothing here prints on its own, aborts or exits: every failure is
 * returned. (The programs' aborting convenience, struct strbuf, wraps this
 * in contexts/support/strbuf.h.)
 *
 * The escapers write text for one target each: HTML text and attribute
 * values, the inside of a JSON string, and a value of a log line. Log lines
 * (docs/logging.md) are built here too, so that every line the programs and
 * the libraries' default log functions write has one format.
 */
#ifndef DYNBUF_H
#define DYNBUF_H

#include <stdarg.h>
#include <stddef.h>

enum dynbuf_error {
    DYNBUF_OK = 0,
    DYNBUF_NOMEM,   /* an allocation failed */
    DYNBUF_TOO_BIG, /* an add would have passed the buffer's max */
};

struct dynbuf {
    /* the bytes and a NUL after them; NULL until the first add */
    char *buf;
    /* bytes held, without the NUL */
    size_t len;
    /* bytes allocated at buf */
    size_t alloc;
    /* most bytes the buffer may hold: its too-big limit */
    size_t max;
    /* the first failure, kept until dynbuf_reset() */
    enum dynbuf_error err;
};

/* An empty buffer that may hold up to max bytes, for initializers. */
#define DYNBUF_INIT(max) {NULL, 0, 0, (max), DYNBUF_OK}

/* A short English description of err; never NULL, never to be freed. */
const char *dynbuf_strerror(enum dynbuf_error err);

/* Makes b an empty buffer of at most max bytes (b's old bytes, if any, are
 * not freed: release them first). */
void dynbuf_init(struct dynbuf *b, size_t max);

/* Frees b's bytes; b stays an empty buffer with the same max. */
void dynbuf_release(struct dynbuf *b);

/* Empties b and forgets its failure. Its memory is kept for the next adds,
 * unless more than keep bytes are allocated: then they are freed, so that
 * one large document does not keep a long-lived buffer large. */
void dynbuf_reset(struct dynbuf *b, size_t keep);

/* Appends len bytes of data (which may hold NULs). */
enum dynbuf_error dynbuf_add(struct dynbuf *b, const void *data, size_t len);

/* Appends the string s. */
enum dynbuf_error dynbuf_adds(struct dynbuf *b, const char *s);

/* Appends what printf would write for fmt and its arguments. */
enum dynbuf_error dynbuf_printf(struct dynbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum dynbuf_error dynbuf_vprintf(struct dynbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Appends s (NULL is "") with &, <, >, " and ' written as character
 * references, for HTML text and attribute values alike. */
enum dynbuf_error dynbuf_add_html(struct dynbuf *b, const char *s);

/* Appends the len bytes at s, UTF-8 text, as the inside of a JSON string:
 * '"' and backslash escaped with a backslash, control characters (below
 * U+0020) as \u00XX, everything else copied as it is. */
enum dynbuf_error dynbuf_add_json(struct dynbuf *b, const char *s, size_t len);

/* Cuts b to its first len bytes (no-op when it holds no more). */
void dynbuf_truncate(struct dynbuf *b, size_t len);

/* The bytes held, NUL-terminated: "" while b is empty or has failed. Valid
 * until the next add, reset or release of b. */
const char *dynbuf_ptr(const struct dynbuf *b);

/* How many bytes b holds (0 after a failure). */
size_t dynbuf_len(const struct dynbuf *b);

/* DYNBUF_OK, or the first failure since b was made or reset. */
enum dynbuf_error dynbuf_error(const struct dynbuf *b);

/*
 * Hands b's bytes (NUL-terminated; "" when empty) over to the caller, who
 * now owns them and frees them with free(); *len (may be NULL) gets their
 * length. Returns NULL when b has failed or the "" cannot be allocated.
 * Either way b is left empty, its failure forgotten, with the same max.
 */
char *dynbuf_take(struct dynbuf *b, size_t *len);

/* ---- Log lines (docs/logging.md) ----------------------------------------- */

/* Longest value a log line carries; a longer one is cut and ends in "...". */
#define DYNBUF_LOG_VALUE_MAX 2048

/* Appends the start of a log line: "ts=RFC3339-UTC level=LEVEL". */
enum dynbuf_error dynbuf_add_log_start(struct dynbuf *b, const char *level);

/*
 * Appends " key=value" to a log line. value (NULL is "") is written bare
 * when it is one plain word, else (or always, when quote is non-zero) in
 * double quotes with '"', backslash, newline, carriage return and tab
 * escaped as \" \\ \n \r \t and every other control character as \u00XX:
 * a value can never end the line or forge another pair. A key is written
 * with every byte but [A-Za-z0-9_.-] as '_'.
 */
enum dynbuf_error dynbuf_add_log_pair(struct dynbuf *b, const char *key, const char *value,
                                      int quote);

/*
 * Writes one whole log line to fd with one write(2) (so that lines of
 * several threads or processes never interleave): "ts=... level=LEVEL
 * lib=LIB msg="MSG"" and then the n pairs keys[i]=values[i]. This is the
 * line of both libraries' default log functions. Returns 0, or -1 when the
 * line could not be made or written (nothing is then retried or printed).
 */
int dynbuf_log_write(int fd, const char *level, const char *lib, const char *msg,
                     const char *const *keys, const char *const *values, size_t n);

/*
 * Reads the pairs of ap, each a key (const char *) and its value (const
 * char *; NULL becomes ""), until a NULL key, into keys and values: the
 * first max of them; the rest are read and dropped. Returns how many were
 * kept. For the libraries' variadic log helpers.
 */
size_t dynbuf_log_pairs(const char **keys, const char **values, size_t max, va_list ap);

/* Writes b's bytes to fd, whole (retrying short writes), and releases b.
 * Returns 0, or -1 when b had failed or the write failed. */
int dynbuf_write(struct dynbuf *b, int fd);

#endif
