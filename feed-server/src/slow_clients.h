/*
 * slow_clients.h - deadlines that a client sending slowly cannot extend.
 *
 * libmicrohttpd's connection timeout counts idle time and every byte starts
 * it again, so a client that trickles a byte every few seconds keeps its
 * connection, and its slot, for ever; a thousand such clients take a server
 * down (slowloris). This module keeps a clock per connection that bytes do
 * not reset:
 *  - waiting: from the connect, or the end of the previous request, until
 *    the request line has arrived: at most the idle timeout;
 *  - reading: from the request line until the whole request (headers and
 *    body) has arrived: at most the request timeout;
 *  - answering: from then until the answer is sent: no deadline here (a held
 *    long-poll waits on purpose; the idle timeout still covers a client
 *    that stops reading).
 * A sweeper thread looks twice a second and shuts down the sockets of the
 * connections past their deadline; libmicrohttpd then closes them on its
 * own threads, as it does any connection a client dropped.
 *
 * Invariants: a connection is in the list from libmicrohttpd's "started"
 * notification to its "closed" one, so its socket is open while listed;
 * the list and every clock are guarded by the module's lock.
 */
#ifndef FS_SLOW_CLIENTS_H
#define FS_SLOW_CLIENTS_H

#include <microhttpd.h>
#include <stdint.h>

#include "feedserver.h"

struct fs__slow_clients;

/* Creates the tracker: waiting_s and reading_s are the two deadlines; cuts
 * are logged through cfg (borrowed: the server's, which outlives it). */
struct fs__slow_clients *fs__slow_clients_new(const struct fs_server_config *cfg,
                                              unsigned waiting_s, unsigned reading_s);

/* Starts the sweeper thread; -1 if it cannot. */
int fs__slow_clients_start(struct fs__slow_clients *sc);

/* Stops the sweeper and frees sc (after the daemon is stopped). Accepts NULL. */
void fs__slow_clients_free(struct fs__slow_clients *sc);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback; cls is sc. */
void fs__slow_clients_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode toe);

/* libmicrohttpd's MHD_OPTION_URI_LOG_CALLBACK: the request line arrived and
 * conn starts reading a request. cls is sc. Returns NULL (no request state). */
void *fs__slow_clients_request_line(void *cls, const char *uri, struct MHD_Connection *conn);

/* The request on conn has arrived whole and is being answered. */
void fs__slow_clients_answering(struct fs__slow_clients *sc, struct MHD_Connection *conn);

/* The request on conn is over; the connection waits for the next one. */
void fs__slow_clients_request_done(struct fs__slow_clients *sc, struct MHD_Connection *conn);

/* Connections cut so far for passing a deadline. */
uint64_t fs__slow_clients_cut(const struct fs__slow_clients *sc);

#endif
