#!/bin/sh
# make run: start the three contexts and their followers on loopback, in the
# foreground, with data under var/. Ctrl-C stops them all, including those
# restarted since with mk/ctl.sh.
#
#   mk/ctl.sh status | stop NAME | start NAME | restart NAME   (another terminal)
#
# A second `make run` while one is going reports its processes and exits.
# After a make run that was killed without stopping its processes, the next
# one takes over those still running (the same names and programs).
#
# Ports: SUBSCRIPTIONS_PORT (8081), CLOUD_API_PORT (8082), PRODUCT1_PORT (8083).
# CLOUD_API_NODES=N runs N Cloud API nodes (DESIGN.md section 4): node 1 on
# CLOUD_API_PORT, node K on CLOUD_API_PORT+K (8084, 8085, ...), or the ports
# listed in CLOUD_API_PORTS; each with its own database, follower and usage
# feed (--node node-K), and Subscriptions follows the usage feed of each.
# RUN_VAR=DIR keeps data, logs and pid files in DIR instead of var/.
set -u
cd "$(dirname "$0")/.." || exit 2
. mk/proc.sh
SP=${SUBSCRIPTIONS_PORT:-8081}
CP=${CLOUD_API_PORT:-8082}
PP=${PRODUCT1_PORT:-8083}
NODES=${CLOUD_API_NODES:-1}
case "$NODES" in
'' | *[!0-9]* | 0*) echo "run: CLOUD_API_NODES must be a whole number from 1 to 16" >&2; exit 2 ;;
esac
[ "$NODES" -le 16 ] || { echo "run: CLOUD_API_NODES must be a whole number from 1 to 16" >&2; exit 2; }

for b in bin/subscriptions bin/cloud-api bin/product1; do
    [ -x "$b" ] || { echo "run: $b is missing; run 'make' first" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "run: curl is missing: apt-get install curl (make run installs it as root)" >&2; exit 1; }

# A make run is already going: report its processes instead of starting.
if owner=$(run_pid); then
    echo "make run is already running (pid $owner), with these processes:"
    proc_report
    echo
    echo "Stop, start or restart one with: mk/ctl.sh stop|start|restart NAME"
    echo "Stop everything with Ctrl-C in the terminal of that make run (or: kill $owner)."
    exit 0
fi

