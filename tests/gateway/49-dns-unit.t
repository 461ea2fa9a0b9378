#!/usr/bin/env bash
# The HTTP client resolves host names without blocking its loop (unit: localhost, a silent name server).
exec "$GH_TESTBIN/test_http_dns"
