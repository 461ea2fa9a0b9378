# Embedded OpenLDAP slapd (sourced): the all-in-one node's directory under its
# data folder, and the test harness's private server.
#   gh_slapd_start DIR [PORT]  generate the configuration when DIR/slapd.d is missing
#                              (root password kept in DIR/rootpw, 0600), then start
#   gh_slapd_stop DIR
# A generated cn=config (mdb module, schemas core, cosine, inetorgperson, nis), the
# suffix dc=gatehouse with its root entry, listening on a free loopback port and on
# an ldapi socket in DIR (root may modify cn=config through it with SASL EXTERNAL).
# Exports GH_TEST_LDAP_URI, GH_TEST_LDAP_LDAPI, GH_TEST_LDAP_BASE,
# GH_TEST_LDAP_ROOTDN, GH_TEST_LDAP_ROOTPW.

gh_slapd_start() {
	local d=$1 port=${2:-} pw hash sock
	[ -n "$port" ] || port=$(gh_free_port)
	if [ ! -f "$d/rootpw" ]; then
	rm -rf "$d/slapd.d" "$d/db"
	mkdir -p "$d/slapd.d" "$d/db"
	chmod 700 "$d"
	pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	hash=$(slappasswd -s "$pw")
	# GH_SLAPD_ARGON2=1 (make run): slapd hashes userPassword with Argon2 (Debian's
	# argon2 module); otherwise slapd's default {SSHA}.
	local argon_module="" argon_hash=""
	if [ "${GH_SLAPD_ARGON2:-0}" = 1 ]; then
		argon_module="olcModuleLoad: argon2
"
		argon_hash="olcPasswordHash: {ARGON2}
"
	fi
	cat >"$d/config.ldif" <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $d/slapd.pid

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
$argon_module
dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif
include: file:///etc/ldap/schema/nis.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
$argon_hash
dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: dc=gatehouse
olcRootDN: cn=admin,dc=gatehouse
olcRootPW: $hash
olcDbDirectory: $d/db
olcDbMaxSize: 268435456
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: member eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by self read by users read by * none
LDIF
	slapadd -n0 -F "$d/slapd.d" -l "$d/config.ldif" >"$d/slapadd.log" 2>&1 || { cat "$d/slapadd.log"; return 1; }
	printf 'dn: dc=gatehouse\nobjectClass: dcObject\nobjectClass: organization\ndc: gatehouse\no: Gatehouse\n' |
		slapadd -n1 -F "$d/slapd.d" >>"$d/slapadd.log" 2>&1 || { cat "$d/slapadd.log"; return 1; }
	(umask 077; printf '%s\n' "$pw" >"$d/rootpw")
	fi
	pw=$(cat "$d/rootpw")
	sock=$(printf '%s' "$d/ldapi" | sed 's|/|%2F|g')
	slapd -F "$d/slapd.d" -h "ldap://127.0.0.1:$port/ ldapi://$sock" -d 0 >"$d/slapd.log" 2>&1 &
	echo $! >"$d/pid"
	for _ in $(seq 1 100); do
		ldapsearch -x -H "ldap://127.0.0.1:$port" -b dc=gatehouse -s base -D cn=admin,dc=gatehouse -w "$pw" >/dev/null 2>&1 && break
		sleep 0.05
	done
	export GH_TEST_LDAP_URI="ldap://127.0.0.1:$port"
	export GH_TEST_LDAP_LDAPI="ldapi://$sock"
	export GH_TEST_LDAP_BASE=dc=gatehouse
	export GH_TEST_LDAP_ROOTDN=cn=admin,dc=gatehouse
	export GH_TEST_LDAP_ROOTPW=$pw
	ldapsearch -x -H "$GH_TEST_LDAP_URI" -b dc=gatehouse -s base -D "$GH_TEST_LDAP_ROOTDN" -w "$pw" >/dev/null 2>&1
}

gh_slapd_stop() {
	local d=$1
	[ -f "$d/pid" ] || return 0
	kill "$(cat "$d/pid")" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$(cat "$d/pid")" 2>/dev/null || break; sleep 0.05; done
	kill -9 "$(cat "$d/pid")" 2>/dev/null
	rm -f "$d/pid"
}
