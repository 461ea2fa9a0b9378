# Embedded PostgreSQL 15 (sourced): the all-in-one node's database under its data
# folder, and the test harness's private cluster.  Runs as the postgres user
# (initdb refuses root).
#   gh_pg_start DIR [PORT]  initdb when DIR/data is missing, then start on 127.0.0.1
#                           (PORT or a free one); exports GH_TEST_PG (superuser conninfo)
#                           and GH_TEST_PG_PORT.  Local connections are trusted, TCP
#                           connections other than the superuser's need a password.
#   gh_pg_stop DIR
PG_BIN=/usr/lib/postgresql/15/bin

# A free TCP port for a listener, below the kernel's ephemeral range (32768 and up by default),
# so that no outgoing connection can take it between this check and the bind.
gh_free_port() {
	local p
	while :; do
		p=$(( 20000 + RANDOM % 12000 ))
		ss -Htan "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
	done
}

gh_pg_start() {
	local d=$1 port=${2:-}
	mkdir -p "$d" && chown postgres "$d" && chmod 700 "$d"
	[ -n "$port" ] || port=$(gh_free_port)
	if [ ! -f "$d/data/PG_VERSION" ]; then
		(cd "$d" && runuser -u postgres -- $PG_BIN/initdb -D "$d/data" -U postgres -A trust \
			-E UTF8 --locale=C.UTF-8 --no-sync >"$d/initdb.log" 2>&1) || { cat "$d/initdb.log"; return 1; }
	fi
	(cd "$d" && runuser -u postgres -- $PG_BIN/pg_ctl -D "$d/data" -l "$d/pg.log" -w -o \
		"-c listen_addresses=127.0.0.1 -p $port -k $d -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		start >/dev/null) || { cat "$d/pg.log"; return 1; }
	export GH_TEST_PG_PORT=$port
	export GH_TEST_PG="host=127.0.0.1 port=$port user=postgres dbname=postgres"
}

gh_pg_stop() {
	local d=$1
	[ -d "$d/data" ] || return 0
	(cd "$d" && runuser -u postgres -- $PG_BIN/pg_ctl -D "$d/data" -m immediate -w stop >/dev/null 2>&1)
}

# gh_pg_newdb NAME: create a fresh database in the private cluster and print its conninfo.
gh_pg_newdb() {
	psql "$GH_TEST_PG" -qAt -c "CREATE DATABASE \"$1\"" >/dev/null && \
		echo "host=127.0.0.1 port=$GH_TEST_PG_PORT user=postgres dbname=$1"
}
