/*
 * gzip.h - gzip (RFC 1952) compression of a whole document, for the feed
 * representations sent with Content-Encoding: gzip. zlib does the work: a
 * library that is everywhere and well kept compresses better and more safely
 * than code of our own would.
 */
#ifndef FS_GZIP_H
#define FS_GZIP_H

#include <stddef.h>

/*
 * Compresses the len bytes at in into a new gzip member. Returns a
 * malloc'ed buffer the caller frees, with its length in *out_len, or NULL
 * when out of memory.
 */
char *fs__gzip(const char *in, size_t len, size_t *out_len);

/* The same at zlib level level (1 fastest .. 9 smallest); fs__gzip() uses
 * 6, zlib's default balance of size and time. */
char *fs__gzip_level(const char *in, size_t len, int level, size_t *out_len);

#endif
