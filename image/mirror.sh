#!/usr/bin/env bash
# image/mirror.sh: print the Debian 12 (bookworm) apt lines of this machine, one a line
# ("deb URI SUITE main"), read from /etc/apt/sources.list and /etc/apt/sources.list.d/
# (one-line .list and deb822 .sources files).  The image is built from the mirror the
# build machine uses; it is never written into the repository.  Exit 1 when the machine
# names no bookworm mirror.
set -eu
suites_re='^bookworm(-updates|-security)?$'
{
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# deb [options] URI SUITE COMPONENT...
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 4 {
			for (i = 4; i <= NF; i++) if ($i == "main") print $2, $3 }'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822 stanzas: Types, URIs, Suites, Components (Enabled: no skips one)
		awk 'function flush() {
				if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/ && enabled != "no") {
					n = split(uris, u, " "); m = split(suites, s, " ")
					for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j]
				}
				types = uris = suites = comps = enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{ k = tolower($1); sub(/:$/, "", k); $1 = ""; sub(/^ +/, "")
			  if (k == "types") types = $0; else if (k == "uris") uris = $0
			  else if (k == "suites") suites = $0; else if (k == "components") comps = $0
			  else if (k == "enabled") enabled = tolower($0) }
			END { flush() }' "$f"
	done
} | awk -v re="$suites_re" '$2 ~ re && !seen[$0]++ { print "deb " $1 " " $2 " main" }' | grep . ||
	{ echo "image/mirror.sh: no Debian bookworm mirror in /etc/apt/sources.list*" >&2; exit 1; }
