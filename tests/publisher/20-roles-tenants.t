#!/usr/bin/env bash
# Scopes as WSO2 binds them to roles: a creator creates but cannot publish, a
# publisher publishes but cannot create, a subscriber can do neither.  Tenants:
# acme.com's admin can neither list, read, change, delete, deploy nor publish
# carbon.super's APIs (404, never 403), and its own contexts live under /t/acme.com.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p20 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/publisher/v4
ADM=$(admin_token)
ldap_user carbon.super chris Cr3ator-pw creator
ldap_user carbon.super pat Publ1sher-pw publisher
ldap_user carbon.super sue Subscr1ber-pw subscriber
SC="apim:api_view apim:api_create apim:api_delete apim:api_manage apim:api_publish apim:subscription_view apim:subscription_block apim:subscribe"
CRE=$(mgmt_token chris Cr3ator-pw "$SC")
PUBT=$(mgmt_token pat Publ1sher-pw "$SC")
SUB=$(mgmt_token sue Subscr1ber-pw "$SC")
check_match "three role tokens" '^ey.*ey.*ey' "$CRE $PUBT $SUB"
check_nomatch "the creator holds no apim:api_publish" 'apim:api_publish' "$(jwt_claims "$CRE")"

jpost "$CRE" "$P/apis" '{"name":"Menu","context":"/menu","version":"1.0.0"}'
check_eq "a creator creates" 201 "$CODE"
ID=$(jget "$BODY" id)
check_eq "provider is the creator" chris "$(jget "$BODY" provider)"
pcall "$CRE" -X POST "$P/apis/change-lifecycle?action=Publish&apiId=$ID"
check_eq "a creator cannot publish" 403 "$CODE"
jpost "$PUBT" "$P/apis" '{"name":"Menu2","context":"/menu2","version":"1.0.0"}'
check_eq "a publisher cannot create" 403 "$CODE"
jpost "$SUB" "$P/apis" '{"name":"Menu3","context":"/menu3","version":"1.0.0"}'
check_eq "a subscriber cannot create" 403 "$CODE"
pcall "$SUB" "$P/apis"
check_eq "a subscriber cannot list" 403 "$CODE"
pcall "$PUBT" "$P/apis/$ID"
check_eq "a publisher reads" 200 "$CODE"
pcall "$PUBT" -X DELETE "$P/apis/$ID"
check_eq "a publisher cannot delete" 403 "$CODE"
pcall "$PUBT" -X POST "$P/apis/change-lifecycle?action=Publish&apiId=$ID"
check_eq "a publisher publishes" "200 Published" "$CODE $(jget "$BODY" lifecycleState.state)"
check_eq "only two APIs were written" 1 "$(sql "SELECT count(*) FROM gh_apis")"

# Tenants.
check_ok "tenant acme.com" tenant_create acme.com acmeadmin Acme-Adm1n-pw
ACME=$(mgmt_token acmeadmin@acme.com Acme-Adm1n-pw "$ALL_SCOPES")
check_eq "acme's token is of acme.com" acme.com "$(jget "$(jwt_claims "$ACME")" tenant)"
pcall "$ACME" "$P/apis"
check_eq "acme lists none of carbon.super's" "200 0" "$CODE $(jget "$BODY" pagination.total)"
pcall "$ACME" "$P/apis/$ID"
check_eq "acme cannot read it (404)" 404 "$CODE"
pcall "$ACME" -X PUT -H 'Content-Type: application/json' -d '{"description":"mine"}' "$P/apis/$ID"
check_eq "acme cannot change it (404)" 404 "$CODE"
pcall "$ACME" -X DELETE "$P/apis/$ID"
check_eq "acme cannot delete it (404)" 404 "$CODE"
pcall "$ACME" -X POST "$P/apis/change-lifecycle?action=Block&apiId=$ID"
check_eq "acme cannot change its lifecycle (404)" 404 "$CODE"
pcall "$ACME" -X POST -H 'Content-Type: application/json' -d '{}' "$P/apis/$ID/revisions"
check_eq "acme cannot make a revision of it (404)" 404 "$CODE"
pcall "$ADM" -X POST -H 'Content-Type: application/json' -d '{}' "$P/apis/$ID/revisions"
REV=$(jget "$BODY" id)
pcall "$ACME" -X POST -H 'Content-Type: application/json' -d '[{"name":"Internal"}]' "$P/apis/$ID/deploy-revision?revisionId=$REV"
check_eq "acme cannot deploy it (404)" 404 "$CODE"
pcall "$ACME" "$P/apis/$ID/swagger"
check_eq "acme cannot read its swagger (404)" 404 "$CODE"
pcall "$ACME" -X POST "$P/apis/copy-api?apiId=$ID&newVersion=2.0.0"
check_eq "acme cannot copy it (404)" 404 "$CODE"
pcall "$ACME" "$P/apis/$ID/revisions"
check_eq "acme cannot list its revisions (404)" 404 "$CODE"
pcall "$ACME" "$P/subscriptions?apiId=$ID"
check_eq "acme cannot list its subscriptions (404)" 404 "$CODE"
check_eq "nothing deployed, status unchanged" "0 PUBLISHED" "$(sql "SELECT count(*) FROM gh_deployments") $(sql "SELECT status FROM gh_apis WHERE id = '$ID'")"

jpost "$ACME" "$P/apis" '{"name":"Menu","context":"/menu","version":"1.0.0"}'
check_eq "acme may use the same name and context" 201 "$CODE"
AID=$(jget "$BODY" id)
check_eq "stored under /t/acme.com" /t/acme.com/menu "$(jget "$BODY" context)"
check_eq "provider with its tenant" acmeadmin@acme.com "$(jget "$BODY" provider)"
jpost "$ACME" "$P/apis" '{"name":"Menu","context":"/t/acme.com/menu","version":"2.0.0"}'
check_eq "the prefixed form is accepted too" "201 /t/acme.com/menu" "$CODE $(jget "$BODY" context)"
jpost "$ACME" "$P/apis" '{"name":"Evil","context":"/t/carbon.super/x","version":"1.0.0"}'
check_eq "another tenant's prefix is refused" 400 "$CODE"
pcall "$ACME" "$P/apis"
check_eq "acme lists its own two" 2 "$(jget "$BODY" pagination.total)"
pcall "$ADM" "$P/apis/$AID"
check_eq "carbon.super cannot read acme's (404)" 404 "$CODE"
pcall "$ADM" "$P/apis"
check_eq "carbon.super lists only its own" 1 "$(jget "$BODY" pagination.total)"
check_done
