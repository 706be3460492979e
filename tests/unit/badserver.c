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

static void respond(int fd, int status, const char *ct, const char *etag, const char *body,
                    size_t len)
{
    struct out o = {0};

    putf(&o, "HTTP/1.1 %d X\r\nConnection: close\r\nContent-Length: %zu\r\n", status, len);
    if (ct)
        putf(&o, "Content-Type: %s\r\n", ct);
    if (etag)
        putf(&o, "ETag: %s\r\n", etag);
    put(&o, "\r\n", 2);
    put(&o, body, len);
    send_all(fd, o.p, o.len);
    free(o.p);
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

/* Serves the synthetic feed: head or archive page by path, long-polls. */
static void serve_feed(int fd, struct bs_shared *sh, const char *path, const char *inm, int wait)
{
    long long count = sh->count, p = sh->page_size > 0 ? sh->page_size : 500;
    long long first, last, page = -1;
    char etag[64];
    struct out o = {0};

    if (strncmp(path, "/feeds/x/pages/", 15) == 0) {
        char *end;
        page = strtoll(path + 15, &end, 10);
        if (*end || page < 0 || (page + 1) * p > count) {
            respond(fd, 404, "text/plain", NULL, "no such page\n", 13);
            return;
        }
    } else if (strcmp(path, "/feeds/x") != 0) {
        respond(fd, 404, "text/plain", NULL, "no such feed\n", 13);
        return;
    }
    if (page < 0) {
        snprintf(etag, sizeof etag, "\"h%lld-%s\"", count, sh->id_prefix);
        for (int i = 0; inm && wait > 0 && strcmp(inm, etag) == 0 && i < wait * 100; i++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
            count = sh->count;
            snprintf(etag, sizeof etag, "\"h%lld-%s\"", count, sh->id_prefix);
        }
        if (inm && strcmp(inm, etag) == 0) {
            respond(fd, 304, NULL, etag, "", 0);
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
    putf(&o, "<title>x</title><id>urn:x:feeds:x</id><updated>2024-01-01T00:00:00Z</updated>\n");
    putf(&o, "<link rel=\"self\" href=\"%s\"/><link rel=\"current\" href=\"/feeds/x\"/>\n", path);
    if (page >= 0)
        putf(&o, "<fh:archive/><link rel=\"next-archive\" href=\"/feeds/x/pages/%lld\"/>\n",
             page + 1);
    putf(&o, "<f:pageSize>%lld</f:pageSize>\n", p);
    if (page < 0)
        putf(&o, "<f:head>%lld</f:head>\n", count);
    for (long long i = first; i <= last; i++)
        entry(&o, sh, i);
    put(&o, "</feed>\n", 8);
    respond(fd, 200, "application/atom+xml", etag, o.p, o.len);
    free(o.p);
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
            __atomic_add_fetch(&sh->requests, 1, __ATOMIC_SEQ_CST);
            switch (sh->mode) {
            case BS_FEED:
                serve_feed(fd, sh, path, inm[0] ? inm : NULL, wait);
                break;
            case BS_RAW:
                respond(fd, sh->status, sh->content_type, NULL, sh->raw, sh->raw_len);
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
    snprintf(s->sh->content_type, sizeof s->sh->content_type, "%s", content_type);
    memcpy(s->sh->raw, body, n);
    s->sh->raw_len = n;
    s->sh->mode = BS_RAW;
}

const char *bs_url(const struct bs_server *s)
{
    static char url[64];

    snprintf(url, sizeof url, "http://127.0.0.1:%d/feeds/x", s->port);
    return url;
}
