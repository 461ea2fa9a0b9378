#!/usr/bin/env bash
# import-openapi: OpenAPI 3.0 in JSON (multipart, as WSO2 clients send it, and raw)
# and YAML (libyaml); operations from paths × methods; the document round-trips
# through GET /apis/{id}/swagger; one is generated when none was imported; PUT swagger
# replaces the operations; copy-api makes a new version.  Refused: Swagger 2.0, YAML
# aliases/anchors, duplicate keys, malformed documents.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p25 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/publisher/v4
TOK=$(admin_token)
D=$GH_TMP
cat >"$D/pets.json" <<'DOC'
{"openapi":"3.0.1","info":{"title":"Pets","version":"1.0.0","description":"Pet store"},
 "paths":{"/pets":{"get":{"responses":{"200":{"description":"ok"}}},
                   "post":{"security":[{"default":["pets:write"]}],"x-throttling-tier":"10KPerMin","responses":{"201":{"description":"made"}}}},
          "/pets/{petId}":{"get":{"x-auth-type":"None","responses":{"200":{"description":"ok"}}},
                           "delete":{"responses":{"204":{"description":"gone"}}}}},
 "components":{"securitySchemes":{"default":{"type":"oauth2","flows":{"implicit":{"authorizationUrl":"https://x",
   "scopes":{"pets:write":"Write pets"},"x-scopes-bindings":{"pets:write":"admin, keeper"}}}}}}}
DOC
pcall "$TOK" -F "file=@$D/pets.json;type=application/json" \
	-F 'additionalProperties={"context":"/pets","policies":["Gold"],"endpointConfig":{"endpoint_type":"http","production_endpoints":{"url":"http://pets.backend:8080"}}}' \
	"$P/apis/import-openapi"
check_eq "multipart JSON import answers 201" 201 "$CODE"
ID=$(jget "$BODY" id)
check_eq "name and version from info" "Pets 1.0.0 /pets" "$(jget "$BODY" name) $(jget "$BODY" version) $(jget "$BODY" context)"
check_eq "description from info" "Pet store" "$(jget "$BODY" description)"
check_eq "additionalProperties applied" '["Gold"]' "$(jget "$BODY" policies)"
check_eq "paths × methods became operations" "GET /pets|POST /pets|GET /pets/{petId}|DELETE /pets/{petId}" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print("|".join(o["verb"]+" "+o["target"] for o in json.load(sys.stdin)["operations"]))')"
check_eq "operation scope, tier and auth type from the document" "pets:write 10KPerMin None" \
	"$(jget "$BODY" operations.1.scopes.0) $(jget "$BODY" operations.1.throttlingPolicy) $(jget "$BODY" operations.2.authType)"
check_eq "declared scopes with x-scopes-bindings" "pets:write|{admin,keeper}" "$(sql "SELECT name, roles FROM gh_api_scopes WHERE api_id = '$ID'")"
pcall "$TOK" "$P/apis/$ID/swagger"
check_eq "GET swagger returns the document" "200 3.0.1 Pets" "$CODE $(jget "$BODY" openapi) $(jget "$BODY" info.title)"
check_eq "the document round-trips" "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$D/pets.json")" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')"

cat >"$D/weather.yaml" <<'DOC'
openapi: 3.0.0
info:
  title: Weather
  version: 2.10
  description: "Forecasts: daily"
paths:
  /forecast/{city}:
    get:
      responses:
        '200':
          description: ok
  /alerts:
    put: {responses: {'200': {description: ok}}}
    options:
      responses: {}
DOC
pcall "$TOK" -H 'Content-Type: application/yaml' --data-binary "@$D/weather.yaml" "$P/apis/import-openapi?context=/weather"
check_eq "raw YAML import answers 201" 201 "$CODE"
WID=$(jget "$BODY" id)
check_eq "a YAML number keeps its text as the version" "2.10" "$(jget "$BODY" version)"
check_eq "YAML operations" "GET /forecast/{city}|PUT /alerts|OPTIONS /alerts" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print("|".join(o["verb"]+" "+o["target"] for o in json.load(sys.stdin)["operations"]))')"
pcall "$TOK" "$P/apis/$WID/swagger"
check_eq "the YAML document is served as JSON" "200 Forecasts: daily" "$CODE $(jget "$BODY" info.description)"
pcall "$TOK" -F "file=@$D/weather.yaml" -F 'additionalProperties={"context":"/weather2","name":"Weather2"}' "$P/apis/import-openapi"
check_eq "multipart YAML import" "201 Weather2" "$CODE $(jget "$BODY" name)"

