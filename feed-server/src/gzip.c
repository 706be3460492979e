#include "gzip.h"

#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

char *fs__gzip(const char *in, size_t len, size_t *out_len)
{
    return fs__gzip_level(in, len, 6, out_len);
}

char *fs__gzip_level(const char *in, size_t len, int level, size_t *out_len)
{
    z_stream z = {0};
    uLong cap;
    char *out = NULL;
    int rc;

    *out_len = 0;
    /* windowBits 15 + 16: a gzip header and trailer around the deflate
     * stream. */
    if (len > (size_t)UINT32_MAX ||
        deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    cap = deflateBound(&z, (uLong)len);
    out = malloc(cap);
    if (!out)
        goto out;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    rc = deflate(&z, Z_FINISH);
    if (rc != Z_STREAM_END) {
        free(out);
        out = NULL;
        goto out;
    }
    *out_len = (size_t)z.total_out;
out:
    deflateEnd(&z);
    return out;
}
