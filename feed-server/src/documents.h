/*
 * documents.h - feed documents assembled from stored entries, and the
 * ETags that name their bytes.
 *
 * A document is a function of (feed, page, head) and the entries it holds:
 * an archive page is built only once full, the head document holds the
 * entries after the last full page as of head. Entries are never changed,
 * and event ids are unique, so the newest entry's id names the entries a
 * document holds; but a database restored from an old copy can grow back
 * to the same positions with other entries, so the position alone does
 * not. An ETag is therefore made, without rendering anything, of
 *
 *   "<feed>-<doc>-<entry>-<repr>-<coding>"
 *
 * feed: 12 hex digits of the feed's random uuid (drawn at declaration, so
 * a database made afresh gives other ETags); doc: "h<head>" for the head,
 * "p<N>" for page N; entry: FS_DIGEST_HEX hex digits of the SHA-256 of the
 * id of the document's newest entry (the entry at head for the head, at
 * (N+1)*P for page N; "" hashed for an empty feed); repr: fs__repr_tag();
 * coding: the content coding, fs__coding_tag() ("id" identity, "gz" gzip).
 */
#ifndef FS_DOCUMENTS_H
#define FS_DOCUMENTS_H

#include <sqlite3.h>
#include <stdint.h>

#include "buffer.h"
#include "feed_store.h"
#include "negotiate.h"

/* Longest ETag fs__etag() writes, with its NUL. */
#define FS_ETAG_MAX 64

/* Hex digits of an entry id's digest in an ETag (64 bits). */
#define FS_DIGEST_HEX 16

/* Writes the first FS_DIGEST_HEX hex digits of the SHA-256 of entry_id,
 * and a NUL, into out. */
void fs__entry_digest(const char *entry_id, char out[FS_DIGEST_HEX + 1]);

/* Writes the strong, quoted ETag of the document (page -1: the head as of
 * head) whose newest entry's id has digest, in representation repr and
 * content coding coding, into out. */
void fs__etag(const struct fs__feed_meta *meta, int64_t page, int64_t head, const char *digest,
              enum fs__repr repr, enum fs__coding coding, char out[FS_ETAG_MAX]);

/* Reads, with one lookup on the primary key, the digest of the id of the
 * newest entry of full archive page `page` of meta's feed, through feed (a
 * handle on it). FS_ERR_NOT_FOUND if the page is not full. */
enum fs_error fs__page_digest(struct fs_feed *feed, const struct fs__feed_meta *meta, int64_t page,
                              char digest[FS_DIGEST_HEX + 1]);

/*
 * Builds the document of meta's feed into out: archive page `page` (which
 * the caller has checked is full at head), or the head document as of head
 * when page is -1; in representation repr. Reads entries through feed (a
 * handle on meta's feed) with one range query on the primary key. When digest is not NULL, stores
 * there the digest of the id of the newest entry the document stands for (for an empty head after a
 * full page: the entry at head).
 */
enum fs_error fs__document(struct fs_feed *feed, const struct fs__feed_meta *meta, int64_t page,
                           int64_t head, enum fs__repr repr, struct dynbuf *out,
                           char digest[FS_DIGEST_HEX + 1]);

#endif
