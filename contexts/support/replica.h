/*
 * replica.h - what the contexts' replicas of the subscriptions feed share
 * when they apply its entries: the Cloud API's credential replica
 * (cloud-api/credentials_follow.c) and Product 1's user directory
 * (product1/directory.c) describe the events they apply in a table of
 * struct replica_event, and the handlers made from it check the entries'
 * fields (fr_entry_fields(), feedreader.h) and login key hashes with one
 * rule and turn the result of the database call into one answer to the
 * follower.
 *
 * The hash rule (DESIGN.md section 7): keySha256 is the lowercase hex of
 * the SHA-256 of the key's text. A replica accepts 64 hex digits in either
 * case, keeps them lowercase, and refuses an entry with anything else: it
 * breaks the published contract, and storing it would only make a key that
 * can never sign in.
 */
#ifndef REPLICA_H
#define REPLICA_H

#include <sqlite3.h>
#include <stddef.h>

struct fr_entry;
struct fr_follower;

/* Bytes of a SHA-256 in hex, with the NUL. */
#define REPLICA_SHA256_HEX 65

/* Whether s is a SHA-256 in hex: exactly 64 hex digits, either case. */
int replica_is_sha256_hex(const char *s);

/* Whether s is a whole number of at most 18 digits, optionally negative:
 * the rule for every required field named "...Cents" (money, DESIGN.md
 * section 6), checked by the handlers like keySha256. */
int replica_is_whole_number(const char *s);

/* Copies the hex digest in into out, lowercase; past 64 characters it is
 * cut (and then matches no key). in may be anything, out is a string. */
void replica_lower_hex(const char *in, char out[REPLICA_SHA256_HEX]);

/* Most required fields of one event type. */
#define REPLICA_MAX_FIELDS 8

/*
 * One event type a replica applies: its type; its required fields, which
 * must be present and not empty (fr_entry_fields()), a "keySha256" among
 * them also 64 hex digits, a "...Cents" one a whole number, or the entry is refused (the follower
 * stops with the reason: skipping a revocation or a lock would silently keep access open); and the
 * function that applies it with their values, in the order of fields, inside the follower's
 * transaction. apply returns 0, or -1 as soon as its database call failed (so that the failure is
 * still db's last when the handler looks at it).
 */
struct replica_event {
    /* the event type, such as "UserAdded" */
    const char *type;
    /* its required fields, the unused places NULL */
    const char *fields[REPLICA_MAX_FIELDS];
    /* applies entry to db with the values of fields */
    int (*apply)(sqlite3 *db, const struct fr_entry *entry, const char *const *values);
};

/*
 * Names one handler on f for each of the n events (borrowed: they must
 * outlive f). Each checks the entry as struct replica_event says, applies
 * it, and answers the follower: FR_HANDLER_OK once applied;
 * FR_HANDLER_RETRY when the database call met a busy or locked database
 * (SQLITE_BUSY, SQLITE_LOCKED: the follower rolls the document back and
 * tries again after its back-off); FR_HANDLER_REFUSE for a bad entry or
 * any other database failure, with a reason naming the entry and SQLite's
 * message. Returns 0, or -1 (logged).
 */
int replica_follow(struct fr_follower *f, const struct replica_event *events, size_t n);

#endif
