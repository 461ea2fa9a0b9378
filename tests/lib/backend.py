#!/usr/bin/python3
"""A recording backend for the gateway tests (tests/lib/gw.sh starts it).

Listens on 127.0.0.1:PORT (0: any free port; the port is printed as "READY PORT"),
reads HTTP/1.1 requests with its own small parser, appends every byte received to
LOG.raw and one JSON line per request to LOG, and answers 200 with a JSON echo:
{"backend": NAME, "method", "path", "query", "headers": {...}, "body"}.

Special paths: .../sink counts the body instead of logging it (sink_bytes, sink_complete;
an incomplete one is logged when the connection ends); /status/NNN answers NNN; /slow/MS waits MS ms first; /die sends half a
response and closes; /close answers and closes; /big/N answers N bytes.
/stream/N sends N bytes with a Content-Length in 64 KiB writes; /chunked/N sends N bytes
chunked; /drip sends a chunked head and "first\n", waits 1 s, then "rest\n" and the end.
"""
import json
import socket
import sys
import threading
import time

name, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()


def record(raw, req):
    with lock:
        with open(log + ".raw", "ab") as f:
            f.write(raw)
        if req is not None:
            with open(log, "a") as f:
                f.write(json.dumps(req) + "\n")


def read_request(sock, buf):
    """Returns (request dict, raw bytes, rest of buffer) or (None, raw, b"") at EOF."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None, buf, b""
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = (lines[0].split(" ") + ["", "", ""])[:3]
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), v.strip())
    path, _, query = target.partition("?")
    if path.endswith("/sink"):
        return read_sink(sock, head, headers, method, path, query, rest)
    body = b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            while b"\r\n" not in rest:
                data = sock.recv(65536)
                if not data:
                    return None, head + rest, b""
                rest += data
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                data = sock.recv(65536)
                if not data:
                    return None, head + rest, b""
                rest += data
            body += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                break
    else:
        n = int(headers.get("content-length", "0") or 0)
        while len(rest) < n:
            data = sock.recv(65536)
            if not data:
                return None, head + rest, b""
            rest += data
        body, rest = rest[:n], rest[n:]
    req = {"backend": name, "method": method, "path": path, "query": query, "headers": headers,
           "body": body.decode("utf-8", "replace")}
    raw = head + b"\r\n\r\n" + body
    return req, raw, rest


def read_sink(sock, head, headers, method, path, query, rest):
    """A body counted, not kept: the log line has sink_bytes and sink_complete; the raw
    log gets the head only.  An incomplete body (EOF) is logged too, then the EOF."""
    n, done = 0, False
    chunked = headers.get("transfer-encoding", "").lower() == "chunked"
    want = -1 if chunked else int(headers.get("content-length", "0") or 0)
    buf = rest
    try:
        while True:
            if chunked:
                while b"\r\n" not in buf:
                    data = sock.recv(262144)
                    if not data:
                        raise EOFError
                    buf += data
                size_line, _, buf = buf.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                while len(buf) < size + 2:
                    data = sock.recv(262144)
                    if not data:
                        n += min(len(buf), size)
                        raise EOFError
                    buf += data
                n += size
                buf = buf[size + 2:]
                if size == 0:
                    done = True
                    break
            else:
                take = min(len(buf), want - n)
                n += take
                buf = buf[take:]
                if n == want:
                    done = True
                    break
                buf = sock.recv(262144)
                if not buf:
                    raise EOFError
    except EOFError:
        buf = b""
    req = {"backend": name, "method": method, "path": path, "query": query, "headers": headers,
           "body": "", "sink_bytes": n, "sink_complete": done}
    if not done:
        record(head + b"\r\n\r\n", req)
        return None, b"", b""
    return req, head + b"\r\n\r\n", buf


def serve(sock):
    buf = b""
    try:
        while True:
            req, raw, buf = read_request(sock, buf)
            record(raw, req)
            if req is None:
                return
            path = req["path"]
            status, close, payload = 200, False, json.dumps(req).encode()
            if path.startswith("/status/"):
                status = int(path.split("/")[2])
            elif path.startswith("/slow/"):
                time.sleep(int(path.split("/")[2]) / 1000.0)
            elif path == "/die":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
                return
            elif path == "/close":
                close = True
            elif path.startswith("/big/"):
                payload = b"x" * int(path.split("/")[2])
            elif path.startswith("/stream/") or path.startswith("/chunked/"):
                n, piece = int(path.split("/")[2]), b"s" * 65536
                chunked = path.startswith("/chunked/")
                sock.sendall(("HTTP/1.1 200 X\r\nContent-Type: application/octet-stream\r\n%s\r\n" % (
                    "Transfer-Encoding: chunked\r\n" if chunked else "Content-Length: %d\r\n" % n)).encode())
                while n > 0:
                    k = min(n, len(piece))
                    sock.sendall(b"%x\r\n%s\r\n" % (k, piece[:k]) if chunked else piece[:k])
                    n -= k
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
                continue
            elif path == "/drip":
                sock.sendall(b"HTTP/1.1 200 X\r\nContent-Type: text/plain\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n")
                time.sleep(1.0)
                sock.sendall(b"5\r\nrest\n\r\n0\r\n\r\n")
                continue
            hdr = "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" % (
                status, len(payload), "Connection: close\r\n" if close else "")
            sock.sendall(hdr.encode() + payload)
            if close:
                return
    except (OSError, ValueError):
        return
    finally:
        sock.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(128)
print("READY %d" % srv.getsockname()[1], flush=True)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
