# deploy.sh - what the deployment tests share (test_deploy_nginx.sh,
# test_deploy_varnish.sh, tests/bench/bench_scale.sh): a protected origin,
# the shipped cache configurations rendered with deploy/render.sh and run
# unprivileged-style (temporary folder for pid, logs, cache; in the
# foreground, stopped at exit), and the checks both caches must pass.
# Source it after lib.sh.
#
#   watchdog SECONDS                    ends the script past SECONDS
#   deploy_origin [ENTRIES]             Subscriptions on a free port, with
#                                       ENTRIES (default 1200) UserAdded
#                                       entries and feed token $TOKEN:
#                                       sets ORIGIN, ORIGIN_DB
#   start_nginx_cache / start_varnish_cache
#                                       the shipped config in front of
#                                       $ORIGIN: sets CACHE (base URL), and
#                                       for nginx CACHE_TLS (https) and CA
#   origin_requests                     requests the origin has answered
#   check_no_leak CACHE_URL             no page or head without a token
#   check_pollers NAME SECONDS          50 pollers through $CACHE, origin cost
#   check_followers NAME                followers through $CACHE = direct

# watchdog SECONDS: the whole script gets SECONDS; past that it is ended,
# and the EXIT trap stops everything it started.
watchdog() {
    (
        _wd=0
        while [ $_wd -lt "$1" ] && kill -0 $$ 2>/dev/null; do sleep 1; _wd=$((_wd + 1)); done
        kill -0 $$ 2>/dev/null && echo "not ok - $(basename "$0") took over $1 s" && kill -TERM $$
    ) &
    echo $! >"$PIDS_DIR/watchdog"
}

if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3 || echo python3); fi
TOKEN=feeds-$$-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
FEED=/feeds/subscriptions

deploy_origin() {
    ORIGIN_DB="$T/subscriptions.db"
    HEAD_POS=${1:-1200}
    build/tests/feedgen --db "$ORIGIN_DB" --feed subscriptions --count "$HEAD_POS" \
        --type UserAdded >/dev/null || return 1
    ORIGIN_PORT=$(free_port)
    ORIGIN=http://127.0.0.1:$ORIGIN_PORT
    start origin bin/subscriptions serve --listen "127.0.0.1:$ORIGIN_PORT" --db "$ORIGIN_DB" \
        --feed-token "$TOKEN"
    wait_http "$ORIGIN/healthz"
}

# append N: N more UserAdded entries in the origin's feed (another process
# on the same database, as the origin's own writes would be).
append() {
    HEAD_POS=$((HEAD_POS + $1))
    build/tests/feedgen --db "$ORIGIN_DB" --feed subscriptions --count "$1" --type UserAdded
}

# origin_requests: the origin's feed_http_requests_total (each call adds one).
origin_requests() {
    curl -s --max-time 5 "$ORIGIN/metrics" |
        awk '/^feed_http_requests_total/ { print $2; found = 1 } END { if (!found) print -1 }'
}

# make_tls: a private CA and a certificate for 127.0.0.1 and localhost
# signed by it, in $T/tls (ca.pem, cert.pem, key.pem); a second, unrelated
# CA in other-ca.pem.
make_tls() {
    mkdir -p "$T/tls" && (
        cd "$T/tls" || exit 1
        for ca in ca other-ca; do
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
                -subj "/CN=feeds test $ca" -keyout "$ca-key.pem" -out "$ca.pem" || exit 1
        done
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
            -keyout key.pem -out cert.csr || exit 1
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf
        openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
            -extfile ext.cnf -out cert.pem
    ) >"$T/openssl.log" 2>&1
}

