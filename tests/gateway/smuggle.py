#!/usr/bin/python3
"""Send malformed and request-smuggling attempts to a gateway, one per connection.

usage: smuggle.py HOST PORT tls|plain PREFIX TOKEN
Each carries a valid access token (after the request line), so only the gateway's parsing
and routing can stop it.
Every request names a path containing MARK<n>; each must be refused (a status of 400 or
more, or the connection closed without a response).  Prints "PASS name" or
"FAIL name: why" per case; the caller then checks that no MARK reached the backend.
"""
import socket
import ssl
import sys

host, port, mode, prefix, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
H = "Host: localhost\r\n"


def cases():
    p = prefix
    c = []
    add = lambda name, raw: c.append((name, raw))
    # framing
    add("CL and TE", f"POST {p}/MARK1 HTTP/1.1\r\n{H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    add("TE and CL", f"POST {p}/MARK2 HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n")
    add("double CL equal", f"POST {p}/MARK3 HTTP/1.1\r\n{H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello")
    add("double CL different", f"POST {p}/MARK4 HTTP/1.1\r\n{H}Content-Length: 5\r\nContent-Length: 0\r\n\r\nhello")
    add("CL list", f"POST {p}/MARK5 HTTP/1.1\r\n{H}Content-Length: 5, 5\r\n\r\nhello")
    add("CL plus", f"POST {p}/MARK6 HTTP/1.1\r\n{H}Content-Length: +5\r\n\r\nhello")
    add("CL negative", f"POST {p}/MARK7 HTTP/1.1\r\n{H}Content-Length: -1\r\n\r\nhello")
    add("CL hex", f"POST {p}/MARK8 HTTP/1.1\r\n{H}Content-Length: 0x5\r\n\r\nhello")
    add("CL junk", f"POST {p}/MARK9 HTTP/1.1\r\n{H}Content-Length: 5a\r\n\r\nhello")
    add("CL overflow", f"POST {p}/MARK10 HTTP/1.1\r\n{H}Content-Length: 99999999999999999999999\r\n\r\nhello")
    add("CL empty", f"POST {p}/MARK11 HTTP/1.1\r\n{H}Content-Length: \r\n\r\nhello")
    add("TE xchunked", f"POST {p}/MARK12 HTTP/1.1\r\n{H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n")
    add("TE chunked, gzip", f"POST {p}/MARK13 HTTP/1.1\r\n{H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n")
    add("TE gzip, chunked", f"POST {p}/MARK14 HTTP/1.1\r\n{H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
    add("two TE", f"POST {p}/MARK15 HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    add("TE identity", f"POST {p}/MARK16 HTTP/1.1\r\n{H}Transfer-Encoding: identity\r\n\r\n")
    add("TE in HTTP/1.0", f"POST {p}/MARK17 HTTP/1.0\r\n{H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    add("TE with space before colon", f"POST {p}/MARK18 HTTP/1.1\r\n{H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n")
    add("TE empty", f"POST {p}/MARK19 HTTP/1.1\r\n{H}Transfer-Encoding: \r\n\r\n")
    add("TE list comma", f"POST {p}/MARK20 HTTP/1.1\r\n{H}Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n")
    # chunks
    add("chunk size not hex", f"POST {p}/MARK21 HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
    add("chunk size overflow", f"POST {p}/MARK22 HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nx\r\n0\r\n\r\n")
    add("chunk size bare LF", f"POST {p}/MARK23 HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n")
    add("chunk data without CRLF", f"POST {p}/MARK24 HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX0\r\n\r\n")
    add("chunk size negative", f"POST {p}/MARK25 HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n")
    add("chunk size with space", f"POST {p}/MARK26 HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\n5 5\r\nhello\r\n0\r\n\r\n")
    add("chunk trailer", f"POST {p}/MARK27 HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Smuggle: 1\r\n\r\n")
    add("chunk size too long a body", f"POST {p}/MARK28 HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n")
    # header syntax
    add("space before colon", f"GET {p}/MARK29 HTTP/1.1\r\nHost : localhost\r\n\r\n")
    add("tab before colon", f"GET {p}/MARK30 HTTP/1.1\r\n{H}X-A\t: b\r\n\r\n")
    add("obs-fold space", f"GET {p}/MARK31 HTTP/1.1\r\n{H}X-A: a\r\n b\r\n\r\n")
    add("obs-fold tab", f"GET {p}/MARK32 HTTP/1.1\r\n{H}X-A: a\r\n\tb\r\n\r\n")
    add("bare LF in headers", f"GET {p}/MARK33 HTTP/1.1\r\n{H}X-A: a\nX-B: b\r\n\r\n")
    add("bare LF everywhere", f"GET {p}/MARK34 HTTP/1.1\nHost: localhost\n\n")
    add("bare CR", f"GET {p}/MARK35 HTTP/1.1\r\n{H}X-A: a\rb\r\n\r\n")
    add("NUL in value", f"GET {p}/MARK36 HTTP/1.1\r\n{H}X-A: a\x00b\r\n\r\n")
    add("NUL in name", f"GET {p}/MARK37 HTTP/1.1\r\n{H}X-\x00A: b\r\n\r\n")
    add("NUL in target", f"GET {p}/MARK38\x00x HTTP/1.1\r\n{H}\r\n")
    add("CTL in value", f"GET {p}/MARK39 HTTP/1.1\r\n{H}X-A: a\x01b\r\n\r\n")
    add("DEL in value", f"GET {p}/MARK40 HTTP/1.1\r\n{H}X-A: a\x7fb\r\n\r\n")
    add("no colon", f"GET {p}/MARK41 HTTP/1.1\r\n{H}X-A b\r\n\r\n")
    add("empty field name", f"GET {p}/MARK42 HTTP/1.1\r\n{H}: b\r\n\r\n")
    add("non-token field name", f"GET {p}/MARK43 HTTP/1.1\r\n{H}X(A): b\r\n\r\n")
    add("no Host in HTTP/1.1", f"GET {p}/MARK44 HTTP/1.1\r\nX-A: b\r\n\r\n")
    add("two Host", f"GET {p}/MARK45 HTTP/1.1\r\n{H}Host: evil.example\r\n\r\n")
    add("Host list", f"GET {p}/MARK46 HTTP/1.1\r\nHost: localhost, evil.example\r\n\r\n")
    add("Host with path", f"GET {p}/MARK47 HTTP/1.1\r\nHost: localhost/x\r\n\r\n")
    add("Expect other", f"POST {p}/MARK48 HTTP/1.1\r\n{H}Expect: 200-ok\r\nContent-Length: 5\r\n\r\nhello")
    # request line
    add("lowercase method", f"get {p}/MARK49 HTTP/1.1\r\n{H}\r\n")
    add("unknown method", f"FOO {p}/MARK50 HTTP/1.1\r\n{H}\r\n")
    add("CONNECT", f"CONNECT localhost:443 HTTP/1.1\r\n{H}X-M: MARK51\r\n\r\n")
    add("TRACE", f"TRACE {p}/MARK52 HTTP/1.1\r\n{H}\r\n")
    add("method with symbol", f"G@T {p}/MARK53 HTTP/1.1\r\n{H}\r\n")
    add("two spaces", f"GET  {p}/MARK54 HTTP/1.1\r\n{H}\r\n")
    add("absolute-form other host", f"GET http://evil.example{p}/MARK55 HTTP/1.1\r\n{H}\r\n")
    add("absolute-form same host", f"GET http://localhost{p}/MARK56 HTTP/1.1\r\n{H}\r\n")
    add("authority-form", f"GET evil.example:80 HTTP/1.1\r\n{H}X-M: MARK57\r\n\r\n")
    add("asterisk with GET", f"GET * HTTP/1.1\r\n{H}X-M: MARK58\r\n\r\n")
    add("version 1.2", f"GET {p}/MARK59 HTTP/1.2\r\n{H}\r\n")
    add("version 2.0", f"GET {p}/MARK60 HTTP/2.0\r\n{H}\r\n")
    add("version junk", f"GET {p}/MARK61 HTTP/x.1\r\n{H}\r\n")
    add("HTTP/0.9", f"GET {p}/MARK62\r\n\r\n")
    add("space in target", f"GET {p}/MARK63 x HTTP/1.1\r\n{H}\r\n")
    add("non-ASCII target", f"GET {p}/MARK64\u00e9 HTTP/1.1\r\n{H}\r\n")
    add("fragment in target", f"GET {p}/MARK65#x HTTP/1.1\r\n{H}\r\n")
    # sizes
    add("huge header", f"GET {p}/MARK66 HTTP/1.1\r\n{H}X-Big: {'a' * 70000}\r\n\r\n")
    add("too many headers", f"GET {p}/MARK67 HTTP/1.1\r\n{H}" + "".join(f"X-H{i}: v\r\n" for i in range(300)) + "\r\n")
    add("huge URL", f"GET {p}/MARK68{'a' * 20000} HTTP/1.1\r\n{H}\r\n")
    # paths the router must refuse
    add("dot-dot", f"GET {p}/../MARK69 HTTP/1.1\r\n{H}\r\n")
    add("encoded dot-dot", f"GET {p}/%2e%2e/MARK70 HTTP/1.1\r\n{H}\r\n")
    add("encoded slash", f"GET {p}/a%2fMARK71 HTTP/1.1\r\n{H}\r\n")
    add("encoded backslash", f"GET {p}/a%5cMARK72 HTTP/1.1\r\n{H}\r\n")
    add("encoded NUL", f"GET {p}/MARK73%00 HTTP/1.1\r\n{H}\r\n")
    add("double slash", f"GET {p}//MARK74 HTTP/1.1\r\n{H}\r\n")
    add("double encoding", f"GET {p}/%252e%252e/MARK75 HTTP/1.1\r\n{H}\r\n")
    add("dot segment", f"GET {p}/./MARK76 HTTP/1.1\r\n{H}\r\n")
    add("matrix parameter", f"GET {p}/x;MARK77 HTTP/1.1\r\n{H}\r\n")
    return c


def send(raw):
    s = socket.create_connection((host, port), timeout=5)
    if mode == "tls":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname="localhost")
    data = b""
    try:
        s.sendall(raw.encode("utf-8") if isinstance(raw, str) else raw)
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (OSError, ssl.SSLError):
        pass
    finally:
        s.close()
    if not data:
        return None
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return -1


for name, raw in cases():
    if "\r\n" in raw:
        line, _, rest = raw.partition("\r\n")
        raw = line + "\r\nAuthorization: Bearer " + token + "\r\n" + rest
    st = send(raw)
    if st is None or st >= 400:
        print("PASS %s (%s)" % (name, st if st is not None else "closed"))
    else:
        print("FAIL %s: status %s" % (name, st))
