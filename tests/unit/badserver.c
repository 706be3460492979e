#include "badserver.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A growing output buffer; the child exits on out-of-memory. */
struct out {
    char *p;
    size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        o->cap = (o->len + n + 1) * 2;
        o->p = realloc(o->p, o->cap);
        if (!o->p)
            _exit(3);
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct out *o, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(o, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sends an answer; extra is more header lines ("Name: value\r\n"...) or
 * NULL. */
static void respond_with(int fd, int status, const char *ct, const char *etag, const char *extra,
                         const char *body, size_t len)
{
    struct out o = {0};

    putf(&o, "HTTP/1.1 %d X\r\nConnection: close\r\nContent-Length: %zu\r\n", status, len);
    if (ct)
        putf(&o, "Content-Type: %s\r\n", ct);
    if (etag)
        putf(&o, "ETag: %s\r\n", etag);
    if (extra)
        putf(&o, "%s", extra);
    put(&o, "\r\n", 2);
    put(&o, body, len);
    send_all(fd, o.p, o.len);
    free(o.p);
}

static void respond(int fd, int status, const char *ct, const char *etag, const char *body,
                    size_t len)
{
    respond_with(fd, status, ct, etag, NULL, body, len);
}

static const char feed_open[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                "<feed xmlns=\"http://www.w3.org/2005/Atom\" "
                                "xmlns:fh=\"http://purl.org/syndication/history/1.0\" "
                                "xmlns:f=\"urn:x-feed-integration:1\">\n";

static void entry(struct out *o, const struct bs_shared *sh, long long pos)
{
    const char *type = sh->skip_every && pos % sh->skip_every == 0 ? "Unheard" : "Thing";
    char cust[32];

    if (pos == sh->refuse_at)
        snprintf(cust, sizeof cust, "refuse");
    else
        snprintf(cust, sizeof cust, "c%lld", pos);

    putf(o,
         "<entry><id>urn:uuid:%s-%lld</id><title>%s</title>"
         "<updated>2024-01-01T00:00:00Z</updated><category term=\"%s\"/>"
         "<f:position>%lld</f:position><content type=\"application/xml\">"
         "<%s xmlns=\"\" version=\"1\"><customerId>%s</customerId>"
         "<n>%lld</n><extra><deep>x</deep></extra></%s></content></entry>\n",
         sh->id_prefix, pos, type, type, pos, type, cust, pos, type);
}

/* Writes the href of archive page n (n < 0: the head) as seen from the
 * document of page `from` (from < 0: the head), in the shape sh->links asks. */
static void href(struct out *o, const struct bs_shared *sh, long long from, long long n)
{
    switch (sh->links) {
    case BS_LINKS_RELATIVE:
        /* The head is /feeds/x, pages are /archive/2026-11-N.xml. */
        if (n < 0)
            putf(o, from < 0 ? "x" : "../feeds/x");
        else
            putf(o, from < 0 ? "../archive/2026-11-%lld.xml" : "2026-11-%lld.xml", n);
        break;
    case BS_LINKS_ABSOLUTE:
        putf(o, "http://127.0.0.1:%d/feeds/x", sh->port);
        if (n >= 0)
            putf(o, "/pages/%lld", n);
        break;
    default:
        putf(o, "/feeds/x");
        if (n >= 0)
            putf(o, "/pages/%lld", n);
        break;
    }
}

static void put_link(struct out *o, const struct bs_shared *sh, const char *rel, long long from,
                     long long n)
{
    putf(o, "<link rel=\"%s\" href=\"", rel);
    href(o, sh, from, n);
    putf(o, "\"/>\n");
}

/* The archive page number in path, or -1 (not a page path), -2 (the
 * head). */
static long long page_of(const struct bs_shared *sh, const char *path)
{
    const char *prefix = sh->links == BS_LINKS_RELATIVE ? "/archive/2026-11-" : "/feeds/x/pages/";
    size_t n = strlen(prefix);
    char *end;
    long long page;

    if (strcmp(path, "/feeds/x") == 0)
        return -2;
    if (strncmp(path, prefix, n) != 0)
        return -1;
    page = strtoll(path + n, &end, 10);
    if (end == path + n || page < 0)
        return -1;
    if (sh->links == BS_LINKS_RELATIVE ? strcmp(end, ".xml") != 0 : *end != '\0')
        return -1;
    return page;
}

/* Serves the synthetic feed: head or archive page by path, long-polls. */
static void serve_feed(int fd, struct bs_shared *sh, const char *path, const char *inm, int wait)
{
    long long count = sh->count, p = sh->page_size > 0 ? sh->page_size : 500;
    long long first, last, page = page_of(sh, path);
    char etag[128];
    struct out o = {0};

    if (page == -1) {
        respond(fd, 404, "text/plain", NULL, "no such feed\n", 13);
        return;
    }
    if (page >= 0 && (page + 1) * p > count) {
        respond(fd, 404, "text/plain", NULL, "no such page\n", 13);
        return;
    }
    if (page < 0) {
        page = -1;
        snprintf(etag, sizeof etag, "\"h%lld-%s-%s\"", count, sh->id_prefix, sh->feed_id);
        int held = inm && wait > 0 && !sh->no_hold && strcmp(inm, etag) == 0;

        for (int i = 0; held && strcmp(inm, etag) == 0 && i < wait * 100; i++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
            count = sh->count;
            snprintf(etag, sizeof etag, "\"h%lld-%s-%s\"", count, sh->id_prefix, sh->feed_id);
        }
        if (inm && strcmp(inm, etag) == 0) {
            respond_with(fd, 304, NULL, etag, held ? "Preference-Applied: wait\r\n" : NULL, "", 0);
            return;
        }
        first = count / p * p + 1;
        last = count;
    } else {
        snprintf(etag, sizeof etag, "\"p%lld\"", page);
        first = page * p + 1;
        last = page * p + p;
    }
    put(&o, feed_open, sizeof feed_open - 1);
    putf(&o, "<title>x</title><id>%s</id><updated>2024-01-01T00:00:00Z</updated>\n", sh->feed_id);
    put_link(&o, sh, "self", page, page);
    put_link(&o, sh, "current", page, -1);
    if (page >= 0) {
        putf(&o, "<fh:archive/>\n");
        if (page > 0)
            put_link(&o, sh, "prev-archive", page, page - 1);
        put_link(&o, sh, "next-archive", page, page + 1);
    } else if (sh->head_prev_href[0]) {
        putf(&o, "<link rel=\"prev-archive\" href=\"%s\"/>\n", sh->head_prev_href);
    } else if (count >= p) {
        put_link(&o, sh, "prev-archive", -1, count / p - 1);
    }
    if (!sh->no_hints) {
        putf(&o, "<f:pageSize>%lld</f:pageSize>\n", sh->lie_page_size ? sh->lie_page_size : p);
        if (page < 0)
            putf(&o, "<f:head>%lld</f:head>\n", count);
    }
    for (long long i = first; i <= last; i++)
        entry(&o, sh, i);
    put(&o, "</feed>\n", 8);
    respond(fd, 200, "application/atom+xml", etag, o.p, o.len);
    free(o.p);
}

/* Serves the BS_FILES document at path, or 404. */
static void serve_file(int fd, const struct bs_shared *sh, const char *path)
{
    for (int i = 0; i < sh->nfiles; i++)
        if (strcmp(sh->files[i].path, path) == 0) {
            respond(fd, 200, "application/atom+xml", NULL, sh->raw + sh->files[i].off,
                    sh->files[i].len);
            return;
        }
    respond(fd, 404, "text/plain", NULL, "no such document\n", 17);
}

static void serve_huge(int fd, int with_length)
{
    static const char chunk[] = "<entry><id>urn:uuid:big</id><f:position>1</f:position>"
                                "<content type=\"application/xml\"><Big><v>xxxxxxxxxxxxxxxx"
                                "</v></Big></content></entry>\n";
    struct out o = {0};
    char block[64 * 1024];
    size_t n = 0;

    putf(&o, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/atom+xml\r\n");
    if (with_length)
        putf(&o, "Content-Length: %lld\r\n", 100LL * 1024 * 1024);
    put(&o, "\r\n", 2);
    put(&o, feed_open, sizeof feed_open - 1);
    if (send_all(fd, o.p, o.len) == 0) {
        while (n + sizeof chunk < sizeof block) {
            memcpy(block + n, chunk, sizeof chunk - 1);
            n += sizeof chunk - 1;
        }
        for (long long sent = 0; sent < 100LL * 1024 * 1024; sent += (long long)n)
            if (send_all(fd, block, n) != 0)
                break;
    }
    free(o.p);
}

/* Reads the request head; fills path, If-None-Match and the Prefer wait. */
static int read_request(int fd, char *path, size_t path_size, char *inm, size_t inm_size, int *wait)
{
    char buf[16384];
    size_t len = 0;
    char *line;

    inm[0] = '\0';
    *wait = 0;
    while (len < sizeof buf - 1) {
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    if (sscanf(buf, "GET %1023s", path) != 1 || strlen(path) >= path_size)
        return -1;
    for (line = buf; line && *line; line = strstr(line, "\r\n") ? strstr(line, "\r\n") + 2 : NULL) {
        char *end = strstr(line, "\r\n");
        if (!end)
            break;
        *end = '\0';
        if (strncasecmp(line, "If-None-Match: ", 15) == 0)
            snprintf(inm, inm_size, "%s", line + 15);
        else if (strncasecmp(line, "Prefer: wait=", 13) == 0)
            *wait = (int)strtol(line + 13, NULL, 10);
        *end = '\r';
    }
    return 0;
}

static void serve(int lfd, struct bs_shared *sh)
{
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        char path[1024], inm[256];
        int wait;

        if (fd < 0)
            continue;
        if (read_request(fd, path, sizeof path, inm, sizeof inm, &wait) == 0) {
            snprintf(sh->last_path, sizeof sh->last_path, "%s", path);
            __atomic_add_fetch(&sh->requests, 1, __ATOMIC_SEQ_CST);
            switch (sh->mode) {
            case BS_FEED:
                serve_feed(fd, sh, path, inm[0] ? inm : NULL, wait);
                break;
            case BS_RAW:
                respond_with(fd, sh->status, sh->content_type, NULL,
                             sh->content_encoding[0] ? sh->content_encoding : NULL, sh->raw,
                             sh->raw_len);
                break;
            case BS_HANG: {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                poll(&p, 1, 60000);
                break;
            }
            case BS_CUT: {
                struct out o = {0};
                putf(&o,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/atom+xml\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     sh->raw_len + 1000);
                put(&o, sh->raw, sh->raw_len);
                send_all(fd, o.p, o.len);
                free(o.p);
                break;
            }
            case BS_HUGE:
            case BS_HUGE_NOLEN:
                serve_huge(fd, sh->mode == BS_HUGE);
                break;
            case BS_FILES:
                serve_file(fd, sh, path);
                break;
            default:
                break;
            }
        }
        close(fd);
    }
}

static void start(struct bs_server *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)s->port);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    s->sh->port = s->port;
    s->pid = fork();
    ck_assert_int_ge(s->pid, 0);
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_IGN);
        serve(fd, s->sh);
        _exit(0);
    }
    close(fd);
}

