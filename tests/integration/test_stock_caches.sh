#!/bin/sh
# Stock HTTP caches in front of Subscriptions' feed, with nothing but their
# defaults (DESIGN.md section 5, "Caches"; issue 11): Debian's nginx with a
# plain proxy_pass + proxy_cache, and varnishd with its built-in VCL, each
# in front of a protected origin (--feed-token) and of an open one.
#
#  - a page fetched with the token is never served to a request without it
#    or with a wrong one;
#  - the head is never kept past its max-age of 1 s (nginx counts it in
#    whole seconds of its clock, so a copy stored late in one second lives
#    to the end of the next: under 2 s), and a protected head is not
#    stored at all;
#  - a 404 for a page that is not full yet is not kept;
#  - a follower through each cache, in its default long-poll mode, does not
#    spin (requests counted at the origin) and ends in the same state as a
#    direct one.
. "$(dirname "$0")/lib.sh"

# The whole script ends within 150 s, whatever hangs.
start watchdog sh -c "i=0; while [ \$i -lt 1500 ]; do sleep 0.1; i=\$((i + 1)); done
    echo '# watchdog: the test took over 150 s'; kill -TERM $$"

VARNISHD=$(command -v varnishd || echo /usr/sbin/varnishd)
TOKEN=cache-test-token
DB="$T/subs.db"
build/tests/feedgen --db "$DB" --feed subscriptions --count 1200 --page-size 500 \
    --type UserAdded >/dev/null || { not_ok "feed made"; finish; }

# origin NAME [TOKEN]: Subscriptions serving $DB; prints its port.
origin() {
    _p=$(free_port)
    if [ -n "${2:-}" ]; then
        start "$1" bin/subscriptions serve --listen "127.0.0.1:$_p" --db "$DB" --feed-token "$2"
    else
        start "$1" bin/subscriptions serve --listen "127.0.0.1:$_p" --db "$DB"
    fi
    echo "$_p"
}
PA=$(origin origin-protected "$TOKEN")   # protected
PB=$(origin origin-open)                 # open (loopback clients only)
PC=$(origin origin-direct)               # the direct follower's own origin
for p in $PA $PB $PC; do
    wait_http "http://127.0.0.1:$p/healthz" || { not_ok "origins started"; finish; }
done

# nginx_cache NAME ORIGIN_PORT: a stock nginx proxy_cache; prints its port.
# Only paths of its own (pid, logs, temp files) are added to the plain
# proxy_pass + proxy_cache.
nginx_cache() {
    _p=$(free_port)
    _d="$T/$1"
    start_nginx "$1" "$_d" <<CONF
    proxy_cache_path $_d/cache keys_zone=feeds:1m;
    server {
        listen 127.0.0.1:$_p;
        location / {
            proxy_pass http://127.0.0.1:$2;
            proxy_cache feeds;
        }
    }
CONF
    echo "$_p"
}

# varnish_cache NAME ORIGIN_PORT: varnishd with its built-in VCL; prints
# its port.
varnish_cache() {
    _p=$(free_port)
    mkdir -p "$T/$1"
    start "$1" "$VARNISHD" -F -a "127.0.0.1:$_p" -b "127.0.0.1:$2" -n "$T/$1" -s malloc,16m
    echo "$_p"
}

NA=$(nginx_cache nginx-protected "$PA")
VA=$(varnish_cache varnish-protected "$PA")
NB=$(nginx_cache nginx-open "$PB")
VB=$(varnish_cache varnish-open "$PB")
for p in $NA $VA $NB $VB; do
    wait_http "http://127.0.0.1:$p/healthz" 20 || { not_ok "caches started"; finish; }
done

AUTH="Authorization: Bearer $TOKEN"
F=/feeds/subscriptions

