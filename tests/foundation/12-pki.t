#!/bin/sh
# PKI: our CA and certificates, checked by our code and by the openssl command.
"$GH_TESTBIN/test_pki" "$GH_TMP"; rc=$?
pass=0 fail=0
check() { if "$@" >/dev/null 2>&1; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $*"; fi; }
check openssl verify -CAfile "$GH_TMP/ca.crt" -purpose sslserver "$GH_TMP/km.crt"
check openssl verify -CAfile "$GH_TMP/ca.crt" -purpose sslclient "$GH_TMP/km.crt"
check sh -c "openssl x509 -in '$GH_TMP/km.crt' -noout -ext subjectAltName | grep -q 'URI:gatehouse://keymanager/-/node1'"
check sh -c "! openssl verify -CAfile '$GH_TMP/other-ca.crt' '$GH_TMP/km.crt'"
echo "$pass passed, $fail failed"
[ $rc -eq 0 ] && [ $fail -eq 0 ]
