#include "login_keys.h"

#include "log.h"
#include "secrets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
    if (sha256_hex(text, strlen(text), out) != 0) {
        log_error("SHA-256 failed", NULL);
        return -1;
    }
    return 0;
}

int login_key_new(char key[LOGIN_KEY_SIZE], char sha256[KEY_SHA256_SIZE])
{
    unsigned char raw[32];
    int rc = -1;

    if (random_bytes(raw, sizeof raw) != 0) {
        log_error("getrandom failed", "error=\"%s\"", strerror(errno));
        goto out;
    }
    base64url_encode(raw, sizeof raw, key);
    rc = key_sha256_hex(key, sha256);
out:
    memset(raw, 0, sizeof raw);
    return rc;
}

int sub_id_new(char prefix, char out[SUB_ID_SIZE])
{
    if (random_hex(8, out + 2, SUB_ID_SIZE - 2) != 0) {
        log_error("getrandom failed", "error=\"%s\"", strerror(errno));
        return -1;
    }
    out[0] = prefix;
    out[1] = '_';
    return 0;
}