# requests PORT: the feed requests an origin has answered so far.
requests() {
    curl -s "http://127.0.0.1:$1/metrics" | sed -n 's/^feed_http_requests_total{[^}]*} //p'
}
# not_modified PORT: its 304s so far.
not_modified() {
    curl -s "http://127.0.0.1:$1/metrics" | sed -n 's/^feed_http_not_modified_total{[^}]*} //p'
}
# etag URL [curl args]: the ETag of a GET.
etag() {
    _u=$1; shift
    curl -s -o /dev/null -D - --max-time 10 "$@" "$_u" | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' | tr -d '\r'
}
# append N: N more entries at the origins' database.
append() { build/tests/feedgen --db "$DB" --feed subscriptions --count "$1" --type UserAdded; }
# doc_of ETAG: the document an ETag names, without its content coding and
# weakness (Varnish stores gzip and inflates it for clients that do not
# take it, under a weak ETag: the same document in other bytes).
doc_of() { printf '%s\n' "$1" | sed -E 's/^W\///; s/-(id|gz)"$/"/'; }
# head_is PORT ETAG [curl args]: whether the head there is the document
# that ETag names.
head_is() {
    _p=$1; _e=$2; shift 2
    [ "$(doc_of "$(etag "http://127.0.0.1:$_p$F" "$@")")" = "$(doc_of "$_e")" ]
}

# --- a protected page never reaches a request without a valid token
for c in "nginx $NA" "varnish $VA"; do
    set -- $c
    U="http://127.0.0.1:$2$F/pages/0"
    expect_eq "$1: page 0 with the token" 200 "$(http GET "$U" -H "$AUTH")"
    check "$1: page 0 is private" sh -c "grep -qi '^Cache-Control: private' '$T/headers'"
    expect_eq "$1: page 0 with the token again" 200 "$(http GET "$U" -H "$AUTH")"
    expect_eq "$1: page 0 without a token" 401 "$(http GET "$U")"
    check "$1: no entry in the answer without a token" sh -c "! grep -q '<entry' '$T/body'"
    expect_eq "$1: page 0 with a wrong token" 401 "$(http GET "$U" -H 'Authorization: Bearer nope')"
    check "$1: no entry in the answer with a wrong token" sh -c "! grep -q '<entry' '$T/body'"
    expect_eq "$1: the head without a token" 401 "$(http GET "http://127.0.0.1:$2$F")"
    expect_eq "$1: the head with a wrong token" 401 \
        "$(http GET "http://127.0.0.1:$2$F" -H 'Authorization: Bearer nope')"
done

# --- an open feed's archive page is served from the cache
for c in "nginx $NB" "varnish $VB"; do
    set -- $c
    http GET "http://127.0.0.1:$2$F/pages/0" >/dev/null
    r0=$(requests "$PB")
    expect_eq "$1: open page 0" 200 "$(http GET "http://127.0.0.1:$2$F/pages/0")"
    r1=$(requests "$PB")
    # One request more: the metrics call itself.
    expect_eq "$1: open page 0 again comes from the cache" 1 "$((r1 - r0))"
done

# --- the head: revalidated, never older than 1 s, a protected one not kept
E0=$(etag "http://127.0.0.1:$PB$F")
for c in "nginx $NB" "varnish $VB"; do
    set -- $c
    check "$1: open head through the cache" head_is "$2" "$E0"
    expect_eq "$1: its ETag answers 304 through the cache" 304 \
        "$(http GET "http://127.0.0.1:$2$F" -H "If-None-Match: $(etag "http://127.0.0.1:$2$F")")"
done
for c in "nginx $NA" "varnish $VA"; do
    set -- $c
    etag "http://127.0.0.1:$2$F" -H "$AUTH" >/dev/null
done
m0=$(not_modified "$PA")
http GET "http://127.0.0.1:$VA$F" -H "$AUTH" -H "If-None-Match: $(etag "http://127.0.0.1:$PA$F" -H "$AUTH")" >/dev/null
expect_eq "varnish: the protected head is revalidated at the origin with If-None-Match" 1 \
    "$(($(not_modified "$PA") - m0))"
append 1 >/dev/null
E1=$(etag "http://127.0.0.1:$PB$F")
check "the origin has a new head" test "$E1" != "$E0"
for c in "nginx $NA" "varnish $VA"; do
    set -- $c
    check "$1: the protected head is not kept (new at once)" \
        head_is "$2" "$(etag "http://127.0.0.1:$PA$F" -H "$AUTH")" -H "$AUTH"
