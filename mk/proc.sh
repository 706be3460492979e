# proc.sh - the processes of `make run`, shared by mk/run.sh and mk/ctl.sh.
# Source it from the top of the tree. Everything lives under $VAR (RUN_VAR,
# default var/):
#
#   $VAR/run/NAME.cmd   the command line of process NAME, shell-quoted
#                       (holds tokens: readable by this user only)
#   $VAR/run/NAME.pid   its pid while it runs
#   $VAR/run/names      the names of the current `make run`, in start order
#   $VAR/run/run.pid    the pid of the `make run` (mk/run.sh) that owns them
#   $VAR/log/NAME.log   its log (stdout and stderr, appended)
#
# Each process runs in a session of its own, so a Ctrl-C in the terminal of
# mk/ctl.sh never reaches it; mk/run.sh stops every process of the pid
# files on Ctrl-C, including those mk/ctl.sh restarted.

VAR=${RUN_VAR:-var}
HOST=127.0.0.1
mkdir -p "$VAR/log" "$VAR/run"

# quote WORD: WORD in single quotes, for a command line read back with eval.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# proc_define NAME CMD...: records the command line of NAME.
proc_define() {
    _pd_name=$1; shift
    _pd_line=""
    for _pd_w in "$@"; do _pd_line="$_pd_line $(quote "$_pd_w")"; done
    (umask 077 && printf '%s\n' "$_pd_line" >"$VAR/run/$_pd_name.cmd.new" &&
        mv "$VAR/run/$_pd_name.cmd.new" "$VAR/run/$_pd_name.cmd")
}

# proc_pid NAME: prints the pid of NAME and succeeds if it is running (the
# pid is alive and runs the program of NAME's command line).
proc_pid() {
    [ -s "$VAR/run/$1.pid" ] && [ -s "$VAR/run/$1.cmd" ] || return 1
    _pp_pid=$(cat "$VAR/run/$1.pid")
    kill -0 "$_pp_pid" 2>/dev/null || return 1
    eval "set -- $(cat "$VAR/run/$1.cmd")"
    [ "$(tr '\0' '\n' <"/proc/$_pp_pid/cmdline" 2>/dev/null | head -1)" = "$1" ] || return 1
    echo "$_pp_pid"
}

# proc_port NAME: the port NAME listens on (its --listen), or nothing.
proc_port() {
    [ -s "$VAR/run/$1.cmd" ] || return 0
    eval "set -- $(cat "$VAR/run/$1.cmd")"
    while [ $# -gt 1 ]; do
        [ "$1" != --listen ] || { echo "${2##*:}"; return 0; }
        shift
    done
}

# proc_start NAME: starts NAME from its command line, detached, in a
# session of its own, appending to its log.
proc_start() {
    _ps_name=$1
    eval "set -- $(cat "$VAR/run/$_ps_name.cmd")"
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) --- started by make run / mk/ctl.sh" >>"$VAR/log/$_ps_name.log"
    setsid "$@" >>"$VAR/log/$_ps_name.log" 2>&1 </dev/null &
    echo $! >"$VAR/run/$_ps_name.pid"
}

# proc_stop NAME: stops NAME (SIGTERM, then SIGKILL after 10 s) and waits
# until it is gone.
proc_stop() {
    _st_pid=$(proc_pid "$1") || { rm -f "$VAR/run/$1.pid"; return 0; }
    kill -TERM "$_st_pid" 2>/dev/null
    _st_until=$(($(date +%s) + 10))
    while kill -0 "$_st_pid" 2>/dev/null && [ "$(date +%s)" -lt $_st_until ]; do sleep 0.05; done
    kill -KILL "$_st_pid" 2>/dev/null
    while kill -0 "$_st_pid" 2>/dev/null; do sleep 0.05; done
    rm -f "$VAR/run/$1.pid"
}

# proc_healthy NAME [SECONDS]: succeeds when NAME is not a server, or when
# its /healthz answers within SECONDS (default 10) while it runs.
proc_healthy() {
    _ph_port=$(proc_port "$1")
    [ -n "$_ph_port" ] || return 0
    _ph_until=$(($(date +%s) + ${2:-10}))
    until curl -s -o /dev/null --max-time 1 "http://$HOST:$_ph_port/healthz"; do
        proc_pid "$1" >/dev/null || return 1
        [ "$(date +%s)" -lt $_ph_until ] || return 1
        sleep 0.1
    done
}

# proc_names: the names of the current run, else of every command line.
proc_names() {
    if [ -s "$VAR/run/names" ]; then
        cat "$VAR/run/names"
    else
        for _pn in "$VAR"/run/*.cmd; do [ -f "$_pn" ] && basename "$_pn" .cmd; done
    fi
}

# run_pid: prints the pid of the `make run` that owns the processes and
# succeeds if it is alive.
run_pid() {
    [ -s "$VAR/run/run.pid" ] || return 1
    _rp=$(cat "$VAR/run/run.pid")
    kill -0 "$_rp" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$_rp/cmdline" 2>/dev/null | grep -q 'mk/run.sh' || return 1
    echo "$_rp"
}

# proc_report: one line per process: name, pid (or "-"), port, state.
proc_report() {
    printf '  %-30s %-8s %-6s %s\n' NAME PID PORT STATE
    for _pr in $(proc_names); do
        if _pr_pid=$(proc_pid "$_pr"); then _pr_state=running; else _pr_pid=-; _pr_state=stopped; fi
        _pr_port=$(proc_port "$_pr")
        printf '  %-30s %-8s %-6s %s\n' "$_pr" "$_pr_pid" "${_pr_port:--}" "$_pr_state"
    done
}
