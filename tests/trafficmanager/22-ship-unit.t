#!/bin/sh
# The gateway's analytics spool as the shipper relies on it (tests/unit/test_gw_ship.c).
exec "$GH_TESTBIN/test_gw_ship"
