#!/usr/bin/env bash
# The enrolment parts of core/pki.c (tests/unit/test_pki_enrol.c): tokens, components per role,
# certificate requests and a loaded CA signing them.
"$GH_TESTBIN/test_pki_enrol" "$GH_TMP"
