#!/usr/bin/env bash
# 20 reloads under steady load, 0 failed requests.  An all-in-one node under `gatehouse run`
# serves four clients for the whole test: a keep-alive connection through gw-external, a new
# TLS connection per request through gw-external (a handshake each time), a keep-alive plain
# connection through gw-internal and a keep-alive connection to the key manager's JWKS.  The
# supervisor gets SIGHUP 20 times (it passes each on to every daemon); half-way, gw-external's
# certificate is replaced by a new one from the node's CA and the log level is changed.  Every
# request answers 200, the keep-alive connections are never dropped, new handshakes present
# the new certificate after the reload, and every daemon read its configuration at each SIGHUP
# until the new level (warn) silenced those lines.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/node.sh"
D=$GH_TMP/r1
BEPID=
trap 'kill $BEPID 2>/dev/null; [ -n "${NODE_PID:-}" ] && kill -9 $NODE_PID 2>/dev/null; for p in $(node_pids r1); do kill -9 $p 2>/dev/null; done' EXIT

node_conf r1
node_init r1 || { check_eq "init" ok failed; check_done; exit 1; }
node_run r1 || { check_eq "gatehouse run became ready" ready failed; check_done; exit 1; }
node_use r1 || check_eq "management client registered" ok failed
_gw_backend prod; BE_PROD_URL=http://127.0.0.1:$_BE_PORT; BE_SAND_URL=$BE_PROD_URL
BEPID=$GH_BE_PIDS
ADM=$(admin_token)
api=$(gw_api Reload /reload 1.0 "Internal External")
gw_app reloadapp "$api" Unlimited
check_eq "the API answers through gw-external" 200 "$(gw_wait_code 200 10000 -H "Authorization: Bearer $TOKEN" "$GWE_URL/reload/1.0/a")"
check_eq "and through gw-internal (plain HTTP)" 200 "$(gw_wait_code 200 10000 -H "Authorization: Bearer $TOKEN" "$GWI_HTTP_URL/reload/1.0/a")"
old_serial=$(openssl x509 -in "$D/data/pki/gw-external.crt" -noout -serial | cut -d= -f2)

# the load: four clients until $GH_TMP/stop exists; one JSON summary each
/usr/bin/python3 - "$KM_CA" "$TOKEN" "$GWE_URL" "$GWI_HTTP_URL" "$KM_URL" "$GH_TMP/stop" >"$GH_TMP/load.json" 2>"$GH_TMP/load.err" <<'PY' &
import http.client, json, os, ssl, sys, threading, time, urllib.parse
ca, token, gwe, gwi, km, stop = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=ca)
res = {}

def conn_for(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)

def client(name, url, path, auth, fresh):
    r = {"ok": 0, "failed": 0, "errors": [], "connects": 0, "serials": []}
    res[name] = r
    c = None
    while not os.path.exists(stop):
        try:
            if c is None or fresh:
                if c is not None:
                    c.close()
                c = conn_for(url)
                c.connect()
                r["connects"] += 1
                if fresh:
                    s = c.sock.getpeercert()["serialNumber"]
                    if not r["serials"] or r["serials"][-1] != s:
                        r["serials"].append(s)
            c.request("GET", path, headers={"Authorization": "Bearer " + token} if auth else {})
            resp = c.getresponse()
            resp.read()
            if resp.status == 200:
                r["ok"] += 1
            else:
                r["failed"] += 1
                r["errors"].append(resp.status)
            if resp.getheader("Connection", "").lower() == "close":
                c.close()
                c = None
        except Exception as e:
            r["failed"] += 1
            r["errors"].append(repr(e)[:120])
            c = None
        time.sleep(0.01)

ts = [threading.Thread(target=client, args=a) for a in (
    ("gwe-keepalive", gwe, "/reload/1.0/k", True, False),
    ("gwe-handshakes", gwe, "/reload/1.0/h", True, True),
    ("gwi-keepalive", gwi, "/reload/1.0/i", True, False),
    ("km-keepalive", km, "/oauth2/jwks", False, False))]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(json.dumps(res))