# start_nginx_cache [SUFFIX]: nginx's files in $T/nginxSUFFIX.
start_nginx_cache() {
    N="$T/nginx${1:-}"
    mkdir -p "$N/cache" "$N/tmp" || return 1
    make_tls || { echo "# openssl: $(tail -3 "$T/openssl.log")" >&2; return 1; }
    CACHE_PORT=$(free_port); TLS_PORT=$(free_port)
    CACHE=http://127.0.0.1:$CACHE_PORT
    CACHE_TLS=https://127.0.0.1:$TLS_PORT
    CA="$T/tls/ca.pem"
    FEEDS_NAME=subscriptions FEEDS_ORIGIN=127.0.0.1:$ORIGIN_PORT \
        FEEDS_LISTEN=127.0.0.1:$CACHE_PORT FEEDS_TLS_LISTEN=127.0.0.1:$TLS_PORT \
        FEEDS_SERVER_NAME=localhost FEEDS_TLS_CERT="$T/tls/cert.pem" \
        FEEDS_TLS_KEY="$T/tls/key.pem" FEEDS_CACHE_DIR="$N/cache" FEEDS_CACHE_SIZE=256m \
        FEEDS_ACCESS_LOG="$N/access.log" \
        sh deploy/render.sh deploy/nginx/feeds.conf >"$N/feeds-subscriptions.conf" || return 1
    # The only lines a test adds: where nginx keeps its pid, logs and
    # temporary files, and who its workers run as (the user running the
    # test, so they can write the cache folder).
    cat >"$N/nginx.conf" <<EOF
daemon off;
user $(id -un) $(id -gn);
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 4096; }
http {
    client_body_temp_path $N/tmp/body;
    proxy_temp_path $N/tmp/proxy;
    fastcgi_temp_path $N/tmp/fastcgi;
    uwsgi_temp_path $N/tmp/uwsgi;
    scgi_temp_path $N/tmp/scgi;
    include $N/feeds-subscriptions.conf;
}
EOF
    nginx -t -q -e "$N/error.log" -p "$N" -c "$N/nginx.conf" 2>"$T/nginx-t.log" ||
        { echo "# nginx -t: $(cat "$T/nginx-t.log")" >&2; return 1; }
    start "nginx${1:-}" nginx -e "$N/error.log" -p "$N" -c "$N/nginx.conf"
    wait_http "$CACHE/healthz"
}

start_varnish_cache() {
    V="$T/varnish"
    mkdir -p "$V" || return 1
    CACHE_PORT=$(free_port)
    CACHE=http://127.0.0.1:$CACHE_PORT
    FEEDS_ORIGIN_HOST=127.0.0.1 FEEDS_ORIGIN_PORT=$ORIGIN_PORT \
        sh deploy/render.sh deploy/varnish/feeds.vcl >"$V/feeds.vcl" || return 1
    # -j none: no privilege separation (the test runs as whoever runs it);
    # -n: its working folder in $T; -F: in the foreground.
    start varnish varnishd -F -j none -n "$V/work" -a "127.0.0.1:$CACHE_PORT" \
        -f "$V/feeds.vcl" -s malloc,64m -l 4m
    wait_http "$CACHE/healthz" 30
}

# got_entries FILE: succeeds when FILE holds at least one Atom entry.
got_entries() { grep -q '<entry>' "$1" 2>/dev/null; }

