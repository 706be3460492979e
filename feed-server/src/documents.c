#include "documents.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "atom_write.h"
#include "cloudevents_write.h"
#include "html_view.h"

void fs__entry_digest(const char *entry_id, char out[FS_DIGEST_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    if (EVP_Digest(entry_id, strlen(entry_id), md, &n, EVP_sha256(), NULL) != 1 ||
        n < FS_DIGEST_HEX / 2) {
        /* Only an OpenSSL that cannot run SHA-256 gets here; an ETag made
         * of the id's own bytes still names it, if less briefly. */
        snprintf(out, FS_DIGEST_HEX + 1, "%s", entry_id);
        return;
    }
    for (int i = 0; i < FS_DIGEST_HEX / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[FS_DIGEST_HEX] = '\0';
}

void fs__etag(const struct fs__feed_meta *meta, int64_t page, int64_t head, const char *digest,
              enum fs__repr repr, enum fs__coding coding, char out[FS_ETAG_MAX])
{
    /* The first 12 hex digits of the uuid: 48 random bits. */
    snprintf(out, FS_ETAG_MAX, "\"%.8s%.4s-%c%lld-%s-%s-%s\"", meta->uuid, meta->uuid + 9,
             page >= 0 ? 'p' : 'h', (long long)(page >= 0 ? page : head), digest,
             fs__repr_tag(repr), fs__coding_tag(coding));
}

enum fs_error fs__page_digest(struct fs_feed *feed, const struct fs__feed_meta *meta, int64_t page,
                              char digest[FS_DIGEST_HEX + 1])
{
    char id[201];
    enum fs_error err = fs__feed_entry_id(feed, (page + 1) * meta->page_size, id, sizeof id);

    if (err == FS_OK)
        fs__entry_digest(id, digest);
    return err;
}

/* Gathers the stored entries of a document, and the updated time and id
 * of the last. */
struct gather {
    struct dynbuf xml;
    char updated[48];
    char id[201];
};

static int gather_entry(const struct fs_entry *e, void *userdata)
{
    struct gather *g = userdata;

    dynbuf_adds(&g->xml, e->xml);
    snprintf(g->updated, sizeof g->updated, "%s", e->updated);
    snprintf(g->id, sizeof g->id, "%s", e->id);
    return dynbuf_error(&g->xml) != DYNBUF_OK;
}

static int last_entry(const struct fs_entry *e, void *userdata)
{
    struct gather *g = userdata;

    snprintf(g->updated, sizeof g->updated, "%s", e->updated);
    snprintf(g->id, sizeof g->id, "%s", e->id);
    return 1;
}

enum fs_error fs__document(struct fs_feed *feed, const struct fs__feed_meta *meta, int64_t page,
                           int64_t head, enum fs__repr repr, struct dynbuf *out,
                           char digest[FS_DIGEST_HEX + 1])
{
    struct gather g = {.xml = FS__BUF_INIT};
    struct dynbuf atom = FS__BUF_INIT;
    struct fs__doc doc = {.meta = meta, .page = page, .head = head};
    int64_t first, last;
    enum fs_error err;

    if (page >= 0) {
        first = page * meta->page_size + 1;
        last = (page + 1) * meta->page_size;
    } else {
        first = head / meta->page_size * meta->page_size + 1;
        last = head;
    }
    snprintf(g.updated, sizeof g.updated, "%s", meta->created);
    err = fs_feed_read(feed, first, last, gather_entry, &g);
    if (err == FS_OK)
        err = fs__buf_error(&g.xml);
    /* An empty head after a full page: its time and id are the last entry's. */
    if (err == FS_OK && first > last && head > 0)
        err = fs_feed_read(feed, head, head, last_entry, &g);
    if (err != FS_OK)
        goto out;
    if (digest)
        fs__entry_digest(g.id, digest);
    doc.updated = g.updated;
    doc.entries = dynbuf_ptr(&g.xml);
    doc.entries_len = dynbuf_len(&g.xml);
    if (repr == FS_REPR_ATOM) {
        err = fs__atom_document(&doc, out);
    } else if (repr == FS_REPR_JSON) {
        char source[80];

        snprintf(source, sizeof source, "/feeds/%s", meta->name);
        err = fs__cloudevents_batch(doc.entries, doc.entries_len, source, out);
    } else {
        err = fs__atom_document(&doc, &atom);
        if (err == FS_OK)
            err = fs__html_view(dynbuf_ptr(&atom), dynbuf_len(&atom), out);
    }
out:
    dynbuf_release(&g.xml);
    dynbuf_release(&atom);
    return err;
}
