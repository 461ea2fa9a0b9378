#!/bin/sh
exec "$GH_TESTBIN/test_http_server"
