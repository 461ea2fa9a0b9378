#!/bin/sh
exec "$GH_TESTBIN/test_gw_throttle"
