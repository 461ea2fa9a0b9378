#!/usr/bin/env bash
# Token verification, the verified-token cache and the failed-authentication limiter (unit).
exec "$GH_TESTBIN/test_gw_jwt"
