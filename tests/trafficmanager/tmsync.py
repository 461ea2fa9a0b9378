#!/usr/bin/env python3
"""Helpers of the cluster-throttling tests (tests/trafficmanager/1x-*.t).

  tmsync.py bodies DIR
      write throttle sync bodies (PROTOCOL.md) to DIR: valid.bin (a new session
      naming one key), and one file per malformed case (bad-*.bin)
  tmsync.py load OUT RATE SECONDS TOKEN PATH CA URL:WEIGHT...
      send RATE requests per second for SECONDS, request i at t0 + i/RATE, spread
      over the gateways by weight (smooth weighted round robin), each gateway on
      its own thread with a keep-alive connection; write one line per request to
      OUT: "scheduled_monotonic_ms gateway_index status" (status 0: no answer)
  tmsync.py windows OUT WINDOW_MS
      accepted (2xx) requests per fixed window aligned on CLOCK_MONOTONIC (the
      traffic manager's alignment), full windows only: "start_ms total a b c..."
"""
import http.client
import os
import ssl
import struct
import sys
import threading
import time


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def head(flags=0, instance=0x1122334455667788, epoch=1, seq=1, env=b"Default", magic=b"GHTS", ver=1):
    return magic + bytes([ver, flags]) + struct.pack(">Q", instance) + varint(epoch) + varint(seq) + \
        varint(len(env)) + env


def defn(i, key, window=6000, limit=60):
    return varint(i) + varint(window) + varint(limit) + varint(len(key)) + key


def bodies(d):
    os.makedirs(d, exist_ok=True)
    valid = head(1) + varint(1) + defn(0, b"subscription|test-key||") + varint(1) + varint(0) + varint(2)
    cases = {
        "valid": valid,
        "bad-empty": b"",
        "bad-truncated": valid[:-3],
        "bad-magic": b"XHTS" + valid[4:],
        "bad-version": valid[:4] + b"\x09" + valid[5:],
        "bad-huge-count": head(1) + varint(1) + defn(0, b"k") + varint(1) + varint(0) + varint(1 << 40),
        "bad-key-too-long": head(1) + varint(1) + defn(0, b"k" * 401) + varint(0),
        "bad-varint-overflow": head(1) + varint(0) + varint(1) + varint(0) + b"\xff" * 11,
        "bad-trailing": valid + b"\x00",
        "bad-undefined-id": head(1) + varint(0) + varint(1) + varint(7) + varint(1),
        "bad-count-beyond-body": head(1) + varint(1 << 20) + b"\x00",
    }
    for name, body in cases.items():
        with open(os.path.join(d, name + ".bin"), "wb") as f:
            f.write(body)


def load(out, rate, seconds, token, path, ca, gws):
    ctx = ssl.create_default_context(cafile=ca)
    urls, weights = [], []
    for g in gws:
        u, w = g.rsplit(":", 1)
        urls.append(u)
        weights.append(int(w))
    n = int(rate * seconds)
    # smooth weighted round robin
    cur = [0] * len(urls)
    assign = []
    for _ in range(n):
        for i, w in enumerate(weights):
            cur[i] += w
        k = max(range(len(urls)), key=lambda i: cur[i])
        cur[k] -= sum(weights)
        assign.append(k)
    t0 = time.monotonic() + 0.2
    results = []
    lock = threading.Lock()

    def worker(k):
        host = urls[k].split("//", 1)[1]
        conn = None
        for i in range(n):
            if assign[i] != k:
                continue
            at = t0 + i / rate
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            status = 0
            for _attempt in range(2):
                try:
                    if conn is None:
                        conn = http.client.HTTPSConnection(host, context=ctx, timeout=2)
                    conn.request("GET", path, headers={"Authorization": "Bearer " + token})
                    r = conn.getresponse()
                    r.read()
                    status = r.status
                    break
                except Exception:
                    try:
                        conn.close()
                    except Exception:
                        pass
                    conn = None
            with lock:
                results.append((int(at * 1000), k, status))

    ths = [threading.Thread(target=worker, args=(k,)) for k in range(len(urls))]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    results.sort()
    with open(out, "w") as f:
        for r in results:
            f.write("%d %d %d\n" % r)


def windows(out, w):
    rows = [tuple(int(x) for x in line.split()) for line in open(out) if line.strip()]
    if not rows:
        return
    ngw = max(r[1] for r in rows) + 1
    first, last = rows[0][0], rows[-1][0]
    start = (first // w + 1) * w
    while start + w <= last + 1:
        acc = [0] * ngw
        for t, k, s in rows:
            if start <= t < start + w and 200 <= s < 300:
                acc[k] += 1
        print(start, sum(acc), " ".join(str(a) for a in acc))
        start += w


def main(a):
    if a[0] == "bodies":
        bodies(a[1])
    elif a[0] == "load":
        load(a[1], float(a[2]), float(a[3]), a[4], a[5], a[6], a[7:])
    elif a[0] == "windows":
        windows(a[1], int(a[2]))
    else:
        sys.exit("usage: see the header")


if __name__ == "__main__":
    main(sys.argv[1:])