PY
LOAD=$!
sleep 1

# a new certificate for gw-external from the node's CA (same names, new key and serial)
newcert() {
	local t=$GH_TMP/newcert
	mkdir -p "$t"
	openssl ecparam -name prime256v1 -genkey -noout -out "$t/k.pem" 2>/dev/null
	openssl req -new -key "$t/k.pem" -subj "/CN=gw-external" -out "$t/r.csr" 2>/dev/null
	printf 'subjectAltName = DNS:localhost, IP:127.0.0.1, URI:gatehouse://gw-external/External/r1\nextendedKeyUsage = serverAuth, clientAuth\n' >"$t/ext"
	openssl x509 -req -in "$t/r.csr" -CA "$D/data/pki/ca.crt" -CAkey "$D/data/pki/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
		-days 30 -extfile "$t/ext" -out "$t/c.pem" 2>/dev/null || return 1
	chmod 600 "$t/k.pem"; chown gatehouse: "$t/k.pem" "$t/c.pem"
	# key first, then the certificate, each by rename: a reload reads whole files
	mv "$t/k.pem" "$D/data/pki/gw-external.key.new" && mv "$t/c.pem" "$D/data/pki/gw-external.crt.new" &&
		mv "$D/data/pki/gw-external.key.new" "$D/data/pki/gw-external.key" &&
		mv "$D/data/pki/gw-external.crt.new" "$D/data/pki/gw-external.crt"
}

for i in $(seq 1 20); do
	if [ "$i" = 11 ]; then
		newcert || check_eq "a new gw-external certificate was issued" ok failed
		printf '[log]\nlevel = warn\n' >>"$D/node.conf"
	fi
	kill -HUP "$NODE_PID"
	sleep 0.25
done
sleep 1
touch "$GH_TMP/stop"
wait "$LOAD"
new_serial=$(openssl x509 -in "$D/data/pki/gw-external.crt" -noout -serial | cut -d= -f2)
summary=$(cat "$GH_TMP/load.json")
echo "load: $summary"
cat "$GH_TMP/load.err"
read -r total failed ka_connects serials <<<"$(printf '%s' "$summary" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
print(sum(x["ok"] + x["failed"] for x in r.values()), sum(x["failed"] for x in r.values()),
      ",".join(str(r[k]["connects"]) for k in ("gwe-keepalive", "gwi-keepalive", "km-keepalive")),
      ",".join(r["gwe-handshakes"]["serials"]))')"
echo "requests $total, failed $failed, keep-alive connects $ka_connects, serials seen $serials"
check_eq "0 failed requests across 20 reloads" 0 "$failed"
check_eq "the load ran (more than 400 requests)" 1 "$([ "$total" -gt 400 ] && echo 1)"
check_eq "no keep-alive connection was dropped" "1,1,1" "$ka_connects"
check_eq "handshakes presented the old certificate, then the new one" \
	"$(echo "$old_serial,$new_serial" | tr a-f A-F)" "$(echo "$serials" | tr a-f A-F)"
check_eq "a new connection now gets the new certificate" "$new_serial" \
	"$(echo | openssl s_client -connect "${GWE_URL#https://}" -servername localhost 2>/dev/null | openssl x509 -noout -serial | cut -d= -f2)"
# HUPs 1-10 log at info; the 11th announces level warn; 12-20 then log nothing at info
for c in keymanager publisher portal trafficmanager gw-internal gw-external; do
	check_eq "$c read its configuration at each SIGHUP, then took log level warn" \
		"11 warn" "$(grep -c '"event":"reload".*read again' "$D/log/$c.log") $(grep '"event":"reload".*read again' "$D/log/$c.log" | tail -1 | sed -n 's/.*log level \([a-z]*\).*/\1/p')"
done
check_nomatch "no daemon restarted" '"event":"crashed"' "$(cat "$D/run.log")"
node_stop r1
check_eq "gatehouse run stops cleanly" 0 "$NODE_RC"
check_done
