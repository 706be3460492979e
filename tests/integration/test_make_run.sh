#!/bin/sh
# make run and mk/ctl.sh (issue 14 point 2, issue 11 point 6), on free
# ports with RUN_VAR in the test's folder: two Cloud API nodes started and
# followed; a second make run reports the first's processes; mk/ctl.sh
# restarts one process with its log in var/log/; a make run that was killed
# is taken over; stopping leaves nothing behind; a port taken by another
# program makes make run fail with exit 1.
. "$(dirname "$0")/lib.sh"

RUN_VAR=$T/var
export RUN_VAR
SUBSCRIPTIONS_PORT=$(free_port); PRODUCT1_PORT=$(free_port)
N1=$(free_port); N2=$(free_port)
CLOUD_API_PORT=$N1
CLOUD_API_PORTS="$N1 $N2"
CLOUD_API_NODES=2
export SUBSCRIPTIONS_PORT PRODUCT1_PORT CLOUD_API_PORT CLOUD_API_PORTS CLOUD_API_NODES
SUB=http://127.0.0.1:$SUBSCRIPTIONS_PORT

# Processes of this test's make run, by their var folder in the command line.
ours() {
    for _p in /proc/[0-9]*; do
        case "$(tr '\0' ' ' <"$_p/cmdline" 2>/dev/null)" in *"$RUN_VAR"*) echo "${_p#/proc/}" ;; esac
    done
}
started() { grep -q 'Press Ctrl-C' "$T/$1.log"; }

start run sh mk/run.sh
check "make run with CLOUD_API_NODES=2 starts" eventually 60 started run
sh mk/ctl.sh status >"$T/status"
expect_eq "nine processes run (3 servers + node 2, 5 followers)" 9 "$(grep -c ' running$' "$T/status")"
for n in cloud-api-2 cloud-api-2-follow subscriptions-follow-usage-2; do
    check "node 2 has its process $n" grep -q "^  $n " "$T/status"
done
check "node 2 has its own database" test -f "$RUN_VAR/cloud-api-2.db"
check "node 2 publishes as node-2" grep -q -- "--node' 'node-2'" "$RUN_VAR/run/cloud-api-2.cmd"

# A second make run reports instead of failing on the ports.
sh mk/run.sh >"$T/second" 2>&1
expect_eq "a second make run exits 0" 0 $?
check "... saying one is already running" grep -q "already running (pid $(pid_of run))" "$T/second"
check "... with the names, pids and ports of the first" \
    grep -q "cloud-api-2 *$(cat "$RUN_VAR/run/cloud-api-2.pid") *$N2 *running" "$T/second"

# A customer and a user: the key works on both nodes, usage of both is charged.
A="Authorization: Bearer $(cat "$RUN_VAR/admin-token")"
C=$(curl -s -H "$A" -d name=Acme "$SUB/customers" | sed -E 's/.*"id":"([^"]+)".*/\1/')
KEY=$(curl -s -H "$A" -d email=ada@acme.example "$SUB/customers/$C/users" |
    sed -E 's/.*"login_key":"([^"]+)".*/\1/')
works_on() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" --data-binary 'hi there' \
        "http://127.0.0.1:$1/api/v1/analyze")" = 200 ]
}
check "the key works on node 1" eventually 10 works_on "$N1"
check "the key works on node 2" eventually 10 works_on "$N2"
both_charged() {
    [ "$(sqlite3 "$RUN_VAR/subscriptions.db" "select count(distinct json_extract(detail, '\$.node'))
        from ledger where kind = 'usage' and customer_id = '$C'")" = 2 ]
}
check "Subscriptions charges the usage of both nodes" eventually 40 both_charged
curl -s -H 'Accept: application/json' "$SUB/status" >"$T/sub-status"
check "Subscriptions' /status lists the usage follower of each node" \
    sh -c "grep -q ':$N1/feeds/usage' '$T/sub-status' && grep -q ':$N2/feeds/usage' '$T/sub-status'"

# The system page draws both nodes (a headless Chromium runs its script).
if command -v chromium >/dev/null; then
    timeout 60 chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$T/chromium" \
        --virtual-time-budget=5000 --dump-dom "$SUB/system?subscriptions=$SUB&cloud-api=http://127.0.0.1:$N1&product1=http://127.0.0.1:$PRODUCT1_PORT" >"$T/system.html" 2>/dev/null
    check "the system page draws node 2 of the Cloud API" grep -q "Cloud API :$N2" "$T/system.html"
    check "... and the usage feed it publishes" grep -q "/feeds/usage lag" "$T/system.html"
fi

