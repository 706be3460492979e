#!/bin/sh
# A full disk under the Cloud API's and Subscriptions' databases (DESIGN.md
# section 7; issue 13, point 4). Each database lives on its own small tmpfs,
# which the test fills to the last byte and later frees:
#
#  A. The Cloud API's disk is full: analyze answers 503, never a 200 whose
#     units are lost; the fault is logged once however often calls retry,
#     and /status shows it; once space is freed, calls are served again and
#     every unit answered 200 is charged exactly once.
#  B. Subscriptions' disk is full: billing (its usage follower) pauses
#     without stopping, logs the fault once, and /status shows the full
#     disk; once space is freed it resumes, and every unit answered 200 is
#     charged exactly once: nothing lost, nothing doubled.
#
# The script runs itself again in a private mount namespace (unshare -m, as
# root), so the tmpfs mounts vanish with it; where that cannot be done it
# says so with an "ok - # SKIP" line.
if [ -z "${FULL_DISK_NS:-}" ]; then
    if command -v unshare >/dev/null 2>&1 && unshare -m true 2>/dev/null; then
        FULL_DISK_NS=1 exec unshare -m --propagation private sh "$0" "$@"
    fi
    echo "ok - # SKIP a private mount namespace cannot be made here (unshare -m needs root)"
    exit 0
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"

# The whole script ends within 170 s, whatever hangs.
start watchdog sh -c "i=0; while [ \$i -lt 1700 ]; do sleep 0.1; i=\$((i + 1)); done
    echo '# watchdog: the test took over 170 s'; kill -TERM $$"

for d in adisk sdisk; do
    mkdir -p "$T/$d"
    if ! mount -t tmpfs -o size=8m tmpfs "$T/$d" 2>"$T/mount.err"; then
        echo "ok - # SKIP cannot mount a tmpfs: $(cat "$T/mount.err")"
        exit 0
    fi
done
unmount_disks() { umount -l "$T/adisk" 2>/dev/null; umount -l "$T/sdisk" 2>/dev/null; }
CLEANUP_HOOKS="$CLEANUP_HOOKS unmount_disks"
# SQLite follows the links: the databases and their -wal and -shm files are
# on the small disks.
ln -s "$T/adisk/cloud-api.db" "$T/cloud-api.db"
ln -s "$T/sdisk/subscriptions.db" "$T/subscriptions.db"

# fill DIR: writes a file into DIR until the disk is full.
fill() { dd if=/dev/zero of="$1/filler" bs=64k >/dev/null 2>&1; sync; }
# free_space DIR: removes it again.
free_space() { rm -f "$1/filler"; }
# errors NAME: the error lines of NAME's log so far.
errors() { grep -c 'level=error\|level=fatal' "$T/$1.log"; }
# logged NAME TEXT: how many lines of NAME's log hold TEXT.
logged() { grep -c "$2" "$T/$1.log"; }
served_total() { awk '{ s += $2 } END { print s + 0 }' "$T/served" 2>/dev/null || echo 0; }
charged() { sqlite3 "$T/sdisk/subscriptions.db" "SELECT -balance_cents FROM customers WHERE id = '$C'"; }
all_usage_charged() { [ "$(charged)" = "$(served_total)" ]; }
alive() { kill -0 "$(pid_of "$1")" 2>/dev/null; }
# status_json URL EXPR: a field of URL/status, e.g. '$.storage.disk_full'.
status_json() {
    curl -s --max-time 5 -H 'Accept: application/json' "$1/status" >"$T/status.json"
    sqlite3 :memory: "SELECT json_extract(readfile('$T/status.json'), '$2')"
}
# calls N: N analyze calls; counts the answers in OK200, OK503 and OTHER.
calls() {
    _i=0
    while [ $_i -lt "$1" ]; do
        case $(analyze "$KEY" "ping") in
        200) OK200=$((OK200 + 1)) ;;
        503) OK503=$((OK503 + 1)) ;;
        *) OTHER=$((OTHER + 1)) ;;
        esac
        _i=$((_i + 1))
    done
}
# a_503: one call answered 503.
a_503() { [ "$(analyze "$KEY" "ping")" = 503 ]; }

start_system 1 || { not_ok "the system starts"; finish; }
C=$(new_customer Acme) && new_user "$C" "ann@example.com" ||
    { not_ok "a customer and a user are added"; finish; }
check "the Cloud API learns the new key" eventually 10 analyze_is 200 "$KEY"

