#!/usr/bin/env bash
# The image as a DMZ gateway.  A control plane runs on this host (tests/lib/cp.sh; its
# certificates also name 10.0.2.2, the host as a qemu guest sees it under user
# networking) and issues a gateway-external enrolment token; the image boots under qemu
# TCG with a CIDATA config drive (vfat made with mkfs.vfat and mcopy) holding
# gatehouse.conf (static network settings: the addresses of qemu's user network).  It must enrol, start gw-external, answer its health endpoint and route
# an API deployed to External (taken from the feed over mutual TLS), and a call with a token
# from the host's key manager, whose JWKS the gateway fetches from gw-external.jwks_url (the
# issuer's public URL, https://localhost:PORT on the host, is not the DMZ's route to the
# LAN); only its ports are open.  A second boot with another role (fw_cfg)
# keeps gateway-external and says so.  After power-off the disk is read with debugfs
# (no mount): no PostgreSQL data folder, no slapd database, no CA key, no key-manager key.
. "$GH_ROOT/tests/lib/check.sh"
export KM_HOSTNAMES=10.0.2.2
. "$GH_ROOT/tests/lib/gw.sh"
. "$GH_ROOT/tests/image/lib.sh"
[ -f "$IMG_DISK" ] || { echo "FAIL: no image (make image, tests/image/00-build.t)"; echo "0 passed, 1 failed"; exit 1; }
cleanup() { vm_cleanup_all; gw_teardown; }
trap cleanup EXIT
gw_setup img10 || { echo "0 passed, 1 failed"; exit 1; }
port() { local u=${1%/}; echo "${u##*:}"; }
G=10.0.2.2

# ---- the control plane's side ----
jpost "$ADM" "$PUB_URL/api/am/admin/v4/enrolment-tokens" '{"role":"gateway-external","environment":"External","expiresIn":1800}'
check_eq "an enrolment token for gateway-external / External (201)" 201 "$CODE"
TOK=$(jget "$BODY" token) TOK_ID=$(jget "$BODY" id)
BE_PORT=$(port "$BE_PROD_URL")
API=$(GW_ENDPOINTS="{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"http://$G:$BE_PORT\"},
	\"sandbox_endpoints\":{\"url\":\"http://$G:$BE_PORT\"}}" gw_api ImageApi /imageapi 1.0 External)
check_match "an API deployed to External, its backend on the host" '^[0-9a-f-]{36}$' "$API"

# ---- the config drive ----
CONSOLE_HASH=$(openssl passwd -6 -salt imagetest 'Console-pass-1')
mkdir -p "$GH_TMP/cidata"
cat >"$GH_TMP/cidata/gatehouse.conf" <<CONF
# A DMZ gateway made from the appliance image (tests/image/10-gateway-external.t)
[node]
role = gateway-external
name = dmz-img
hostnames = localhost, 10.0.2.15

[enroll]
url = https://$G:$(port "$FEED_URL")
token = $TOK

[cluster]
keymanager_url = https://$G:$(port "$KM_URL")
keymanager_internal_url = https://$G:$(port "$KM_INTERNAL_URL")
feed_url = https://$G:$(port "$FEED_URL")
trafficmanager_url = none

[gw-external]
mgmt_listen = 0.0.0.0
workers = 2
tls_cert = public.crt
tls_key = public.key
trusted_proxies = 10.0.2.2
jwks_url = https://$G:$(port "$KM_URL")/oauth2/jwks

[network]
mode = static
address = 10.0.2.15/24
gateway = $G
dns = 10.0.2.3

[ntp]
servers = $G

[firewall]
mgmt_from = 10.0.2.0/24

[access]
console_password_hash = $CONSOLE_HASH
CONF
# the public listener's certificate and key (what the load balancer would present), beside it
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=api.example.test \
	-addext subjectAltName=DNS:api.example.test,DNS:localhost -keyout "$GH_TMP/cidata/public.key" \
	-out "$GH_TMP/cidata/public.crt" 2>/dev/null
mkfs.vfat -C -n CIDATA "$GH_TMP/cidata.img" 2048 >/dev/null
MTOOLS_SKIP_CHECK=1 mcopy -i "$GH_TMP/cidata.img" "$GH_TMP/cidata/gatehouse.conf" "$GH_TMP/cidata/public.crt" \
	"$GH_TMP/cidata/public.key" ::/

# calls to the public listener, which presents the certificate from the drive
pub_code() { curl -s --cacert "$GH_TMP/cidata/public.crt" -o /dev/null -w '%{http_code}' -m 10 "$@"; }
pub_wait() { poll_code "$1" pub_code "$2"; }	# WANT URL

