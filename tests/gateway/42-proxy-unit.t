#!/bin/sh
# The proxy, CORS, GeoIP and analytics phases in one process against recording backends.
exec "$GH_TESTBIN/test_gw_proxy" "$GH_ROOT/tests/lib/backend.py"
