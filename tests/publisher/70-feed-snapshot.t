#!/usr/bin/env bash
# The data feed's snapshot and backend keys.  Snapshot: only gateway certificates, only
# their own environment (403 for another, 404 for one that does not exist); after data
# inserted with SQL (APIs deployed to Internal, External or both, a RETIRED one,
# subscriptions, applications with keys, revocations, deny rules) each environment's
# snapshot holds exactly its own APIs, subscriptions and applications, the key manager's
# endpoints, tenants, policies, unexpired revocations and client not-before times, and
# the eventId it is consistent with.  Backend keys: public JWKs only, per environment and
# node from the certificate, 201/200/409, published by the key manager.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p70 || { echo "0 passed, 1 failed"; exit 1; }
F=$FEED_URL/internal/data/v1
J='Content-Type: application/json'

# A gateway certificate of our own making: ROLE ENV NODE -> $GH_TMP/NODE.crt/.key
mkcert() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$GH_TMP/$3.key" \
		-subj "/CN=$3" -out "$GH_TMP/$3.csr" 2>/dev/null &&
	openssl x509 -req -in "$GH_TMP/$3.csr" -CA "$KM_CA" -CAkey "$KM_PKI/ca.key" -set_serial "$RANDOM$RANDOM" \
		-days 1 -out "$GH_TMP/$3.crt" -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:gatehouse://%s/%s/%s\n' "$1" "$2" "$3") 2>/dev/null
}
mycurl() { local n=$1; shift; curl -s --cacert "$KM_CA" --cert "$GH_TMP/$n.crt" --key "$GH_TMP/$n.key" "$@"; }

sql "INSERT INTO gh_apis (id, tenant, name, context, version, provider, status, definition) VALUES
 ('api-a','carbon.super','A','/a','1.0','admin','PUBLISHED','{}'), ('api-b','carbon.super','B','/b','1.0','admin','PUBLISHED','{}'),
 ('api-c','carbon.super','C','/c','1.0','admin','BLOCKED','{}'), ('api-r','carbon.super','R','/r','1.0','admin','RETIRED','{}');
INSERT INTO gh_api_revisions (id, api_id, number, definition) VALUES
 ('rev-a1','api-a',1,'{\"operations\":[{\"target\":\"/x\",\"verb\":\"GET\",\"authType\":\"Application\",\"throttlingPolicy\":\"Unlimited\",\"scopes\":[]}],\"policies\":[\"Gold\"],\"endpointConfig\":{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"http://127.0.0.1:9/a\"}},\"securityScheme\":[\"oauth2\",\"api_key\"]}'),
 ('rev-b1','api-b',1,'{\"policies\":[\"Gold\",\"Silver\"],\"backendJwt\":true}'), ('rev-c1','api-c',1,'{}'), ('rev-r1','api-r',1,'{}');
INSERT INTO gh_deployments (api_id, environment, revision_id, vhost) VALUES ('api-a','Internal','rev-a1','localhost'),
 ('api-b','Internal','rev-b1','localhost'), ('api-b','External','rev-b1','localhost'), ('api-c','External','rev-c1','localhost'),
 ('api-r','Internal','rev-r1','localhost');
INSERT INTO gh_applications (id, tenant, name, owner, tier) VALUES ('app-1','carbon.super','App1','admin','Unlimited'),
 ('app-2','carbon.super','App2','admin','10PerMin'), ('app-3','carbon.super','App3','admin','10PerMin');
INSERT INTO gh_subscriptions (id, api_id, app_id, tenant, api_tenant, tier, subscriber, status) VALUES
 ('sub-1','api-a','app-1','carbon.super','carbon.super','Gold','admin','UNBLOCKED'),
 ('sub-2','api-c','app-2','carbon.super','carbon.super','Gold','admin','BLOCKED'),
 ('sub-3','api-b','app-2','carbon.super','carbon.super','Silver','admin','UNBLOCKED'),
 ('sub-4','api-r','app-3','carbon.super','carbon.super','Gold','admin','UNBLOCKED');
INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types, audience, app_id, key_type, not_before) VALUES
 ('ck-1','x','carbon.super','admin','App1_P','{client_credentials}','gatehouse-gateway','app-1','PRODUCTION','epoch'),
 ('ck-2','x','carbon.super','admin','App2_P','{client_credentials}','gatehouse-gateway','app-2','PRODUCTION',now() + interval '1 second'),
 ('ck-3','x','carbon.super','admin','App2_S','{client_credentials}','gatehouse-gateway','app-2','SANDBOX','epoch');
