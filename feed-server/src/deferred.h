/*
 * deferred.h - answers given later, from any thread (fs_request_defer(),
 * fs_deferred_reply(), feedserver.h), on libmicrohttpd suspend/resume.
 *
 * A handle is shared by two holders, each dropping its reference once:
 * its owner (the handler, then whoever it handed the handle to), by
 * answering; and the request, when its connection's request is over
 * (fs__deferred_forget()). The last one frees it, so the owner may answer
 * after the connection or the whole server is gone.
 *
 * Invariants, each under the handle's lock:
 *  - A connection is suspended only by its own thread, once its handler
 *    has returned with no answer in yet and the server is not stopping
 *    (fs__deferred_hold()); it is resumed exactly once, by whoever moves
 *    the handle out of D_SUSPENDED: the owner answering, or the server
 *    stopping (fs__deferred_stop()). So no connection is suspended when
 *    libmicrohttpd's daemon stops (which it does not allow).
 *  - An answer is queued on the connection's own thread, on the return
 *    from fs__deferred_hold() when it came first, else on the access
 *    handler's next call after the resume (fs__deferred_answer()).
 *  - The server's list (server->deferred, under server->deferred_lock)
 *    holds every request that deferred, from fs_request_defer() to the
 *    end of the request. Lock order: the list's lock, then a handle's,
 *    then libmicrohttpd's own.
 */
#ifndef FS_DEFERRED_H
#define FS_DEFERRED_H

#include "http_server.h"

/* After its handler returned (on the connection's thread): queues the
 * answer already in, or 503 when the server is stopping, or suspends the
 * connection until the answer comes. */
void fs__deferred_hold(struct fs_request *req);

/* The access handler's call after a resume: queues the answer (503 when
 * the server stopped before it came). */
void fs__deferred_answer(struct fs_request *req);

/* The request is over (libmicrohttpd's completed notification): drops the
 * request's reference. Does nothing for a request that did not defer. */
void fs__deferred_forget(struct fs_request *req);

/* The server is stopping (server->stopping already set): resumes every
 * suspended connection with no answer, so the daemon can stop. */
void fs__deferred_stop(struct fs_server *s);

#endif
