#!/bin/sh
# The HTTP server's socket I/O over TLS and plain TCP (http_io.c): a
# self-signed P-256 server certificate made with the openssl CLI in
# $GH_TMP, then the test program (tests/unit/test_http_tls_io.c).
set -eu
d=$GH_TMP/pki
mkdir -p "$d"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$d/server.key" -out "$d/server.pem" -days 2 -subj "/CN=localhost" \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
exec "$GH_TESTBIN/test_http_tls_io" "$d"