INSERT INTO gh_revoked_tokens (jti, expires_at) VALUES ('jti-live', now() + interval '1 hour'), ('jti-dead', now() - interval '1 hour');
INSERT INTO gh_deny_policies (id, tenant, condition_type, condition_value) VALUES ('deny-1','carbon.super','IP','{\"fixedIp\":\"192.0.2.1\",\"invert\":false}')" >/dev/null
sql "BEGIN; SELECT pg_advisory_xact_lock($((0x67685f6f7574626f))); INSERT INTO gh_events (tenant, type, payload) VALUES ('carbon.super', 'test.marker', '{}'); COMMIT" >/dev/null
MAXID=$(sql "SELECT max(id) FROM gh_events")

S=$(feed_curl gw-internal "$F/snapshot?environment=Internal")
summary() {
	printf '%s' "$1" | python3 -c '
import json, sys
s = json.load(sys.stdin)
ids = lambda k: ",".join(x["id"] for x in s[k])
print(s["eventId"], s["environment"]["name"], ids("apis"), ids("subscriptions"), ids("applications"),
      ",".join(k["consumerKey"] for a in s["applications"] for k in a["keys"]),
      ",".join(t["jti"] for t in s["revokedTokens"]), ",".join(c["clientId"] for c in s["clientNotBefore"]),
      ",".join(t["domain"] + ":" + t["status"] for t in s["tenants"]),
      len(s["policies"]["subscription"]), len(s["policies"]["application"]), len(s["policies"]["advanced"]),
      ",".join(d["id"] for d in s["denyPolicies"]))'
}
check_eq "Internal's snapshot" "$MAXID Internal api-a,api-b sub-1,sub-3 app-1,app-2 ck-1,ck-2,ck-3 jti-live ck-2 carbon.super:active 5 4 4 deny-1" "$(summary "$S")"
check_eq "its key manager" "$KM_URL $KM_URL/oauth2/jwks $KM_INTERNAL_URL/internal/km/v1/introspect [\"gatehouse-gateway\"]" \
	"$(jget "$S" keyManager.issuer) $(jget "$S" keyManager.jwksUrl) $(jget "$S" keyManager.introspectUrl) $(jget "$S" keyManager.audiences)"
check_eq "API A as gateways see it" "/a PUBLISHED Internal rev-a1 /x [\"Gold\"] [\"oauth2\", \"api_key\"] http://127.0.0.1:9/a false" \
	"$(jget "$S" apis.0.context) $(jget "$S" apis.0.lifeCycleStatus) $(jget "$S" apis.0.environment) $(jget "$S" apis.0.revisionId) $(jget "$S" apis.0.operations.0.target) $(jget "$S" apis.0.policies) $(jget "$S" apis.0.securityScheme) $(jget "$S" apis.0.endpointConfig.production_endpoints.url) $(jget "$S" apis.0.backendJwt)"
check_eq "the environment's vhosts" '[{"host": "localhost", "httpPort": 8281, "httpsPort": 8244}]' "$(jget "$S" environment.vhosts)"
check_eq "a subscription's shape" "api-a app-1 Gold UNBLOCKED carbon.super" \
	"$(jget "$S" subscriptions.0.apiId) $(jget "$S" subscriptions.0.applicationId) $(jget "$S" subscriptions.0.tier) $(jget "$S" subscriptions.0.status) $(jget "$S" subscriptions.0.apiTenant)"
S=$(feed_curl gw-external "$F/snapshot?environment=External")
check_eq "External's snapshot (no Internal-only API, BLOCKED kept)" "$MAXID External api-b,api-c sub-2,sub-3 app-2 ck-2,ck-3 jti-live ck-2 carbon.super:active 5 4 4 deny-1" "$(summary "$S")"
check_eq "api-c is BLOCKED in it" BLOCKED "$(jget "$S" apis.1.lifeCycleStatus)"

check_eq "gw-internal asking for External: 403" 403 "$(code feed_curl gw-internal "$F/snapshot?environment=External")"
check_eq "gw-external asking for Internal: 403" 403 "$(code feed_curl gw-external "$F/snapshot?environment=Internal")"
check_eq "no environment: 400" 400 "$(code feed_curl gw-internal "$F/snapshot")"
check_eq "the publisher's certificate is not a gateway's: 403" 403 "$(code feed_curl publisher "$F/snapshot?environment=Internal")"
mkcert gw-internal Lab n1
check_eq "a certificate of an environment that does not exist: 404" 404 "$(code mycurl n1 "$F/snapshot?environment=Lab")"
TOK=$(admin_token)
pcall "$TOK" -X POST -H "$J" -d '{"name":"Lab","type":"internal","vhosts":[{"host":"lab.local","httpsPort":8443}]}' "$PUB_URL/api/am/admin/v4/environments"
S=$(mycurl n1 "$F/snapshot?environment=Lab")
check_eq "once created, Lab's snapshot is empty of APIs" "Lab 0 lab.local" "$(jget "$S" environment.name) $(jget "$S" apis | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') $(jget "$S" environment.vhosts.0.host)"
check_eq "and Lab may not read Internal" 403 "$(code mycurl n1 "$F/snapshot?environment=Internal")"
check_match "snapshots are counted" 'gatehouse_feed_snapshots_total [3-9]' "$(curl -s "$PUB_MGMT_URL/metrics")"

