#!/bin/sh
# A feed written by hand and served as static files by a plain web server
# (python3 -m http.server: no ETag, no long-poll, archive pages at URLs of
# its own choosing, no f:pageSize or f:head) is followed by the real
# follower (build/tests/feedfollow): it walks the links, skips the entry
# type it does not know, refuses a document whose link leaves the server,
# and picks up entries added to the head.
. "$(dirname "$0")/lib.sh"

# The whole script ends within 60 s, whatever hangs.
start watchdog sh -c "i=0; while [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
    echo '# watchdog: the test took over 60 s'; kill -TERM $$"

PORT=$(free_port)
W="$T/www"
mkdir -p "$W/archive"
NS='xmlns="http://www.w3.org/2005/Atom" xmlns:fh="http://purl.org/syndication/history/1.0" xmlns:f="urn:x-feed-integration:1"'

# entry N [TYPE]: an entry at position N (type Thing unless given).
entry() {
    printf '<entry><id>urn:uuid:static-%s</id><title>%s</title><f:position>%s</f:position>' \
        "$1" "${2:-Thing}" "$1"
    printf '<content type="application/xml"><%s version="1"><n>%s</n><colour>red</colour></%s>' \
        "${2:-Thing}" "$1" "${2:-Thing}"
    printf '</content><summary>made by hand</summary></entry>\n'
}

# head PREV_HREF ENTRIES...: writes the head document (atomically).
head_doc() {
    prev=$1; shift
    {
        printf '<?xml version="1.0"?>\n<feed %s>\n<id>urn:example:static</id><title>static</title>\n' "$NS"
        printf '<link rel="self" href="feed.atom"/><link rel="current" href="/feed.atom"/>\n'
        printf '<link rel="prev-archive" href="%s"/>\n' "$prev"
        for n in "$@"; do entry "$n"; done
        printf '</feed>\n'
    } >"$W/feed.atom.new" && mv "$W/feed.atom.new" "$W/feed.atom"
}

{
    printf '<?xml version="1.0"?>\n<feed %s>\n<id>urn:example:static</id><fh:archive/>\n' "$NS"
    printf '<link rel="next-archive" href="november-b.xml"/><link rel="current" href="../feed.atom"/>\n'
    entry 1; entry 2
    printf '</feed>\n'
} >"$W/archive/november-a.xml"
{
    printf '<?xml version="1.0"?>\n<feed %s>\n<id>urn:example:static</id><fh:archive/>\n' "$NS"
    printf '<link rel="prev-archive" href="/archive/november-a.xml"/>\n'
    printf '<link rel="next-archive" href="http://127.0.0.1:%s/feed.atom"/>\n' "$PORT"
    entry 3 Unheard; entry 4
    printf '</feed>\n'
} >"$W/archive/november-b.xml"
head_doc archive/november-b.xml 5 6

start web python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$W"
wait_http "http://127.0.0.1:$PORT/feed.atom" || { not_ok "python3 http.server answers"; finish; }
start follow build/tests/feedfollow --db "$T/cons.db" --feed "http://127.0.0.1:$PORT/feed.atom" --type Thing

position() { sqlite3 "$T/cons.db" "SELECT position FROM feed_followers" 2>/dev/null; }
at() { [ "$(position)" = "$1" ]; }
check "the follower walks the hand-written feed to its head" eventually 10 at 6
expect_eq "every Thing applied once, in order" "5|5|6" \
    "$(sqlite3 "$T/cons.db" "SELECT count(*), count(DISTINCT id), max(pos) FROM applied")"
expect_eq "the unknown type is skipped and counted" "0|1" \
    "$(sqlite3 "$T/cons.db" "SELECT (SELECT count(*) FROM applied WHERE pos = 3), skipped FROM feed_followers")"
expect_eq "its state belongs to the feed's id" "urn:example:static" \
    "$(sqlite3 "$T/cons.db" "SELECT feed_id FROM feed_followers")"

head_doc archive/november-b.xml 5 6 7
check "an entry added to the head is applied" eventually 10 at 7

head_doc "http://localhost:$PORT/archive/november-b.xml" 5 6 7 8
refused() { grep -q 'prev-archive link .*leaves' "$T/follow.log"; }
check "a head whose link leaves the server is refused" eventually 10 refused
expect_eq "... and nothing of it is applied" 7 "$(position)"
check "... and the follower goes on" kill -0 "$(pid_of follow)"
head_doc archive/november-b.xml 5 6 7 8
check "once the link is fixed, the entry is applied" eventually 10 at 8
expect_eq "nothing was applied twice" "7|7" \
    "$(sqlite3 "$T/cons.db" "SELECT count(*), count(DISTINCT id) FROM applied")"
finish
