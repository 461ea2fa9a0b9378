#!/usr/bin/env bash
# GET /apis: pages (limit, offset, total, next, previous) and WSO2's query syntax
# (name:, context:, version:, status:, a bare word, several terms together).
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p12 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/publisher/v4
TOK=$(admin_token)
n=0
for i in 1 2 3 4 5 6; do
	jpost "$TOK" "$P/apis" "{\"name\":\"Item$i\",\"context\":\"/items$i\",\"version\":\"1.0.0\",\"description\":\"thing number $i\"}"
	[ "$CODE" = 201 ] && n=$((n + 1))
done
jpost "$TOK" "$P/apis" '{"name":"Item1","context":"/items1","version":"2.0.0"}'
[ "$CODE" = 201 ] && n=$((n + 1))
jpost "$TOK" "$P/apis" '{"name":"Weather","context":"/weather","version":"2.0.0"}'
[ "$CODE" = 201 ] && n=$((n + 1))
check_eq "eight APIs created" 8 "$n"

pcall "$TOK" "$P/apis"
check_eq "default page holds all" "200 8 8" "$CODE $(jget "$BODY" count) $(jget "$BODY" pagination.total)"
check_eq "default limit 25" 25 "$(jget "$BODY" pagination.limit)"
check_eq "list item shape" "CREATED HTTP admin" "$(jget "$BODY" list.0.lifeCycleStatus) $(jget "$BODY" list.0.type) $(jget "$BODY" list.0.provider)"
pcall "$TOK" "$P/apis?limit=3&offset=0"
check_eq "a page of 3" "3 8" "$(jget "$BODY" count) $(jget "$BODY" pagination.total)"
check_eq "next page link" "/apis?limit=3&offset=3&query=" "$(jget "$BODY" pagination.next)"
check_eq "no previous on the first page" "" "$(jget "$BODY" pagination.previous)"
first=$(jget "$BODY" list.0.name)
pcall "$TOK" "$P/apis?limit=3&offset=6"
check_eq "last page holds the rest" 2 "$(jget "$BODY" count)"
check_eq "no next on the last page" "" "$(jget "$BODY" pagination.next)"
check_eq "previous link" "/apis?limit=3&offset=3&query=" "$(jget "$BODY" pagination.previous)"
pcall "$TOK" "$P/apis?limit=3&offset=100"
check_eq "beyond the end: empty page, total kept" "0 8" "$(jget "$BODY" count) $(jget "$BODY" pagination.total)"
check_eq "sorted by name" Item1 "$first"

q() { pcall "$TOK" -G --data-urlencode "query=$1" "$P/apis"; }
q "name:item"
check_eq "name: substring, case-insensitive" 7 "$(jget "$BODY" pagination.total)"
q "Weath"
check_eq "a bare word matches the name" "1 Weather" "$(jget "$BODY" count) $(jget "$BODY" list.0.name)"
q "version:2.0.0"
check_eq "version: exact" 2 "$(jget "$BODY" count)"
q "context:/items3"
check_eq "context:" "1 Item3" "$(jget "$BODY" count) $(jget "$BODY" list.0.name)"
q "name:Item1 version:2.0.0"
check_eq "terms combine (AND)" "1 2.0.0" "$(jget "$BODY" count) $(jget "$BODY" list.0.version)"
q "status:CREATED"
check_eq "status:" 8 "$(jget "$BODY" count)"
q "status:PUBLISHED"
check_eq "status: none published" 0 "$(jget "$BODY" count)"
q "description:number 4"
check_eq "a bare word after a term: both hold (name has 4)" "1 Item4" "$(jget "$BODY" count) $(jget "$BODY" list.0.name)"
q "description:number weather"
check_eq "terms that no API matches together" 0 "$(jget "$BODY" count)"
q 'description:"number 4"'
check_eq "a quoted value holds spaces" "1 Item4" "$(jget "$BODY" count) $(jget "$BODY" list.0.name)"
q "name:Item query:x"
check_eq "an unknown key answers 400" 400 "$CODE"
pcall "$TOK" -G --data-urlencode "query=name:It" --data-urlencode "limit=2" "$P/apis"
check_eq "query kept in the next link" "/apis?limit=2&offset=2&query=name%3AIt" "$(jget "$BODY" pagination.next)"
pcall "$TOK" "$P/apis?limit=0"
check_eq "limit 0 answers 400" 400 "$CODE"
pcall "$TOK" "$P/apis?limit=1001"
check_eq "limit above 1000 answers 400" 400 "$CODE"
pcall "$TOK" "$P/apis?offset=-1"
check_eq "negative offset answers 400" 400 "$CODE"
pcall "$TOK" "$P/apis?limit=abc"
check_eq "non-numeric limit answers 400" 400 "$CODE"
pcall "" "$P/apis"
check_eq "no token: 401" 401 "$CODE"
pcall "garbage.token.here" "$P/apis"
check_eq "a forged token: 401" 401 "$CODE"
check_done
