# Helpers shared by the benchmark scripts (sourced).

# The median of the numbers given as arguments.
median() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
		if (NR == 0) exit 1
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# a / b with digits decimals; fails on a zero or empty divisor.
divide() {
	awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN {
		if (b == "" || b + 0 == 0) exit 1
		printf "%.*f\n", d, a / b }'
}

# utime + stime of a process, in clock ticks.
cpu_ticks() {
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${stat##*) }
	# After "comm)": state is field 3, so utime (14) and stime (15) are the 12th and 13th.
	set -- $rest
	echo $(( ${12} + ${13} ))
}

# Move a process and its children (threads too) to CPU_LIST: pin_tree CPU_LIST PID.
pin_tree() {
	local cpus=$1 pid=$2 c
	taskset -a -p -c "$cpus" "$pid" >/dev/null 2>&1 || return 1
	for c in $(pgrep -P "$pid"); do taskset -a -p -c "$cpus" "$c" >/dev/null 2>&1; done
	return 0
}
