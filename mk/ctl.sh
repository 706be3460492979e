#!/bin/sh
# ctl.sh - operate the processes of a running `make run`, from another
# terminal (docs/operations.md):
#
#   mk/ctl.sh status                  every process: name, pid, port, state
#   mk/ctl.sh stop NAME...            stop processes (SIGTERM, then SIGKILL after 10 s)
#   mk/ctl.sh start NAME...           start them again, with the same command line
#   mk/ctl.sh restart NAME...         stop, then start
#
# NAME is a process name from `mk/ctl.sh status` (such as cloud-api or
# product1-follow), or `all`. A started process logs to var/log/NAME.log as
# under make run, and the Ctrl-C of make run stops it too. A follower
# resumes from the position stored in its database.
#
# Exit status: 0 done, 1 a process did not start or answer, 2 bad usage.
set -u
cd "$(dirname "$0")/.." || exit 2
. mk/proc.sh

usage() {
    echo "usage: mk/ctl.sh status | stop NAME... | start NAME... | restart NAME...  (NAME: a process or all)" >&2
    exit 2
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case "$cmd" in
status)
    [ $# -eq 0 ] || usage
    if [ -z "$(proc_names)" ]; then
        echo "no process of make run is known in $VAR/run/; start them with: make run"
        exit 1
    fi
    if p=$(run_pid); then echo "make run (pid $p) owns:"; else echo "make run is not running; known processes:"; fi
    proc_report
    exit 0
    ;;
stop | start | restart) ;;
-h | --help | help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) usage ;;
esac
[ $# -ge 1 ] || usage

names=""
for n in "$@"; do
    if [ "$n" = all ]; then
        names="$names $(proc_names | tr '\n' ' ')"
    elif [ -s "$VAR/run/$n.cmd" ]; then
        names="$names $n"
    else
        echo "ctl: no process named '$n'; known: $(proc_names | tr '\n' ' ')" >&2
        exit 2
    fi
done

status=0
case "$cmd" in stop | restart)
    for n in $names; do
        if pid=$(proc_pid "$n"); then
            proc_stop "$n"
            echo "stopped $n (pid $pid)"
        else
            echo "$n was not running"
        fi
    done
    ;;
esac
case "$cmd" in start | restart)
    for n in $names; do
        if pid=$(proc_pid "$n"); then
            echo "$n is already running (pid $pid)"
            continue
        fi
        proc_start "$n"
        if proc_healthy "$n" 10 && pid=$(proc_pid "$n"); then
            port=$(proc_port "$n")
            echo "started $n (pid $pid${port:+, port $port}), log in $VAR/log/$n.log"
        else
            echo "ctl: $n did not start; the end of $VAR/log/$n.log:" >&2
            tail -n 5 "$VAR/log/$n.log" >&2
            status=1
        fi
    done
    ;;
esac
exit $status