void bs_start(struct bs_server *s, int port)
{
    memset(s, 0, sizeof *s);
    s->sh = mmap(NULL, sizeof *s->sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert(s->sh != MAP_FAILED);
    memset(s->sh, 0, sizeof *s->sh);
    s->sh->mode = BS_FEED;
    s->sh->page_size = 500;
    snprintf(s->sh->id_prefix, sizeof s->sh->id_prefix, "a");
    snprintf(s->sh->feed_id, sizeof s->sh->feed_id, "urn:x:feeds:x");
    s->port = port;
    start(s);
}

void bs_restart(struct bs_server *s)
{
    start(s);
}

void bs_stop(struct bs_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

void bs_free(struct bs_server *s)
{
    bs_stop(s);
    if (s->sh) {
        munmap(s->sh, sizeof *s->sh);
        s->sh = NULL;
    }
}

void bs_raw(struct bs_server *s, int status, const char *content_type, const char *body)
{
    size_t n = strlen(body);

    ck_assert_uint_lt(n, sizeof s->sh->raw);
    s->sh->status = status;
    s->sh->content_encoding[0] = '\0';
    snprintf(s->sh->content_type, sizeof s->sh->content_type, "%s", content_type);
    memcpy(s->sh->raw, body, n);
    s->sh->raw_len = n;
    s->sh->mode = BS_RAW;
}

void bs_raw_gzip(struct bs_server *s, const char *content_type, const void *gz, size_t len)
{
    ck_assert_uint_le(len, sizeof s->sh->raw);
    s->sh->status = 200;
    snprintf(s->sh->content_type, sizeof s->sh->content_type, "%s", content_type);
    snprintf(s->sh->content_encoding, sizeof s->sh->content_encoding, "Content-Encoding: gzip\r\n");
    memcpy(s->sh->raw, gz, len);
    s->sh->raw_len = len;
    s->sh->mode = BS_RAW;
}

void bs_file(struct bs_server *s, const char *path, const char *body)
{
    struct bs_shared *sh = s->sh;
    struct bs_file *file = NULL;
    char port[16];
    size_t n = 0, len = strlen(body), used = 0;

    snprintf(port, sizeof port, "%d", s->port);
    for (int i = 0; i < sh->nfiles; i++) {
        if (strcmp(sh->files[i].path, path) == 0)
            file = &sh->files[i];
        else if (sh->files[i].off + sh->files[i].len > used)
            used = sh->files[i].off + sh->files[i].len;
    }
    if (!file) {
        ck_assert_int_lt(sh->nfiles, BS_MAX_FILES);
        file = &sh->files[sh->nfiles++];
        snprintf(file->path, sizeof file->path, "%s", path);
    }
    /* A replaced document goes after every other, so none is overwritten. */
    file->off = used;
    for (size_t i = 0; i < len; i++) {
        const char *add = &body[i];
        size_t k = 1;

        if (body[i] == '%' && body[i + 1] == 'd') {
            add = port;
            k = strlen(port);
            i++;
        }
        ck_assert_uint_lt(used + n + k, sizeof sh->raw);
        memcpy(sh->raw + used + n, add, k);
        n += k;
    }
    file->len = n;
}

const char *bs_url(const struct bs_server *s)
{
    static char url[64];

    snprintf(url, sizeof url, "http://127.0.0.1:%d/feeds/x", s->port);
    return url;
}
