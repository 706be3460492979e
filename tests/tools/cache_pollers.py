#!/usr/bin/env python3
"""cache_pollers.py - N pollers of one feed, as followers in --poll-interval
mode behave, for the deployment tests (tests/integration/deploy.sh).

    cache_pollers.py BASE_URL FEED_PATH --clients 50 --seconds 10
                     [--interval 0.1] [--token T] [--pages 0,1] [--page-every 2]

Each client keeps one connection, fetches the head, then asks for it again
every INTERVAL seconds with the ETag it holds in If-None-Match; every
PAGE_EVERY seconds it fetches each archive page of --pages (unconditionally,
as a follower catching up does). At the end it prints one line:

    requests=N head_200=N head_304=N pages_200=N other=N errors=N etags=N

etags is the number of distinct head ETags seen (new entries show up as
new ETags). Standard library only; bounded by --seconds.
"""
import argparse
import http.client
import sys
import threading
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("feed")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--token", default="")
    ap.add_argument("--pages", default="")
    ap.add_argument("--page-every", type=float, default=2)
    args = ap.parse_args()

    url = urllib.parse.urlsplit(args.base)
    pages = [p for p in args.pages.split(",") if p]
    lock = threading.Lock()
    totals = {"requests": 0, "head_200": 0, "head_304": 0, "pages_200": 0, "other": 0, "errors": 0}
    etags = set()
    deadline = time.monotonic() + args.seconds

    def get(conn, path, headers):
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("ETag")

    def client():
        counts = dict.fromkeys(totals, 0)
        seen = set()
        conn = None
        etag = None
        next_pages = time.monotonic()
        base = {"Accept": "application/atom+xml"}
        if args.token:
            base["Authorization"] = "Bearer " + args.token
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
                if pages and started >= next_pages:
                    for p in pages:
                        status, _ = get(conn, "%s/pages/%s" % (args.feed, p), base)
                        counts["requests"] += 1
                        counts["pages_200" if status == 200 else "other"] += 1
                    next_pages = started + args.page_every
                headers = dict(base)
                if etag:
                    headers["If-None-Match"] = etag
                status, tag = get(conn, args.feed, headers)
                counts["requests"] += 1
                if status == 200:
                    counts["head_200"] += 1
                    etag = tag
                    seen.add(tag)
                elif status == 304:
                    counts["head_304"] += 1
                else:
                    counts["other"] += 1
            except (OSError, http.client.HTTPException):
                counts["errors"] += 1
                if conn is not None:
                    conn.close()
                conn = None
            pause = args.interval - (time.monotonic() - started)
            if pause > 0:
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        if conn is not None:
            conn.close()
        with lock:
            for k, v in counts.items():
                totals[k] += v
            etags.update(seen)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(" ".join("%s=%d" % kv for kv in totals.items()) + " etags=%d" % len(etags))
    return 0


if __name__ == "__main__":
    sys.exit(main())
