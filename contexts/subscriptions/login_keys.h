/*
 * login_keys.h - login keys and the ids of customers, users and keys.
 *
 * A login key is 32 random bytes from the OS (getrandom(2)) written as
 * base64url without padding: 43 characters. It exists in plain text only in
 * the answer that hands it out; the database and the feed hold only its
 * SHA-256, as 64 lowercase hex digits of the digest of the key's base64url
 * text, exactly as a client sends it.
 */
#ifndef SUB_LOGIN_KEYS_H
#define SUB_LOGIN_KEYS_H

#include <stddef.h>

/* Bytes of a key's text with the NUL, of a hex SHA-256 with the NUL, and
 * of an id ("c_" + 16 hex digits) with the NUL. */
#define LOGIN_KEY_SIZE 44
#define KEY_SHA256_SIZE 65
#define SUB_ID_SIZE 19

/* Writes the base64url form, without padding, of len bytes of data into
 * out, which must hold 4 * ceil(len / 3) + 1 bytes. Returns the length. */
size_t base64url_encode(const unsigned char *data, size_t len, char *out);

/* Writes the lowercase hex SHA-256 of text into out. Returns 0, or -1 if
 * the digest failed. */
int key_sha256_hex(const char *text, char out[KEY_SHA256_SIZE]);

/* Makes a new login key and its hash. Returns 0, or -1 (logged) when the OS
 * gave no random bytes or the digest failed. The caller must not store key. */
int login_key_new(char key[LOGIN_KEY_SIZE], char sha256[KEY_SHA256_SIZE]);

/* Makes a new random id prefix + "_" + 16 hex digits, prefix one letter
 * ('c' customer, 'u' user, 'k' key). Returns 0, or -1 (logged). */
int sub_id_new(char prefix, char out[SUB_ID_SIZE]);

#endif
