/*
 * negotiate.h - what a request asks for in its Accept and Prefer headers.
 *
 * Accept is read as RFC 9110 section 12.5.1 says: a list of media ranges,
 * each with an optional weight "q" (0 to 1, three decimals; q=0 means "not
 * acceptable"). Types and parameter names are case-insensitive. A media
 * type takes its weight from the most specific range that matches it (an
 * exact type/subtype, over a "type/" range with a star, over the range of
 * all types); parameters other than q are ignored for matching. An element
 * that cannot be parsed (no "/", a bad q) is skipped, as if it were not
 * there.
 *
 * Prefer is read as RFC 7240 says: a list of preferences "token [= word]"
 * with ";"-separated parameters that are ignored here; tokens are
 * case-insensitive and a word may be a quoted string. Only the first
 * "wait" counts.
 *
 * Accept-Encoding is read as RFC 9110 section 12.5.3 says: a list of
 * content codings with optional weights; "gzip" and "x-gzip" name gzip, a
 * coding named outright takes precedence over "*", and q=0 excludes.
 * Identity is always acceptable to us: a client that refuses it and gzip
 * still gets identity, never a 406.
 *
 * Everything here is a pure function of the header text: no allocation, no
 * state, linear in the header's length (which the server caps).
 */
#ifndef FS_NEGOTIATE_H
#define FS_NEGOTIATE_H

/* The representations of a feed document. Their order is the server's
 * preference when the client likes several equally. */
enum fs__repr {
    FS_REPR_ATOM, /* application/atom+xml, the default */
    FS_REPR_JSON, /* application/cloudevents-batch+json, a CloudEvents batch */
    FS_REPR_HTML, /* text/html, a readable page for browsers */
};
#define FS_REPR_COUNT 3

/* The content codings a document is sent in. */
enum fs__coding {
    FS_CODING_IDENTITY, /* the bytes as rendered */
    FS_CODING_GZIP,     /* Content-Encoding: gzip */
};
#define FS_CODING_COUNT 2

/* A variant of a document: a representation in a content coding, as one
 * index (0 .. FS_VARIANT_COUNT - 1) for arrays of cached answers. */
#define FS_VARIANT_COUNT (FS_REPR_COUNT * FS_CODING_COUNT)
#define FS_VARIANT(repr, coding) ((int)(repr) + FS_REPR_COUNT * (int)(coding))
#define FS_VARIANT_REPR(v) ((enum fs__repr)((v) % FS_REPR_COUNT))
#define FS_VARIANT_CODING(v) ((enum fs__coding)((v) / FS_REPR_COUNT))

/* The short name of c that feed ETags carry ("id", "gz"). */
const char *fs__coding_tag(enum fs__coding c);

/*
 * The content coding the Accept-Encoding value accept_encoding asks for:
 * gzip when it is acceptable (weight above 0, by name or by "*"), identity
 * otherwise or when accept_encoding is NULL.
 */
enum fs__coding fs__negotiate_coding(const char *accept_encoding);

/* The Content-Type of representation r (with its charset). */
const char *fs__repr_content_type(enum fs__repr r);

/* The short name of r that feed ETags carry ("atom", "json", "html"). */
const char *fs__repr_tag(enum fs__repr r);

/*
 * The weight, in thousandths (0..1000), that the Accept value accept gives
 * the media type names[0] ("type/subtype", lowercase); names[1..n-1] are
 * other media types a client may name to ask for the same representation:
 * an exact match of one of them ranks below names[0] itself and above any
 * range with a star. A "type/" range with a star matches names[0]'s type
 * only. 0 when nothing matches, the weight is 0 or accept is NULL.
 */
unsigned fs__accept_weight(const char *accept, const char *const *names, unsigned n);

/*
 * The representation of a feed document the Accept value accept asks for:
 * the acceptable one with the highest weight, ties going to the earlier in
 * enum fs__repr. Atom also answers application/xml and text/xml, and the
 * CloudEvents batch application/json. No Accept (NULL) or nothing
 * acceptable gives Atom.
 */
enum fs__repr fs__negotiate_feed(const char *accept);

/*
 * Whether accept prefers text/html to application/json, strictly: a
 * browser yes; no Accept, the range of all types alone or a tie no (JSON is
 * a context's default).
 */
int fs__negotiate_html(const char *accept);

/*
 * Looks for the first "wait" preference in prefer (one Prefer header
 * value). Returns 0 if there is none, so the caller may look in another
 * Prefer header; else 1 with *wait set to its value in seconds capped at
 * max, or to 0 when the value is not a whole number (no hold).
 */
int fs__prefer_wait(const char *prefer, unsigned max, unsigned *wait);

#endif
