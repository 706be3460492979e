/*
 * secrets.h - the two bits of cryptography Product 1 needs, both from
 * trusted sources: SHA-256 (OpenSSL's libcrypto) and random bytes
 * (the kernel's getrandom()).
 */
#ifndef PRODUCT1_SECRETS_H
#define PRODUCT1_SECRETS_H

#include <stddef.h>

/* Hex digits of a SHA-256 digest plus the terminating NUL. */
#define SHA256_HEX_SIZE 65

/* Writes the lowercase hex SHA-256 of data[0..len) into out. Returns 0, or
 * -1 if libcrypto failed (out is then ""). */
int sha256_hex(const void *data, size_t len, char out[SHA256_HEX_SIZE]);

/* Writes 2*nbytes lowercase hex digits of fresh random bytes, NUL-terminated,
 * into out (out_size at least 2*nbytes+1). Returns 0, or -1 when the OS has
 * no randomness to give or out is too small. */
int random_hex(size_t nbytes, char *out, size_t out_size);

#endif