# ---- first boot ----
DISK=$GH_TMP/gwe.qcow2
vm_disk "$DISK"
VM_FWD="8243 18243 22 9443" vm_start gwe1 "$DISK" -drive "file=$GH_TMP/cidata.img,if=virtio,format=raw,readonly=on"
if vm_wait gwe1 'gateway-external node up|INIT FAILED|CONFIGURATION ERROR' 300; then :; fi
echo "first boot: $(( $(date +%s) - VM_T0 )) s to a running gateway"
C=$(vm_console gwe1)
check_match "the config drive was read" 'configuration accepted from config-drive\(/dev/vd[a-z]\): role gateway-external' "$C"
check_match "the firewall opens only the gateway's ports" 'firewall: open tcp 8243 18243$' "$C"
check_match "it enrolled with the control plane" "initialised as gateway-external in [0-9]+ s: enrolled with https://$G:" "$C"
check_match "the node is up: gatehouse run's gw-external answers /health (console)" 'gateway-external node up: gw-external' "$C"
check_match "the enrolment token is spent, by dmz-img" 'used dmz-img' \
	"$(T=$(km_curl -H "Authorization: Bearer $ADM" "$PUB_URL/api/am/admin/v4/enrolment-tokens/$TOK_ID"); echo "$(jget "$T" status) $(jget "$T" usedByNode)")"
H=$(curl -s -m 10 "http://127.0.0.1:$VM_PORT_18243/health")
check_match "its health endpoint answers through hostfwd" '"environment" ?: ?"External"' "$H"
check_eq "the image's gateway routes the API deployed to External (no token: 401)" 401 \
	"$(pub_wait 401 "https://localhost:$VM_PORT_8243/imageapi/1.0/from-vm")"
check_eq "... and knows no other context (404)" 404 "$(pub_code "https://localhost:$VM_PORT_8243/nothing/1.0/x")"
gw_app ImageApp "$API" Gold || echo "FAIL: application"
# the subscription reaches the gateway through the feed
code=$(poll_code 200 pub_code -H "Authorization: Bearer $TOKEN" "https://localhost:$VM_PORT_8243/imageapi/1.0/with-token")
check_eq "a call with a token from the LAN's key manager (its JWKS through gw-external.jwks_url)" 200 "$code"
check_match "... reached the backend on the host" '"path": "/with-token"' "$(tail -1 "$BE_PROD_LOG")"
check_eq "... a forged signature: 401" 401 "$(pub_code -H "Authorization: Bearer ${TOKEN%.*}.AAAA" "https://localhost:$VM_PORT_8243/imageapi/1.0/with-token")"
check_eq "the public listener serves the certificate from the config drive" "$(openssl x509 -in "$GH_TMP/cidata/public.crt" -noout -fingerprint -sha256)" \
	"$(openssl s_client -connect "127.0.0.1:$VM_PORT_8243" -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null)"
for _ in $(seq 1 50); do
	[ "$(sql "SELECT count(*) FROM gh_backend_keys WHERE environment = 'External' AND node = 'dmz-img'")" = 1 ] && break
	sleep 0.2
done
check_eq "its backend-JWT key is registered" 1 "$(sql "SELECT count(*) FROM gh_backend_keys WHERE environment = 'External' AND node = 'dmz-img'")"
banner=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$VM_PORT_22 && timeout 3 head -c 4 <&3" 2>/dev/null)
check_eq "SSH is off (no key given): nothing answers on 22" "" "$banner"
check_eq "a control-plane port is closed (9443)" 000 \
	"$(curl -sk -m 5 -o /dev/null -w '%{http_code}' "https://localhost:$VM_PORT_9443/")"
check_ok "it powers off on ACPI (within 90 s)" vm_stop gwe1

# ---- second boot: another role asked for ----
VM_FWD="8243 18243" vm_start gwe2 "$DISK" -drive "file=$GH_TMP/cidata.img,if=virtio,format=raw,readonly=on" \
	-fw_cfg name=opt/gatehouse/role,string=all-in-one
vm_wait gwe2 'gateway-external node up|node up' 240
echo "second boot: $(( $(date +%s) - VM_T0 )) s"
C=$(vm_console gwe2)
check_match "the second boot keeps the role and says so" \
	'role was fixed at first boot: keeping gateway-external; the configuration \(.*fw_cfg:opt/gatehouse/role.*\) asks for all-in-one: ignored' "$C"
check_nomatch "no second gatehouse init" 'initialising the node' "$C"
check_match "gw-external runs again" 'gateway-external node up' "$C"
check_match "... and answers" '"environment" ?: ?"External"' "$(curl -s -m 10 "http://127.0.0.1:$VM_PORT_18243/health")"
check_eq "... and routes the API" 401 "$(pub_wait 401 "https://localhost:$VM_PORT_8243/imageapi/1.0/again")"
check_ok "it powers off" vm_stop gwe2

# ---- the DMZ node's disk, read without mounting it ----
E=$GH_TMP/gwe.ext4
vm_root_ext4 "$DISK" "$E" || echo "FAIL: root partition"
vm_journal "$E" gwe
d=$GH_TMP/dump
mkdir -p "$d"
for p in /var /etc /root /srv /opt /home /tmp; do debugfs -R "rdump $p $d" "$E" >/dev/null 2>&1; done
check_ok "the dump holds the node's data folder" test -d "$d/var/lib/gatehouse"
check_eq "no PostgreSQL data folder (PG_VERSION anywhere, 15/main)" "" \
	"$(find "$d" -name PG_VERSION; [ -e "$d/var/lib/postgresql/15/main" ] && echo 15/main)"
