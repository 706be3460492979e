/*
 * fuzz_routes - libFuzzer harness for how feed-server classifies a request
 * by its method and path (feed-server/src/routes.c): the library's own
 * /healthz and /feeds/NAME[/pages/N], then the routes a context mounted.
 * The first byte picks the method, the rest is the path.
 *
 * The server is opened (never started) on a temporary database with two
 * feeds and a few routes like the contexts'. Each answer is checked against
 * a reference written here from routes.h and DESIGN.md, not from routes.c:
 *  - a page number is decimal digits without a leading zero, at most 15;
 *  - a route's "*" matches one non-empty segment, the first route mounted
 *    for the method wins (HEAD matching GET routes), and the parameters put
 *    back in the pattern give the path again;
 *  - a path that matches only under other methods is a 405 naming them in
 *    Allow, any other path a 404; feeds answer 405 but to GET and HEAD;
 *  - GET of a feed without credentials is a 401 (the server has a token).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_server.h"
#include "routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"};
#define NMETHODS (sizeof methods / sizeof methods[0])

static const struct {
    const char *method, *pattern;
} mounted[] = {
    {"GET", "/customers"},
    {"POST", "/customers"},
    {"GET", "/customers/*"},
    {"POST", "/customers/*/users"},
    {"DELETE", "/customers/*/users/*"},
    {"GET", "/customers/*/users/*"},
    {"POST", "/api/v1/analyze"},
    {"GET", "/"},
    {"PUT", "/*/*"},
};
#define NMOUNTED (sizeof mounted / sizeof mounted[0])

static const char *const feeds[] = {"usage", "subscriptions"};

static void handler(struct fs_request *req, void *userdata)
{
    (void)req;
    (void)userdata;
}

/* The temporary database, removed with its -wal and -shm at exit. */
static char db_path[] = "/tmp/fuzz_routes-XXXXXX";

static void remove_db(void)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char path[64];

    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", db_path, suffixes[i]);
        unlink(path);
    }
}

static struct fs_server *server_open(void)
{
    static const char *const tokens[] = {"fuzz-token"};
    struct fs_server_config cfg = {0};
    struct fs_server *s = NULL;
    const char *path = db_path;
    int fd = mkstemp(db_path);
    sqlite3 *db = NULL;

    if (fd < 0)
        abort();
    close(fd);
    atexit(remove_db);
    if (fs_db_open(path, &db) != FS_OK)
        abort();
    for (size_t i = 0; i < 2; i++)
        if (fs_feed_declare(db, feeds[i], 10) != FS_OK)
            abort();
    sqlite3_close(db);
    cfg.listen = "127.0.0.1:0";
    cfg.db_path = path;
    cfg.tokens = tokens;
    cfg.ntokens = 1;
    if (fs_server_open(&cfg, &s) != FS_OK)
        abort();
    for (size_t i = 0; i < 2; i++)
        if (fs_server_feed(s, feeds[i]) != FS_OK)
            abort();
    for (size_t i = 0; i < NMOUNTED; i++)
        if (fs_server_route(s, mounted[i].method, mounted[i].pattern, 1000, handler, NULL) != FS_OK)
            abort();
    return s;
}

