#!/usr/bin/env python3
"""
load.py - the load generator and the reconciliation of the chaos soak
(tests/soak/soak.sh, docs/soak.md). Python 3 standard library only.

  load.py run --dir DIR --sub URL --api URL --api2 URL --p1 URL
      Creates the customers and users, waits until both Cloud API nodes and
      Product 1 accept them, writes DIR/ready, then calls the system from
      several threads until DIR/stop exists. Then it settles: every
      idempotent call is retried until answered, every revoked key is
      checked once more, every Product 1 user signs in again and their
      analyses are waited for until none is queued. It writes DIR/done and
      exits 0 (1 when the settling missed a deadline).

  load.py reconcile --dir DIR --sub URL --api URL --api2 URL --p1 URL
                    --db1 FILE --db2 FILE --token TOKEN
      Waits until every unit metered by the two Cloud API nodes is published
      in their usage feeds and charged by Subscriptions, prints the
      reconciliation table and one "ok - " / "not ok - " line per check
      (tests/run.sh counts them), and exits 1 when a check failed.

Every call's fate is written to DIR/calls.tsv (one line per call: time,
kind, node, customer, outcome, status, units it costs, units answered,
Idempotency-Key, replayed) and every other action to DIR/events.jsonl, so the
reconciliation counts from what the clients saw, not from the servers.

Each HTTP exchange uses a connection of its own, so that its fate is known:
"down" when no connection could be made (nothing was sent, so nothing can
have been served), "cut" when the connection was made but no full answer
came (the server was killed meanwhile: the call may or may not have been
served, and the client cannot know), else "answer".
"""

import argparse
import http.client
import json
import os
import random
import socket
import sqlite3
import sys
import threading
import time
import urllib.parse

ANSWER, DOWN, CUT = "answer", "down", "cut"
NODES = ("node-1", "node-2")
# How long a call may take before the client gives up on it (counted as cut).
CALL_TIMEOUT = 10.0
# DESIGN.md R2: a revoked key or a locked customer is refused within 1-2 s.
REFUSAL_DEADLINE = 2.0
UNLIMITED = 1000000000  # credit limit of every customer: no overdraft locks


def monotonic():
    return time.monotonic()


# ---- HTTP ----------------------------------------------------------------


