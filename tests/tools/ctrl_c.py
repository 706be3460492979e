#!/usr/bin/env python3
"""ctrl_c.py WAIT_FOR CMD... -- AFTER...: runs CMD on a pseudo-terminal as
a terminal would (its own session, the terminal's foreground group), waits
until its output shows WAIT_FOR, runs AFTER (a shell command line), then
types Ctrl-C and waits for CMD to end. Prints CMD's output, then
"exit=N" (N the exit status, or -SIGNAL). Exits 1 on a timeout."""
import os
import pty
import select
import subprocess
import sys
import time


def read_until(fd, buf, done, seconds):
    deadline = time.time() + seconds
    while not done(buf) and time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            buf += data
    return buf


def main():
    args = sys.argv[1:]
    wait_for = args[0].encode()
    sep = args.index("--")
    cmd, after = args[1:sep], " ".join(args[sep + 1:])
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    buf = read_until(fd, b"", lambda b: wait_for in b, 90)
    if wait_for not in buf:
        sys.stdout.write(buf.decode(errors="replace") + "\ntimed out waiting for the start\n")
        os.kill(pid, 9)
        return 1
    if after:
        subprocess.run(after, shell=True, check=False)
    os.write(fd, b"\x03")
    status = None
    deadline = time.time() + 60
    while status is None and time.time() < deadline:
        buf = read_until(fd, buf, lambda b: False, 0.2)
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            status = os.waitstatus_to_exitcode(st)
    sys.stdout.write(buf.decode(errors="replace"))
    if status is None:
        os.kill(pid, 9)
        print("\ntimed out waiting for the end")
        return 1
    print(f"\nexit={status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