# ---- A. The Cloud API's disk is full ------------------------------------
fill "$T/adisk"
OK200=0 OK503=0 OTHER=0
check "with its disk full, analyze answers 503 (its units cannot be stored)" eventually 30 a_503
calls 20
expect_eq "while the disk is full, every call is answered 503" "0 0" "$OK200 $OTHER"
# The usage publisher retries every second meanwhile; its commits fail too.
check "the usage publisher meets the full disk too" eventually 10 \
    sh -c "grep -q 'cannot be written.*what=\"database\"' '$T/cloud-api.log'"
e1=$(errors cloud-api)
calls 20
until=$(($(date +%s) + 3))
while [ "$(date +%s)" -lt $until ]; do sleep 0.2; done
e2=$(errors cloud-api)
expect_eq "20 more failed calls and 3 s of the publisher retrying log no more lines" "$e1" "$e2"
expect_eq "the fault of metering is logged once" 1 "$(logged cloud-api 'cannot be written.*what="metering"')"
# what=... of each fault line: as many lines as kinds of work that failed.
whats() { grep 'cannot be written' "$T/cloud-api.log" | sed -E 's/.*what="([^"]*)".*/\1/'; }
expect_eq "each fault is logged once" "$(whats | sort -u | wc -l)" "$(whats | wc -l)"
expect_eq "no 'cannot commit usage' line per call" 0 "$(logged cloud-api 'cannot commit usage')"
expect_eq "/status says the disk is full" 1 "$(status_json "$API" '$.storage.disk_full')"
expect_eq "/status lists the fault of metering" metering \
    "$(status_json "$API" '$.storage.faults[0].what')"
check "/status counts its failures" [ "$(status_json "$API" '$.storage.faults[0].failures')" -ge 40 ]

free_space "$T/adisk"
check "once space is freed, analyze answers 200 again" eventually 15 analyze_is 200 "$KEY"
expect_eq "the end of the fault is logged once" 1 \
    "$(logged cloud-api 'can be written again.*what="metering"')"
no_fault() { [ -z "$(status_json "$API" '$.storage.faults[0].what')" ]; }
check "then /status lists no fault" eventually 10 no_fault
check "every unit answered 200 is charged, once" eventually 30 all_usage_charged

# ---- B. Subscriptions' disk is full: billing pauses ---------------------
fill "$T/sdisk"
# Calls go on (the Cloud API's disk is fine), so usage keeps arriving; the
# follower meets the full disk when it charges it.
meets_full_disk() {
    analyze "$KEY" "ping" >/dev/null
    grep -q 'cannot be written now' "$T/subscriptions-follow.log"
}
check "with its disk full, billing meets the fault" eventually 40 meets_full_disk
served_before=$(served_total)
charged_before=$(charged)
e1=$(errors subscriptions-follow)
OK200=0 OK503=0 OTHER=0
calls 10
# The follower retries at least every 2 s: give it time for several.
until=$(($(date +%s) + 6))
while [ "$(date +%s)" -lt $until ]; do sleep 0.2; done
e2=$(errors subscriptions-follow)
expect_eq "meanwhile analyze answers 200 (the Cloud API's disk is fine)" "10 0" "$OK200 $OTHER"
check "billing is paused: the new usage is not charged" [ "$(charged)" -eq "$charged_before" ]
check "... though more was served" [ "$(served_total)" -gt "$served_before" ]
check "the usage follower keeps running" alive subscriptions-follow
expect_eq "its retries log no more lines (the fault is logged once)" "$e1" "$e2"
expect_eq "Subscriptions' /status says the disk is full" 1 "$(status_json "$SUB" '$.storage.disk_full')"

free_space "$T/sdisk"
check "once space is freed, billing resumes and charges every unit once" eventually 30 all_usage_charged
check "the end of the fault is logged" eventually 5 \
    sh -c "grep -q 'the database can be written again' '$T/subscriptions-follow.log'"
check "the follower is still running" alive subscriptions-follow
expect_eq "no follower stopped on a fatal error" 0 \
    "$(cat "$T"/*-follow.log | grep -c 'level=fatal\|fatal error')"
check "the follower's row in /status records the fault it met" \
    sh -c "curl -s -H 'Accept: application/json' '$SUB/status' | grep -q 'cannot be written'"
expect_eq "every call was answered 200 or 503, nothing else" 0 "$OTHER"
finish
