#!/bin/sh
# The shipped nginx configuration (deploy/nginx/feeds.conf, rendered by
# deploy/render.sh) with Debian's nginx in front of a protected
# Subscriptions feed of 1,200 entries (two archive pages and a head):
#   - TLS: the feeds over https with the private CA, refused without it;
#   - 50 pollers for DEPLOY_SECONDS (default 10; make bench's bench_scale.sh
#     runs 20) cost the origin at most 2 requests a second plus the pages;
#   - no page or head reaches a request without a valid token;
#   - long-polls are held at the origin, not answered early by the cache;
#   - Cloud API followers through the cache, long-polling and with
#     --poll-interval, end in the same state as one straight at the origin.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy.sh"
watchdog 90
SECS=${DEPLOY_SECONDS:-10}

command -v nginx >/dev/null || { not_ok "nginx is installed (mk/configure.sh test)"; finish; }
out=$(env -i PATH="$PATH" FEEDS_NAME=x sh deploy/render.sh deploy/nginx/feeds.conf 2>"$T/render.err")
expect_eq "render.sh prints nothing and exits 2 while a placeholder is unset, and names it" \
    "2 0 yes" "$? ${#out} $(grep -q 'FEEDS_CACHE_DIR is not set' "$T/render.err" && echo yes || echo no)"
deploy_origin || { not_ok "the origin started"; finish; }
start_nginx_cache || { not_ok "nginx started with deploy/nginx/feeds.conf"; finish; }
ok "nginx runs deploy/nginx/feeds.conf"

# --- TLS termination
st=$(curl -s -o "$T/tls.body" -w '%{http_code}' --max-time 10 --cacert "$CA" \
    -H "Authorization: Bearer $TOKEN" "$CACHE_TLS$FEED/pages/0")
expect_eq "https with the private CA serves an archive page" "200 yes" \
    "$st $(got_entries "$T/tls.body" && echo yes || echo no)"
curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $TOKEN" "$CACHE_TLS$FEED"
expect_eq "https without the private CA is refused (certificate not trusted)" 60 "$?"
curl -s -o /dev/null --max-time 10 --cacert "$T/tls/other-ca.pem" "$CACHE_TLS$FEED"
expect_eq "https with another CA is refused" 60 "$?"

check_cache_rules nginx

# --- the load, the leak, the followers
check_pollers nginx "$SECS"
check_no_leak "nginx (http)" "$CACHE"
check_no_leak "nginx (https)" "$CACHE_TLS" --cacert "$CA"
check_followers nginx
finish