# make demo registers a customer and prints a curl line that works.
sh mk/demo.sh >"$T/demo" 2>&1
expect_eq "make demo exits 0" 0 $?
line=$(grep -m1 'curl -H "Authorization: Bearer' "$T/demo")
demo_works() { [ "$(sh -c "$line -s -o /dev/null -w '%{http_code}'")" = 200 ]; }
check "make demo's curl line works as printed" eventually 10 demo_works
check "make demo names the Product 1 page and the admin token file" \
    sh -c "grep -q 'http://127.0.0.1:$PRODUCT1_PORT/' '$T/demo' && grep -q '$RUN_VAR/admin-token' '$T/demo'"

# mk/ctl.sh restarts one process, logging to var/log/ like make run.
old=$(cat "$RUN_VAR/run/cloud-api-2.pid")
sh mk/ctl.sh restart cloud-api-2 >"$T/ctl" 2>&1
expect_eq "mk/ctl.sh restart cloud-api-2 exits 0" 0 $?
new=$(cat "$RUN_VAR/run/cloud-api-2.pid")
check "... with a new process" test "$old" != "$new"
check "... that logs to var/log/cloud-api-2.log" \
    sh -c "[ \$(grep -c 'started by make run' '$RUN_VAR/log/cloud-api-2.log') -eq 2 ] &&
           [ \$(grep -c 'msg=\"serving\"' '$RUN_VAR/log/cloud-api-2.log') -eq 2 ]"
check "... and still takes the key" eventually 10 works_on "$N2"
sh mk/ctl.sh stop product1-follow >/dev/null
check "mk/ctl.sh stop: status says stopped" sh -c "sh mk/ctl.sh status | grep -q '^  product1-follow .* stopped$'"
sh mk/ctl.sh start product1-follow >/dev/null
expect_eq "mk/ctl.sh start brings it back" 9 "$(sh mk/ctl.sh status | grep -c ' running$')"
sh mk/ctl.sh restart nope 2>/dev/null
expect_eq "mk/ctl.sh with an unknown name exits 2" 2 $?

# make run killed without stopping anything: the next one takes over.
kill -KILL "$(pid_of run)"
sh mk/ctl.sh status >"$T/orphans"
expect_eq "killing make run leaves its processes running" 9 "$(grep -c ' running$' "$T/orphans")"
start run2 sh mk/run.sh
check "the next make run starts" eventually 60 started run2
expect_eq "... taking over all nine processes" 9 "$(grep -c 'taking over' "$T/run2.log")"
sh mk/ctl.sh restart cloud-api >/dev/null

# Stopping (TERM here; Ctrl-C in a terminal) stops every process, also the
# one mk/ctl.sh restarted.
kill -TERM "$(pid_of run2)"
gone() { [ -z "$(ours)" ]; }
if eventually 20 gone; then ok "stopping make run leaves no process behind"; else
    not_ok "stopping make run leaves no process behind" "$(for p in $(ours); do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)"
fi
check "... and no pid file" sh -c "! ls '$RUN_VAR'/run/*.pid 2>/dev/null"

# Ctrl-C in a terminal, through make, also stops a process mk/ctl.sh
# restarted (it runs in a session of its own). -o all: the tree is built.
python3 tests/tools/ctrl_c.py 'Press Ctrl-C' make -s -o all run -- \
    sh mk/ctl.sh restart cloud-api-2 '>/dev/null' >"$T/ctrl-c" 2>&1
check "Ctrl-C in make run's terminal ends make run" grep -q '^exit=' "$T/ctrl-c"
check "... after stopping" grep -q '^stopped\.' "$T/ctrl-c"
if eventually 20 gone; then ok "... every process, the restarted one too"; else
    not_ok "... every process, the restarted one too" "$(for p in $(ours); do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)"
fi

# A port taken by another program: make run fails with exit 1, leaving nothing.
other=$(free_port)
start other bin/cloud-api serve --listen "127.0.0.1:$other" --db "$T/other.db"
wait_http "http://127.0.0.1:$other/healthz"
SUBSCRIPTIONS_PORT=$other timeout 60 sh mk/run.sh >"$T/taken" 2>&1
expect_eq "make run with a port taken exits 1" 1 $?
check "... naming the port" grep -q "already answers on 127.0.0.1:$other" "$T/taken"
check "... and leaves nothing running" eventually 10 gone
sh mk/demo.sh >/dev/null 2>&1
expect_eq "make demo without make run exits 1" 1 $?
bad=$(CLOUD_API_NODES=x sh mk/run.sh 2>&1)
expect_eq "CLOUD_API_NODES=x exits 2" 2 $?
finish
