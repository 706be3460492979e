/*
 * buffer.h - how the library uses the shared buffer (dynbuf/dynbuf.h): the
 * cap of what it builds, and the fs_error a buffer's failure is.
 *
 * Documents, entries and replies are built in a struct dynbuf of at most
 * FS__BUF_MAX bytes; what arrives from the network has its own, smaller cap
 * (a request body: its route's max_body).
 */
#ifndef FS_BUFFER_H
#define FS_BUFFER_H

#include "dynbuf.h"
#include "feedserver.h"

/* Most bytes of one document, entry or reply the library builds. */
#define FS__BUF_MAX ((size_t)1 << 30)

/* An empty buffer of the library's cap, for initializers. */
#define FS__BUF_INIT DYNBUF_INIT(FS__BUF_MAX)

/* FS_OK, or the fs_error that b's failure is. */
static inline enum fs_error fs__buf_error(const struct dynbuf *b)
{
    switch (dynbuf_error(b)) {
    case DYNBUF_OK:
        return FS_OK;
    case DYNBUF_TOO_BIG:
        return FS_ERR_TOO_LARGE;
    case DYNBUF_NOMEM:
        break;
    }
    return FS_ERR_NOMEM;
}

#endif
