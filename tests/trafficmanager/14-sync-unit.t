#!/bin/sh
# Unit tests of the throttle sync codec and the counters' cluster side (tests/unit/test_gw_tmsync.c).
exec "$GH_TESTBIN/test_gw_tmsync"
