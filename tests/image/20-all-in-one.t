#!/usr/bin/env bash
# The image as an all-in-one node, configured through qemu fw_cfg
# (opt/gatehouse/gatehouse.conf): first boot makes the embedded PostgreSQL and slapd and
# runs `gatehouse init --first`; gatehouse.service runs `gatehouse run`, which starts them
# and every process of the role (`gatehouse status` over SSH); every process answers its health endpoint (management
# ports opened to the host only, firewall.mgmt_from); the demo path end to end through
# hostfwd: a management client by DCR, an API created, deployed to External and published
# through the publisher's REST API (backend on the host), an application subscribed with
# keys in the developer portal, a token from the node's key manager, and a call through
# its gw-external that reaches the backend.  PostgreSQL and slapd stay on loopback.  After
# power-off the disk holds the node's CA (this is a first node) and the certificates the
# node served chain to it.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
. "$GH_ROOT/tests/image/lib.sh"
[ -f "$IMG_DISK" ] || { echo "FAIL: no image (make image, tests/image/00-build.t)"; echo "0 passed, 1 failed"; exit 1; }
cleanup() { vm_cleanup_all; for p in $GH_BE_PIDS; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
_gw_backend prod || { echo "0 passed, 1 failed"; exit 1; }
BE_PROD_LOG=$GH_TMP/backend-prod.log
PW='Img-Adm1n-pass'
ssh-keygen -q -t ed25519 -N '' -C image-test -f "$GH_TMP/id"
cat >"$GH_TMP/aio.conf" <<CONF
# An all-in-one node (tests/image/20-all-in-one.t)
[node]
role = all-in-one
name = aio-img
hostnames = localhost, 127.0.0.1, 10.0.2.15
[keymanager]
mgmt_listen = 0.0.0.0
[publisher]
mgmt_listen = 0.0.0.0
[portal]
mgmt_listen = 0.0.0.0
[trafficmanager]
mgmt_listen = 0.0.0.0
[gw-internal]
mgmt_listen = 0.0.0.0
workers = 2
[gw-external]
mgmt_listen = 0.0.0.0
workers = 2
[access]
admin_password = $PW
ssh_key = $(cat "$GH_TMP/id.pub")
[firewall]
mgmt_from = 10.0.2.2
ssh_from = 10.0.2.0/24
CONF
DISK=$GH_TMP/aio.qcow2
vm_disk "$DISK" 4G
MGMT="19445 19443 19444 19611 18244 18243"
VM_FWD="9443 9444 9445 8243 $MGMT 5432 389 22" vm_start aio "$DISK" \
	-fw_cfg "name=opt/gatehouse/gatehouse.conf,file=$GH_TMP/aio.conf"
vm_wait aio 'all-in-one node up|INIT FAILED|CONFIGURATION ERROR|exited' 420
echo "boot: $(( $(date +%s) - VM_T0 )) s to a running all-in-one node"
C=$(vm_console aio)
check_match "SSH is on, with the key" 'SSH enabled for root with 1 key' "$C"
check_match "fw_cfg was read" 'configuration accepted from fw_cfg:opt/gatehouse/gatehouse.conf: role all-in-one' "$C"
check_match "gatehouse init --first ran once" 'initialised as all-in-one in [0-9]+ s: first node of a deployment; sign in as admin with the password given in access.admin_password' "$C"
check_match "gatehouse run: the embedded PostgreSQL and slapd and every process are healthy" \
	'all-in-one node up: postgresql slapd keymanager publisher portal trafficmanager gw-internal gw-external$' "$C"
for p in $MGMT; do
	v=VM_PORT_$p
	check_eq "health on management port $p (through hostfwd)" 200 \
		"$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:${!v}/health")"
done

# ---- the demo path, through the forwarded ports ----
km_curl() { curl -s -k -m 20 "$@"; }
KM_URL=https://localhost:$VM_PORT_9445 PUB_URL=https://localhost:$VM_PORT_9443 PORTAL_URL=https://localhost:$VM_PORT_9444
out=$(km_curl -u "admin:$PW" -H 'Content-Type: application/json' "$KM_URL/client-registration/v0.17/register" \
	-d '{"clientName":"image_test","owner":"admin","grantType":"client_credentials password refresh_token","saasApp":true}')
CP_CLIENT=$(jget "$out" clientId) CP_SECRET=$(jget "$out" clientSecret)
check_match "a management client registered by DCR (admin, the configured password)" '^[A-Za-z0-9_-]{10,}$' "$CP_CLIENT"
for _ in 1 2 3; do	# the first grants of a node under emulation can be slow
	tok=$(km_curl -u "$CP_CLIENT:$CP_SECRET" -d grant_type=password --data-urlencode username=admin \
		--data-urlencode "password=$PW" --data-urlencode "scope=$ALL_SCOPES" "$KM_URL/oauth2/token")
	ADM=$(jget "$tok" access_token)
	case $ADM in ey*) break ;; esac
	sleep 2