# One token for the feeds of this installation, made once and kept.
if [ ! -s "$VAR/feed-token" ]; then
    (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$VAR/feed-token")
fi
TOKEN=$(cat "$VAR/feed-token")
# One admin token for the operators of Subscriptions, made once and kept,
# readable by this user only: curl sends it as a Bearer token, a browser
# signs in with it at /login.
if [ ! -s "$VAR/admin-token" ]; then
    (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$VAR/admin-token")
fi
chmod 600 "$VAR/admin-token"
ADMIN_TOKEN=$(cat "$VAR/admin-token")

# node_port K / node_suffix K: the port and the name suffix of node K.
node_port() {
    if [ -n "${CLOUD_API_PORTS:-}" ]; then
        echo "$CLOUD_API_PORTS" | tr ' ' '\n' | grep . | sed -n "${1}p"
    elif [ "$1" -eq 1 ]; then
        echo "$CP"
    else
        echo $((CP + $1))
    fi
}
node_suffix() { [ "$1" -eq 1 ] || echo "-$1"; }

# The processes of this run: servers first, then followers, so that no
# follower starts before its producer.
SERVERS="subscriptions"
FOLLOWERS=""
proc_define subscriptions bin/subscriptions serve --listen "$HOST:$SP" --db "$VAR/subscriptions.db" \
    --feed-token "$TOKEN" --admin-token "$ADMIN_TOKEN"
k=1
while [ $k -le "$NODES" ]; do
    s=$(node_suffix $k); p=$(node_port $k)
    [ -n "$p" ] || { echo "run: CLOUD_API_PORTS names fewer than $NODES ports" >&2; exit 2; }
    proc_define "cloud-api$s" bin/cloud-api serve --listen "$HOST:$p" --db "$VAR/cloud-api$s.db" \
        --feed-token "$TOKEN" --node "node-$k"
    proc_define "cloud-api$s-follow" bin/cloud-api follow --db "$VAR/cloud-api$s.db" \
        --feed "http://$HOST:$SP/feeds/subscriptions" --token "$TOKEN"
    proc_define "subscriptions-follow-usage$s" bin/subscriptions follow --db "$VAR/subscriptions.db" \
        --feed "http://$HOST:$p/feeds/usage" --token "$TOKEN"
    SERVERS="$SERVERS cloud-api$s"
    FOLLOWERS="$FOLLOWERS subscriptions-follow-usage$s cloud-api$s-follow"
    k=$((k + 1))
done
proc_define product1 bin/product1 serve --listen "$HOST:$PP" --db "$VAR/product1.db" \
    --cloud-api "http://$HOST:$CP" --feed-token "$TOKEN"
proc_define product1-follow bin/product1 follow --db "$VAR/product1.db" \
    --feed "http://$HOST:$SP/feeds/subscriptions" --token "$TOKEN"
SERVERS="$SERVERS product1"
FOLLOWERS="$FOLLOWERS product1-follow"
ALL="$SERVERS $FOLLOWERS"

# Processes of an earlier run that are not part of this one (fewer nodes)
# are stopped; those of this one still running are taken over.
for f in "$VAR"/run/*.pid; do
    [ -f "$f" ] || continue
    n=$(basename "$f" .pid)
    case " run tail $ALL " in *" $n "*) continue ;; esac
    if pid=$(proc_pid "$n"); then echo "run: stopping $n (pid $pid), left by an earlier make run"; fi
    proc_stop "$n"
    rm -f "$VAR/run/$n.cmd"
done
# The log tail of a make run that was killed.
if [ -s "$VAR/run/tail.pid" ]; then
    t=$(cat "$VAR/run/tail.pid")
    [ "$(tr '\0' '\n' <"/proc/$t/cmdline" 2>/dev/null | head -1)" != tail ] || kill "$t" 2>/dev/null
    rm -f "$VAR/run/tail.pid"
fi
printf '%s\n' $ALL >"$VAR/run/names"
echo $$ >"$VAR/run/run.pid"

stop_all() {
    trap - INT TERM HUP EXIT
    echo
    echo "stopping..."
    # Every process of the pid files, also those mk/ctl.sh started: all
    # are told at once, then each is waited for.
    names=$(cd "$VAR/run" && ls *.pid 2>/dev/null | sed 's/\.pid$//' | grep -vx 'run\|tail')
    for n in $names; do pid=$(proc_pid "$n") && kill -TERM "$pid" 2>/dev/null; done
    for n in $names; do proc_stop "$n"; done
    [ -z "${TAIL_PID:-}" ] || kill "$TAIL_PID" 2>/dev/null
    rm -f "$VAR/run/run.pid" "$VAR/run/tail.pid"
    echo "stopped."
    exit "${1:-0}"
}
trap 'stop_all 0' INT TERM HUP
trap 'stop_all 1' EXIT

# start_or_adopt NAME: starts NAME unless it runs already with this command
# line (a make run that was killed left it).
start_or_adopt() {
    if pid=$(proc_pid "$1"); then
        echo "run: taking over $1 (pid $pid), still running from an earlier make run"
        return 0
    fi
    port=$(proc_port "$1")
    if [ -n "$port" ] && curl -s -o /dev/null --max-time 1 "http://$HOST:$port/healthz"; then
        echo "run: something else already answers on $HOST:$port (for $1); stop it, or set the *_PORT variables" >&2
        return 1
    fi
    proc_start "$1"
}

for n in $SERVERS; do start_or_adopt "$n" || exit 1; done
for n in $SERVERS; do
    proc_healthy "$n" 15 || {
        echo "run: $n does not answer on $HOST:$(proc_port "$n"); the end of $VAR/log/$n.log:" >&2
        tail -n 5 "$VAR/log/$n.log" >&2
        exit 1
    }
done
for n in $FOLLOWERS; do start_or_adopt "$n" || exit 1; done
sleep 0.2
for n in $FOLLOWERS; do
    proc_pid "$n" >/dev/null || {
        echo "run: $n stopped at once; the end of $VAR/log/$n.log:" >&2
        tail -n 5 "$VAR/log/$n.log" >&2
        exit 1
    }
done

nodes=""
k=2
while [ $k -le "$NODES" ]; do
    nodes="$nodes
                 http://$HOST:$(node_port $k)/            node $k (node-$k), its own database and usage feed"
    k=$((k + 1))
done
cat <<MSG

All three contexts are running (logs in $VAR/log/, data in $VAR/).

  Subscriptions  http://$HOST:$SP/            customers, users, login keys, balances (sign in: admin token below)
                 http://$HOST:$SP/portal/login  the customer portal: a user signs in with email and login key
  Cloud API      http://$HOST:$CP/            the metered API (POST /api/v1/analyze)$nodes
  Product 1      http://$HOST:$PP/            sign in with an email and login key
  System         http://$HOST:$SP/system      the contexts, the feeds between them, each follower's lag

  Feed token ($VAR/feed-token): $TOKEN
  Admin token of Subscriptions ($VAR/admin-token): $ADMIN_TOKEN
  A customer and a user to try: make demo    Status and metrics on every program: /status, /metrics

  Processes (mk/ctl.sh status | stop NAME | start NAME | restart NAME):
$(proc_report)

Press Ctrl-C to stop everything. Log lines follow.

MSG
tail -n 0 -F "$VAR"/log/*.log &
TAIL_PID=$!
echo "$TAIL_PID" >"$VAR/run/tail.pid"
# wait returns when a trapped signal arrives; tail never ends by itself.
while :; do wait; sleep 1; done
