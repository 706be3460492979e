/*
 * backup.h - the `backup` subcommand every program has (DESIGN.md section 4):
 * an online, consistent copy of the program's database.
 *
 * The copy is made with SQLite's online backup API from one read
 * transaction, so it is the database as of one commit, however busy the
 * server and the followers are meanwhile (WAL readers block no writer). It
 * is written to a temporary file beside the target, checked with
 * PRAGMA quick_check, and renamed into place, so the target is either the
 * whole copy or absent. An existing target is never overwritten.
 */
#ifndef BACKUP_H
#define BACKUP_H

/*
 * The whole `backup` subcommand of program prog: parses argv (--db FILE,
 * defaulting to default_db, --to FILE, --help) and copies the database.
 * Returns the exit status: 0 on success, 1 when the copy failed (logged,
 * nothing left at the target), 2 on a bad argument.
 */
int backup_command(const char *prog, const char *default_db, int argc, char **argv);

#endif
