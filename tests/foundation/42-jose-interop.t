#!/usr/bin/env bash
# JOSE against libraries nobody here wrote: PyJWT (Debian python3-jwt) and the
# npm package jose verify our RS256/ES256/EdDSA tokens with our JWKS; tokens
# they sign with our keys verify with our code; tampered and alg-confused
# tokens they make are refused by us.
set -u
. "$GH_ROOT/tests/lib/check.sh"
T=$GH_TESTBIN/test_jose_interop
D=$GH_TMP
"$T" make "$D"
/usr/bin/python3 - "$D" >"$D/py.out" 2>&1 <<'PY'
import json, sys, jwt, time
d = sys.argv[1]
keys = {k["kid"]: k for k in json.load(open(d + "/jwks.json"))["keys"]}
ok = 0
for line in open(d + "/ours.txt"):
    kid, tok = line.split()
    k = keys[kid]
    c = jwt.decode(tok, jwt.PyJWK(k).key, algorithms=[k["alg"]], audience="gatehouse-gateway")
    assert c["sub"] == "alice@acme.com"
    ok += 1
print("pyjwt-verified", ok)
with open(d + "/py.txt", "w") as out:
    for kid in keys:
        pem = open(d + "/" + kid + ".pem").read()
        alg = keys[kid]["alg"]
        claims = {"sub": "alice@acme.com", "exp": int(time.time()) + 600}
        t = jwt.encode(claims, pem, algorithm=alg, headers={"kid": kid})
        out.write(kid + " " + t + "\n")
        h, p, s = t.split(".")
        # tampered payload, same signature
        import base64
        p2 = base64.urlsafe_b64encode(json.dumps({"sub": "mallory", "exp": 9999999999}).encode()).rstrip(b"=").decode()
        out.write("bad-tamper " + h + "." + p2 + "." + s + "\n")
    # HS256 signed with an RSA key's public JWK text as the secret (alg confusion)
    rs = [k for k in keys.values() if k["alg"] == "RS256"][0]
    hs = jwt.encode({"sub": "alice@acme.com"}, json.dumps(rs), algorithm="HS256", headers={"kid": rs["kid"]})
    out.write("bad-hs256 " + hs + "\n")
    none = jwt.encode({"sub": "alice@acme.com"}, None, algorithm="none", headers={"kid": rs["kid"]})
    out.write("bad-none " + none + "\n")
PY
check_eq "PyJWT verifies our three tokens" "pyjwt-verified 3" "$(tail -n 1 "$D/py.out")"
cat "$D/py.out" | grep -v pyjwt-verified
"$T" verify "$D" "$D/py.txt"
if [ -d "$GH_ROOT/tests/node_modules/jose" ]; then
	out=$(node "$GH_ROOT/tests/foundation/jose-interop.mjs" "$D" 2>&1)
	check_eq "npm jose verifies our three tokens" "jose-verified 3" "$out"
	"$T" verify "$D" "$D/node.txt"
else
	check_ok "npm packages installed by make deps (tests/node_modules/jose)" false
fi
check_done
