#include "web.h"

#include "log.h"
#include "strbuf.h"

#include <feedserver.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Static files larger than this are not served: web/ holds small assets. */
#define WEB_MAX_FILE (4UL << 20)

static char root[PATH_MAX] = "web";
static pthread_once_t root_once = PTHREAD_ONCE_INIT;

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char chosen[PATH_MAX];

void web_set_root(const char *dir)
{
    if (dir && *dir)
        snprintf(chosen, sizeof chosen, "%s", dir);
}

/* Chooses web/ once: --web-dir (web_set_root()), else $WEB_ROOT, else
 * bin/../web beside the program (a checkout), else
 * bin/../share/feed-contexts/web (make install), else ./web. */
static void find_root(void)
{
    static const char *const beside[] = {"../web", "../share/feed-contexts/web"};
    const char *env = getenv("WEB_ROOT");
    char exe[PATH_MAX];
    ssize_t n;

    if (*chosen) {
        snprintf(root, sizeof root, "%s", chosen);
        return;
    }
    if (env && *env) {
        snprintf(root, sizeof root, "%s", env);
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        char *slash;
        char candidate[PATH_MAX];

        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            for (size_t i = 0; i < sizeof beside / sizeof beside[0]; i++) {
                if (snprintf(candidate, sizeof candidate, "%s/%s", exe, beside[i]) <
                        (int)sizeof candidate &&
                    is_dir(candidate)) {
                    snprintf(root, sizeof root, "%s", candidate);
                    return;
                }
            }
        }
    }
}

const char *web_root(void)
{
    pthread_once(&root_once, find_root);
    return root;
}

char *web_read_file(const char *name, unsigned long *len)
{
    char path[PATH_MAX];
    FILE *f = NULL;
    char *data = NULL;
    struct stat st;

    if (snprintf(path, sizeof path, "%s/%s", web_root(), name) >= (int)sizeof path)
        return NULL;
    f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
        (unsigned long)st.st_size > WEB_MAX_FILE)
        goto out;
    data = xmalloc((size_t)st.st_size + 1);
    if (fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(data);
        data = NULL;
        goto out;
    }
    data[st.st_size] = '\0';
    if (len)
        *len = (unsigned long)st.st_size;
out:
    if (f)
        fclose(f);
    return data;
}

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".html", "text/html; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
    };
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static void serve_static(struct fs_request *req, void *userdata)
{
    const char *name = fs_request_param(req, 0);
    char rel[300];
    unsigned long len = 0;
    char *data;

    (void)userdata;
    if (!name || name[0] == '.' ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._-") != strlen(name) ||
        snprintf(rel, sizeof rel, "static/%s", name) >= (int)sizeof rel) {
        fs_reply_error(req, 404, "no such file");
        return;
    }
    data = web_read_file(rel, &len);
    if (!data) {
        fs_reply_error(req, 404, "no such file: %s", name);
        return;
    }
    fs_reply_header(req, "Cache-Control", "public, max-age=300");
    fs_reply_take(req, 200, content_type(name), data, len);
}

/* GET /favicon.ico: browsers ask for it on every site's first page. */
static void serve_favicon(struct fs_request *req, void *userdata)
{
    unsigned long len = 0;
    char *data = web_read_file("static/favicon.ico", &len);

    (void)userdata;
    if (!data) {
        fs_reply_error(req, 404, "no favicon: web/static/favicon.ico is missing");
        return;
    }
    fs_reply_header(req, "Cache-Control", "public, max-age=86400");
    fs_reply_take(req, 200, "image/x-icon", data, len);
}

const char *web_status_title(unsigned status)
{
    switch (status) {
    case 400:
        return "Bad request";
    case 401:
        return "Sign in first";
    case 403:
        return "Not allowed";
    case 404:
        return "Not found";
    case 405:
        return "Method not allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Too large";
    case 422:
        return "Cannot be processed";
    case 503:
        return "Unavailable";
    default:
        return status >= 500 ? "Server error" : "Cannot do that";
    }
}

void web_reply_error_page(struct fs_request *req, unsigned status, const char *prog,
                          const char *message)
{
    struct strbuf sb = STRBUF_INIT;

    sb_printf(&sb, "<h1>%u %s</h1>\n<p class=\"banner bad\" id=\"error-message\">", status,
              web_status_title(status));
    sb_html(&sb, message);
    sb_puts(&sb, "</p>\n<p><a href=\"/\">Home</a> · <a href=\"/status\">Status</a></p>\n");
    web_reply_page(req, status, prog, web_status_title(status), sb_str(&sb));
    sb_release(&sb);
}

/* The library's error hook (fs_server_error_page): userdata is the
 * program's name. */
static void error_page(struct fs_request *req, unsigned status, const char *message, void *userdata)
{
    web_reply_error_page(req, status, userdata, message);
}

void web_mount_static(struct fs_server *server, const char *prog)
{
    fs_server_route(server, "GET", "/static/*", 0, serve_static, NULL);
    fs_server_route(server, "GET", "/favicon.ico", 0, serve_favicon, NULL);
    fs_server_error_page(server, error_page, (void *)prog);
}

static char *layout;
static pthread_once_t layout_once = PTHREAD_ONCE_INIT;

static void load_layout(void)
{
    layout = web_read_file("layout.html", NULL);
    if (!layout) {
        log_warn("web/layout.html not found; pages are bare", "web_root=%s", web_root());
        layout = xstrdup("<!doctype html><title>{{title}}</title>{{body}}");
    }
}

static char *feed_layout;
static pthread_mutex_t feed_layout_lock = PTHREAD_MUTEX_INITIALIZER;

const char *web_feed_layout(const char *prog)
{
    struct strbuf sb = STRBUF_INIT;
    const char *p;

    pthread_mutex_lock(&feed_layout_lock);
    if (feed_layout)
        goto out;
    pthread_once(&layout_once, load_layout);
    for (p = layout; *p;) {
        const char *at = strstr(p, "{{prog}}");

        if (!at) {
            sb_puts(&sb, p);
            break;
        }
        sb_append(&sb, p, (size_t)(at - p));
        sb_html(&sb, prog);
        p = at + 8;
    }
    feed_layout = sb_detach(&sb, NULL);
out:
    pthread_mutex_unlock(&feed_layout_lock);
    return feed_layout;
}

void web_reply_page(struct fs_request *req, unsigned status, const char *prog, const char *title,
                    const char *body_html)
{
    struct strbuf sb = STRBUF_INIT;
    const char *p;
    size_t len;
    char *out;

    pthread_once(&layout_once, load_layout);
    p = layout;
    while (*p) {
        const char *open = strstr(p, "{{");
        const char *close = open ? strstr(open, "}}") : NULL;

        if (!open || !close) {
            sb_puts(&sb, p);
            break;
        }
        sb_append(&sb, p, (size_t)(open - p));
        len = (size_t)(close - open - 2);
        if (len == 5 && strncmp(open + 2, "title", 5) == 0)
            sb_html(&sb, title);
        else if (len == 4 && strncmp(open + 2, "prog", 4) == 0)
            sb_html(&sb, prog);
        else if (len == 4 && strncmp(open + 2, "body", 4) == 0)
            sb_puts(&sb, body_html);
        p = close + 2;
    }
    out = sb_detach(&sb, &len);
    fs_reply_header(req, "Cache-Control", "no-store");
    fs_reply_take(req, status, "text/html; charset=utf-8", out, len);
}
