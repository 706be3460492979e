/*
 * web.h - the HTML side of every program: the page layout and the static
 * files (CSS, scripts) kept in the web/ folder.
 *
 * Pages are rendered on the server and work without JavaScript. web/ is
 * the folder given by `serve --web-dir DIR`, else $WEB_ROOT, else beside
 * the program (bin/../web in a checkout, bin/../share/feed-contexts/web
 * after `make install`), else ./web.
 */
#ifndef WEB_H
#define WEB_H

struct fs_server;
struct fs_request;
struct strbuf;

/* Sets the web/ folder (--web-dir); call before the server starts. NULL or
 * "" leaves the search order. */
void web_set_root(const char *dir);

/* The web/ folder in use. */
const char *web_root(void);

/*
 * Mounts GET /static/NAME, serving web/static/NAME (names of
 * [A-Za-z0-9._-] only) with a content type from its extension, and GET
 * /favicon.ico (web/static/favicon.ico). Makes every error a browser gets
 * (a client that prefers HTML: 404, 405, 413, ... from the library or a
 * handler) an HTML page in the layout of prog, saying what to fix;
 * others keep the JSON {"error"} body.
 */
void web_mount_static(struct fs_server *server, const char *prog);

/* Answers status with the HTML error page of prog saying message, with a
 * link home. */
void web_reply_error_page(struct fs_request *req, unsigned status, const char *prog,
                          const char *message);

/* A short name for an HTTP status, such as "Not found" for 404. */
const char *web_status_title(unsigned status);

/*
 * Answers with status and an HTML page: web/layout.html with its {{title}},
 * {{prog}} and {{body}} placeholders filled (title is escaped here; body is
 * HTML the caller escaped).
 */
void web_reply_page(struct fs_request *req, unsigned status, const char *prog, const char *title,
                    const char *body_html);

/*
 * The layout of the feed browser's pages (fs_server_config.html_layout):
 * web/layout.html with {{prog}} filled, its {{title}} and {{body}} left for
 * feed-server, so that the feeds a program serves have the site's header,
 * navigation and stylesheet. Made on the first call; lives as long as the
 * process.
 */
const char *web_feed_layout(const char *prog);

/* Reads web/NAME into a new string (caller frees), or NULL. */
char *web_read_file(const char *name, unsigned long *len);

#endif
