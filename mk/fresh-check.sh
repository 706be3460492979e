#!/bin/sh
# make fresh-check: proves the README's prerequisite on a fresh Debian 12.
# Not part of make test (a few minutes, and it downloads packages).
#
#   1. debootstrap --variant=minbase bookworm into build/fresh/base (kept
#      for the next run) from the Debian mirror of /etc/apt/sources.list,
#      and a fresh copy of it in build/fresh/root;
#   2. this tree (its tracked and untracked files) copied to /src inside;
#   3. as root: apt-get install make (the one prerequisite);
#   4. as another user: make must name the missing packages and exit non-zero;
#   5. as root: make (installs the compiler and libraries, builds);
#   6. as root, in a network namespace of its own (fixed ports):
#      make run, the three /healthz, then a stop that leaves nothing;
#   7. as root: make test TESTS=cli (installs the test packages, runs
#      tests/integration/test_cli.sh and the slow-clients tests).
#
# Needs root, debootstrap, chroot and unshare. Prints each step's time;
# exit 0 only if every step did what it should.
set -u
cd "$(dirname "$0")/.." || exit 2
TOP=$(pwd)
F=$TOP/build/fresh
R=$F/root

[ "$(id -u)" = 0 ] || { echo "fresh-check: needs root (debootstrap, chroot)" >&2; exit 1; }
for t in debootstrap chroot unshare; do
    command -v $t >/dev/null || { echo "fresh-check: $t is missing (apt-get install debootstrap util-linux)" >&2; exit 1; }
done

# The Debian mirror this machine uses (deb822 or one-line sources).
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -n -e 's/^URIs: *\([^ ]*\/debian\)\/*$/\1/p' -e 's/^deb  *\(\[[^]]*\] *\)\{0,1\}\([^ ]*\/debian\)\/* .*/\2/p' | head -1)
mirror=${mirror:-http://deb.debian.org/debian}

failed=0
began=$(date +%s)
step_start() { step=$1; t0=$(date +%s); echo "== $step"; }
step_end() {
    if [ "$1" = 0 ]; then echo "ok - $step ($(($(date +%s) - t0)) s)"; else
        echo "not ok - $step ($(($(date +%s) - t0)) s)"; failed=1; fi
}

cleanup() {
    # Anything still running inside the tree, then the mounts.
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    mountpoint -q "$R/proc" && umount "$R/proc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

step_start "debootstrap bookworm minbase from $mirror"
rc=0
if [ ! -x "$F/base/bin/sh" ]; then
    rm -rf "$F/base.tmp"
    mkdir -p "$F"
    debootstrap --variant=minbase bookworm "$F/base.tmp" "$mirror" >"$F/debootstrap.log" 2>&1 &&
        mv "$F/base.tmp" "$F/base" || rc=1
fi
if [ $rc = 0 ]; then
    mountpoint -q "$R/proc" && umount "$R/proc"
    rm -rf "$R" && cp -a "$F/base" "$R" && cp /etc/resolv.conf "$R/etc/resolv.conf" &&
        mount -t proc proc "$R/proc" || rc=1
fi
step_end $rc
[ $rc = 0 ] || { echo "see $F/debootstrap.log"; exit 1; }
echo "# $(in_root sh -c '. /etc/os-release; echo $PRETTY_NAME'); cc: $(in_root sh -c 'command -v cc || echo none'); make: $(in_root sh -c 'command -v make || echo none')"

step_start "copy the tree to /src"
mkdir -p "$R/src"
(git ls-files -co --exclude-standard -z | tar -c --null -T - -f - | tar -x -C "$R/src" -f -)
step_end $?

step_start "as root: apt-get install make (the README's prerequisite)"
in_root sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make' >"$F/make-install.log" 2>&1
step_end $?

step_start "as another user: make names the packages and exits non-zero"
in_root sh -c 'useradd -m tester 2>/dev/null; chown -R tester /src'
in_root su -s /bin/sh tester -c 'cd /src && make' >"$F/user.log" 2>&1
rc=$?
cat "$F/user.log" | sed 's/^/#   /' | head -5
[ $rc -ne 0 ] && grep -q 'missing Debian packages:.* gcc' "$F/user.log" &&
    grep -q 'sudo apt-get install' "$F/user.log"
step_end $?

step_start "as root: make (installs the compiler and the libraries, builds)"
in_root sh -c 'chown -R root /src && cd /src && make' >"$F/make.log" 2>&1
rc=$?
[ $rc = 0 ] || tail -n 20 "$F/make.log" | sed 's/^/#   /'
step_end $rc

step_start "as root, own network namespace: make run answers on 8081, 8082, 8083, then stops cleanly"
cat >"$R/src/build/fresh-run.sh" <<'EOF'
ip link set lo up 2>/dev/null || true
cd /src
make run >/tmp/run.log 2>&1 &
i=0
until grep -q 'Press Ctrl-C' /tmp/run.log; do
    i=$((i + 1)); [ $i -lt 1200 ] || { cat /tmp/run.log; exit 1; }
    sleep 0.1
done
for p in 8081 8082 8083; do
    curl -sf -o /dev/null --max-time 2 http://127.0.0.1:$p/healthz || { echo "no answer on $p"; exit 1; }
done
echo "all three answer"
kill -TERM "$(cat var/run/run.pid)"
i=0
while [ -n "$(ls var/run/*.pid 2>/dev/null)" ]; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "pid files left"; exit 1; }
    sleep 0.1
done
wait
echo "stopped"
EOF
# ip comes with iproute2, which minbase lacks; lo is up in a new namespace
# only through it, so install it here (not a prerequisite of make run).
in_root sh -c 'command -v ip >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2' >/dev/null 2>&1
# make run's first step, configure (installs curl), needs the network.
in_root sh -c 'cd /src && sh mk/configure.sh run >/dev/null' >>"$F/make.log" 2>&1
unshare -n chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root sh /src/build/fresh-run.sh >"$F/run.log" 2>&1
rc=$?
# (The chroot shares the process table: what is left is what runs in $R.)
for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" != "$R" ] && continue
    echo "left: $(tr '\0' ' ' <"$p/cmdline")" >>"$F/run.log"; rc=1
done
sed 's/^/#   /' "$F/run.log" | tail -n 5
step_end $rc

if [ "${FRESH_TEST:-1}" != 0 ]; then
    step_start "as root: make test TESTS=cli (installs the test packages, runs the tests)"
    # make test's first step, configure, needs the network (apt-get): it
    # runs outside the namespace, then make test inside finds all installed.
    in_root sh -c 'cd /src && sh mk/configure.sh test >/dev/null' >"$F/test.log" 2>&1
    unshare -n chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        sh -c 'ip link set lo up; cd /src && make test TESTS=cli' >>"$F/test.log" 2>&1
    rc=$?
    tail -n 3 "$F/test.log" | sed 's/^/#   /'
    grep -q ' passed, 0 failed$' "$F/test.log" || rc=1
    step_end $rc
fi

echo "fresh-check: $([ $failed = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - began)) s (logs in $F/)"
exit $failed
