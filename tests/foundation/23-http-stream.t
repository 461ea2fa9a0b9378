#!/bin/sh
# Streamed responses of the core HTTP server and client.
exec "$GH_TESTBIN/test_http_stream"
