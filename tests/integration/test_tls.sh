#!/bin/sh
# TLS between hosts (DESIGN.md sections 4 and 8): Debian's nginx terminates
# TLS in front of Subscriptions' feed with a certificate of a private CA
# made here with openssl. With that CA (--ca-file) a follower follows;
# with another CA, with the system's CAs, or at a host name the
# certificate does not name, it refuses with a clear error and applies
# nothing. A follower that would send its token over plain http to a host
# that is not loopback says so in its log. Product 1 reaches an https
# Cloud API through nginx with its --ca-file, and queues analyses while
# its CA does not match.
. "$(dirname "$0")/lib.sh"

# The whole script ends within 90 s, whatever hangs.
start watchdog sh -c "i=0; while [ \$i -lt 900 ]; do sleep 0.1; i=\$((i + 1)); done
    echo '# watchdog: the test took over 90 s'; kill -TERM $$"

TOKEN=tls-test-token
F=/feeds/subscriptions
P="$T/pki"
mkdir -p "$P"

# ca NAME: a self-signed CA, $P/NAME.pem and its key.
ca() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1 test CA" \
        -keyout "$P/$1.key" -out "$P/$1.pem" 2>/dev/null
}
# cert NAME CA SAN: a server certificate for SAN (such as
# "IP:127.0.0.1,DNS:localhost") signed by CA, $P/NAME.pem and its key.
cert() {
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.csr" \
        2>/dev/null &&
        printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" >"$P/$1.ext" &&
        openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.pem" -CAkey "$P/$2.key" -CAcreateserial \
            -days 2 -extfile "$P/$1.ext" -out "$P/$1.pem" 2>/dev/null
}
ca good && ca other && cert server good "IP:127.0.0.1,DNS:localhost" &&
    cert elsewhere good "DNS:feeds.elsewhere.example"
check "a CA and certificates made with openssl" test -s "$P/server.pem" -a -s "$P/elsewhere.pem"

DB="$T/subs.db"
build/tests/feedgen --db "$DB" --feed subscriptions --count 120 --page-size 50 \
    --type UserAdded >/dev/null || { not_ok "feed made"; finish; }
PO=$(free_port)
start origin bin/subscriptions serve --listen "127.0.0.1:$PO" --db "$DB" --feed-token "$TOKEN"
wait_http "http://127.0.0.1:$PO/healthz" || { not_ok "origin started"; finish; }

