#include "key_vault.h"

#include "strbuf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vault_item {
    /* SHA-256 hex of the session id */
    char hash[65];
    /* the session's user */
    char *customer_id;
    char *user_id;
    /* the login key text the user signed in with */
    char *key;
};

struct key_vault {
    pthread_mutex_t lock;
    struct vault_item *items;
    size_t count;
    size_t alloc;
    /* where vault_hashes() starts when the vault holds more than asked */
    size_t rotate;
};

static void wipe(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = '\0';
    }
}

static void item_release(struct vault_item *it)
{
    wipe(it->key);
    free(it->key);
    free(it->customer_id);
    free(it->user_id);
    memset(it, 0, sizeof *it);
}

struct key_vault *vault_new(void)
{
    struct key_vault *v = xmalloc(sizeof *v);

    memset(v, 0, sizeof *v);
    pthread_mutex_init(&v->lock, NULL);
    return v;
}

void vault_free(struct key_vault *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++)
        item_release(&v->items[i]);
    free(v->items);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

/* The index of hash, or count when absent. Caller holds the lock. */
static size_t find(const struct key_vault *v, const char *hash)
{
    size_t i = 0;

    while (i < v->count && strcmp(v->items[i].hash, hash) != 0)
        i++;
    return i;
}

static void copy_key(char key[LOGIN_KEY_MAX + 1], const char *src)
{
    size_t n = strlen(src);

    if (n > LOGIN_KEY_MAX)
        n = LOGIN_KEY_MAX;
    memcpy(key, src, n);
    key[n] = '\0';
}

void vault_put(struct key_vault *v, const char *hash, const char *customer_id, const char *user_id,
               const char *key)
{
    size_t i;

    pthread_mutex_lock(&v->lock);
    i = find(v, hash);
    if (i < v->count) {
        item_release(&v->items[i]);
    } else {
        if (v->count == v->alloc) {
            v->alloc = v->alloc ? 2 * v->alloc : 16;
            v->items = xrealloc(v->items, v->alloc * sizeof *v->items);
        }
        v->count++;
    }
    memset(&v->items[i], 0, sizeof v->items[i]);
    snprintf(v->items[i].hash, sizeof v->items[i].hash, "%s", hash);
    v->items[i].customer_id = xstrdup(customer_id);
    v->items[i].user_id = xstrdup(user_id);
    v->items[i].key = xstrdup(key);
    pthread_mutex_unlock(&v->lock);
}

int vault_get(struct key_vault *v, const char *hash, char key[LOGIN_KEY_MAX + 1])
{
    int found;
    size_t i;

    pthread_mutex_lock(&v->lock);
    i = find(v, hash);
    found = i < v->count;
    if (found)
        copy_key(key, v->items[i].key);
    pthread_mutex_unlock(&v->lock);
    return found;
}

int vault_find_user(struct key_vault *v, const char *customer_id, const char *user_id,
                    char hash[65], char key[LOGIN_KEY_MAX + 1])
{
    int found = 0;

    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < v->count && !found; i++) {
        const struct vault_item *it = &v->items[i];
        if (strcmp(it->customer_id, customer_id) == 0 && strcmp(it->user_id, user_id) == 0) {
            memcpy(hash, it->hash, 65);
            copy_key(key, it->key);
            found = 1;
        }
    }
    pthread_mutex_unlock(&v->lock);
    return found;
}

void vault_forget(struct key_vault *v, const char *hash)
{
    size_t i;

    pthread_mutex_lock(&v->lock);
    i = find(v, hash);
    if (i < v->count) {
        item_release(&v->items[i]);
        v->items[i] = v->items[v->count - 1];
        v->count--;
    }
    pthread_mutex_unlock(&v->lock);
}

size_t vault_hashes(struct key_vault *v, char (*hashes)[65], size_t max)
{
    size_t n = 0, start;

    pthread_mutex_lock(&v->lock);
    start = v->count > max ? v->rotate++ % v->count : 0;
    for (; n < max && n < v->count; n++)
        memcpy(hashes[n], v->items[(start + n) % v->count].hash, 65);
    pthread_mutex_unlock(&v->lock);
    return n;
}

size_t vault_count(struct key_vault *v)
{
    size_t n;

    pthread_mutex_lock(&v->lock);
    n = v->count;
    pthread_mutex_unlock(&v->lock);
    return n;
}
