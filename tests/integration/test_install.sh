#!/bin/sh
# make install PREFIX=DIR (issue 14 point 12): the programs, web/, each
# subcommand's --help and the systemd units land under DIR; the installed
# programs, run from another folder, serve, follow and find their pages;
# --web-dir points them elsewhere; the units pass `systemd-analyze verify`.
. "$(dirname "$0")/lib.sh"

P=$T/prefix
# -o all: the tree is built already (make test did); never rebuild it here,
# with other flags, under the feet of other tests.
make -s -o all install PREFIX="$P" >"$T/install.log" 2>&1
expect_eq "make install PREFIX=DIR exits 0" 0 $?
for f in bin/subscriptions bin/cloud-api bin/product1 share/feed-contexts/web/layout.html \
    share/feed-contexts/web/static/style.css share/doc/feed-contexts/cloud-api-serve.txt \
    share/doc/feed-contexts/subscriptions-close-month.txt share/feed-contexts/systemd/cloud-api@.service; do
    check "installed: $f" test -s "$P/$f"
done
check "the installed help is the program's --help" \
    grep -q '^usage: bin/product1 follow' "$P/share/doc/feed-contexts/product1-follow.txt"
check "the installed units name the installed programs" \
    grep -q "ExecStart=$P/bin/cloud-api serve" "$P/share/feed-contexts/systemd/cloud-api@.service"
make -s -o all install PREFIX=relative/dir >/dev/null 2>&1
expect_eq "make install with a relative PREFIX exits 2" 2 $?

# The installed programs, run from a folder with no web/ in it.
mkdir -p "$T/elsewhere" && cd "$T/elsewhere" || exit 2
SP=$(free_port); CP=$(free_port)
TOKEN=install-test-token-$$
ADMIN=install-test-admin-token-0123456789abcdef
start sub "$P/bin/subscriptions" serve --listen "127.0.0.1:$SP" --db "$T/s.db" --feed-token "$TOKEN" --admin-token "$ADMIN"
start api "$P/bin/cloud-api" serve --listen "127.0.0.1:$CP" --db "$T/c.db" --feed-token "$TOKEN" --usage-window 1
start api-follow "$P/bin/cloud-api" follow --db "$T/c.db" --feed "http://127.0.0.1:$SP/feeds/subscriptions" --token "$TOKEN"
wait_http "http://127.0.0.1:$SP/healthz"; wait_http "http://127.0.0.1:$CP/healthz"
status=$(http GET "http://127.0.0.1:$SP/system" -H 'Accept: text/html')
expect_eq "the installed Subscriptions serves the system page" 200 "$status"
check "... from the installed web/ (layout and body)" \
    sh -c "grep -q '/static/system.js' '$T/body' && grep -q '<html' '$T/body'"
expect_eq "... and its stylesheet" 200 "$(http GET "http://127.0.0.1:$CP/static/style.css")"
A="Authorization: Bearer $ADMIN"
C=$(curl -s -H "$A" -d name=Acme "http://127.0.0.1:$SP/customers" | sed -E 's/.*"id":"([^"]+)".*/\1/')
KEY=$(curl -s -H "$A" -d email=ada@acme.example "http://127.0.0.1:$SP/customers/$C/users" |
    sed -E 's/.*"login_key":"([^"]+)".*/\1/')
key_works() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" --data-binary hi \
        "http://127.0.0.1:$CP/api/v1/analyze")" = 200 ]
}
check "the installed follower brings the key to the installed Cloud API" eventually 10 key_works

# --web-dir: pages from another folder.
mkdir -p "$T/web2/static"
printf '<!doctype html><title>{{title}}</title><p>custom layout</p>{{body}}' >"$T/web2/layout.html"
echo '<h1>custom system page</h1>' >"$T/web2/system.html"
P1=$(free_port)
start p1 "$P/bin/product1" serve --listen "127.0.0.1:$P1" --db "$T/p.db" --cloud-api "http://127.0.0.1:$CP" --web-dir "$T/web2"
wait_http "http://127.0.0.1:$P1/healthz"
http GET "http://127.0.0.1:$P1/system" -H 'Accept: text/html' >/dev/null
check "--web-dir DIR: the pages come from DIR" \
    sh -c "grep -q 'custom layout' '$T/body' && grep -q 'custom system page' '$T/body'"
cd "$ROOT" || exit 2

# The systemd units: systemd-analyze verify, on the installed copies (their
# ExecStart must exist), with an instance of each template.
U=$P/share/feed-contexts/systemd
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/units"
    cp "$U"/*.service "$U"/*.target "$T/units/"
    for t in "$T"/units/*@.service; do cp "$t" "${t%@.service}@node-1.service"; done
    systemd-analyze verify --man=no "$T"/units/*.service "$T"/units/*.target >"$T/verify" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && [ ! -s "$T/verify" ]; then
        ok "systemd-analyze verify accepts every unit, without a warning"
    else
        not_ok "systemd-analyze verify accepts every unit, without a warning" "$(head -5 "$T/verify")"
    fi
else
    # The documented check without systemd: every ExecStart names an
    # installed program and a subcommand it has.
    for u in "$U"/*.service; do
        exe=$(sed -n 's/^ExecStart=\([^ ]*\) \([a-z-]*\).*/\1 \2/p' "$u")
        check "$(basename "$u"): ExecStart runs an installed subcommand" sh -c "$exe --help >/dev/null"
    done
fi
# Every process of make run has a unit.
for name in subscriptions cloud-api@ cloud-api-follow@ subscriptions-follow-usage@ product1 product1-follow; do
    check "a unit for $name" test -f "$U/$name.service"
done
finish
