#include "login_keys.h"

#include "log.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static const char HEX[] = "0123456789abcdef";

size_t base64url_encode(const unsigned char *data, size_t len, char *out)
{
    static const char ALPHABET[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = 0, i = 0;

    for (; i + 2 < len; i += 3) {
        unsigned long v = ((unsigned long)data[i] << 16) | ((unsigned long)data[i + 1] << 8) |
                          data[i + 2];
        out[n++] = ALPHABET[(v >> 18) & 63];
        out[n++] = ALPHABET[(v >> 12) & 63];
        out[n++] = ALPHABET[(v >> 6) & 63];
        out[n++] = ALPHABET[v & 63];
    }
    if (len - i == 1) {
        unsigned long v = (unsigned long)data[i] << 16;
        out[n++] = ALPHABET[(v >> 18) & 63];
        out[n++] = ALPHABET[(v >> 12) & 63];
    } else if (len - i == 2) {
        unsigned long v = ((unsigned long)data[i] << 16) | ((unsigned long)data[i + 1] << 8);
        out[n++] = ALPHABET[(v >> 18) & 63];
        out[n++] = ALPHABET[(v >> 12) & 63];
        out[n++] = ALPHABET[(v >> 6) & 63];
    }
    out[n] = '\0';
    return n;
}

int key_sha256_hex(const char *text, char out[KEY_SHA256_SIZE])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (EVP_Digest(text, strlen(text), digest, &len, EVP_sha256(), NULL) != 1 || len != 32) {
        log_error("SHA-256 failed", NULL);
        return -1;
    }
    for (unsigned i = 0; i < len; i++) {
        out[2 * i] = HEX[digest[i] >> 4];
        out[2 * i + 1] = HEX[digest[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

/* Fills buf with len bytes from the OS's random source. */
static int random_bytes(unsigned char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("getrandom failed", "error=\"%s\"", strerror(errno));
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

int login_key_new(char key[LOGIN_KEY_SIZE], char sha256[KEY_SHA256_SIZE])
{
    unsigned char raw[32];
    int rc = -1;

    if (random_bytes(raw, sizeof raw) != 0)
        goto out;
    base64url_encode(raw, sizeof raw, key);
    rc = key_sha256_hex(key, sha256);
out:
    memset(raw, 0, sizeof raw);
    return rc;
}

int sub_id_new(char prefix, char out[SUB_ID_SIZE])
{
    unsigned char raw[8];

    if (random_bytes(raw, sizeof raw) != 0)
        return -1;
    out[0] = prefix;
    out[1] = '_';
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 + 2 * i] = HEX[raw[i] >> 4];
        out[3 + 2 * i] = HEX[raw[i] & 15];
    }
    out[18] = '\0';
    return 0;
}
