#!/usr/bin/env python3
"""feed_walk.py - read a whole feed the way a consumer in another language would.

    feed_walk.py [--walk json|atom|both] [--token TOKEN] HEAD_URL

Walks the feed whose head ("current") document is at HEAD_URL, with
Python's standard library only:

  json: asks for application/cloudevents-batch+json and pages by the RFC 8288
        Link headers: from the head along prev-archive back to the first page,
        then forward along next-archive, and from a page that is not full yet
        (404) to current, the head, as DESIGN.md section 5 says;
  atom: asks for application/atom+xml and pages the same way by the
        documents' <link> elements (RFC 5005).

Prints one line per entry, in the order read:
    position <TAB> id <TAB> type <TAB> version <TAB> time <TAB> data
data being the entry's fields as JSON with sorted keys. With --walk both
(the default) it prints "# json" and "# atom" sections and a last line saying
whether the two walks agree; it exits 3 if they do not, 1 on any error
(HTTP, a malformed document, a link to another origin, entries out of
order).
"""

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_NS = "urn:x-feed-integration:1"
JSON_TYPE = "application/cloudevents-batch+json"
ATOM_TYPE = "application/atom+xml"
MAX_BYTES = 64 << 20  # a document larger than this is refused
MAX_DOCUMENTS = 100000  # a walk longer than this is a loop


class WalkError(Exception):
    pass


class NotFound(WalkError):
    pass


def fetch(url, accept, token):
    """GETs url; returns (headers, body bytes). Raises NotFound on 404."""
    headers = {"Accept": accept}
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read(MAX_BYTES + 1)
            if len(body) > MAX_BYTES:
                raise WalkError("%s: larger than %d bytes" % (url, MAX_BYTES))
            return resp.headers, body
    except urllib.error.HTTPError as e:
        if e.code == 404:
            raise NotFound(url) from None
        raise WalkError("%s: HTTP %d %s" % (url, e.code, e.reason)) from None
    except urllib.error.URLError as e:
        raise WalkError("%s: %s" % (url, e.reason)) from None


def same_origin(base, url):
    a, b = urllib.parse.urlsplit(base), urllib.parse.urlsplit(url)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def resolve(base, href):
    """href resolved against base, refused when it leaves base's origin."""
    url = urllib.parse.urljoin(base, href)
    if not same_origin(base, url):
        raise WalkError("%s links to another origin: %s" % (base, url))
    return url


def split_outside_quotes(text, sep):
    """Splits text at sep, except inside <...> and quoted strings."""
    parts, cur, quoted, angle = [], [], False, False
    i = 0
    while i < len(text):
        c = text[i]
        if quoted and c == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if c == '"' and not angle:
            quoted = not quoted
        elif c == "<" and not quoted:
            angle = True
        elif c == ">" and not quoted:
            angle = False
        if c == sep and not quoted and not angle:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def parse_link_header(values, base):
    """RFC 8288 Link header values -> {rel: absolute url}; the first wins."""
    links = {}
    for value in values:
        for link in split_outside_quotes(value, ","):
            link = link.strip()
            if not link.startswith("<") or ">" not in link:
                continue
            href, params = link[1 : link.index(">")], link[link.index(">") + 1 :]
            for param in split_outside_quotes(params, ";"):
                name, _, val = param.strip().partition("=")
                if name.strip().lower() != "rel":
                    continue
                val = val.strip()
                if val.startswith('"') and val.endswith('"') and len(val) >= 2:
                    val = val[1:-1]
                # rel may hold several relation types separated by spaces
                for rel in val.lower().split():
                    links.setdefault(rel, resolve(base, href))
    return links


def json_document(url, token):
    """One CloudEvents batch: (entries, links)."""
    headers, body = fetch(url, JSON_TYPE, token)
    ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
    if ctype != JSON_TYPE:
        raise WalkError("%s: Content-Type %s, not %s" % (url, ctype, JSON_TYPE))
    try:
        batch = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise WalkError("%s: not JSON: %s" % (url, e)) from None
    if not isinstance(batch, list):
        raise WalkError("%s: a batch is a JSON array" % url)
    entries = []
    for ev in batch:
        if not isinstance(ev, dict) or ev.get("specversion") != "1.0":
            raise WalkError("%s: not a CloudEvents 1.0 event: %r" % (url, ev))
        what = "%s: event %s" % (url, ev.get("id"))
        if ev.get("datacontenttype") != "application/json":
            raise WalkError(what + ": datacontenttype is not application/json")
        data = ev.get("data")
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise WalkError(what + ": data is not an object of strings")
        for attr in ("position", "eventversion"):
            if not isinstance(ev.get(attr), int) or isinstance(ev.get(attr), bool):
                raise WalkError(what + ": %s is not an integer" % attr)
        entries.append(
            {
                "position": ev["position"],
                "id": ev["id"],
                "type": ev["type"],
                "version": ev["eventversion"],
                "time": ev["time"],
                "data": data,
            }
        )
    return entries, parse_link_header(headers.get_all("Link") or [], url)


