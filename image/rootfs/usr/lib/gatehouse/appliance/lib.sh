# Shared functions of the appliance's boot services (sourced by config and firstboot).
#   say MSG...          a line on the console (serial and screen) and in the journal
#   status STATE MSG    the node's appliance status: /var/lib/gatehouse/appliance-status
#                       (state, role, message, time) and the login banner (/etc/issue.d)
#   ini_flat FILE ORIGIN   a configuration file as lines SECTION<TAB>KEY<TAB>VALUE<TAB>ORIGIN:LINE
#                       (values unquoted), or "!error<TAB>MESSAGE" lines for what does not parse
#   flat_get FLAT SECTION KEY [DEFAULT]   the last value of SECTION.KEY in a flat file
#   flat_load FLAT      the flat file into the array F (F[section.key] = value, last wins)
#   cget VAR NAME [DEFAULT]   VAR = F[NAME], or DEFAULT when unset (no subshell: every
#                       process costs under emulation)
GH_STATE=/var/lib/gatehouse
GH_RUN=/run/gatehouse
GH_STATUS=$GH_STATE/appliance-status
GH_APPLIANCE_SECTIONS="enroll network ntp access firewall"

say() {
	local line="gatehouse: $*"
	echo "$line"
	{ printf '%s\n' "$line" >/dev/console; } 2>/dev/null || true
	if [ -c /dev/tty1 ] && [ "$(readlink -f /sys/class/tty/console/active 2>/dev/null)" != tty1 ]; then
		{ printf '%s\n' "$line" >/dev/tty1; } 2>/dev/null || true
	fi
}

status() {
	local state=$1 msg=$2 fixed role
	fixed=$(cat "$GH_STATE/role" 2>/dev/null)
	role=${fixed:-${GH_ROLE:-}}
	mkdir -p "$GH_STATE" /etc/issue.d
	{
		echo "state=$state"
		echo "role=$role"
		echo "message=$(printf '%s' "$msg" | paste -sd';' | sed 's/;/; /g')"
		echo "time=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	} >"$GH_STATUS.tmp" && mv "$GH_STATUS.tmp" "$GH_STATUS"
	{
		echo "Gatehouse appliance${fixed:+ ($fixed)}: $state"
		printf '%s\n' "$msg" | fold -s -w 78
		echo
	} >/etc/issue.d/50-gatehouse.issue
}

ini_flat() {
	awk -v origin="$2" '
		function unq(v) {
			if (v ~ /^".*"$/) { v = substr(v, 2, length(v) - 2); gsub(/\\"/, "\"", v); gsub(/\\\\/, "\\", v) }
			return v
		}
		{ sub(/\r$/, "") }
		/^[ \t]*([#;].*)?$/ { next }
		/^[ \t]*\[/ {
			s = $0; sub(/^[ \t]*\[[ \t]*/, "", s)
			if (s !~ /\][ \t]*$/) { printf "!error\t%s:%d: malformed section header; write [name]\n", origin, NR; next }
			sub(/[ \t]*\][ \t]*$/, "", s); sec = s; next
		}
		{
			i = index($0, "=")
			if (!i) { printf "!error\t%s:%d: missing = in \"%s\"; write name = value\n", origin, NR, $0; next }
			k = substr($0, 1, i - 1); v = substr($0, i + 1)
			gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v)
			if (sec == "" && k ~ /\./) { sec2 = k; sub(/\..*/, "", sec2); k2 = k; sub(/^[^.]*\./, "", k2) }
			else { sec2 = sec; k2 = k }
			if (sec2 == "") { printf "!error\t%s:%d: \"%s\" is outside any [section]\n", origin, NR, k; next }
			printf "%s\t%s\t%s\t%s:%d\n", sec2, k2, unq(v), origin, NR
		}' "$1"
}

flat_get() {
	awk -F'\t' -v s="$2" -v k="$3" -v d="${4:-}" '$1 == s && $2 == k { v = $3; f = 1 } END { print f ? v : d }' "$1"
}

declare -A F=()
flat_load() {
	local s k v o
	F=()
	while IFS=$'\t' read -r s k v o; do
		[ "$s" = '!error' ] && continue
		F[$s.$k]=$v
	done <"$1"
}

cget() { printf -v "$1" '%s' "${F[$2]-${3:-}}"; }
