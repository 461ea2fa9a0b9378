#!/bin/sh
# Streamed request bodies of the core HTTP server.
exec "$GH_TESTBIN/test_http_reqstream"
