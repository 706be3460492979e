#!/bin/sh
# The shipped Varnish configuration (deploy/varnish/feeds.vcl, rendered by
# deploy/render.sh) with Debian's varnishd in front of a protected
# Subscriptions feed of 1,200 entries (two archive pages and a head): the
# same checks as test_deploy_nginx.sh but TLS (Varnish has none; nginx or
# hitch terminates it in front):
#   - pages kept, the head revalidated after 1 s, 404s and 401s not kept,
#     long-polls held at the origin;
#   - 50 pollers for DEPLOY_SECONDS (default 10) cost the origin at most 2
#     requests a second plus the pages;
#   - no page or head reaches a request without a valid token;
#   - Cloud API followers through Varnish, long-polling and with
#     --poll-interval, end in the same state as one straight at the origin.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy.sh"
watchdog 90
SECS=${DEPLOY_SECONDS:-10}

command -v varnishd >/dev/null || { not_ok "varnishd is installed (mk/configure.sh test)"; finish; }
deploy_origin || { not_ok "the origin started"; finish; }
start_varnish_cache || { not_ok "varnishd started with deploy/varnish/feeds.vcl"; finish; }
ok "varnishd runs deploy/varnish/feeds.vcl"

check_cache_rules varnish
check_pollers varnish "$SECS"
check_no_leak varnish "$CACHE"
check_followers varnish
finish
