#include "documents.h"

#include <stdio.h>
#include <string.h>

#include "atom_write.h"
#include "html_view.h"

void fs__etag(const struct fs__feed_meta *meta, int64_t page, int64_t head, int html,
              char out[FS_ETAG_MAX])
{
    char id[16];

    /* The first 12 hex digits of the uuid: 48 random bits. */
    snprintf(id, sizeof id, "%.8s%.4s", meta->uuid, meta->uuid + 9);
    if (page >= 0)
        snprintf(out, FS_ETAG_MAX, "\"%s-p%lld%s\"", id, (long long)page, html ? "-html" : "");
    else
        snprintf(out, FS_ETAG_MAX, "\"%s-h%lld%s\"", id, (long long)head, html ? "-html" : "");
}

/* Gathers the stored entries of a document and the updated time of the last. */
struct gather {
    struct fs__buf xml;
    char updated[48];
};

static int gather_entry(const struct fs_entry *e, void *userdata)
{
    struct gather *g = userdata;

    fs__buf_adds(&g->xml, e->xml);
    snprintf(g->updated, sizeof g->updated, "%s", e->updated);
    return g->xml.oom;
}

static int last_updated(const struct fs_entry *e, void *userdata)
{
    struct gather *g = userdata;

    snprintf(g->updated, sizeof g->updated, "%s", e->updated);
    return 1;
}

enum fs_error fs__document(sqlite3 *db, const struct fs__feed_meta *meta, int64_t page,
                           int64_t head, int html, struct fs__buf *out)
{
    struct gather g = {0};
    struct fs__buf atom = {0};
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
    err = fs_feed_read(db, meta->name, first, last, gather_entry, &g);
    if (err == FS_OK && g.xml.oom)
        err = FS_ERR_NOMEM;
    /* An empty head after a full page: its time is that of the last entry. */
    if (err == FS_OK && first > last && head > 0)
        err = fs_feed_read(db, meta->name, head, head, last_updated, &g);
    if (err != FS_OK)
        goto out;
    doc.updated = g.updated;
    doc.entries = g.xml.data;
    doc.entries_len = g.xml.len;
    if (!html) {
        err = fs__atom_document(&doc, out);
        goto out;
    }
    err = fs__atom_document(&doc, &atom);
    if (err == FS_OK)
        err = fs__html_view(atom.data, atom.len, out);
out:
    fs__buf_release(&g.xml);
    fs__buf_release(&atom);
    return err;
}
