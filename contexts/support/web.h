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

/* Mounts GET /static/NAME, serving web/static/NAME (names of
 * [A-Za-z0-9._-] only) with a content type from its extension. */
void web_mount_static(struct fs_server *server);

/*
 * Answers with status and an HTML page: web/layout.html with its {{title}},
 * {{prog}} and {{body}} placeholders filled (title is escaped here; body is
 * HTML the caller escaped).
 */
void web_reply_page(struct fs_request *req, unsigned status, const char *prog, const char *title,
                    const char *body_html);

/* Reads web/NAME into a new string (caller frees), or NULL. */
char *web_read_file(const char *name, unsigned long *len);

#endif
