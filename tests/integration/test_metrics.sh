#!/bin/sh
# /metrics of every program passes Prometheus's own checker, `promtool check
# metrics` (DESIGN.md section 7): HELP and TYPE for every family, families
# not interleaved, counters named *_total. Subscriptions' database holds two
# usage followers (two Cloud API nodes), the case that used to interleave.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"

command -v promtool >/dev/null || { not_ok "promtool is installed (Debian package prometheus)"; finish; }
start_system 1 || { not_ok "the system starts"; finish; }

# A second Cloud API node, and Subscriptions' follower of its usage feed.
API2_PORT=$(free_port)
API2=http://127.0.0.1:$API2_PORT
start cloud-api-2 bin/cloud-api serve --listen "127.0.0.1:$API2_PORT" --db "$T/cloud-api-2.db" \
    --feed-token "$TOKEN" --usage-window 1 --node node-2
start cloud-api-2-follow bin/cloud-api follow --db "$T/cloud-api-2.db" --feed "$SUB/feeds/subscriptions" --token "$TOKEN"
start subscriptions-follow-2 bin/subscriptions follow --db "$T/subscriptions.db" --feed "$API2/feeds/usage" --token "$TOKEN"
wait_http "$API2/healthz"

C=$(new_customer Acme)
new_user "$C" ada@acme.example
eventually 10 analyze_is 200 "$KEY"
two_followers() {
    [ "$(curl -s "$SUB/metrics" | grep -c '^feed_follower_position{')" -eq 2 ]
}
check "Subscriptions' /metrics shows its two usage followers" eventually 10 two_followers

for url in "$SUB" "$API" "$API2" "$P1"; do
    curl -s "$url/metrics" >"$T/metrics"
    if promtool check metrics <"$T/metrics" >"$T/promtool" 2>&1; then
        ok "promtool check metrics accepts $url/metrics"
    else
        not_ok "promtool check metrics accepts $url/metrics" "$(head -5 "$T/promtool" | tr '\n' ' ')"
    fi
    # Every family has HELP and TYPE, and its samples come in one run.
    families=$(awk '/^# TYPE /{print $3}' "$T/metrics" | sort)
    helps=$(awk '/^# HELP /{print $3}' "$T/metrics" | sort)
    expect_eq "every family of $url/metrics has its HELP" "$families" "$helps"
    runs=$(grep -v '^#' "$T/metrics" | sed -E 's/[{ ].*//' | uniq | sort | uniq -d)
    expect_eq "no family of $url/metrics is interleaved" "" "$runs"
done
finish