def atom_document(url, token):
    """One Atom document: (entries, links from its <link> elements)."""
    _, body = fetch(url, ATOM_TYPE, token)
    try:
        feed = ET.fromstring(body)
    except ET.ParseError as e:
        raise WalkError("%s: not XML: %s" % (url, e)) from None
    if feed.tag != "{%s}feed" % ATOM_NS:
        raise WalkError("%s: not an Atom feed" % url)
    links = {}
    for link in feed.findall("{%s}link" % ATOM_NS):
        rel, href = link.get("rel", "alternate"), link.get("href")
        if href is not None:
            links.setdefault(rel, resolve(url, href))
    entries = []
    for entry in feed.findall("{%s}entry" % ATOM_NS):
        category = entry.find("{%s}category" % ATOM_NS)
        title = entry.findtext("{%s}title" % ATOM_NS)
        content = entry.find("{%s}content" % ATOM_NS)
        payload = content[0] if content is not None and len(content) else None
        position = entry.findtext("{%s}position" % FEED_NS)
        if payload is None or position is None or not position.strip().isdigit():
            raise WalkError("%s: an entry without payload or position" % url)
        entries.append(
            {
                "position": int(position),
                "id": entry.findtext("{%s}id" % ATOM_NS),
                "type": category.get("term") if category is not None else title,
                "version": int(payload.get("version", "1")),
                "time": entry.findtext("{%s}updated" % ATOM_NS),
                "data": {field.tag: field.text or "" for field in payload},
            }
        )
    return entries, links


def walk(head_url, document, token):
    """Every entry of the feed, oldest first, read with document()."""
    pages = {}  # archive pages fetched going back; full pages never change
    url, (entries, links) = head_url, document(head_url, token)
    first = head_url
    while "prev-archive" in links:
        first = links["prev-archive"]
        if first in pages or len(pages) > MAX_DOCUMENTS:
            raise WalkError("prev-archive links loop at %s" % first)
        entries, links = pages[first] = document(first, token)
    out, url, seen = [], first, 0
    while True:
        seen += 1
        if seen > MAX_DOCUMENTS:
            raise WalkError("next-archive links loop at %s" % url)
        try:
            # The head is read again at the end: it may have grown.
            if url in pages and url != head_url:
                entries, links = pages.pop(url)
            else:
                entries, links = document(url, token)
        except NotFound:
            # The page being filled: its entries so far are in the head.
            if url == head_url:
                raise WalkError("%s: 404" % url) from None
            url = head_url
            continue
        out.extend(entries)
        if "next-archive" not in links:
            break
        url = links["next-archive"]
    for a, b in zip(out, out[1:]):
        if b["position"] != a["position"] + 1:
            raise WalkError("positions out of order: %d then %d" % (a["position"], b["position"]))
    return out


def line(e):
    return "\t".join(
        [
            str(e["position"]),
            e["id"],
            e["type"],
            str(e["version"]),
            e["time"],
            json.dumps(e["data"], sort_keys=True, ensure_ascii=False),
        ]
    )


def main():
    ap = argparse.ArgumentParser(description="Walk a feed as CloudEvents JSON and as Atom.")
    ap.add_argument("--walk", choices=("json", "atom", "both"), default="both")
    ap.add_argument("--token", help="Bearer token for a protected feed")
    ap.add_argument("head_url")
    args = ap.parse_args()
    walks = {}
    try:
        for name, document in (("json", json_document), ("atom", atom_document)):
            if args.walk in (name, "both"):
                walks[name] = [line(e) for e in walk(args.head_url, document, args.token)]
    except WalkError as e:
        print("feed_walk: %s" % e, file=sys.stderr)
        return 1
    if args.walk != "both":
        for text in walks[args.walk]:
            print(text)
        return 0
    for name in ("json", "atom"):
        print("# %s: %d entries" % (name, len(walks[name])))
        for text in walks[name]:
            print(text)
    if walks["json"] != walks["atom"]:
        print("# the walks differ")
        return 3
    print("# the walks agree: %d entries" % len(walks["json"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
