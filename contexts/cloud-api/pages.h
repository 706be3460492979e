/*
 * pages.h - GET /: what the Cloud API is and how to call it, with a curl
 * example (an HTML page for a browser, plain text for everyone else).
 */
#ifndef CLOUD_API_PAGES_H
#define CLOUD_API_PAGES_H

struct fs_server;
struct cloud_api;

/* Mounts GET / on server. */
void pages_mount(struct fs_server *server, struct cloud_api *api);

#endif