# Refusals: nothing written.
before=$(sql "SELECT count(*) FROM gh_apis")
printf '{"swagger":"2.0","info":{"title":"Old","version":"1"},"paths":{}}' >"$D/old.json"
pcall "$TOK" -F "file=@$D/old.json" -F 'additionalProperties={"context":"/old"}' "$P/apis/import-openapi"
check_eq "Swagger 2.0 refused" 400 "$CODE"
printf 'openapi: 3.0.0\ninfo: &i {title: A, version: "1"}\nx: *i\npaths: {}\n' >"$D/alias.yaml"
pcall "$TOK" -H 'Content-Type: application/yaml' --data-binary "@$D/alias.yaml" "$P/apis/import-openapi?context=/alias"
check_eq "YAML anchors and aliases refused" 400 "$CODE"
check_match "saying why" "anchors|aliases" "$(jget "$BODY" description)"
python3 -c '
print("openapi: 3.0.0\ninfo: {title: B, version: \"1\"}\npaths: {}")
print("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]")
for i in range(ord("b"), ord("j")): print("%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]" % ((chr(i),)*2 + (chr(i-1),)*9))' >"$D/bomb.yaml"
pcall "$TOK" -H 'Content-Type: application/yaml' --data-binary "@$D/bomb.yaml" "$P/apis/import-openapi?context=/bomb"
check_eq "a billion-laughs document refused" 400 "$CODE"
printf 'openapi: 3.0.0\ninfo: {title: C, version: "1"}\npaths: {}\npaths: {}\n' >"$D/dup.yaml"
pcall "$TOK" -H 'Content-Type: application/yaml' --data-binary "@$D/dup.yaml" "$P/apis/import-openapi?context=/dup"
check_eq "duplicate keys refused" 400 "$CODE"
pcall "$TOK" -H 'Content-Type: application/yaml' --data-binary $'openapi: 3.0.0\ninfo: [unclosed\n' "$P/apis/import-openapi?context=/bad"
check_eq "malformed YAML refused" 400 "$CODE"
pcall "$TOK" -H 'Content-Type: application/json' --data-binary '{"openapi":"3.0.0","info":{"title":"D","version":"1"},"paths":{"/a/{x}{y}":{"get":{}}}}' "$P/apis/import-openapi?context=/glued"
check_eq "a malformed path template refused" 400 "$CODE"
pcall "$TOK" -H 'Content-Type: application/json' --data-binary '{"openapi":"3.0.0","info":{"title":"E","version":"1"},"paths":{}}' "$P/apis/import-openapi"
check_eq "no context: refused" 400 "$CODE"
pcall "$TOK" -H 'Content-Type: text/plain' --data-binary 'x' "$P/apis/import-openapi?context=/plain"
check_eq "another media type: 415" 415 "$CODE"
pcall "$TOK" -H 'Content-Type: multipart/form-data; boundary=zz' --data-binary $'--zz\r\nContent-Disposition: form-data; name="file"\r\n\r\n{"openapi"' "$P/apis/import-openapi"
check_eq "a truncated multipart body: 400" 400 "$CODE"
check_eq "no API written by the refusals" "$before" "$(sql "SELECT count(*) FROM gh_apis")"

# A generated document when none was imported.
pcall "$TOK" -H 'Content-Type: application/json' --data-binary '{"name":"Gen","context":"/gen","version":"1","scopes":[{"name":"gen:r","bindings":["admin"]}],"operations":[{"target":"/a/{id}","verb":"GET","scopes":["gen:r"]}]}' "$P/apis"
GID=$(jget "$BODY" id)
pcall "$TOK" "$P/apis/$GID/swagger"
check_eq "generated OpenAPI 3.0" "200 3.0.1 Gen" "$CODE $(jget "$BODY" openapi) $(jget "$BODY" info.title)"
check_eq "with the path parameter" id "$(jget "$BODY" 'paths./a/{id}.get.parameters.0.name')"
check_eq "and the scope" '["gen:r"]' "$(jget "$BODY" 'paths./a/{id}.get.security.0.default')"

# PUT swagger replaces operations and document.
pcall "$TOK" -X PUT -F "apiDefinition=@$D/weather.yaml" "$P/apis/$GID/swagger"
check_eq "PUT swagger answers 200" 200 "$CODE"
pcall "$TOK" "$P/apis/$GID"
check_eq "operations replaced" 3 "$(jget "$BODY" operations | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check_eq "name untouched" Gen "$(jget "$BODY" name)"
pcall "$TOK" "$P/apis/$GID/swagger"
check_eq "the new document is served" Weather "$(jget "$BODY" info.title)"

# copy-api.
pcall "$TOK" -X POST "$P/apis/copy-api?apiId=$ID&newVersion=2.0.0&defaultVersion=true"
check_eq "copy-api answers 201" 201 "$CODE"
CID=$(jget "$BODY" id)
check_eq "same name and context, new version, CREATED, default" "Pets /pets 2.0.0 CREATED true" \
	"$(jget "$BODY" name) $(jget "$BODY" context) $(jget "$BODY" version) $(jget "$BODY" lifeCycleStatus) $(jget "$BODY" isDefaultVersion)"
check_eq "operations copied" 4 "$(jget "$BODY" operations | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check_eq "scopes copied" "pets:write|{admin,keeper}" "$(sql "SELECT name, roles FROM gh_api_scopes WHERE api_id = '$CID'")"
pcall "$TOK" "$P/apis/$CID/swagger"
check_eq "swagger copied with the new version" "Pets 2.0.0" "$(jget "$BODY" info.title) $(jget "$BODY" info.version)"
pcall "$TOK" -X POST "$P/apis/copy-api?apiId=$ID&newVersion=2.0.0"
check_eq "copying to an existing version: 409" 409 "$CODE"
pcall "$TOK" -X POST "$P/apis/copy-api?apiId=$ID&newVersion=bad%20version"
check_eq "a malformed version: 400" 400 "$CODE"
pcall "$TOK" -X POST "$P/apis/copy-api?apiId=$ID"
check_eq "newVersion missing: 400" 400 "$CODE"
check_done