# check_no_leak NAME BASE [CURL_ARGS...]: after the cache has served every
# page and the head to a request with the token (in Atom, HTML and gzip),
# no request without it, with another token, or with a token that differs
# only in case, gets a page's or the head's entries.
check_no_leak() {
    nl=$1; base=$2; shift 2
    leaks=""
    for path in "$FEED/pages/0" "$FEED/pages/1" "$FEED"; do
        for acc in "application/atom+xml" "text/html"; do
            for enc in identity gzip; do
                st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" -H "Accept: $acc" \
                    -H "Accept-Encoding: $enc" -H "Authorization: Bearer $TOKEN" "$base$path")
                [ "$st" = 200 ] || leaks="$leaks [with the token $path $acc $enc: $st]"
                for auth in "" "Authorization: Bearer wrong-$TOKEN" \
                    "Authorization: Bearer $(echo "$TOKEN" | tr a-z A-Z)" "Authorization: Bearer"; do
                    st=$(curl -s -o "$T/leak" -w '%{http_code}' --max-time 10 "$@" \
                        -H "Accept: $acc" -H "Accept-Encoding: $enc" ${auth:+-H "$auth"} "$base$path")
                    if [ "$st" = 200 ] || [ "$st" = 304 ] || got_entries "$T/leak" ||
                        grep -q 'usr_0000' "$T/leak"; then
                        leaks="$leaks [$path $acc $enc '${auth:-no token}': $st]"
                    fi
                done
            done
        done
    done
    expect_eq "$nl: the token-holder gets every page and the head; nothing without a valid token" \
        "" "$leaks"
}

# head_etag BASE: the head's ETag as BASE serves it to the token's holder.
head_etag() {
    curl -s -o /dev/null -D - --max-time 5 -H "Authorization: Bearer $TOKEN" \
        -H 'Accept: application/atom+xml' "$1$FEED" | awk 'tolower($1) == "etag:" { print $2 }' |
        tr -d '\r'
}
head_etag_is_not() { [ "$(head_etag "$1")" != "$2" ] && [ -n "$(head_etag "$1")" ]; }

