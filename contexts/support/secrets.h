/*
 * secrets.h - the cryptography the contexts share, from trusted sources
 * only: SHA-256, HMAC-SHA256 and constant-time comparison from OpenSSL's
 * libcrypto, random bytes from the kernel's getrandom().
 *
 * sha256_hex() is also the contract between the contexts for login keys:
 * Subscriptions publishes keySha256 as the lowercase hex SHA-256 of the
 * key's base64url text, and the Cloud API and Product 1 check a presented
 * key by computing the same thing, here, once.
 */
#ifndef SUPPORT_SECRETS_H
#define SUPPORT_SECRETS_H

#include <stddef.h>

/* Hex digits of a SHA-256 digest plus the terminating NUL. */
#define SHA256_HEX_SIZE 65

/* Writes the lowercase hex SHA-256 of data[0..len) into out. Returns 0, or
 * -1 if libcrypto failed (out is then ""). */
int sha256_hex(const void *data, size_t len, char out[SHA256_HEX_SIZE]);

/* Fills buf with len bytes from the OS's random source, retrying when
 * interrupted. Returns 0, or -1 when the OS has no randomness to give. */
int random_bytes(void *buf, size_t len);

/* Writes 2*nbytes lowercase hex digits of fresh random bytes, NUL-terminated,
 * into out (out_size at least 2*nbytes+1; nbytes at most 64). Returns 0, or
 * -1 when the OS has no randomness to give or out is too small. */
int random_hex(size_t nbytes, char *out, size_t out_size);

/* Writes the lowercase hex HMAC-SHA256 of data[0..len) keyed with
 * key[0..key_len) into out. Returns 0, or -1 if libcrypto failed (out is
 * then ""). */
int hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                    char out[SHA256_HEX_SIZE]);

/*
 * Whether the secrets a[0..a_len) and b[0..b_len) are equal, in a time that
 * does not depend on where they differ: both are hashed with SHA-256 and
 * the digests compared with CRYPTO_memcmp(), so secrets of any length are
 * compared alike. Returns 1 when equal, 0 otherwise (or if hashing failed).
 */
int secret_equal(const void *a, size_t a_len, const void *b, size_t b_len);

#endif
