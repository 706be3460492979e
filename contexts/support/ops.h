/*
 * ops.h - what an operator reads from every program: GET /status (JSON, or
 * HTML for a browser) and GET /metrics (Prometheus text format), with the
 * heads of the feeds the program serves and the state of each follower
 * recorded in its database (position, last head seen, lag, last good
 * poll, last entry applied, last success, last error, and whether a later
 * success resolved it); and GET /system, the page that draws the three contexts,
 * the feeds between them and each follower's lag, live.
 */
#ifndef OPS_H
#define OPS_H

struct fs_server;
struct strbuf;
struct fs_request;

/* Adds a context's own metrics (Prometheus text lines) to /metrics. */
typedef void ops_metrics_fn(struct fs_request *req, struct strbuf *out, void *userdata);

/* Mounts GET /status, GET /metrics and GET /system for program prog on server. extra may
 * be NULL. server must outlive nothing but itself: the routes keep it. */
void ops_mount(struct fs_server *server, const char *prog, ops_metrics_fn *extra, void *userdata);

#endif
