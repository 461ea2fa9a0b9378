# Assertions for shell tests (sourced).  Each check counts once; check_done
# prints "N passed, N failed" and exits non-zero on any failure.
_pass=0 _fail=0
_ok() { _pass=$((_pass + 1)); }
_ko() { _fail=$((_fail + 1)); echo "FAIL: $1"; [ -n "${2:-}" ] && printf '  %s\n' "$2"; }
check_eq() { if [ "$2" = "$3" ]; then _ok; else _ko "$1" "expected [$2] got [$3]"; fi; }
check_ne() { if [ "$2" != "$3" ]; then _ok; else _ko "$1" "got [$3]"; fi; }
check_match() { if printf '%s\n' "$3" | grep -Eq -- "$2"; then _ok; else _ko "$1" "no match for /$2/ in: $(printf '%s' "$3" | head -c 600)"; fi; }
check_nomatch() { if printf '%s\n' "$3" | grep -Eq -- "$2"; then _ko "$1" "unexpected /$2/"; else _ok; fi; }
check_ok() { local n=$1; shift; if "$@" >/dev/null 2>&1; then _ok; else _ko "$n" "command failed: $*"; fi; }
check_fail() { local n=$1; shift; if "$@" >/dev/null 2>&1; then _ko "$n" "command succeeded: $*"; else _ok; fi; }
check_done() { echo "$_pass passed, $_fail failed"; [ "$_fail" -eq 0 ]; }
