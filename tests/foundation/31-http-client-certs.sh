#!/bin/sh
# Makes the certificates of 30-http-client.t in folder $1: two CAs (ca1
# trusted by the client, ca2 not), a server certificate for localhost and
# 127.0.0.1 and one for wrong.example (both from ca1), and a client
# certificate from ca1 for mutual TLS.  EC P-256 keys, valid two days.
set -eu
d=$1
mkdir -p "$d"
cd "$d"
cat > ext.cnf <<'CNF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[srv]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[wrong]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
[cli]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:gatehouse://node/-/test
CNF
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
for ca in ca1 ca2; do
	key $ca.key
	openssl req -x509 -new -key $ca.key -out $ca.pem -days 2 -subj "/CN=Test $ca" \
	    -config ext.cnf -extensions ca
done
for leaf in srv wrong cli; do
	key $leaf.key
	openssl req -new -key $leaf.key -out $leaf.csr -subj "/CN=$leaf" -config ext.cnf
	openssl x509 -req -in $leaf.csr -CA ca1.pem -CAkey ca1.key -CAcreateserial \
	    -days 2 -out $leaf.pem -extfile ext.cnf -extensions $leaf 2>/dev/null
done
