#!/bin/sh
# Replays every fuzz target's seed corpus (tests/fuzz/corpus/<target>/) through the
# sanitizer-built regression binaries (tests/fuzz/Makefile.inc, built by `make tests`).
# Each binary prints its own "N passed, N failed"; a crash, leak or UB aborts it.
rc=0
for src in "$GH_ROOT"/tests/fuzz/fuzz_*.c; do
	t=${src##*/fuzz_}
	t=${t%.c}
	bin=$GH_TESTBIN/../fuzz/regress_$t
	if [ ! -x "$bin" ]; then
		echo "not ok: $bin is not built (make SAN=1 tests)"
		echo "0 passed, 1 failed"
		rc=1
		continue
	fi
	echo "# corpus $t"
	"$bin" "$GH_ROOT/tests/fuzz/corpus/$t" || { echo "not ok: regress_$t exited $?"; echo "0 passed, 1 failed"; rc=1; }
done
exit $rc
