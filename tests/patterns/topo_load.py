#!/usr/bin/python3
"""Fixed-rate HTTPS load for the topology tests (open loop, wrk2-style).

topo_load.py URL RATE SECONDS PREFIX OUT [HEADER...]
Sends RATE requests per second for SECONDS seconds (request i is due at start + i/RATE,
whatever happened to the others) over up to 32 keep-alive connections, each request with
X-Request-ID: PREFIX-i and the given headers ("Name: value").  The CA comes from
SSL_CERT_FILE.  Writes one line per request to OUT: "i due_ms status latency_ms [error]"
(status 0 when no response came: the error says why), and prints a JSON summary:
{"sent", "answered", "statuses": {status: count}, "errors": [first ones], "p50_ms", "p99_ms",
"max_ms", "late": requests started more than 1 s after they were due, "seconds"}.
Every request has a 10 s timeout; the run ends at most 15 s after its last request was due.
"""
import http.client
import json
import queue
import ssl
import sys
import threading
import time
import urllib.parse

url, rate, secs, prefix, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
headers = dict(h.split(": ", 1) for h in sys.argv[6:])
u = urllib.parse.urlsplit(url)
path = u.path + ("?" + u.query if u.query else "")
ctx = ssl.create_default_context()
n = int(rate * secs)
q = queue.Queue()
results = [None] * n
t0 = time.monotonic() + 0.2


def conn():
    return http.client.HTTPSConnection(u.hostname, u.port or 443, context=ctx, timeout=10)


def worker():
    c = None
    while True:
        i = q.get()
        if i is None:
            return
        due = t0 + i / rate
        start = time.monotonic()
        status, err = 0, ""
        try:
            if c is None:
                c = conn()
            h = dict(headers)
            h["X-Request-ID"] = "%s-%d" % (prefix, i)
            c.request("GET", path, headers=h)
            r = c.getresponse()
            r.read()
            status = r.status
            if r.getheader("Connection", "").lower() == "close":
                c.close()
                c = None
        except Exception as e:  # noqa: BLE001 - every failure is recorded, none retried
            if c is not None:
                c.close()
            c = None
            err = "%s: %s" % (type(e).__name__, e)
        end = time.monotonic()
        results[i] = (i, int((due - t0) * 1000), status, (end - due) * 1000, start - due, err if status == 0 else "")


threads = [threading.Thread(target=worker, daemon=True) for _ in range(32)]
for t in threads:
    t.start()
for i in range(n):
    d = t0 + i / rate - time.monotonic()
    if d > 0:
        time.sleep(d)
    q.put(i)
for _ in threads:
    q.put(None)
deadline = time.monotonic() + 15
for t in threads:
    t.join(max(0.0, deadline - time.monotonic()))

statuses, errors, lat, late, answered = {}, [], [], 0, 0
with open(out, "w") as f:
    for i, r in enumerate(results):
        if r is None:
            r = (i, int(i / rate * 1000), 0, 0.0, 0.0, "no answer before the end of the run")
        _, due_ms, status, ms, startlag, err = r
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status:
            answered += 1
            lat.append(ms)
        elif len(errors) < 5:
            errors.append("#%d: %s" % (i, err))
        if startlag > 1:
            late += 1
        f.write("%d %d %d %.1f %s\n" % (i, due_ms, status, ms, err))
lat.sort()
pick = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))], 1) if lat else None  # noqa: E731
print(json.dumps({"sent": n, "answered": answered, "statuses": statuses, "errors": errors,
                  "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": pick(1.0) if lat else None,
                  "late": late, "seconds": round(time.monotonic() - t0, 1)}, sort_keys=True))
