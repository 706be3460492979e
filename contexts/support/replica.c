#include "replica.h"

#include "log.h"

#include <feedreader.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int replica_is_sha256_hex(const char *s)
{
    size_t i = 0;

    for (; s[i]; i++) {
        char c = s[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return i == 64;
}

void replica_lower_hex(const char *in, char out[REPLICA_SHA256_HEX])
{
    size_t i = 0;

    for (; in[i] && i < REPLICA_SHA256_HEX - 1; i++) {
        char c = in[i];

        out[i] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
    }
    out[i] = '\0';
}

/* Refuses (-1, with why) a keySha256 value sha that is not 64 hex digits. */
static int check_key_sha256(const struct fr_entry *entry, const char *sha, char *why,
                            size_t why_size)
{
    if (replica_is_sha256_hex(sha))
        return 0;
    snprintf(why, why_size, "%s at position %lld: keySha256 is not 64 hex digits", entry->type,
             (long long)entry->position);
    return -1;
}

int replica_is_whole_number(const char *s)
{
    size_t i = s[0] == '-' ? 1 : 0, digits = 0;

    for (; s[i]; i++, digits++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return digits > 0 && digits <= 18;
}

/* Whether field names an amount of money ("...Cents"). */
static int is_cents(const char *field)
{
    size_t n = strlen(field);

    return n > 5 && strcmp(field + n - 5, "Cents") == 0;
}

/* The handler's answer once apply returned rc on db (see replica_follow()). */
static int applied(int rc, const struct fr_entry *entry, sqlite3 *db, char *why, size_t why_size)
{
    int code = sqlite3_errcode(db) & 0xff;
    int busy = code == SQLITE_BUSY || code == SQLITE_LOCKED;

    if (rc == 0)
        return FR_HANDLER_OK;
    snprintf(why, why_size, "%s applying %s at position %lld: %s",
             busy ? "the database is busy" : "database error", entry->type,
             (long long)entry->position, sqlite3_errmsg(db));
    return busy ? FR_HANDLER_RETRY : FR_HANDLER_REFUSE;
}

/* The handler of every event type; userdata is its struct replica_event. */
static int handle(const struct fr_entry *entry, sqlite3 *db, char *why, size_t why_size,
                  void *userdata)
{
    const struct replica_event *ev = userdata;
    const char *values[REPLICA_MAX_FIELDS];
    size_t n = 0;

    while (n < REPLICA_MAX_FIELDS && ev->fields[n])
        n++;
    if (fr_entry_fields(entry, ev->fields, values, n, why, why_size) != 0)
        return FR_HANDLER_REFUSE;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ev->fields[i], "keySha256") == 0 &&
            check_key_sha256(entry, values[i], why, why_size) != 0)
            return FR_HANDLER_REFUSE;
        if (is_cents(ev->fields[i]) && !replica_is_whole_number(values[i])) {
            snprintf(why, why_size, "%s at position %lld: %s is not a whole number of cents",
                     entry->type, (long long)entry->position, ev->fields[i]);
            return FR_HANDLER_REFUSE;
        }
    }
    return applied(ev->apply(db, entry, values), entry, db, why, why_size);
}

int replica_follow(struct fr_follower *f, const struct replica_event *events, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        enum fr_error err =
            fr_follower_on(f, events[i].type, handle, (void *)(uintptr_t)&events[i]);

        if (err != FR_OK) {
            log_error("cannot register a handler", "type=%s error=\"%s\"", events[i].type,
                      fr_strerror(err));
            return -1;
        }
    }
    return 0;
}
