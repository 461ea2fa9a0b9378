#!/bin/sh
# HTTP client: fake servers (plain and TLS) in test_http_client; the
# certificates come from 31-http-client-certs.sh.
dir=${GH_TMP:-$(mktemp -d)}/certs
sh "$(dirname "$0")/31-http-client-certs.sh" "$dir" || { echo "certificate generation failed"; echo "0 passed, 1 failed"; exit 1; }
GH_HTTPC_CERTS=$dir exec "$GH_TESTBIN/test_http_client"
