#include "flash.h"

#include "secrets.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* One slot of the table; used == 0 marks a free one. */
struct slot {
    int used;
    time_t at; /* when it was stored */
    char id[FLASH_ID_SIZE];
    char owner[FLASH_OWNER_SIZE];
    char scope[FLASH_SCOPE_SIZE];
    struct flash f;
};

static struct slot table[FLASH_MAX];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Overwrites memory that held a secret so the compiler keeps the writes. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (n--)
        *v++ = 0;
}

static void free_slot(struct slot *s)
{
    wipe(s, sizeof *s);
}

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

int flash_put(const char *owner, const char *scope, int bad, const char *text, const char *secret,
              const char *detail, char id[FLASH_ID_SIZE])
{
    time_t now = time(NULL);
    struct slot *s = NULL;

    if (random_hex((FLASH_ID_SIZE - 1) / 2, id, FLASH_ID_SIZE) != 0)
        return -1;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < FLASH_MAX; i++) {
        struct slot *t = &table[i];

        if (t->used && now - t->at > FLASH_LIFETIME)
            free_slot(t);
        if (!t->used && !s)
            s = t;
    }
    if (!s) {
        s = &table[0];
        for (size_t i = 1; i < FLASH_MAX; i++)
            if (table[i].at < s->at)
                s = &table[i];
        free_slot(s);
    }
    s->used = 1;
    s->at = now;
    copy(s->id, sizeof s->id, id);
    copy(s->owner, sizeof s->owner, owner);
    copy(s->scope, sizeof s->scope, scope);
    s->f.bad = bad != 0;
    copy(s->f.text, sizeof s->f.text, text);
    copy(s->f.secret, sizeof s->f.secret, secret);
    copy(s->f.detail, sizeof s->f.detail, detail);
    pthread_mutex_unlock(&lock);
    return 0;
}

int flash_take(const char *id, const char *owner, const char *scope, struct flash *out)
{
    time_t now = time(NULL);
    int found = 0;

    memset(out, 0, sizeof *out);
    if (!id || strlen(id) != FLASH_ID_SIZE - 1)
        return 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < FLASH_MAX && !found; i++) {
        struct slot *s = &table[i];

        if (!s->used || strcmp(s->id, id) != 0)
            continue;
        if (now - s->at > FLASH_LIFETIME) {
            free_slot(s);
            break;
        }
        if (strcmp(s->owner, owner ? owner : "") != 0 || strcmp(s->scope, scope ? scope : "") != 0)
            break;
        *out = s->f;
        free_slot(s);
        found = 1;
    }
    pthread_mutex_unlock(&lock);
    return found;
}

void flash_release(struct flash *f)
{
    if (f)
        wipe(f->secret, sizeof f->secret);
}

void flash_clear_all(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < FLASH_MAX; i++)
        free_slot(&table[i]);
    pthread_mutex_unlock(&lock);
}
