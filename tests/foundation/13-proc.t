#!/bin/sh
exec "$GH_TESTBIN/test_proc"