class Reply:
    """What one exchange gave: outcome (ANSWER, DOWN or CUT), and for an
    answer its status, headers and body; timed_out for a CUT by timeout."""

    __slots__ = ("outcome", "status", "headers", "body", "timed_out")

    def __init__(self, outcome, status=0, headers=None, body=b"", timed_out=False):
        self.outcome = outcome
        self.status = status
        self.headers = headers
        self.body = body
        self.timed_out = timed_out

    def header(self, name):
        return self.headers.get(name) if self.headers is not None else None

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def exchange(base, method, path, body=None, headers=None, timeout=CALL_TIMEOUT):
    """One HTTP exchange with base (http://host:port) on a new connection."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.connect()
    except OSError:
        conn.close()
        return Reply(DOWN)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Reply(ANSWER, r.status, r.headers, data)
    except socket.timeout:
        return Reply(CUT, timed_out=True)
    except (OSError, http.client.HTTPException):
        return Reply(CUT)
    finally:
        conn.close()


def form(**fields):
    return urllib.parse.urlencode(fields).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


# ---- The journal ---------------------------------------------------------


class Journal:
    """DIR/calls.tsv and DIR/events.jsonl, appended by every thread."""

    def __init__(self, folder):
        self.lock = threading.Lock()
        self.calls = open(os.path.join(folder, "calls.tsv"), "a", buffering=1 << 16)
        self.events = open(os.path.join(folder, "events.jsonl"), "a", buffering=1 << 12)

    def call(self, kind, node, customer, outcome, status, cost, answered, idem, replayed):
        line = "%.3f\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%d\n" % (
            time.time(), kind, node, customer, outcome, status, cost,
            answered, idem or "-", replayed)
        with self.lock:
            self.calls.write(line)

    def event(self, kind, **fields):
        fields["ev"] = kind
        fields["t"] = round(time.time(), 3)
        line = json.dumps(fields, sort_keys=True) + "\n"
        with self.lock:
            self.events.write(line)

    def close(self):
        with self.lock:
            self.calls.close()
            self.events.close()


# ---- The system under load -----------------------------------------------


class Cred:
    """A login key of a user of a customer."""

    __slots__ = ("customer", "user", "key_id", "key", "email")

    def __init__(self, customer, user, key_id, key, email):
        self.customer = customer
        self.user = user
        self.key_id = key_id
        self.key = key
        self.email = email


def units_of(body):
    """What the Cloud API charges for a body (DESIGN.md section 7)."""
    return 1 + len(body) // 1000


WORDS = ["alpha", "beta", "gamma", "delta", "feed", "atom", "entry", "window",
         "units", "charge", "key", "node", "soak", "chaos", "kill", "again"]


def make_text(rng, size):
    out, n = [], 0
    while n < size:
        w = rng.choice(WORDS)
        out.append(w)
        n += len(w) + 1
    return " ".join(out)[:size]


class Load:
    def __init__(self, args):
        self.dir = args.dir
        self.sub = args.sub
        self.api = {"node-1": args.api, "node-2": args.api2}
        self.p1 = args.p1
        self.journal = Journal(args.dir)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.rng = random.Random()
        # texts of 0 to 5999 bytes: 1 to 6 units a call
        self.texts = [make_text(self.rng, self.rng.randrange(0, 6000)).encode()
                      for _ in range(96)]
        self.customers = {}  # id -> {"name", "class"}
        self.plain = []      # Creds the plain callers use (grows with new users)
        self.idem = []       # Creds of the idempotent callers
        self.p1_users = []   # Creds of Product 1's users
        self.revoky = None   # the user whose keys are issued and revoked
        self.locky = None    # a key of the customer that is locked and unlocked
        self.revoked = []    # Creds revoked
        self.failures = []   # what went wrong in the load itself
        self.seq = 0
        # pause of each caller between two calls, so that the load is
        # steady rather than all the machine can take
        self.pace = args.pace_ms / 1000.0

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def fail(self, what):
        with self.lock:
            self.failures.append(what)
        self.journal.event("failure", what=what)

    # -- Subscriptions (writes retried while it is down or cut off) --

    def sub_write(self, method, path, fields, want, deadline=60.0):
        """Sends a write to Subscriptions until it is answered (an answer
        under 500), for at most deadline seconds. Returns (reply, attempts,
        cut): cut is true when an attempt was cut off, so that the write may
        have taken effect before the answer returned (an attempt that found
        Subscriptions down surely did not)."""
        until = monotonic() + deadline
        attempts, cut = 0, False
        while True:
            r = exchange(self.sub, method, path, form(**fields) if fields else None, FORM)
            attempts += 1
            if r.outcome == CUT:
                cut = True
            if r.outcome == ANSWER and r.status < 500:
                if r.status not in want:
                    self.fail("%s %s: HTTP %d %s" % (method, path, r.status, r.body[:200]))
                return r, attempts, cut
            if monotonic() > until:
                self.fail("%s %s: no answer in %.0f s" % (method, path, deadline))
                return r, attempts, cut
            time.sleep(0.05)

    def new_customer(self, name, klass):
        r, _, _ = self.sub_write("POST", "/customers",
                                 {"name": name, "plan": "payg",
                                  "credit_limit_cents": str(UNLIMITED)}, (201,))
        cid = r.json()["id"]
        self.customers[cid] = {"name": name, "class": klass}
        return cid

    def new_user(self, customer, tag):
        """Adds a user (a new email each attempt, since a cut-off attempt may
        have added one). Returns its Cred, or None."""
        for _ in range(20):
            email = "%s-%d@soak.example" % (tag, self.next_seq())
            r, _, cut = self.sub_write("POST", "/customers/%s/users" % customer,
                                       {"email": email}, (201, 409))
            if r.outcome == ANSWER and r.status == 201:
                j = r.json()
                return Cred(customer, j["user_id"], j["key_id"], j["login_key"], email)
            if self.stop.is_set():
                return None
        return None

    def new_key(self, user):
        r, _, _ = self.sub_write("POST", "/customers/%s/users/%s/keys" % (user.customer, user.user),
                                 None, (201,))
        if r.outcome != ANSWER or r.status != 201:
            return None
        j = r.json()
        return Cred(user.customer, user.user, j["key_id"], j["login_key"], user.email)

    # -- The Cloud API --

    def analyze(self, kind, node, cred, body, idem=None):
        headers = {"Authorization": "Bearer " + cred.key, "Content-Type": "text/plain"}
        if idem:
            headers["Idempotency-Key"] = idem
        r = exchange(self.api[node], "POST", "/api/v1/analyze", body, headers)
        answered, replayed = 0, 0
        if r.outcome == ANSWER and r.status == 200:
            j = r.json()
            answered = j.get("units", -1) if isinstance(j, dict) else -1
            replayed = 1 if r.header("Idempotent-Replayed") == "true" else 0
        outcome = "timeout" if r.timed_out else r.outcome
        self.journal.call(kind, node, cred.customer, outcome, r.status, units_of(body),
                          answered, idem, replayed)
        return r

    def wait_both(self, kind, cred, statuses, deadline, since=None):
        """Calls both nodes until each answers one of statuses. Returns
        {node: seconds since `since` (monotonic; default now) or None}."""
        t0 = monotonic() if since is None else since
        left = set(NODES)
        out = {n: None for n in NODES}
        while left:
            for node in sorted(left):
                r = self.analyze(kind, node, cred, b"probe")
                if r.outcome == ANSWER and r.status in statuses:
                    out[node] = round(monotonic() - t0, 3)
                    left.discard(node)
            if left and monotonic() - t0 > deadline:
                break
            time.sleep(0.01)
        return out

    # -- Product 1 --

    def p1_login(self, cred):
        r = exchange(self.p1, "POST", "/login", form(email=cred.email, login_key=cred.key), FORM)
        if r.outcome != ANSWER or r.status != 303:
            return None, r
        for c in r.headers.get_all("Set-Cookie") or []:
            pair = c.split(";", 1)[0].strip()
            if pair.startswith("p1_session="):
                return pair, r
        return None, r

    def p1_login_until(self, cred, deadline):
        until = monotonic() + deadline
        while monotonic() < until:
            cookie, _ = self.p1_login(cred)
            if cookie:
                return cookie
            time.sleep(0.05)
        return None

    # -- Set-up --

    def setup(self):
        for i in range(3):
            c = self.new_customer("plain-%d" % (i + 1), "plain")
            for _ in range(2):
                self.plain.append(self.new_user(c, "plain"))
        for i in range(2):
            c = self.new_customer("idem-%d" % (i + 1), "idempotent")
            self.idem.append(self.new_user(c, "idem"))
        for i in range(2):
            c = self.new_customer("p1-%d" % (i + 1), "product1")
            self.p1_users.append(self.new_user(c, "p1"))
        c = self.new_customer("revoky", "revocations")
        self.revoky = self.new_user(c, "revoky")
        c = self.new_customer("locky", "locks")
        self.locky = self.new_user(c, "locky")
        self.plain.append(self.new_user(c, "locky"))
        everyone = self.plain + self.idem + self.p1_users + [self.revoky, self.locky]
        if any(c is None for c in everyone):
            raise SystemExit("load.py: the set-up could not add its users")
        for cred in everyone:
            got = self.wait_both("setup", cred, (200,), 20.0)
            if None in got.values():
                raise SystemExit("load.py: a new key is not accepted by both nodes: %s" % got)
        self.cookies = {}
        for cred in self.p1_users:
            cookie = self.p1_login_until(cred, 20.0)
            if not cookie:
                raise SystemExit("load.py: Product 1 does not sign %s in" % cred.email)
            self.cookies[cred.email] = cookie
        with open(os.path.join(self.dir, "customers.json"), "w") as f:
            json.dump(self.customers, f, indent=1, sort_keys=True)

    # -- The callers (threads) --

    def plain_caller(self, seed):
        rng = random.Random(seed)
        while not self.stop.is_set():
            with self.lock:
                cred = rng.choice(self.plain)
            self.analyze("plain", rng.choice(NODES), cred, rng.choice(self.texts))
            time.sleep(self.pace)

    def idem_caller(self, seed):
        """Calls with an Idempotency-Key; a call without an answer is sent
        again (same node, key and body) until it is answered, so that every
        key ends answered; now and then an answered call is sent once more
        and must be replayed."""
        rng = random.Random(seed)
        n = 0
        while not self.stop.is_set():
            cred = rng.choice(self.idem)
            node = rng.choice(NODES)
            body = rng.choice(self.texts)
            n += 1
            idem = "soak-%d-%d-%08x" % (seed, n, rng.getrandbits(32))
            first = self.idem_until_answered(node, cred, body, idem, "idem")
            time.sleep(self.pace)
            if first is not None and rng.random() < 0.1:
                again = self.idem_until_answered(node, cred, body, idem, "idem-repeat")
                if again is not None:
                    if again.header("Idempotent-Replayed") != "true":
                        self.fail("a repeated Idempotency-Key was not replayed: %s" % idem)
                    if again.body != first.body:
                        self.fail("a replay differs from the first answer: %s" % idem)

    def idem_until_answered(self, node, cred, body, idem, kind):
        until = monotonic() + 120.0
        while True:
            r = self.analyze(kind, node, cred, body, idem)
            if r.outcome == ANSWER and r.status == 200:
                return r
            if r.outcome == ANSWER and r.status != 503:
                self.fail("idempotent call %s: HTTP %d %s" % (idem, r.status, r.body[:200]))
                return None
            if monotonic() > until:
                self.fail("idempotent call %s: no 200 in 120 s" % idem)
                return None
            time.sleep(0.02)

    def p1_caller(self, cred, seed):
        rng = random.Random(seed)
        cookie = self.cookies[cred.email]
        while not self.stop.is_set():
            if cookie is None:
                cookie, r = self.p1_login(cred)
                self.journal.event("p1_login", customer=cred.customer, outcome=r.outcome,
                                   status=r.status)
                if cookie is None:
                    time.sleep(0.05)
                    continue
            text = make_text(rng, rng.randrange(1, 3000))
            headers = dict(FORM)
            headers["Cookie"] = cookie
            r = exchange(self.p1, "POST", "/analyses", form(text=text), headers)
            j = r.json() if r.outcome == ANSWER else None
            self.journal.event("p1_analysis", customer=cred.customer, outcome=r.outcome,
                               status=r.status, id=(j or {}).get("id") if isinstance(j, dict) else None,
                               units=units_of(text.encode()))
            if r.outcome == ANSWER and r.status == 401:
                cookie = None
            elif r.outcome == ANSWER and r.status not in (201, 202):
                self.fail("Product 1 POST /analyses: HTTP %d %s" % (r.status, r.body[:200]))
                time.sleep(0.1)
            elif r.outcome != ANSWER:
                time.sleep(0.02)
            time.sleep(self.pace)

    def churn(self, seed):
        """Revocations, locks and unlocks, new users and payments, one at a
        time, while the others call."""
        rng = random.Random(seed)
        while not self.stop.is_set():
            x = rng.random()
            if x < 0.35:
                self.revocation()
            elif x < 0.55:
                self.lock_cycle()
            elif x < 0.75:
                self.add_plain_user(rng)
            else:
                self.payment(rng)
            time.sleep(0.1)

    def revocation(self):
        """Issues a key, waits until both nodes accept it, revokes it and
        measures, from the 204, how long each node still accepts it."""
        cred = self.new_key(self.revoky)
        if cred is None:
            return
        got = self.wait_both("probe", cred, (200,), 20.0)
        if None in got.values():
            self.fail("a new key was not accepted by both nodes in 20 s: %s" % got)
        r, attempts, cut = self.sub_write(
            "DELETE", "/customers/%s/users/%s/keys/%s" % (cred.customer, cred.user, cred.key_id),
            None, (204, 404))
        t204 = monotonic()
        # Measured only when no attempt was cut off: a cut-off attempt may
        # have revoked the key some time before the answer that follows.
        measured = not cut and r.outcome == ANSWER and r.status == 204
        refused = self.wait_both("probe", cred, (401,), 30.0, since=t204)
        with self.lock:
            self.revoked.append(cred)
        self.journal.event("revocation", customer=cred.customer, key_id=cred.key_id,
                           measured=measured, attempts=attempts, refused_after=refused)

    def lock_cycle(self):
        """Locks the customer locky, measures from the 200 how long each
        node still serves its key, unlocks it and waits until both serve it
        again."""
        path = "/customers/%s" % self.locky.customer
        r, attempts, cut = self.sub_write("POST", path + "/lock", None, (200, 409))
        t200 = monotonic()
        measured = not cut and r.outcome == ANSWER and r.status == 200
        refused = self.wait_both("probe", self.locky, (403,), 30.0, since=t200)
        r, _, _ = self.sub_write("POST", path + "/unlock", None, (200, 409))
        t_unlock = monotonic()
        served = self.wait_both("probe", self.locky, (200,), 30.0, since=t_unlock)
        self.journal.event("lock", customer=self.locky.customer, measured=measured,
                           attempts=attempts, refused_after=refused, served_again_after=served)

    def add_plain_user(self, rng):
        customers = [c for c, v in self.customers.items() if v["class"] == "plain"]
        cred = self.new_user(rng.choice(customers), "new")
        if cred is None:
            return
        with self.lock:
            self.plain.append(cred)
        self.journal.event("user_added", customer=cred.customer, user=cred.user)

    def payment(self, rng):
        cid = rng.choice(sorted(self.customers))
        amount = rng.randrange(1, 500)
        r = None
        for _ in range(200):
            r = exchange(self.sub, "POST", "/customers/%s/payments" % cid,
                         form(amount_cents=str(amount)), FORM)
            self.journal.event("payment", customer=cid, amount=amount, outcome=r.outcome,
                               status=r.status)
            # Sent again only when surely not applied: a payment is not
            # idempotent, so a cut-off one is left as it is (and bounded).
            if r.outcome != DOWN or self.stop.is_set():
                break
            time.sleep(0.05)
        if r.outcome == ANSWER and r.status != 200:
            self.fail("payment: HTTP %d %s" % (r.status, r.body[:200]))

    # -- Run and settle --

    def guarded(self, fn, *args):
        """Runs a thread's body; an exception is a failure of the run, not a
        thread that ends quietly and leaves the load lighter."""
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - any of them must be reported
            self.fail("%s ended with %s: %s" % (fn.__name__, type(e).__name__, e))

    def run(self):
        self.setup()
        open(os.path.join(self.dir, "ready"), "w").close()
        bodies = [(self.plain_caller, 100 + i) for i in range(3)]
        bodies += [(self.idem_caller, 200 + i) for i in range(2)]
        bodies += [(self.p1_caller, cred, 300 + i) for i, cred in enumerate(self.p1_users)]
        bodies.append((self.churn, 400))
        threads = [threading.Thread(target=self.guarded, args=b) for b in bodies]
        for t in threads:
            t.daemon = True
            t.start()
        stop_file = os.path.join(self.dir, "stop")
        while not os.path.exists(stop_file):
            time.sleep(0.1)
        self.stop.set()
        t_end = monotonic() + 180.0
        for t in threads:
            t.join(max(0.0, t_end - monotonic()))
            if t.is_alive():
                self.fail("a load thread did not finish in time")
        self.settle()
        self.journal.event("failures", list=self.failures)
        self.journal.close()
        with open(os.path.join(self.dir, "done"), "w") as f:
            json.dump({"failures": self.failures}, f)
        return 0

    def settle(self):
        """With the chaos over: every revoked key once more on both nodes,
        then each Product 1 user signs in again (a restarted Product 1 lost
        the keys it held in memory) and their analyses are waited for until
        none is queued."""
        for cred in self.revoked:
            for node in NODES:
                r = self.analyze("sweep", node, cred, b"probe")
                self.journal.event("sweep", key_id=cred.key_id, node=node,
                                   outcome=r.outcome, status=r.status)
        lists = {}
        for cred in self.p1_users:
            cookie = self.p1_login_until(cred, 30.0)
            if not cookie:
                self.fail("Product 1 does not sign %s in after the chaos" % cred.email)
                continue
            until = monotonic() + 60.0
            listed = None
            while monotonic() < until:
                r = exchange(self.p1, "GET", "/analyses", None,
                             {"Accept": "application/json", "Cookie": cookie})
                if r.outcome == ANSWER and r.status == 200:
                    listed = r.json()
                    if not any(a["status"] == "queued" for a in listed):
                        break
                elif r.outcome == ANSWER and r.status == 401:
                    cookie = self.p1_login_until(cred, 30.0) or cookie
                time.sleep(0.2)
            lists[cred.customer] = listed
        with open(os.path.join(self.dir, "analyses.json"), "w") as f:
            json.dump(lists, f)


# ---- Reconciliation -------------------------------------------------------


def wait_for(what, deadline, probe, checks):
    """Calls probe() until it returns a true value or deadline seconds pass;
    records the check and returns the last value."""
    until = monotonic() + deadline
    t0 = monotonic()
    while True:
        v = probe()
        if v:
            checks.append((True, "%s (%.1f s)" % (what, monotonic() - t0), None))
            return v
        if monotonic() > until:
            checks.append((False, what, "not within %.0f s" % deadline))
            return v
        time.sleep(0.2)


def read_db(path, sql):
    """Runs sql on a context's database, read-only."""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def read_usage_feed(base, token):
    """Every entry of a Cloud API node's usage feed, read over HTTP as the
    contract serves it (archive pages, then the head), as CloudEvents.
    Returns the list in position order, or None when it cannot be read."""
    headers = {"Accept": "application/cloudevents-batch+json",
               "Authorization": "Bearer " + token}
    out, n = [], 0
    while True:
        r = exchange(base, "GET", "/feeds/usage/pages/%d" % n, None, headers)
        if r.outcome != ANSWER:
            return None
        if r.status == 404:
            break
        if r.status != 200:
            return None
        out.extend(r.json())
        n += 1
    r = exchange(base, "GET", "/feeds/usage", None, headers)
    if r.outcome != ANSWER or r.status != 200:
        return None
    last = out[-1]["position"] if out else 0
    out.extend(e for e in r.json() if e["position"] > last)
    return out


