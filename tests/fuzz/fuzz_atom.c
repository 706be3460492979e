/*
 * fuzz_atom - libFuzzer harness for the follower's Atom parser
 * (feed-reader/src/atom_parse.c), which reads documents from the network.
 *
 * Beyond not crashing (ASan, UBSan), what the parser accepts must hold what
 * atom_parse.h promises the follower: every entry has a non-empty id, a
 * type and a position, positions increase by one, each field has a name,
 * and the links and the feed id are NUL-terminated strings of the arena.
 * A refusal always says why. One document is parsed into the same struct
 * fr__doc as the one before, as the follower does, so a document left
 * behind by an earlier one would show.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atom_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fr__doc doc;
    static int ready;
    char msg[256];
    enum fr_error err;

    if (size > 1 << 20)
        return 0;
    if (!ready) {
        fr__doc_init(&doc, (size_t)64 << 20);
        ready = 1;
    }
    err = fr__atom_parse(&doc, (const char *)data, size, "http://127.0.0.1:1/feeds/f", 16, msg,
                         sizeof msg);
    if (err != FR_OK) {
        if (msg[0] == '\0' || strlen(msg) >= sizeof msg)
            abort(); /* every refusal says what was wrong */
        if (err != FR_ERR_PARSE && err != FR_ERR_TOO_LARGE && err != FR_ERR_NOMEM)
            abort();
        return 0;
    }
    for (size_t i = 0; i < doc.nentries; i++) {
        const struct fr__entry *e = &doc.entries[i];

        if (!e->pub.id || !e->pub.id[0] || !e->pub.type || !e->pub.updated)
            abort();
        if (e->pub.position < 1 ||
            (i > 0 && e->pub.position != doc.entries[i - 1].pub.position + 1))
            abort();
        if (e->first_field + e->nfields > doc.nfields)
            abort();
        for (size_t k = e->first_field; k < e->first_field + e->nfields; k++) {
            const char *name = fr__doc_str(&doc, doc.fields[k].name);
            const char *value = fr__doc_str(&doc, doc.fields[k].value);

            if (!name || !name[0] || !value)
                abort();
            /* The first field of a name wins. */
            if (fr_entry_field(&e->pub, name) == NULL)
                abort();
        }
    }
    for (int r = 0; r < FR__NRELS; r++) {
        const char *href = fr__doc_str(&doc, doc.links[r]);

        if (href && strlen(href) > size)
            abort();
    }
    if (doc.feed_id != (size_t)-1 && strlen(fr__doc_str(&doc, doc.feed_id)) > size)
        abort();
    if (doc.page_size == 0 || doc.page_size < -1 || doc.head < -1)
        abort();
    return 0;
}