done
check_match "a management token from the node's key manager (password grant)" '^ey' "$ADM" || echo "  $tok"
BE_PORT=${_BE_PORT}
API=$(GW_ENDPOINTS="{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"http://10.0.2.2:$BE_PORT\"},
	\"sandbox_endpoints\":{\"url\":\"http://10.0.2.2:$BE_PORT\"}}" gw_api DemoApi /demo 1.0 External)
check_match "an API created, deployed to External and published (publisher REST API)" '^[0-9a-f-]{36}$' "$API"
DEV_TOKEN=$(mgmt_token admin "$PW" "apim:subscribe apim:app_manage apim:sub_manage apim:api_key")
gw_app DemoApp "$API" Gold || echo "FAIL: application"
check_match "an application subscribed, keys generated, a token from the key manager" '^ey' "$TOKEN"
gwcode() { curl -s -k -o /dev/null -w '%{http_code}' -m 10 "$@"; }
code=$(poll_code 200 gwcode -H "Authorization: Bearer $TOKEN" "https://localhost:$VM_PORT_8243/demo/1.0/hello")
check_eq "a call through the node's gw-external with that token" 200 "$code"
check_match "... reached the backend" '"path": "/hello"' "$(tail -1 "$BE_PROD_LOG")"
check_eq "... a call without a token: 401" 401 "$(gwcode "https://localhost:$VM_PORT_8243/demo/1.0/hello")"
check_eq "PostgreSQL is not reachable from outside" "" \
	"$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$VM_PORT_5432 && printf '\0\0\0\x08\x04\xd2\x16\x2f' >&3 && timeout 3 head -c 1 <&3" 2>/dev/null)"
check_eq "slapd is not reachable from outside" "" \
	"$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$VM_PORT_389 && printf '0\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00' >&3 && timeout 3 head -c 1 <&3" 2>/dev/null)"
# SSH: on because a key was given; root with that key only
S=$(ssh -i "$GH_TMP/id" -p "$VM_PORT_22" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o BatchMode=yes -o ConnectTimeout=20 root@127.0.0.1 'cat /var/lib/gatehouse/appliance-status; systemctl is-active gatehouse;
	systemctl show -p ExecStart --value gatehouse; gatehouse status; echo "status-rc=$?"' 2>/dev/null)
check_match "SSH with the configured key (root)" 'state=ok' "$S"
check_match "... gatehouse.service is active" '^active$' "$S"
check_match "... and runs gatehouse run" 'path=/usr/bin/gatehouse ; argv\[\]=/usr/bin/gatehouse run --config /etc/gatehouse/gatehouse.conf' "$S"
check_match "... gatehouse status: the appliance's state" '^appliance: ok, role all-in-one' "$S"
check_match "... every process healthy (8)" 'all processes healthy' "$S"
check_eq "... listed as running and healthy" 8 "$(printf '%s\n' "$S" | grep -cE '^  [a-z-]+ +running +pid [0-9]+ +healthy ')"
check_match "... exit status 0" 'status-rc=0' "$S"
check_match "... the server offers public keys only (no passwords)" 'Authentications that can continue: publickey.?$' \
	"$(ssh -v -p "$VM_PORT_22" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
		-o PubkeyAuthentication=no -o ConnectTimeout=20 root@127.0.0.1 true 2>&1 | grep 'Authentications that can continue' | head -1)"
openssl s_client -connect "127.0.0.1:$VM_PORT_8243" -servername localhost </dev/null 2>/dev/null | openssl x509 >"$GH_TMP/gw.crt" 2>/dev/null
openssl s_client -connect "127.0.0.1:$VM_PORT_9445" -servername localhost </dev/null 2>/dev/null | openssl x509 >"$GH_TMP/km.crt" 2>/dev/null
check_ok "it powers off on ACPI" vm_stop aio 120

E=$GH_TMP/aio.ext4
vm_root_ext4 "$DISK" "$E" || echo "FAIL: root partition"
vm_journal "$E" aio
debugfs -R "dump /var/lib/gatehouse/pki/ca.crt $GH_TMP/ca.crt" "$E" >/dev/null 2>&1
check_ok "the served certificates chain to the node's own CA (read from the disk)" \
	openssl verify -CAfile "$GH_TMP/ca.crt" "$GH_TMP/gw.crt" "$GH_TMP/km.crt"
ls=$(debugfs -R 'ls -l /var/lib/gatehouse/pki' "$E" 2>/dev/null)
check_match "a first node keeps its CA key (0600)" '100600 .* ca\.key' "$ls"
check_match "the embedded PostgreSQL cluster is under /var/lib/gatehouse/pg" 'PG_VERSION' \
	"$(debugfs -R 'ls /var/lib/gatehouse/pg/data' "$E" 2>/dev/null)"
check_match "the status" 'state=ok' "$(debugfs -R 'cat /var/lib/gatehouse/appliance-status' "$E" 2>/dev/null)"
blocks=$(dumpe2fs -h "$E" 2>/dev/null | awk -F: '/^Block count/ { gsub(/ /, "", $2); print $2 }')
check_ok "the root grew to the 4 GiB disk at first boot (systemd-repart, growfs): $((blocks * 4 / 1024)) MiB" \
	test "$((blocks * 4096))" -gt $((3500 * 1048576))
check_done
