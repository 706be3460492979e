/*
 * checkpointer.h - moves a connection's WAL checkpoints off its commits.
 *
 * In WAL mode a commit appends pages to the -wal file; now and then those
 * pages must be copied back into the database file (a checkpoint), which
 * ends in an fsync. By default SQLite does it inside the commit that makes
 * the WAL pass 1000 pages, so that one commit takes the time of an fsync
 * (4-8 ms on the development machine's disk, against ~30 us for a commit).
 * For a connection whose commits someone waits on (the meter: every
 * metered call's 200 waits for its group commit), that is a stall of every
 * call of the batch, and it showed as the p99 of R2.
 *
 * A checkpointer watches one connection (its WAL hook, which replaces the
 * automatic checkpoint) and, when a commit leaves the WAL at 1000 pages or
 * more, wakes its own thread, which runs a PASSIVE checkpoint on its own
 * connection: it copies what no reader still needs, never blocks a writer
 * or a reader, and the watched connection's commits go on meanwhile.
 * Other connections to the file keep their automatic checkpoints.
 */
#ifndef CHECKPOINTER_H
#define CHECKPOINTER_H

#include <sqlite3.h>

struct checkpointer;

/* Pages in the WAL after which a checkpoint is run (SQLite's default). */
#define CHECKPOINTER_PAGES 1000

/*
 * Opens a connection to db_path (borrowed for the call) and starts the
 * thread that checkpoints it, then installs the WAL hook on watched (a
 * connection to the same file; borrowed, must outlive the checkpointer,
 * and is then no longer checkpointed automatically). The caller owns *out
 * and stops it with checkpointer_stop(). Returns 0, or -1 (logged; watched
 * is left as it was).
 */
int checkpointer_start(const char *db_path, sqlite3 *watched, struct checkpointer **out);

/* Checkpoints done so far (for tests and /metrics). Thread-safe. */
unsigned long checkpointer_count(struct checkpointer *c);

/* Removes the WAL hook from the watched connection (which goes back to
 * automatic checkpoints), stops the thread and frees c. Accepts NULL. */
void checkpointer_stop(struct checkpointer *c);

#endif
