#!/usr/bin/env bash
# client_credentials on the loop's fast path (ES256 signing key, cached
# client): tokens are the same as the workers' (valid ES256 JWTs that
# introspect active), wrong secrets still go to the workers and count
# towards the lock-out, a locked client is refused even with the right
# secret while cached, and a rotated secret (DCR re-registration) stops the
# old one at once.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start fast "[keys]" "token_alg = ES256" "[http]" "trusted_proxies = 127.0.0.1" ||
	{ echo "0 passed, 1 failed"; exit 1; }
reg() {
	km_curl -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' \
		"$KM_URL/client-registration/v0.17/register" \
		-d '{"clientName":"fastpath","owner":"admin","grantType":"client_credentials"}'
}
field() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin).get('$1',''))"; }
out=$(reg); cid=$(printf '%s' "$out" | field clientId); secret=$(printf '%s' "$out" | field clientSecret)
check_ne "DCR client" "" "$cid"
tok() { km_curl -u "$cid:$1" -H "X-Forwarded-For: $2" "$KM_URL/oauth2/token" -d grant_type=client_credentials; }
alg() { printf '%s' "$1" | cut -d. -f1 | tr '_-' '/+' | base64 -d 2>/dev/null | field alg; }
for i in 1 2 3 4; do
	t=$(tok "$secret" 10.0.0.1 | field access_token)
	check_eq "token $i is an ES256 JWT" "ES256" "$(alg "$t")"
	check_match "token $i introspects active" '"active":true' \
		"$(km_curl -u "$cid:$secret" -H 'X-Forwarded-For: 10.0.0.1' "$KM_URL/oauth2/introspect" -d "token=$t")"
done
issued=$(curl -s "$KM_MGMT_URL/metrics" | awk '/^gatehouse_km_tokens_issued_total/ {print $2}')
check_eq "every token counted" "4" "$issued"
code=$(km_curl -o /dev/null -w '%{http_code}' -u "$cid:wrong" -H 'X-Forwarded-For: 10.0.0.2' \
	"$KM_URL/oauth2/token" -d grant_type=client_credentials)
check_eq "a wrong secret is refused" "401" "$code"
for i in 2 3 4 5; do
	km_curl -o /dev/null -u "$cid:wrong$i" -H "X-Forwarded-For: 10.0.1.$i" "$KM_URL/oauth2/token" \
		-d grant_type=client_credentials
done
check_match "five failures lock the client out" "Too many failed" "$(tok "$secret" 10.0.2.1)"
check_eq "the lock-out is in the database" "1" \
	"$(psql "$KM_DB" -qAt -c "SELECT count(*) FROM gh_lockouts WHERE kind = 'client' AND key = '$cid' AND locked_until > now()")"
psql "$KM_DB" -qAt -c "DELETE FROM gh_lockouts" >/dev/null
sleep 0.3
check_match "after the lock is lifted the right secret works" "access_token" "$(tok "$secret" 10.0.2.2)"
new=$(reg | field clientSecret)
check_ne "re-registration rotates the secret" "$secret" "$new"
check_match "the old secret stops at once" "invalid_client" "$(tok "$secret" 10.0.3.1)"
check_match "the new secret works" "access_token" "$(tok "$new" 10.0.3.2)"
check_done