# check_pollers NAME SECONDS: 50 pollers through $CACHE revalidate the head
# every 100 ms and fetch archive pages 0 and 1 every 2 s, while entries are
# appended at the origin; the origin must see at most 2 requests a second
# plus one per page and representation, and the pollers see every change.
check_pollers() {
    np=$1; secs=$2
    before=$(origin_requests)
    "$PY" tests/tools/cache_pollers.py "$CACHE" "$FEED" --clients 50 --seconds "$secs" \
        --interval 0.1 --token "$TOKEN" --pages 0,1 --page-every 2 >"$T/pollers.out" 2>&1 &
    pollers=$!
    # Halfway, one entry more: the pollers must see it (a new ETag).
    sleep $((secs / 2))
    append 1 >/dev/null
    wait $pollers
    after=$(origin_requests)
    out=$(cat "$T/pollers.out")
    echo "# $np, $secs s: $out; origin requests: $((after - before - 1))"
    get() { printf '%s\n' "$out" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
    reqs=$(get requests); errs=$(get errors); other=$(get other); etags=$(get etags)
    expect_eq "$np: 50 pollers made their requests without errors" "0 0 yes" \
        "$errs $other $([ "${reqs:-0}" -ge $((50 * secs * 2)) ] && echo yes || echo "no ($reqs)")"
    expect_eq "$np: the pollers saw the appended entry (two head ETags)" 2 "$etags"
    # The origin: the head at most twice a second, two pages, and the scrape.
    bound=$((2 * secs + 2))
    cost=$((after - before - 1))
    if [ "$cost" -ge 0 ] && [ "$cost" -le $bound ]; then
        ok "$np: $reqs client requests in $secs s cost the origin $cost (at most $bound)"
    else
        not_ok "$np: $reqs client requests in $secs s cost the origin $cost (at most $bound)"
    fi
}

# follow_db NAME URL [ARGS...]: starts a Cloud API follower of URL into
# $T/NAME.db with the token.
follow_db() {
    fname=$1; furl=$2; shift 2
    start "$fname" bin/cloud-api follow --db "$T/$fname.db" --feed "$furl" --token "$TOKEN" "$@"
}
position_of() { sqlite3 "$T/$1.db" 'select max(position) from feed_followers' 2>/dev/null; }
position_is() { [ "$(position_of "$1")" = "$2" ]; }
replica_of() {
    sqlite3 "$T/$1.db" "select * from replica_keys order by 1, 2" 2>/dev/null | md5sum
}

# check_followers NAME: a follower straight at the origin, one through
# $CACHE long-polling, one through $CACHE with --poll-interval 1 and, when
# $CACHE_TLS is set, one long-polling over https with --ca-file $CA end at
# the same position with the same replica rows, before and after more
# entries are appended.
check_followers() {
    cf=$1
    head=$HEAD_POS
    follow_db "$cf-direct" "$ORIGIN$FEED"
    follow_db "$cf-longpoll" "$CACHE$FEED"
    follow_db "$cf-poll" "$CACHE$FEED" --poll-interval 1
    kinds="direct longpoll poll"
    if [ -n "${CACHE_TLS:-}" ]; then
        # Over https, trusting the private CA.
        follow_db "$cf-https" "$CACHE_TLS$FEED" --ca-file "$CA"
        kinds="$kinds https"
    fi
    for f in $kinds; do
        eventually 30 position_is "$cf-$f" "$head" ||
            not_ok "$cf: the $f follower reached $head" "it is at $(position_of "$cf-$f")"
    done
    append 25 >/dev/null
    head=$HEAD_POS
    for f in $kinds; do
        check "$cf: the $f follower follows to $head" eventually 15 position_is "$cf-$f" "$head"
    done
    direct=$(replica_of "$cf-direct")
    for f in $kinds; do
        [ "$f" != direct ] || continue
        expect_eq "$cf: the $f follower has the direct one's replica rows" \
            "$direct" "$(replica_of "$cf-$f")"
    done
    rows=$(sqlite3 "$T/$cf-direct.db" 'select count(*) from replica_keys' 2>/dev/null)
    expect_eq "$cf: the replica holds the feed's 1,200 keys" yes \
        "$([ "${rows:-0}" -ge 1200 ] && echo yes || echo "no ($rows)")"
    if grep -q "long-poll not honoured" "$T/$cf-longpoll.log"; then
        not_ok "$cf: the long-polling follower's waits are honoured through the cache" \
            "$(grep "long-poll not honoured" "$T/$cf-longpoll.log" | head -1)"
    else
        ok "$cf: the long-polling follower's waits are honoured through the cache"
    fi
    for f in $kinds; do stop "$cf-$f"; done
}

# origin_metric NAME: a counter of the origin's /metrics.
origin_metric() {
    curl -s --max-time 5 "$ORIGIN/metrics" |
        awk -v m="$1" '$1 ~ "^" m "[{ ]" || $1 == m { print $2; found = 1 } END { if (!found) print -1 }'
}

# origin_cost CMD...: runs CMD (a request through the cache) and prints how
# many requests it cost the origin (the scrape itself not counted).
origin_cost() {
    _oc0=$(origin_requests)
    "$@" >/dev/null 2>&1
    echo $(($(origin_requests) - _oc0 - 1))
}
with_token() {
    curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TOKEN" \
        -H 'Accept: application/atom+xml' "$@"
}
without_token() { curl -s -o /dev/null --max-time 10 -H 'Accept: application/atom+xml' "$@"; }

head_costs_nothing() {
    [ "$(origin_cost with_token -H "If-None-Match: $1" "$CACHE$FEED")" = 0 ]
}

# check_cache_rules NAME: what the cache keeps, revalidates and passes,
# counted at the origin.
check_cache_rules() {
    cr=$1
    with_token "$CACHE$FEED/pages/1"
    expect_eq "$cr: an archive page, once fetched, is served by the cache (origin requests)" 0 \
        "$(origin_cost with_token "$CACHE$FEED/pages/1")"
    etag=$(head_etag "$CACHE")
    st=$(with_token -w '%{http_code}' -H "If-None-Match: $etag" "$CACHE$FEED")
    expect_eq "$cr: the head with its ETag in If-None-Match is 304" 304 "$st"
    # (Retried: the copy that answered may have expired just then.)
    check "$cr: within its second the head costs the origin nothing" \
        eventually 5 head_costs_nothing "$etag"
    sleep 2.2 # past the head's 1 s of validity (nginx counts whole seconds)
    nm0=$(origin_metric feed_http_not_modified_total)
    cost=$(origin_cost with_token -H "If-None-Match: $etag" "$CACHE$FEED")
    nm1=$(origin_metric feed_http_not_modified_total)
    expect_eq "$cr: after 1 s the head is revalidated at the origin with If-None-Match (one 304)" \
        "1 1" "$cost $((nm1 - nm0))"
    expect_eq "$cr: a page not full yet is 404" 404 \
        "$(with_token -w '%{http_code}' "$CACHE$FEED/pages/3")"
    expect_eq "$cr: and is not kept (asked again, the origin answers)" 1 \
        "$(origin_cost with_token "$CACHE$FEED/pages/3")"
    expect_eq "$cr: a request without the token is 401" 401 \
        "$(without_token -w '%{http_code}' "$CACHE$FEED/pages/1")"
    expect_eq "$cr: and the 401 is not kept" 1 "$(origin_cost without_token "$CACHE$FEED/pages/1")"

    # gzip and identity are kept apart, each with the origin's own ETag.
    for enc in gzip identity; do
        for where in "$ORIGIN" "$CACHE" "$CACHE"; do
            curl -s --max-time 10 -D "$T/h-$enc" -o "$T/b-$enc" -H "Authorization: Bearer $TOKEN" \
                -H 'Accept: application/atom+xml' -H "Accept-Encoding: $enc" "$where$FEED/pages/0"
            printf '%s %s|' "$(awk 'tolower($1) == "etag:" { print $2 }' "$T/h-$enc" | tr -d '\r')" \
                "$(awk 'tolower($1) == "content-encoding:" { print $2 }' "$T/h-$enc" | tr -d '\r')"
        done >"$T/enc-$enc"
        if [ "$enc" = gzip ]; then gzip -dc "$T/b-$enc" >"$T/b-plain" 2>/dev/null; else cp "$T/b-$enc" "$T/b-plain"; fi
        got_entries "$T/b-plain" || echo "(body not an Atom page)" >>"$T/enc-$enc"
    done
    g=$(cat "$T/enc-gzip"); i=$(cat "$T/enc-identity")
    g1=${g%%|*}; i1=${i%%|*}
    expect_eq "$cr: gzip through the cache: the origin's gzip ETag, encoded, a page inside" \
        "$g1|$g1|$g1|" "$g"
    expect_eq "$cr: identity through the cache: the origin's identity ETag, not encoded" \
        "$i1|$i1|$i1|" "$i"
    check "$cr: gzip and identity have different ETags; gzip is encoded" \
        [ "${g1% *}" != "${i1% *}" ] && [ "${g1#* }" = gzip ] && [ "${i1#* }" = "" ]

    # Long-polls go to the origin and are held there.
    etag=$(head_etag "$CACHE")
    t0=$(date +%s%N)
    st=$(with_token -w '%{http_code}' -H "If-None-Match: $etag" -H 'Prefer: wait=2' "$CACHE$FEED")
    held=$((($(date +%s%N) - t0) / 1000000))
    expect_eq "$cr: a long-poll through the cache is held at the origin (304 after ~2 s)" \
        "304 yes" "$st $([ $held -ge 1500 ] && echo yes || echo "no ($held ms)")"
    (sleep 1; append 1 >/dev/null) &
    appender=$!
    t0=$(date +%s%N)
    st=$(with_token -w '%{http_code}' -H "If-None-Match: $etag" -H 'Prefer: wait=8' "$CACHE$FEED")
    held=$((($(date +%s%N) - t0) / 1000000))
    wait $appender
    HEAD_POS=$((HEAD_POS + 1))
    expect_eq "$cr: and answered 200 as soon as an entry is committed" "200 yes" \
        "$st $([ $held -lt 4000 ] && echo yes || echo "no ($held ms)")"
}
