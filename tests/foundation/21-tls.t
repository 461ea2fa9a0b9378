#!/bin/sh
# TLS and mutual TLS of the HTTP server: makes a test PKI with the openssl
# CLI in $GH_TMP (our CA, a server certificate, client certificates with
# gatehouse:// SAN URIs, and a client certificate from a foreign CA), then
# runs the test program against it.
set -eu
d=$GH_TMP/pki
mkdir -p "$d"
cd "$d"

ca() { # name subject
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
leaf() { # name ca san eku
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=%s\n' \
		"$3" "$4" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
		-out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
}

ca ca "Gatehouse Test CA"
ca foreign-ca "Someone Else CA"
leaf server ca "DNS:localhost,IP:127.0.0.1" serverAuth
leaf int ca "URI:gatehouse://gw-internal/lan/node1" clientAuth
leaf ext ca "URI:gatehouse://gw-external/dmz/node2" clientAuth
leaf foreign foreign-ca "URI:gatehouse://gw-internal/lan/node1" clientAuth

exec "$GH_TESTBIN/test_tls" "$d"
