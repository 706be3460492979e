#include "secrets.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

static const char HEX[] = "0123456789abcdef";

static void to_hex(const unsigned char *bytes, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[bytes[i] >> 4];
        out[2 * i + 1] = HEX[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

int sha256_hex(const void *data, size_t len, char out[SHA256_HEX_SIZE])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    out[0] = '\0';
    if (EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return -1;
    to_hex(digest, n, out);
    return 0;
}

int random_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t n = getrandom(p + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

int random_hex(size_t nbytes, char *out, size_t out_size)
{
    unsigned char bytes[64];

    if (nbytes > sizeof bytes || out_size < 2 * nbytes + 1 || random_bytes(bytes, nbytes) != 0)
        return -1;
    to_hex(bytes, nbytes, out);
    return 0;
}

int hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                    char out[SHA256_HEX_SIZE])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    out[0] = '\0';
    if (key_len > 0x7fffffff ||
        !HMAC(EVP_sha256(), key, (int)key_len, data, len, digest, &n) || n != 32)
        return -1;
    to_hex(digest, n, out);
    OPENSSL_cleanse(digest, sizeof digest);
    return 0;
}

int secret_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
    unsigned int na = 0, nb = 0;
    int same = 0;

    if (EVP_Digest(a, a_len, da, &na, EVP_sha256(), NULL) == 1 &&
        EVP_Digest(b, b_len, db, &nb, EVP_sha256(), NULL) == 1 && na == 32 && nb == 32)
        same = CRYPTO_memcmp(da, db, 32) == 0;
    OPENSSL_cleanse(da, sizeof da);
    OPENSSL_cleanse(db, sizeof db);
    return same;
}