check_eq "no slapd database (data.mdb, slapd.d)" "" "$(find "$d" -name data.mdb -o -name slapd.d -o -name 'cn=config*')"
check_eq "no ca.key" "" "$(find "$d" -name ca.key)"
CA_PUB=$(openssl x509 -in "$KM_CA" -noout -pubkey)
KEK=$(sed -n 's/^signing_kek = //p' "$KM_CONF" | tr -d '"')
leaks=""
while IFS= read -r -d '' f; do
	grep -qF "$KEK" "$f" && leaks="$leaks kek:$f"
	grep -qF "$GH_TEST_LDAP_ROOTPW" "$f" && leaks="$leaks ldap-password:$f"
	grep -qE '^\[(db|ldap|keys)\]|bind_password|signing_kek' "$f" && leaks="$leaks setting:$f"
	if grep -q 'PRIVATE KEY' "$f"; then
		[ "$(openssl pkey -in "$f" -pubout 2>/dev/null)" = "$CA_PUB" ] && leaks="$leaks ca-key:$f"
		for c in keymanager publisher portal; do
			[ "$(openssl pkey -in "$f" -pubout 2>/dev/null)" = "$(openssl x509 -in "$KM_PKI/$c.crt" -noout -pubkey)" ] &&
				leaks="$leaks $c-key:$f"
		done
	fi
done < <(find "$d" -type f -size -2M -print0)
check_eq "no CA key, key-manager key, signing-key KEK, database or LDAP credential in any file" "" "$leaks"
check_eq "the gateway's certificate for the feed is the deployment's, for this node" 'URI:gatehouse://gw-external/External/dmz-img' \
	"$(openssl x509 -in "$d/var/lib/gatehouse/pki/gw-external.crt" -noout -ext subjectAltName 2>/dev/null | grep -o 'URI:[^,]*')"
check_eq "the public key pair was copied from the drive (0600)" "600 $(openssl x509 -in "$GH_TMP/cidata/public.crt" -noout -fingerprint -sha256)" \
	"$(stat -c %a "$d/etc/gatehouse/files/public.key") $(openssl x509 -in "$d/etc/gatehouse/files/public.crt" -noout -fingerprint -sha256)"
check_match "... and named in gatehouse.conf" 'tls_key = "/etc/gatehouse/files/public.key"' "$(cat "$d/etc/gatehouse/gatehouse.conf")"
check_eq "the private keys on the disk: the gateway's own (internal, backend JWT, public listener) and the node's" \
	"gw-external-backend-key.pem gw-external.key node.key public.key" \
	"$(grep -rl 'PRIVATE KEY' "$d" | xargs -n1 basename | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "the role is fixed" gateway-external "$(cat "$d/var/lib/gatehouse/role")"
check_match "the appliance status" 'state=ok' "$(cat "$d/var/lib/gatehouse/appliance-status")"
check_nomatch "the spent token is not kept" 'ghe1\.' "$(cat "$d/etc/gatehouse/appliance.conf" "$d/etc/gatehouse/gatehouse.conf")"
N=$(cat "$d/etc/systemd/network/10-gatehouse.network" 2>/dev/null)
check_match "the static network settings (systemd-networkd)" 'Address=10\.0\.2\.15/24' "$N"
check_match "... gateway and DNS" 'Gateway=10\.0\.2\.2.*DNS=10\.0\.2\.3' "$(printf '%s' "$N" | tr '\n' ' ')"
check_match "... used, without DHCP" 'Configuring with /etc/systemd/network/10-gatehouse.network' "$(cat "$IMG_OUT/gwe.journal.txt")"
check_nomatch "... no DHCP lease" 'DHCPv4 address' "$(cat "$IMG_OUT/gwe.journal.txt")"
check_eq "timesyncd asks the configured NTP server" "NTP=10.0.2.2" \
	"$(grep -h '^NTP=' "$d/etc/systemd/timesyncd.conf.d/gatehouse.conf" 2>/dev/null)"
check_eq "the configuration is 0600" 600 "$(stat -c %a "$d/etc/gatehouse/gatehouse.conf")"
check_eq "console login: root's password is the configured hash" "$CONSOLE_HASH" \
	"$(awk -F: '$1 == "root" { print $2 }' "$d/etc/shadow" 2>/dev/null)"
check_match "... and the console says so" 'console login for root enabled \(access.console_password_hash\)' "$(vm_console gwe1)"
J=$(cat "$IMG_OUT/gwe.journal.txt")
check_match "the journal: gatehouse.service ran the gateway" 'gateway-external node up: gw-external$' "$J"
check_match "... under gatehouse run (one process)" 'role gateway-external, 1 processes' "$J"
check_match "... with the role's drop-in" 'Description=Gatehouse external gateway node \(DMZ\)' \
	"$(cat "$d/etc/systemd/system/gatehouse.service.d/role.conf" 2>/dev/null)"
check_match "the journal: its snapshot came from the host's feed" "snapshot of event [0-9]+ taken from https://$G:$(port "$FEED_URL")" "$J"
check_done
