#!/bin/sh
exec "$GH_TESTBIN/test_jose"
