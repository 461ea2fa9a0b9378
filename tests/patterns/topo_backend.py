#!/usr/bin/python3
"""A backend in the LAN for the topology tests (tests/lib/topo.sh's topo_backend).

topo_backend.py ADDR PORT LOG [JWKS_URL]
Serves HTTP/1.1 (keep-alive) on ADDR:PORT and answers every request 200 with JSON:
{"path", "method", "xff": X-Forwarded-For, "jwt": ...}.  With JWKS_URL (the key manager's
/oauth2/jwks/backend/{environment}; the CA comes from SSL_CERT_FILE) the gateway's
X-JWT-Assertion is verified with PyJWT: "jwt" is {"verified": true, "claims": {...}} or
{"verified": false, "error": "..."} (and then the status is 401).  One line per request is
appended to LOG: "METHOD PATH STATUS".  Verified assertions are cached by their text.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

addr, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
jwks = jwt.PyJWKClient(sys.argv[4]) if len(sys.argv) > 4 else None
lock = threading.Lock()
seen = {}


def verify(assertion):
    if assertion is None:
        return {"verified": False, "error": "no X-JWT-Assertion"}
    with lock:
        hit = seen.get(assertion)
    if hit is not None:
        return hit
    try:
        key = jwks.get_signing_key_from_jwt(assertion)
        claims = jwt.decode(assertion, key.key, algorithms=["ES256", "RS256"], options={"verify_aud": False})
        out = {"verified": True, "claims": claims}
    except Exception as e:  # noqa: BLE001 - every failure is an answer
        return {"verified": False, "error": "%s: %s" % (type(e).__name__, e)}
    with lock:
        if len(seen) > 10000:
            seen.clear()
        seen[assertion] = out
    return out


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        out = {"path": self.path, "method": self.command, "xff": self.headers.get("X-Forwarded-For")}
        status = 200
        if jwks is not None:
            out["jwt"] = verify(self.headers.get("X-JWT-Assertion"))
            if not out["jwt"]["verified"]:
                status = 401
        body = json.dumps(out).encode()
        # the head and the body in one write, as most backends answer a small request
        self.wfile.write(("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                          % (status, "OK" if status == 200 else "Unauthorized", len(body))).encode() + body)
        with lock:
            with open(log, "a") as f:
                f.write("%s %s %d\n" % (self.command, self.path, status))

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 256
ThreadingHTTPServer((addr, port), H).serve_forever()