def customer_units(sub, cid):
    """Units charged to a customer: this month's and every closed month's
    (a run may cross the end of a month). None when not readable."""
    r = exchange(sub, "GET", "/customers/%s" % cid, None, {"Accept": "application/json"})
    if r.outcome != ANSWER or r.status != 200:
        return None
    j = r.json()
    units = j["current_month"]["units"]
    r = exchange(sub, "GET", "/customers/%s/invoices" % cid, None, {"Accept": "application/json"})
    if r.outcome == ANSWER and r.status == 200:
        inv = r.json()
        if isinstance(inv, dict):
            inv = inv.get("invoices", [])
        units += sum(i.get("units", 0) or 0 for i in inv)
    return {"units": units, "balance": j["balance_cents"], "status": j["status"]}


def pct(values, p):
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(p * len(v)))]


def reconcile(args):
    folder = args.dir
    checks = []  # (ok, description, detail)
    customers = json.load(open(os.path.join(folder, "customers.json")))
    names = {cid: v["name"] for cid, v in customers.items()}
    dbs = {"node-1": args.db1, "node-2": args.db2}
    apis = {"node-1": args.api, "node-2": args.api2}

    # What the clients saw.
    per = {cid: {"answered": 0, "cut": 0, "calls": 0, "ok": 0, "cut_calls": 0, "idem_keys": 0,
                 "idem_cut": 0, "p1": 0, "paid": 0, "paid_cut": 0} for cid in customers}
    totals = {"calls": 0, "200": 0, "401": 0, "403": 0, "5xx": 0, "other": 0, "down": 0,
              "cut": 0, "timeouts": 0, "replays": 0, "idem_retried": 0}
    idem_state = {}  # (customer, idem) -> [answered units or None, cost, any attempt cut]
    wrong_units = 0
    with open(os.path.join(folder, "calls.tsv")) as f:
        for line in f:
            t, kind, node, cid, outcome, status, cost, answered, idem, replayed = \
                line.rstrip("\n").split("\t")
            status, cost, answered, replayed = int(status), int(cost), int(answered), int(replayed)
            if outcome == "timeout":
                totals["timeouts"] += 1
                outcome = CUT
            p = per[cid]
            p["calls"] += 1
            totals["calls"] += 1
            if outcome == DOWN:
                totals["down"] += 1
            elif outcome == CUT:
                totals["cut"] += 1
            elif status == 200:
                totals["200"] += 1
                p["ok"] += 1
            elif status in (401, 403):
                totals[str(status)] += 1
            elif status >= 500:
                totals["5xx"] += 1
            else:
                totals["other"] += 1
            if status == 200 and answered != cost:
                wrong_units += 1
            if idem == "-":
                if outcome == ANSWER and status == 200:
                    p["answered"] += answered
                elif outcome == CUT:
                    p["cut"] += cost
                    p["cut_calls"] += 1
                continue
            st = idem_state.setdefault((cid, idem), [None, cost, False, 0])
            st[3] += 1
            if outcome == CUT:
                st[2] = True
            if outcome == ANSWER and status == 200:
                if replayed:
                    totals["replays"] += 1
                if st[0] is None:
                    st[0] = answered
                    p["answered"] += answered
                elif answered != st[0] or not replayed:
                    checks.append((False, "a repeated idempotent call was charged once",
                                   "%s answered again without a replay" % idem))
    unresolved = 0
    for (cid, idem), (ans, cost, cut, tries) in idem_state.items():
        per[cid]["idem_keys"] += 1
        if tries > 1:
            totals["idem_retried"] += 1
        if ans is None:
            unresolved += 1
            if cut:
                per[cid]["cut"] += cost
                per[cid]["idem_cut"] += 1

    events = [json.loads(line) for line in open(os.path.join(folder, "events.jsonl"))]
    for e in events:
        if e["ev"] == "payment":
            if e["outcome"] == ANSWER and e["status"] == 200:
                per[e["customer"]]["paid"] += e["amount"]
            elif e["outcome"] == CUT:
                per[e["customer"]]["paid_cut"] += e["amount"]

    # Product 1: its final list is the truth of what it did.
    lists = json.load(open(os.path.join(folder, "analyses.json")))
    p1 = {"done": 0, "queued": 0, "failed": 0, "submitted": 0, "answered": 0, "unknown": 0,
          "missing": 0}
    listed_ids = set()
    for cid, listed in lists.items():
        for a in listed or []:
            listed_ids.add(a["id"])
            p1[a["status"]] = p1.get(a["status"], 0) + 1
            if a["status"] == "done":
                per[cid]["ok"] += 1
                per[cid]["answered"] += a["result"]["units"]
    for e in events:
        if e["ev"] != "p1_analysis":
            continue
        p1["submitted"] += 1
        per[e["customer"]]["calls"] += 1
        if e["outcome"] == ANSWER and e["status"] in (201, 202):
            p1["answered"] += 1
            if e["id"] not in listed_ids:
                p1["missing"] += 1
        elif e["outcome"] == CUT:
            p1["unknown"] += 1

    # Every unit metered is published: nothing left unpublished on either node.
    for node in NODES:
        wait_for("%s published every window it metered" % node, 30.0,
                 lambda node=node: read_db(dbs[node], "SELECT count(*) FROM usage_units"
                                           " WHERE position IS NULL")[0][0] == 0, checks)
    metered = {node: dict(read_db(dbs[node], "SELECT customer_id, sum(units) FROM usage_units"
                                              " GROUP BY customer_id")) for node in NODES}
    published = {}
    for node in NODES:
        feed = read_usage_feed(apis[node], args.token)
        if feed is None:
            checks.append((False, "%s's usage feed can be read" % node, None))
            feed = []
        positions = [e["position"] for e in feed]
        checks.append((positions == list(range(1, len(feed) + 1)),
                       "%s's usage feed is gapless: positions 1..%d" % (node, len(feed)), None))
        bad_node = sum(1 for e in feed if e["data"].get("node") != node)
        checks.append((bad_node == 0, "every entry of %s's usage feed names it" % node,
                       "%d entries name another node" % bad_node))
        sums = {}
        for e in feed:
            sums[e["data"]["customerId"]] = sums.get(e["data"]["customerId"], 0) + int(e["data"]["units"])
        published[node] = sums

    # Charged: wait until Subscriptions charged what the feeds published.
    def charged_all():
        got = {}
        for cid in customers:
            c = customer_units(args.sub, cid)
            if c is None:
                return None
            want = sum(published[n].get(cid, 0) for n in NODES)
            if c["units"] != want:
                return None
            got[cid] = c
        return got
    charged = wait_for("Subscriptions charged every published unit", 60.0, charged_all, checks)
    if not charged:
        charged = {cid: customer_units(args.sub, cid) or {"units": -1, "balance": 0, "status": "?"}
                   for cid in customers}

    # Followers: each at the head of its feed.
    def followers_at_head():
        for base in (args.sub, args.api, args.api2, args.p1):
            r = exchange(base, "GET", "/status", None, {"Accept": "application/json"})
            if r.outcome != ANSWER or r.status != 200:
                return False
            fl = r.json().get("followers", [])
            if not fl or any(x["lag"] != 0 for x in fl):
                return False
        return True
    wait_for("every follower of every context is at the head of its feed", 30.0,
             followers_at_head, checks)

    # The table.
    print()
    print("Reconciliation per customer. Counts: calls = Cloud API calls and Product 1 analyses")
    print("submitted, ok = calls answered 200 and analyses done. Units: answered (by those), cut")
    print("off (of calls sent without a full answer: served or not, the client cannot know),")
    print("metered by each node, published in the usage feeds, charged by Subscriptions;")
    print("chg-ans = charged - answered, 0 (exact) or at most the cut-off units (bounded).")
    head = ("customer", "class", "calls", "ok", "answered", "cut off", "node-1", "node-2",
            "metered", "published", "charged", "chg-ans", "result")
    fmt = "%-10s %-11s %8s %8s %9s %8s %8s %8s %9s %9s %9s %7s  %s"
    print(fmt % head)
    tot = {k: 0 for k in ("calls", "ok", "answered", "cut", "n1", "n2", "metered", "published",
                          "charged")}
    order = sorted(customers, key=lambda c: names[c])
    for cid in order:
        p = per[cid]
        n1 = metered["node-1"].get(cid, 0)
        n2 = metered["node-2"].get(cid, 0)
        pub = published["node-1"].get(cid, 0) + published["node-2"].get(cid, 0)
        chg = charged[cid]["units"]
        exact = p["cut"] == 0
        ok = (n1 + n2 == pub == chg and p["answered"] <= chg <= p["answered"] + p["cut"])
        result = ("exact" if exact else "bounded") if ok else "MISMATCH"
        print(fmt % (names[cid], customers[cid]["class"], p["calls"], p["ok"], p["answered"],
                     p["cut"], n1, n2, n1 + n2, pub, chg, chg - p["answered"], result))
        checks.append((ok, "%s: metered = published = charged, answered <= charged <= answered"
                           " + cut off" % names[cid],
                       "metered %d, published %d, charged %d, answered %d, cut off %d"
                       % (n1 + n2, pub, chg, p["answered"], p["cut"])))
        for k, v in (("calls", p["calls"]), ("ok", p["ok"]), ("answered", p["answered"]),
                     ("cut", p["cut"]), ("n1", n1), ("n2", n2), ("metered", n1 + n2),
                     ("published", pub), ("charged", chg)):
            tot[k] += v
    print(fmt % ("total", "", tot["calls"], tot["ok"], tot["answered"], tot["cut"], tot["n1"],
                 tot["n2"], tot["metered"], tot["published"], tot["charged"],
                 tot["charged"] - tot["answered"], ""))
    print()
    print("Calls: %d to the Cloud API: %d answered 200, %d 401, %d 403, %d 5xx, %d other;"
          " %d found the node down (not sent), %d cut off by a kill (%d of them by the %.0f s"
          " timeout)" % (totals["calls"], totals["200"], totals["401"], totals["403"],
                         totals["5xx"], totals["other"], totals["down"], totals["cut"],
                         totals["timeouts"], CALL_TIMEOUT))
    print("Idempotent: %d keys, %d sent more than once, %d answers replayed, %d never answered"
          % (len(idem_state), totals["idem_retried"], totals["replays"], unresolved))
    print("Product 1: %d analyses submitted (%d answered 201/202, %d cut off); finally %d done,"
          " %d failed, %d queued" % (p1["submitted"], p1["answered"], p1["unknown"], p1["done"],
                                     p1["failed"], p1["queued"]))

    # Idempotent calls are exact; Product 1 is exact.
    idem_cids = [c for c in customers if customers[c]["class"] == "idempotent"]
    checks.append((unresolved == 0, "every idempotent call was answered in the end",
                   "%d never answered" % unresolved))
    checks.append((all(per[c]["cut"] == 0 and charged[c]["units"] == per[c]["answered"]
                       for c in idem_cids),
                   "idempotent calls are charged exactly: charged = answered", None))
    p1_cids = [c for c in customers if customers[c]["class"] == "product1"]
    checks.append((all(charged[c]["units"] == per[c]["answered"] for c in p1_cids),
                   "Product 1's analyses are charged exactly: charged = units of done analyses",
                   None))
    checks.append((p1["queued"] == 0 and all(lists.get(c) is not None for c in p1_cids),
                   "no Product 1 analysis is left queued once the system settled",
                   "%d queued" % p1["queued"]))
    checks.append((p1["missing"] == 0, "every analysis Product 1 answered 201/202 is listed",
                   "%d missing" % p1["missing"]))
    checks.append((p1["failed"] == 0, "no Product 1 analysis failed", "%d failed" % p1["failed"]))
    checks.append((wrong_units == 0, "every 200 answer's units are 1 + bytes / 1000",
                   "%d answers differ" % wrong_units))

    # Balances: payg, 1 cent a unit, no fee: balance = payments - charges.
    bad = []
    for cid in order:
        p, c = per[cid], charged[cid]
        paid_in = c["balance"] + c["units"]
        if not (p["paid"] <= paid_in <= p["paid"] + p["paid_cut"]):
            bad.append("%s: balance %d, charged %d, payments answered %d, cut off %d"
                       % (names[cid], c["balance"], c["units"], p["paid"], p["paid_cut"]))
    pays = [e for e in events if e["ev"] == "payment"]
    print("Payments: %d attempts: %d answered 200, %d found Subscriptions down (sent again),"
          " %d cut off (not sent again: bounded)"
          % (len(pays), sum(1 for e in pays if e["outcome"] == ANSWER and e["status"] == 200),
             sum(1 for e in pays if e["outcome"] == DOWN),
             sum(1 for e in pays if e["outcome"] == CUT)))
    checks.append((not bad, "every balance = payments - charged units (cut-off payments bounded)",
                   "; ".join(bad)))

    # Revocations and locks: refused within 2 s of the 204 (or 200).
    def refusal_report(kind, label):
        evs = [e for e in events if e["ev"] == kind]
        lat, late, never = [], [], 0
        for e in evs:
            for node, s in sorted(e["refused_after"].items()):
                if s is None:
                    never += 1
                    late.append("%s %s never refused" % (e.get("key_id", e["customer"]), node))
                    continue
                if not e["measured"]:
                    continue
                lat.append(s)
                if s > REFUSAL_DEADLINE:
                    late.append("%s %s after %.3f s" % (e.get("key_id", e["customer"]), node, s))
        unmeasured = sum(1 for e in evs if not e["measured"])
        print("%s: %d (%d not timed: an attempt was cut off); refused by each node after the"
              " answer in p50 %.3f s, p99 %.3f s, max %.3f s" % (
                  label, len(evs), unmeasured, pct(lat, 0.5), pct(lat, 0.99),
                  max(lat) if lat else 0.0))
        return evs, late
    evs, late = refusal_report("revocation", "Revocations")
    checks.append((evs and not late, "every revoked key was refused by both nodes within"
                   " %.0f s of the revocation's 204" % REFUSAL_DEADLINE,
                   "; ".join(late[:10]) if late else "no revocation was made"))
    evs, late = refusal_report("lock", "Locks")
    checks.append((evs and not late, "every locked customer was refused by both nodes within"
                   " %.0f s of the lock's 200" % REFUSAL_DEADLINE,
                   "; ".join(late[:10]) if late else "no lock was made"))
    back = [s for e in evs for s in e["served_again_after"].values()]
    checks.append((None not in back, "every unlocked customer was served again by both nodes",
                   None))
    sweep = [e for e in events if e["ev"] == "sweep"]
    accepted = [e for e in sweep if not (e["outcome"] == ANSWER and e["status"] == 401)]
    checks.append((sweep and not accepted,
                   "after the chaos, every revoked key (%d) is refused by both nodes"
                   % (len(sweep) // 2),
                   "%d answers were not 401" % len(accepted)))
    users = sum(1 for e in events if e["ev"] == "user_added")
    print("New users: %d added during the chaos (their keys join the plain callers)" % users)

    failures = json.load(open(os.path.join(folder, "done"))).get("failures", [])
    checks.append((not failures, "the load generator saw nothing unexpected",
                   "; ".join(failures[:10])))
    print()
    status = 0
    for ok, desc, detail in checks:
        if ok:
            print("ok - " + desc)
        else:
            status = 1
            print("not ok - " + desc)
            if detail:
                print("#   " + detail)
    return status


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=("run", "reconcile"))
    ap.add_argument("--dir", required=True)
    ap.add_argument("--sub", required=True)
    ap.add_argument("--api", required=True)
    ap.add_argument("--api2", required=True)
    ap.add_argument("--p1", required=True)
    ap.add_argument("--db1")
    ap.add_argument("--db2")
    ap.add_argument("--token")
    ap.add_argument("--pace-ms", type=float, default=5.0)
    args = ap.parse_args()
    if args.command == "run":
        return Load(args).run()
    return reconcile(args)


if __name__ == "__main__":
    sys.exit(main())
