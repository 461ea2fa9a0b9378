#!/bin/sh
exec "$GH_TESTBIN/test_mtls_pki" "$GH_TMP"