# --- backend keys ---
# jwk KEYFILE KID: the public JWK (EC P-256 or Ed25519) of a PEM private key
jwk() {
	openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | python3 -c '
import sys, base64, json
d = sys.stdin.buffer.read(); b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
if len(d) == 44: print(json.dumps({"kty": "OKP", "crv": "Ed25519", "x": b(d[-32:]), "kid": sys.argv[1]}))
else: print(json.dumps({"kty": "EC", "crv": "P-256", "x": b(d[-64:-32]), "y": b(d[-32:]), "kid": sys.argv[1]}))' "$2"
}
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$GH_TMP/bk1.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$GH_TMP/bk2.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$GH_TMP/bk3.pem" 2>/dev/null
K1=$(jwk "$GH_TMP/bk1.pem" gw-k1); K2=$(jwk "$GH_TMP/bk2.pem" gw-k2); K3=$(jwk "$GH_TMP/bk3.pem" gw-k1)
post_key() { local who=$1 body=$2; shift 2; "$who" "$@" -o "$GH_TMP/out" -w '%{http_code}' -H "$J" -d "$body" "$F/backend-keys"; }
check_eq "register an EC key from gw-internal" 201 "$(post_key feed_curl "{\"kid\":\"gw-k1\",\"jwk\":$K1}" gw-internal)"
check_eq "stored for Internal, node p70" "Internal|p70|P-256" "$(sql "SELECT environment, node, jwk->>'crv' FROM gh_backend_keys WHERE kid = 'gw-k1'")"
check_eq "the same key again: 200" 200 "$(post_key feed_curl "{\"kid\":\"gw-k1\",\"jwk\":$K1}" gw-internal)"
mkcert gw-internal Internal n2
check_eq "another node with the same kid: 409" 409 "$(post_key mycurl "{\"kid\":\"gw-k1\",\"jwk\":$K3}" n2)"
check_eq "another node with its own kid (Ed25519): 201" 201 "$(post_key mycurl "{\"kid\":\"gw-k2\",\"jwk\":$K2}" n2)"
J1=$(km_curl "$KM_URL/oauth2/jwks/backend/Internal")
check_eq "the key manager publishes both for Internal" "gw-k1,gw-k2" "$(printf '%s' "$J1" | python3 -c 'import json,sys; print(",".join(sorted(k["kid"] for k in json.load(sys.stdin)["keys"])))')"
check_eq "and none for External" '{"keys":[]}' "$(km_curl "$KM_URL/oauth2/jwks/backend/External")"
check_eq "the first node replaces its key under its kid: 201" 201 "$(post_key feed_curl "{\"kid\":\"gw-k1\",\"jwk\":$K3}" gw-internal)"
check_eq "now the new key" "$(jget "$K3" x)" "$(sql "SELECT jwk->>'x' FROM gh_backend_keys WHERE kid = 'gw-k1'")"
check_eq "gw-external's key goes to External" 201 "$(post_key feed_curl "{\"kid\":\"ext-1\",\"jwk\":$(jwk "$GH_TMP/bk1.pem" ext-1)}" gw-external)"
check_match "External's JWKS" '"kid":"ext-1"' "$(km_curl "$KM_URL/oauth2/jwks/backend/External")"
N0=$(sql "SELECT count(*) || md5(string_agg(jwk::text, ',' ORDER BY kid)) FROM gh_backend_keys")
PRIV=$(printf '%s' "$K1" | python3 -c 'import json,sys; k=json.load(sys.stdin); k["d"]="AAAA"; print(json.dumps(k))')
for bad in "{\"kid\":\"gw-k9\",\"jwk\":$PRIV}" '{"kid":"gw-k9","jwk":{"kty":"oct","k":"c2VjcmV0"}}' \
	'{"kid":"gw-k9","jwk":{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}}' "{\"kid\":\"other\",\"jwk\":$K1}" \
	"{\"jwk\":$K1}" '{"kid":"gw-k9","jwk":"key"}' '{"kid":"gw k9","jwk":{}}' '{"kid":' "{\"kid\":5,\"jwk\":$K1}"; do
	check_eq "bad backend key answers 400: ${bad:0:120}" 400 "$(post_key feed_curl "$bad" gw-internal)"
done
check_eq "text/plain: 415" 415 "$(feed_curl gw-internal -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' -d "{\"kid\":\"gw-k9\",\"jwk\":$K1}" "$F/backend-keys")"
check_eq "nothing written by the refused requests" "$N0" "$(sql "SELECT count(*) || md5(string_agg(jwk::text, ',' ORDER BY kid)) FROM gh_backend_keys")"
check_eq "an audit row per registration" 4 "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'backend_key.register'")"
check_done
