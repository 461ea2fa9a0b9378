#!/usr/bin/env bash
# make run: an all-in-one node on this machine, with its embedded PostgreSQL and
# slapd under ./var (kept between runs).  Builds nothing itself (make does);
# starts the servers, writes var/gatehouse.conf on first use, runs
# `gatehouse init --first` (a no-op after the first time) and prints what to do next.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
VAR=$ROOT/var
GH=$ROOT/build/bin/gatehouse
PG_PORT=${GH_PG_PORT:-15432}
LDAP_PORT=${GH_LDAP_PORT:-1389}
mkdir -p "$VAR"
chmod 755 "$VAR"
. appliance/embedded/pg.sh
. appliance/embedded/slapd.sh

if ! runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$VAR/pg/data" status >/dev/null 2>&1; then
	gh_pg_start "$VAR/pg" "$PG_PORT" || { echo "make run: PostgreSQL did not start (see $VAR/pg/pg.log)"; exit 1; }
fi
if [ ! -f "$VAR/slapd/pid" ] || ! kill -0 "$(cat "$VAR/slapd/pid")" 2>/dev/null; then
	GH_SLAPD_ARGON2=1 gh_slapd_start "$VAR/slapd" "$LDAP_PORT" || { echo "make run: slapd did not start (see $VAR/slapd/slapd.log)"; exit 1; }
fi
PGC="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
if [ ! -f "$VAR/dbpw" ]; then
	(umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$VAR/dbpw")
	psql "$PGC" -qAt -v pw="$(cat "$VAR/dbpw")" <<'SQL' >/dev/null
CREATE ROLE gatehouse LOGIN PASSWORD :'pw';
CREATE DATABASE gatehouse OWNER gatehouse;
SQL
fi
if [ ! -f "$VAR/gatehouse.conf" ]; then
	(umask 077; cat >"$VAR/gatehouse.conf" <<CONF
# Gatehouse all-in-one node made by make run (embedded PostgreSQL and slapd)
[node]
name = local
role = all-in-one
data_dir = $VAR/data
hostnames = localhost, 127.0.0.1

[db]
host = 127.0.0.1
port = $PG_PORT
name = gatehouse
user = gatehouse
password = "$(cat "$VAR/dbpw")"
sslmode = disable

[ldap]
uri = ldap://127.0.0.1:$LDAP_PORT
base_dn = dc=gatehouse
bind_dn = cn=admin,dc=gatehouse
bind_password = "$(cat "$VAR/slapd/rootpw")"
CONF
	)
fi
pwfile=
if [ ! -f "$VAR/admin-password" ]; then
	(umask 077; printf 'admin-%s\n' "$(head -c 9 /dev/urandom | base64 | tr -d '/+=')" >"$VAR/admin-password")
fi
"$GH" init --first --config "$VAR/gatehouse.conf" --admin-password-file "$VAR/admin-password"
cat <<MSG

Gatehouse all-in-one node (foundation) is up:
  PostgreSQL   $PGC  (gatehouse's own login: user gatehouse, password in var/dbpw)
  slapd        ldap://127.0.0.1:$LDAP_PORT  base dc=gatehouse  (root password in var/slapd/rootpw)
  config       var/gatehouse.conf   (check it: build/bin/gatehouse check-config var/gatehouse.conf)
  certificates var/data/pki/        (internal CA and component certificates)
  demo login   admin / $(cat "$VAR/admin-password")   (super tenant carbon.super)

Try:
  ldapwhoami -x -H ldap://127.0.0.1:$LDAP_PORT -D uid=admin,ou=users,o=carbon.super,dc=gatehouse -w '$(cat "$VAR/admin-password")'
  psql "host=127.0.0.1 port=$PG_PORT user=postgres dbname=gatehouse" -c 'SELECT kid, alg, status FROM gh_signing_keys'
Stop: make stop
MSG
