#!/bin/sh
# make run: start the three contexts and their followers on loopback, in the
# foreground, with data under var/. Ctrl-C stops them all.
#
# Each process can be stopped and started again alone with the command line
# printed for it (kept in var/run/NAME.cmd); followers resume from the
# position stored in their database.
#
# Ports: SUBSCRIPTIONS_PORT (8081), CLOUD_API_PORT (8082), PRODUCT1_PORT (8083).
set -u
cd "$(dirname "$0")/.." || exit 2
HOST=127.0.0.1
SP=${SUBSCRIPTIONS_PORT:-8081}
CP=${CLOUD_API_PORT:-8082}
PP=${PRODUCT1_PORT:-8083}
mkdir -p var/log var/run

for b in bin/subscriptions bin/cloud-api bin/product1; do
    [ -x "$b" ] || { echo "run: $b is missing; run 'make' first" >&2; exit 1; }
done

# One token for the feeds of this installation, made once and kept.
if [ ! -s var/feed-token ]; then
    umask 077
    od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >var/feed-token
fi
TOKEN=$(cat var/feed-token)

# One admin token for the operators of Subscriptions, made once and kept,
# readable by this user only: curl sends it as a Bearer token, a browser
# signs in with it at /login.
if [ ! -s var/admin-token ]; then
    (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >var/admin-token)
fi
chmod 600 var/admin-token
ADMIN_TOKEN=$(cat var/admin-token)

for port in "$SP" "$CP" "$PP"; do
    if curl -s -o /dev/null --max-time 1 "http://$HOST:$port/healthz"; then
        echo "run: something already answers on $HOST:$port; stop it or set *_PORT" >&2
        exit 1
    fi
done

PIDS=""
launch() {
    name=$1; shift
    # The command lines hold the tokens: readable by this user only.
    (umask 077 && printf '%s\n' "$*" >"var/run/$name.cmd")
    "$@" >>"var/log/$name.log" 2>&1 &
    echo $! >"var/run/$name.pid"
    PIDS="$PIDS $!"
}

stop_all() {
    trap - INT TERM EXIT
    echo
    echo "stopping..."
    for pid in $PIDS; do kill -TERM "$pid" 2>/dev/null; done
    for pid in $PIDS; do wait "$pid" 2>/dev/null; done
    rm -f var/run/*.pid
    echo "stopped."
    exit 0
}
trap stop_all INT TERM EXIT

launch subscriptions bin/subscriptions serve --listen "$HOST:$SP" --db var/subscriptions.db --feed-token "$TOKEN" --admin-token "$ADMIN_TOKEN"
launch cloud-api bin/cloud-api serve --listen "$HOST:$CP" --db var/cloud-api.db --feed-token "$TOKEN" --node node-1
launch product1 bin/product1 serve --listen "$HOST:$PP" --db var/product1.db --cloud-api "http://$HOST:$CP" --feed-token "$TOKEN"
launch subscriptions-follow-usage bin/subscriptions follow --db var/subscriptions.db --feed "http://$HOST:$CP/feeds/usage" --token "$TOKEN"
launch cloud-api-follow bin/cloud-api follow --db var/cloud-api.db --feed "http://$HOST:$SP/feeds/subscriptions" --token "$TOKEN"
launch product1-follow bin/product1 follow --db var/product1.db --feed "http://$HOST:$SP/feeds/subscriptions" --token "$TOKEN"

sleep 0.5
for port in "$SP" "$CP" "$PP"; do
    i=0
    until curl -s -o /dev/null --max-time 1 "http://$HOST:$port/healthz"; do
        i=$((i + 1))
        if [ $i -gt 50 ]; then
            echo "run: nothing answers on $HOST:$port; see var/log/" >&2
            tail -n 5 var/log/*.log >&2
            exit 1
        fi
        sleep 0.1
    done
done

cat <<MSG

All three contexts are running (logs in var/log/, data in var/).

  Subscriptions  http://$HOST:$SP/            customers, users, login keys, balances (sign in: admin token below)
                 http://$HOST:$SP/portal/login  the customer portal: a user signs in with email and login key
  Cloud API      http://$HOST:$CP/            the metered API (POST /api/v1/analyze)
  Product 1      http://$HOST:$PP/            sign in with an email and login key
  System         http://$HOST:$SP/system      the three contexts, the feeds between them, each follower's lag

  Feeds (user name: anything, password: the token below)
    http://$HOST:$SP/feeds/subscriptions
    http://$HOST:$CP/feeds/usage
    http://$HOST:$PP/feeds/product1
  Feed token: $TOKEN
    curl -H "Authorization: Bearer $TOKEN" http://$HOST:$SP/feeds/subscriptions

  Admin token of Subscriptions (kept in var/admin-token): $ADMIN_TOKEN
    curl -H "Authorization: Bearer $ADMIN_TOKEN" http://$HOST:$SP/customers

  Status and metrics on every program: /status, /metrics
  Restart one process alone: sh -c "\$(cat var/run/NAME.cmd)"  (names: $(cd var/run && ls *.cmd | sed 's/\.cmd$//' | tr '\n' ' '))

Press Ctrl-C to stop everything. Log lines follow.

MSG
tail -n 0 -F var/log/*.log &
PIDS="$PIDS $!"
wait