/* The reference page number: -1 unless s is one. */
static int64_t ref_page(const char *s)
{
    size_t n = strlen(s);
    int64_t v = 0;

    if (n == 0 || n > 15 || (n > 1 && s[0] == '0') || strspn(s, "0123456789") != n)
        return -1;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Whether path matches pattern segment by segment, "*" being one
 * non-empty segment; stores the count of "*" in *stars. */
static int ref_match(const char *pattern, const char *path, unsigned *stars)
{
    *stars = 0;
    for (;;) {
        size_t pl = strcspn(pattern, "/"), sl = strcspn(path, "/");

        if (pl == 1 && pattern[0] == '*') {
            if (sl == 0)
                return 0;
            (*stars)++;
        } else if (pl != sl || memcmp(pattern, path, pl) != 0) {
            return 0;
        }
        pattern += pl;
        path += sl;
        if (!*pattern || !*path)
            return !*pattern && !*path;
        pattern++;
        path++;
    }
}

/* The path the route's pattern gives with req's parameters put back. */
static int rebuilt_equals(const char *pattern, const struct fs_request *req, const char *path)
{
    char out[8192];
    size_t o = 0;
    unsigned k = 0;

    for (const char *p = pattern; *p; p++) {
        const char *piece = *p == '*' ? req->params[k++] : p;
        size_t len = *p == '*' ? strlen(piece) : 1;

        if (o + len >= sizeof out)
            return 0;
        memcpy(out + o, piece, len);
        o += len;
    }
    out[o] = '\0';
    return k == req->nparams && strcmp(out, path) == 0;
}

static void check_feed(const struct fs_request *req, const char *method, const char *rest)
{
    const char *slash = strchr(rest, '/');
    size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
    int known = 0, get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int64_t page = -1, entry = 0;
    int tail = 0;

    for (size_t i = 0; i < 2; i++)
        if (strlen(feeds[i]) == len && memcmp(rest, feeds[i], len) == 0)
            known = 1;
    /* The documents of a feed: the head, /pages/N (from 0), and the feed
     * browser's /entries/N (from 1) and /tail. */
    if (known && slash) {
        if (strncmp(slash, "/pages/", 7) == 0) {
            page = ref_page(slash + 7);
            known = page >= 0;
        } else if (strncmp(slash, "/entries/", 9) == 0) {
            entry = ref_page(slash + 9);
            known = entry >= 1;
        } else {
            tail = strcmp(slash, "/tail") == 0;
            known = tail;
        }
    }
    if (!known) {
        if (req->kind != FS_KIND_ERROR || req->err_status != 404)
            abort();
        return;
    }
    if (req->page != page || req->entry != entry || req->tail != tail)
        abort();
    if (!get) {
        if (req->kind != FS_KIND_ERROR || req->err_status != 405 || !strstr(req->allow, "GET"))
            abort();
        return;
    }
    if (req->kind != FS_KIND_ERROR || req->err_status != 401 || !req->www_authenticate)
        abort();
}

static void check_routes(const struct fs_request *req, const char *method, const char *path)
{
    int other = 0;

    for (size_t i = 0; i < NMOUNTED; i++) {
        unsigned stars;
        int same = strcmp(mounted[i].method, method) == 0 ||
                   (strcmp(method, "HEAD") == 0 && strcmp(mounted[i].method, "GET") == 0);

        if (!ref_match(mounted[i].pattern, path, &stars))
            continue;
        if (same) {
            if (req->kind != FS_KIND_ROUTE ||
                strcmp(req->route->pattern, mounted[i].pattern) != 0 || req->nparams != stars ||
                !rebuilt_equals(mounted[i].pattern, req, path))
                abort();
            for (unsigned k = 0; k < req->nparams; k++)
                if (!req->params[k][0] || strchr(req->params[k], '/'))
                    abort();
            return;
        }
        other = 1;
        if (!strstr(req->allow, mounted[i].method))
            abort();
    }
    if (req->kind != FS_KIND_ERROR || req->err_status != (other ? 405u : 404u))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fs_server *server;
    struct fs_request req;
    const char *method;
    char *path;

    if (size < 1 || size > 4096)
        return 0;
    if (!server)
        server = server_open();
    method = methods[data[0] % NMETHODS];
    path = malloc(size);
    if (!path)
        abort();
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    memset(&req, 0, sizeof req);
    req.server = server;
    req.method = method;
    req.path = path;
    fs__route_classify(&req);
    if (req.kind == FS_KIND_ERROR && !req.err_msg[0])
        abort(); /* every error says what is wrong */
    if (strcmp(path, "/healthz") == 0) {
        int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
        if (get ? req.kind != FS_KIND_HEALTHZ : req.err_status != 405)
            abort();
    } else if (strncmp(path, "/feeds/", 7) == 0) {
        check_feed(&req, method, path + 7);
    } else {
        check_routes(&req, method, path);
    }
    for (unsigned k = 0; k < req.nparams; k++)
        free(req.params[k]);
    free(path);
    return 0;
}