done
# The open head was stored before the append; its max-age is 1 s, which
# nginx's whole-second clock stretches to under 2 s, so each cache must
# serve the new one within 3 s (a cache that kept it longer fails here).
for c in "nginx $NB" "varnish $VB"; do
    set -- $c
    check "$1: the open head is not kept past its max-age" eventually 3 head_is "$2" "$E1"
done

# --- a page that is not full yet: 404, no-store, not kept
# page2 NAME PORT: GET page 2 through a cache, with the token for a
# protected one only (Varnish passes any request with Authorization by,
# storing nothing, which would prove nothing for the open feed).
page2() {
    case $1 in
    *-protected) http GET "http://127.0.0.1:$2$F/pages/2" -H "$AUTH" ;;
    *) http GET "http://127.0.0.1:$2$F/pages/2" ;;
    esac
}
for c in "nginx-protected $NA" "varnish-protected $VA" "nginx-open $NB" "varnish-open $VB"; do
    set -- $c
    expect_eq "$1: page 2 is not full yet" 404 "$(page2 "$1" "$2")"
    expect_eq "$1: its 404 is no-store" no-store "$(header Cache-Control)"
done
append 300 >/dev/null
check "page 2 full at the origin" eventually 5 sh -c \
    "curl -sf -o /dev/null -H '$AUTH' 'http://127.0.0.1:$PA$F/pages/2'"
for c in "nginx-protected $NA" "varnish-protected $VA" "nginx-open $NB" "varnish-open $VB"; do
    set -- $c
    expect_eq "$1: the 404 was not kept" 200 "$(page2 "$1" "$2")"
done

# --- followers through each cache in long-poll mode: no spin, same state
# state DB: what a follower of the feed has made of it.
state() {
    sqlite3 "$1" "SELECT position, last_id FROM feed_followers;
                  SELECT count(*), coalesce(sum(length(key_sha256)), 0) FROM replica_keys;" 2>/dev/null
}
# head_pos: the feed's head position (every origin serves the same database).
head_pos() { sqlite3 "$DB" "SELECT max(position) FROM fs_entries WHERE feed = 'subscriptions'"; }
at_head() { [ "$(sqlite3 "$1" 'SELECT position FROM feed_followers' 2>/dev/null)" = "$(head_pos)" ]; }

start follow-direct bin/cloud-api follow --db "$T/direct.db" --feed "http://127.0.0.1:$PC$F"
check "the direct follower reaches the head" eventually 30 at_head "$T/direct.db"

for c in "nginx-protected $NA $PA" "varnish-protected $VA $PA" "nginx-open $NB $PB" \
    "varnish-open $VB $PB"; do
    set -- $c
    cn=$1
    if [ "$3" = "$PA" ]; then
        start "follow-$cn" bin/cloud-api follow --db "$T/$cn.db" \
            --feed "http://127.0.0.1:$2$F" --token "$TOKEN"
    else
        start "follow-$cn" bin/cloud-api follow --db "$T/$cn.db" --feed "http://127.0.0.1:$2$F"
    fi
    check "$cn: the follower reaches the head" eventually 30 at_head "$T/$cn.db"
    # Idle now: count what reaches the origin in 3 s (a measuring window).
    r0=$(requests "$3")
    sleep 3
    r1=$(requests "$3")
    n=$((r1 - r0 - 1))
    if [ "$n" -le 5 ]; then
        ok "$cn: an idle follower costs the origin at most ~1 request a second ($n in 3 s)"
    else
        not_ok "$cn: an idle follower costs the origin at most ~1 request a second" "$n in 3 s"
    fi
    append 1 >/dev/null
    check "$cn: the follower gets a new entry" eventually 10 at_head "$T/$cn.db"
    check "$cn: the direct follower too" eventually 10 at_head "$T/direct.db"
    stop "follow-$cn"
    expect_eq "$cn: the same state as the direct follower" "$(state "$T/direct.db")" \
        "$(state "$T/$cn.db")"
done
check "followers through caches log the switch to polling" \
    grep -q 'long-poll not honoured' "$T/follow-nginx-open.log"
check "no follower logged an error" sh -c "! grep -h 'level=error' '$T'/follow-*.log"

finish