# nginx: TLS for the feed, with a certificate for its name and one for
# another name, and for the Cloud API; temporary paths all in $T.
TP=$(free_port)
TP2=$(free_port)
TPC=$(free_port)
PCA=$(free_port)
N="$T/nginx"
start_nginx nginx "$N" <<CONF
    server {
        listen 127.0.0.1:$TP ssl;
        ssl_certificate $P/server.pem;
        ssl_certificate_key $P/server.key;
        location / { proxy_pass http://127.0.0.1:$PO; }
    }
    server {
        listen 127.0.0.1:$TP2 ssl;
        ssl_certificate $P/elsewhere.pem;
        ssl_certificate_key $P/elsewhere.key;
        location / { proxy_pass http://127.0.0.1:$PO; }
    }
    server {
        listen 127.0.0.1:$TPC ssl;
        ssl_certificate $P/server.pem;
        ssl_certificate_key $P/server.key;
        location / { proxy_pass http://127.0.0.1:$PCA; }
    }
CONF
tls_up() { curl -s -o /dev/null --cacert "$P/good.pem" "https://127.0.0.1:$TP/healthz"; }
check "nginx serves TLS with the private CA's certificate" eventually 10 tls_up

head_pos() { sqlite3 "$DB" "SELECT max(position) FROM fs_entries WHERE feed = 'subscriptions'"; }
position() { sqlite3 "$1" 'SELECT position FROM feed_followers' 2>/dev/null || echo 0; }
at_head() { [ "$(position "$1")" = "$(head_pos)" ]; }
applied() { sqlite3 "$1" 'SELECT count(*) FROM replica_keys' 2>/dev/null || echo 0; }

# --- the right CA: follows, and long-polls through the TLS proxy
start follow-good bin/cloud-api follow --db "$T/good.db" --feed "https://127.0.0.1:$TP$F" \
    --token "$TOKEN" --ca-file "$P/good.pem"
check "with the right CA the follower reaches the head over https" eventually 20 at_head "$T/good.db"
build/tests/feedgen --db "$DB" --feed subscriptions --count 1 --type UserAdded >/dev/null
check "and gets a new entry" eventually 10 at_head "$T/good.db"
check "no warning about the token over https" sh -c "! grep -q 'plain http' '$T/follow-good.log'"

# refused NAME URL [args]: a follower that must refuse the server: a clear
# error in its log, nothing applied.
refused() {
    start "follow-$1" bin/cloud-api follow --db "$T/$1.db" --feed "$2" --token "$TOKEN" \
        "$3" "$4"
    check "$1: refused with a clear error" eventually 15 \
        grep -q 'TLS certificate refused' "$T/follow-$1.log"
    stop "follow-$1"
    expect_eq "$1: nothing applied" "0 0" "$(position "$T/$1.db") $(applied "$T/$1.db")"
}
refused wrong-ca "https://127.0.0.1:$TP$F" --ca-file "$P/other.pem"
refused wrong-host "https://127.0.0.1:$TP2$F" --ca-file "$P/good.pem"
# Without --ca-file: the system's CAs, which do not know the private one
# (--db again only fills the two arguments).
refused system-cas "https://127.0.0.1:$TP$F" --db "$T/system-cas.db"
check "the error names the cause" grep -q 'no alternative certificate subject name\|does not match' \
    "$T/follow-wrong-host.log"

# --- a token over plain http to a host that is not loopback: a warning
start follow-plain bin/cloud-api follow --db "$T/plain.db" \
    --feed "http://192.0.2.1:9$F" --token "$TOKEN"
check "a token over plain http to another host is warned about" eventually 10 \
    grep -q 'level=warn.*token is sent over plain http' "$T/follow-plain.log"
stop follow-plain
start follow-loop bin/cloud-api follow --db "$T/loop.db" --feed "http://127.0.0.1:$PO$F" \
    --token "$TOKEN"
check "over loopback it is not" eventually 20 at_head "$T/loop.db"
check "no warning over loopback" sh -c "! grep -q 'plain http' '$T/follow-loop.log'"
stop follow-loop

# --- Product 1's Cloud API client over https: a user of the contract
# samples signs in and runs an analysis through nginx's TLS with the right
# CA; with another CA the analysis waits in the queue.
SAMPLES=tests/samples/subscriptions
EMAIL=ada@example.com
KEY1=kmOH4d1Wx6m9SVZE9mcTz4tagUOh5hn0I0JIxYptLr8   # the sample UserAdded's login key
build/tests/samplefeed --db "$T/samples.db" --feed subscriptions "$SAMPLES/CustomerRegistered.xml" \
    "$SAMPLES/UserAdded.xml" "$SAMPLES/LoginKeyIssued.xml" "$SAMPLES/CreditUpdated.xml" >/dev/null
PS=$(free_port)
start samples build/tests/feedserve --db "$T/samples.db" --listen "127.0.0.1:$PS" --feed subscriptions
SF="http://127.0.0.1:$PS$F"
wait_http "$SF"
start cloud bin/cloud-api serve --listen "127.0.0.1:$PCA" --db "$T/cloud.db" --node tls
start cloud-follow bin/cloud-api follow --db "$T/cloud.db" --feed "$SF"
wait_http "http://127.0.0.1:$PCA/healthz" || not_ok "the Cloud API started"
# product1 NAME CA: Product 1 with its own database, following the samples,
# calling the Cloud API at https://127.0.0.1:$TPC and trusting CA.
product1() {
    _p=$(free_port)
    start "$1" bin/product1 serve --listen "127.0.0.1:$_p" --db "$T/$1.db" \
        --cloud-api "https://127.0.0.1:$TPC" --ca-file "$P/$2.pem" --retry-max 1
    start "$1-follow" bin/product1 follow --db "$T/$1.db" --feed "$SF"
    wait_http "http://127.0.0.1:$_p/healthz" >/dev/null || not_ok "$1 started"
    echo "$_p"
}
signed_in() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -c "$T/jar-$1" --data-urlencode "email=$EMAIL" \
        --data-urlencode "login_key=$KEY1" "http://127.0.0.1:$2/login")" = 303 ]
}
# analyze NAME PORT: the status of an analysis submitted as the signed-in user.
analyze() {
    http POST "http://127.0.0.1:$2/analyses" -b "$T/jar-$1" -H 'Accept: application/json' \
        --data-urlencode 'text=Hello over TLS.'
}
key_known() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY1" -d x \
        "http://127.0.0.1:$PCA/api/v1/analyze")" = 200 ]
}
check "the Cloud API knows the sample key" eventually 15 key_known
PG=$(product1 p1-good good)
check "product1 (right CA): the sample user signs in" eventually 15 signed_in p1-good "$PG"
expect_eq "product1 (right CA): the analysis is done through https" 201 "$(analyze p1-good "$PG")"
expect_eq "... done" done "$(json '$.status')"
PW=$(product1 p1-wrong other)
check "product1 (wrong CA): the sample user signs in" eventually 15 signed_in p1-wrong "$PW"
expect_eq "product1 (wrong CA): the analysis waits in the queue" 202 "$(analyze p1-wrong "$PW")"
check "... and the reason is logged" eventually 10 grep -qi 'certificate' "$T/p1-wrong.log"

finish
