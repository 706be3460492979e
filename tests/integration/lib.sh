# lib.sh - what every integration test script needs. Source it first:
# (POSIX sh has no local variables: the helpers' own variables start with
# an underscore so they never clobber a caller's loop counter.)
#
#   . tests/integration/lib.sh
#
# It makes a temporary folder ($T) removed at exit, starts programs in the
# background (start NAME CMD...) and stops every one of them at exit,
# whatever happens, and reports results as "ok - ..." / "not ok - ..."
# lines that tests/run.sh counts.

set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
T=$(mktemp -d "${TMPDIR:-/tmp}/feedtest.XXXXXX")
PIDS_DIR="$T/pids"
mkdir -p "$PIDS_DIR"
FAILED=0

cleanup() {
    # A failed script shows the end of each program's log, so a failure in
    # CI can be understood without running it again.
    if [ "$FAILED" != 0 ]; then
        for log in "$T"/*.log; do
            [ -f "$log" ] || continue
            echo "# --- last lines of $(basename "$log")"
            tail -n 12 "$log" | sed 's/^/#   /'
        done
    fi
    # Hooks first (a browser session is closed while its driver lives),
    # then each program's whole process group, so children such as the
    # browsers chromedriver starts go too.
    for _hook in $CLEANUP_HOOKS; do "$_hook"; done
    for f in "$PIDS_DIR"/*; do
        [ -f "$f" ] || continue
        kill -TERM "-$(cat "$f")" 2>/dev/null || kill -TERM "$(cat "$f")" 2>/dev/null
    done
    _cl_until=$(($(date +%s) + 3))
    for f in "$PIDS_DIR"/*; do
        [ -f "$f" ] || continue
        while kill -0 "$(cat "$f")" 2>/dev/null && [ "$(date +%s)" -lt $_cl_until ]; do sleep 0.05; done
        kill -KILL "-$(cat "$f")" 2>/dev/null || kill -KILL "$(cat "$f")" 2>/dev/null
    done
    rm -rf "$T"
}
CLEANUP_HOOKS=""
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port: a TCP port on 127.0.0.1 that is free now.
free_port() { "$ROOT/build/tests/freeport"; }

# start NAME CMD...: runs CMD in the background, output in $T/NAME.log, in
# a process group of its own (its pid is the group's id), so that cleanup
# can stop it with every child it started.
start() {
    name=$1; shift
    setsid "$@" >>"$T/$name.log" 2>&1 &
    echo $! >"$PIDS_DIR/$name"
}

# pid_of NAME: the pid of a program started with start.
pid_of() { cat "$PIDS_DIR/$1"; }

# stop NAME [SIGNAL]: stops it (TERM by default) and waits for it to end.
stop() {
    [ -f "$PIDS_DIR/$1" ] || return 0
    pid=$(cat "$PIDS_DIR/$1")
    kill "-${2:-TERM}" "$pid" 2>/dev/null
    _stop_until=$(($(date +%s) + 5))
    while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt $_stop_until ]; do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -f "$PIDS_DIR/$1"
}

# wait_http and eventually: waits on a condition, bounded in seconds.
. "$ROOT/tests/integration/wait.sh"

# ok DESCRIPTION / not_ok DESCRIPTION [DETAIL]
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; [ -z "${2:-}" ] || echo "#   $2"; FAILED=1; }

# check DESCRIPTION CMD...: ok if CMD succeeds.
check() {
    desc=$1; shift
    if "$@"; then ok "$desc"; else not_ok "$desc" "command: $*"; fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected '$2', got '$3'"; fi
}

# http METHOD URL [curl args...]: prints the status code; the body is in
# $T/body and the headers in $T/headers.
http() {
    m=$1; u=$2; shift 2
    curl -s -X "$m" -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 40 "$@" "$u"
}

# header NAME: the value of a header of the last http call.
header() { grep -i "^$1:" "$T/headers" | head -1 | sed -E 's/^[^:]*: *//' | tr -d '\r'; }

# json EXPR: evaluates an SQLite JSON path on the last body, e.g. json '$.id'.
json() { sqlite3 :memory: "select json_extract(readfile('$T/body'), '$1')"; }

# start_nginx NAME DIR: Debian's stock nginx, started as NAME, with a
# configuration written to DIR/nginx.conf: its pid, logs and temporary files
# in DIR, and the lines of its http block (servers, caches) read from
# stdin. As root its workers run as root, so that they can write in the
# test's private folder.
start_nginx() {
    mkdir -p "$2" || return 1
    _user=""
    [ "$(id -u)" != 0 ] || _user="user root;"
    {
        cat <<CONF
daemon off;
$_user
pid $2/nginx.pid;
error_log $2/error.log;
events {}
http {
    access_log $2/access.log;
    client_body_temp_path $2/body;
    proxy_temp_path $2/proxy;
    fastcgi_temp_path $2/fastcgi;
    uwsgi_temp_path $2/uwsgi;
    scgi_temp_path $2/scgi;
CONF
        cat
        echo "}"
    } >"$2/nginx.conf" || return 1
    start "$1" "$(command -v nginx || echo /usr/sbin/nginx)" -p "$2" -c "$2/nginx.conf"
}

# finish: exit status of the script.
finish() { exit "$FAILED"; }
