/*
 * key_vault.h - the login keys of live sessions, in the serve process's
 * memory only.
 *
 * Product 1 calls the Cloud API with the user's own login key, so it needs
 * the key while the user's session lives (to run queued analyses without
 * them), and must never write it to disk. The vault maps a session (by the
 * SHA-256 that keys its row) to the user and the key text. Entries are
 * removed when the session is found ended; key bytes are wiped on removal.
 * All functions are thread-safe.
 */
#ifndef PRODUCT1_KEY_VAULT_H
#define PRODUCT1_KEY_VAULT_H

#include <stddef.h>

/* Longest login key accepted, in bytes (Subscriptions' keys have 43). */
#define LOGIN_KEY_MAX 256

struct key_vault;

/* A new, empty vault; never NULL (out of memory ends the process). Free it
 * with vault_free(). */
struct key_vault *vault_new(void);

/* Wipes every key and frees v. Accepts NULL. */
void vault_free(struct key_vault *v);

/* Holds key (copied) for the session hash of user (customer_id, user_id),
 * replacing what that session held. */
void vault_put(struct key_vault *v, const char *hash, const char *customer_id, const char *user_id,
               const char *key);

/* Copies the key of session hash into key (LOGIN_KEY_MAX + 1 bytes).
 * Returns 1 if the vault holds one, else 0. */
int vault_get(struct key_vault *v, const char *hash, char key[LOGIN_KEY_MAX + 1]);

/* Finds any session of user (customer_id, user_id) with a held key, and
 * copies its hash (65 bytes) and key. Returns 1 if found, else 0. */
int vault_find_user(struct key_vault *v, const char *customer_id, const char *user_id,
                    char hash[65], char key[LOGIN_KEY_MAX + 1]);

/* Drops (and wipes) the key of session hash, if held. */
void vault_forget(struct key_vault *v, const char *hash);

/* Copies the hashes of up to max sessions holding a key into hashes and
 * returns how many; the worker uses it to forget keys of ended sessions
 * (a different subset each call when there are more than max). */
size_t vault_hashes(struct key_vault *v, char (*hashes)[65], size_t max);

/* How many sessions hold a key now. */
size_t vault_count(struct key_vault *v);

#endif
