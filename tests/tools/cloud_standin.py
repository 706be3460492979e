#!/usr/bin/env python3
"""A stand-in for the Cloud API, for Product 1's tests and benchmarks.

    python3 tests/tools/cloud_standin.py MODE PORT

MODE "hole" accepts connections and never answers (a black-holed API),
"slow" answers 200 after 30 s, "fast" answers 200 at once; the 200 is an
analysis of one unit. Listens on 127.0.0.1:PORT until killed.
"""
import socket, sys, threading, time
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(64)
held = []
body = b'{"characters":5,"words":1,"lines":1,"units":1}'
def serve(c):
    data = b""
    while b"\r\n\r\n" not in data:
        got = c.recv(65536)
        if not got:
            return
        data += got
    head, rest = data.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    while len(rest) < n:
        got = c.recv(65536)
        if not got:
            return
        rest += got
    if mode == "slow":
        time.sleep(30)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    c.close()
while True:
    c, _ = s.accept()
    if mode == "hole":
        held.append(c)
    else:
        threading.Thread(target=serve, args=(c,), daemon=True).start()
