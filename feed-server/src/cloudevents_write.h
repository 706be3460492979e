/*
 * cloudevents_write.h - a feed document as a CloudEvents 1.0 JSON batch
 * (application/cloudevents-batch+json), for consumers without an Atom
 * parser.
 *
 * The batch is made from the stored <entry> elements that the Atom
 * document of the same page holds, read with libxml2's SAX2 parser (no
 * tree), so the representations always hold the same entries in the same
 * order. It is a JSON array with one structured event per entry, one per
 * line (DESIGN.md section 5):
 *
 *   {"specversion":"1.0","id":ENTRY ID,"source":"/feeds/NAME","type":TYPE,
 *    "time":UPDATED,"datacontenttype":"application/json","position":N,
 *    "eventversion":V,"data":{FIELD:"VALUE",...}}
 *
 * position and eventversion are integers, every field value a string.
 * Paging is not in the body: the Link headers of the answer carry it.
 */
#ifndef FS_CLOUDEVENTS_WRITE_H
#define FS_CLOUDEVENTS_WRITE_H

#include <stddef.h>

#include "buffer.h"
#include "feedserver.h"

/*
 * Appends to out the CloudEvents batch of entries (len bytes of <entry>
 * elements as fs__atom_entry() writes them and a document holds them, in
 * ascending position order), each event's source being source
 * ("/feeds/NAME"). FS_ERR_NOMEM when out of memory, FS_ERR_INVALID if they
 * are not well-formed or an entry lacks its id, type, time or a
 * whole-number position.
 */
enum fs_error fs__cloudevents_batch(const char *entries, size_t len, const char *source,
                                    struct dynbuf *out);

#endif
