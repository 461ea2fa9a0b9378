#!/bin/sh
# Unit tests of the analytics read side: times, parameters, buckets, percentiles.
exec "$GH_TESTBIN/test_analytics"
