#!/usr/bin/env bash
# The fast JSON reader of token headers and claims (unit: its subset, and deferral of the rest).
exec "$GH_TESTBIN/test_json_fast"
