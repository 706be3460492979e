/*
 * flash.h - one-time messages from a form's POST to the page its 303 leads
 * to (Post/Redirect/Get).
 *
 * A handler that changed something stores a flash (what happened, and for a
 * new login key the key itself) and redirects to PAGE?flash=ID; that page
 * takes the flash, which deletes it, and shows it. So a reload of the page,
 * or the back button, never shows it again, and a reload never re-posts the
 * form. Flashes live in this process's memory only: a secret in one is
 * never written to disk, and is wiped when taken, when it expires
 * (FLASH_LIFETIME seconds) or when the table is full and it is the oldest.
 *
 * A flash is bound to its owner (who posted: an author string) and its
 * scope (the page it is for, such as a customer id): taking it as anyone
 * else, or for another page, finds nothing and leaves it in place.
 */
#ifndef SUPPORT_FLASH_H
#define SUPPORT_FLASH_H

#include <stddef.h>

/* Hex digits of a flash id (16 random bytes) and the NUL. */
#define FLASH_ID_SIZE 33

/* Seconds a flash waits to be shown. */
#define FLASH_LIFETIME 300

/* Flashes kept at most; a new one past it drops the oldest. */
#define FLASH_MAX 256

/* Room for each text field, NUL included; longer texts are cut. */
#define FLASH_TEXT_SIZE 512
#define FLASH_OWNER_SIZE 128
#define FLASH_SCOPE_SIZE 128
#define FLASH_SECRET_SIZE 128

/* A flash as taken: caller-owned; flash_release() wipes the secret. */
struct flash {
    int bad;                        /* 1: an action failed (shown as an error) */
    char text[FLASH_TEXT_SIZE];     /* what happened, for people */
    char secret[FLASH_SECRET_SIZE]; /* a secret to show once (a login key), or "" */
    char detail[FLASH_TEXT_SIZE];   /* what the secret is (ids, email), or "" */
};

/*
 * Stores a flash for owner and scope with text (and secret, detail: may be
 * NULL) and writes its new id into id. Returns 0, or -1 when no random id
 * could be made (nothing stored).
 */
int flash_put(const char *owner, const char *scope, int bad, const char *text, const char *secret,
              const char *detail, char id[FLASH_ID_SIZE]);

/*
 * Takes flash id if it exists, has not expired, and belongs to owner and
 * scope: fills *out, deletes it and returns 1. Otherwise returns 0 and
 * leaves *out zeroed. id may be NULL or anything from the network.
 */
int flash_take(const char *id, const char *owner, const char *scope, struct flash *out);

/* Wipes the secret of a taken flash. */
void flash_release(struct flash *f);

/* Deletes (and wipes) every flash: for tests. */
void flash_clear_all(void);

#endif
