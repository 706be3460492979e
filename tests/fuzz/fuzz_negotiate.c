/*
 * fuzz_negotiate - libFuzzer harness for the request headers feed-server
 * reads itself: Accept (RFC 9110 12.5.1) and Prefer (RFC 7240), in
 * feed-server/src/negotiate.c. The first byte picks Accept or Prefer, the
 * rest is the header value.
 *
 * Beyond not reading past the value (ASan), the parsers must keep the rules
 * negotiate.h states, checked as relations that hold for any value:
 *  - weights are thousandths (0..1000), a wait is at most its cap;
 *  - media types, parameter names and the "wait" token are
 *    case-insensitive: the value in upper case gives the same answers;
 *  - an element is read on its own: putting a well-formed range that names
 *    none of our types ("x-fuzz/none;q=0.5") before the value changes no
 *    weight, and a preference other than wait ("x-fuzz=1") before a
 *    Prefer value changes nothing;
 *  - the representation chosen has the highest weight of the three, and
 *    one not acceptable (weight 0) is never chosen but Atom, the default.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const atom[] = {"application/atom+xml", "application/xml", "text/xml"};
static const char *const json[] = {"application/cloudevents-batch+json", "application/json"};
static const char *const html[] = {"text/html"};

/* The weights of the three representations, as fs__negotiate_feed() ranks
 * them. */
static void weights(const char *accept, unsigned w[FS_REPR_COUNT])
{
    w[FS_REPR_ATOM] = fs__accept_weight(accept, atom, 3);
    w[FS_REPR_JSON] = fs__accept_weight(accept, json, 2);
    w[FS_REPR_HTML] = fs__accept_weight(accept, html, 1);
}

static void check_accept(const char *v, char *upper, char *prefixed)
{
    unsigned w[FS_REPR_COUNT], wu[FS_REPR_COUNT], wp[FS_REPR_COUNT], best = 0;
    enum fs__repr r = fs__negotiate_feed(v);
    int want_html = fs__negotiate_html(v);

    weights(v, w);
    weights(upper, wu);
    weights(prefixed, wp);
    for (int i = 0; i < FS_REPR_COUNT; i++) {
        if (w[i] > 1000 || w[i] != wu[i] || w[i] != wp[i])
            abort();
        if (w[i] > best)
            best = w[i];
    }
    if ((unsigned)r >= FS_REPR_COUNT || w[r] != best || (best == 0 && r != FS_REPR_ATOM))
        abort();
    if (r != fs__negotiate_feed(upper) || r != fs__negotiate_feed(prefixed))
        abort();
    if (want_html != fs__negotiate_html(upper) || want_html != fs__negotiate_html(prefixed))
        abort();
}

static void check_prefer(const char *v, char *upper, char *prefixed)
{
    unsigned max = 30, w = 999, wu = 999, wp = 999;
    int found = fs__prefer_wait(v, max, &w);

    if (found && w > max)
        abort();
    if (!found && w != 999)
        abort(); /* untouched when there is no wait */
    if (fs__prefer_wait(upper, max, &wu) != found || (found && wu != w))
        abort();
    if (fs__prefer_wait(prefixed, max, &wp) != found || (found && wp != w))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char accept_prefix[] = "x-fuzz/none;q=0.5, ";
    static const char prefer_prefix[] = "x-fuzz=1, ";
    const char *prefix;
    char *v, *upper, *prefixed;
    size_t n, plen;

    if (size < 1 || size > 4096)
        return 0;
    n = size - 1;
    prefix = data[0] & 1 ? prefer_prefix : accept_prefix;
    plen = strlen(prefix);
    v = malloc(n + 1);
    upper = malloc(n + 1);
    prefixed = malloc(plen + n + 1);
    if (!v || !upper || !prefixed)
        abort();
    memcpy(v, data + 1, n);
    v[n] = '\0';
    for (size_t i = 0; i <= n; i++)
        upper[i] = v[i] >= 'a' && v[i] <= 'z' ? (char)(v[i] - 'a' + 'A') : v[i];
    memcpy(prefixed, prefix, plen);
    memcpy(prefixed + plen, v, n + 1);
    if (data[0] & 1)
        check_prefer(v, upper, prefixed);
    else
        check_accept(v, upper, prefixed);
    free(v);
    free(upper);
    free(prefixed);
    return 0;
}
