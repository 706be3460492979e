#include "testkit.h"

#include <check.h>
#include <feedserver.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <curl/curl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

char *tk_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    int n = snprintf(tmpl, sizeof tmpl, "%s/fstest.XXXXXX", base ? base : "/tmp");

    ck_assert(n > 0 && (size_t)n < sizeof tmpl);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    return strdup(tmpl);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tk_rmtree(const char *path)
{
    if (path)
        nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tk_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

struct growbuf {
    char *data;
    size_t len;
};

static size_t append(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct growbuf *b = userdata;
    size_t n = size * nmemb;
    char *d = realloc(b->data, b->len + n + 1);

    if (!d)
        return 0;
    memcpy(d + b->len, ptr, n);
    b->len += n;
    d[b->len] = '\0';
    b->data = d;
    return n;
}

void tk_http(const char *method, const char *url, const char *const *headers,
             const char *body, struct tk_response *resp)
{
    CURL *c = curl_easy_init();
    struct curl_slist *list = NULL;
    struct growbuf h = {0}, b = {0};

    ck_assert_ptr_nonnull(c);
    memset(resp, 0, sizeof *resp);
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 40L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, append);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &resp->seconds);
    resp->headers = h.data ? h.data : strdup("");
    resp->body = b.data ? b.data : strdup("");
    resp->body_len = b.len;
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
}

const char *tk_header(const struct tk_response *resp, const char *name)
{
    static char value[1024];
    size_t n = strlen(name);
    const char *line = resp->headers;

    while (line && *line) {
        const char *end = strstr(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);

        if (len > n && line[n] == ':' && strncasecmp(line, name, n) == 0) {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            len -= (size_t)(v - line);
            if (len >= sizeof value)
                len = sizeof value - 1;
            memcpy(value, v, len);
            value[len] = '\0';
            return value;
        }
        line = end ? end + 2 : NULL;
    }
    return NULL;
}

void tk_response_release(struct tk_response *resp)
{
    free(resp->headers);
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

int tk_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

long long tk_query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;

    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int64_t tk_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses an entry, wrapped in a feed element declaring the namespaces the
 * entry may rely on. */
static xmlDocPtr parse_entry(const char *entry)
{
    size_t n = strlen(entry) + 200;
    char *wrapped = malloc(n);
    xmlDocPtr doc;

    ck_assert_ptr_nonnull(wrapped);
    snprintf(wrapped, n,
             "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:f=\"" FS_NAMESPACE "\">%s</feed>",
             entry);
    doc = xmlReadMemory(wrapped, (int)strlen(wrapped), "entry.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    free(wrapped);
    ck_assert_ptr_nonnull(doc);
    return doc;
}

/* Compares two element trees: the same element names and namespaces in the
 * same order, the same attribute names, and the same text except under
 * the elements whose values change from run to run (id, updated, position). */
static void same_shape(xmlNodePtr a, xmlNodePtr b)
{
    static const char *const volatile_names[] = {"id", "updated", "position", NULL};
    xmlNodePtr ca, cb;
    int is_volatile = 0;

    ck_assert_str_eq((const char *)a->name, (const char *)b->name);
    ck_assert_str_eq(a->ns ? (const char *)a->ns->href : "",
                     b->ns ? (const char *)b->ns->href : "");
    for (int i = 0; volatile_names[i]; i++)
        if (strcmp((const char *)a->name, volatile_names[i]) == 0)
            is_volatile = 1;
    for (xmlAttrPtr pa = a->properties, pb = b->properties; pa || pb;
         pa = pa->next, pb = pb->next) {
        ck_assert_msg(pa && pb, "attributes of <%s> differ", a->name);
        ck_assert_str_eq((const char *)pa->name, (const char *)pb->name);
    }
    ca = xmlFirstElementChild(a);
    cb = xmlFirstElementChild(b);
    if (!ca && !cb && !is_volatile) {
        xmlChar *ta = xmlNodeGetContent(a), *tb = xmlNodeGetContent(b);
        ck_assert_str_eq((const char *)ta, (const char *)tb);
        xmlFree(ta);
        xmlFree(tb);
    }
    for (; ca || cb; ca = xmlNextElementSibling(ca), cb = xmlNextElementSibling(cb)) {
        ck_assert_msg(ca && cb, "children of <%s> differ", a->name);
        same_shape(ca, cb);
    }
}

void tk_assert_entry_matches_sample(const char *entry_xml, const char *sample_path)
{
    const char *renew = getenv("WRITE_SAMPLES");
    char *sample;
    size_t len;
    FILE *fp;
    xmlDocPtr got, want;

    if (renew && strcmp(renew, "1") == 0) {
        fp = fopen(sample_path, "w");
        ck_assert_msg(fp != NULL, "cannot write %s", sample_path);
        fprintf(fp, "%s\n", entry_xml);
        fclose(fp);
        return;
    }
    fp = fopen(sample_path, "r");
    ck_assert_msg(fp != NULL, "%s is missing", sample_path);
    sample = calloc(1, 65536);
    ck_assert_ptr_nonnull(sample);
    len = fread(sample, 1, 65535, fp);
    fclose(fp);
    ck_assert_uint_gt(len, 0);
    got = parse_entry(entry_xml);
    want = parse_entry(sample);
    ck_assert_ptr_nonnull(xmlFirstElementChild(xmlDocGetRootElement(want)));
    ck_assert_ptr_nonnull(xmlFirstElementChild(xmlDocGetRootElement(got)));
    same_shape(xmlFirstElementChild(xmlDocGetRootElement(want)),
               xmlFirstElementChild(xmlDocGetRootElement(got)));
    xmlFreeDoc(got);
    xmlFreeDoc(want);
    free(sample);
}
