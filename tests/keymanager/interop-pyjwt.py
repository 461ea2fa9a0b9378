#!/usr/bin/python3
# Run by 42-interop-python.t and 44-restart-and-two-nodes.t: Debian's
# python3-jwt (PyJWT 2.6) verifies key manager tokens through the JWKS URL with
# PyJWKClient.  PyJWKClient 2.6 takes no TLS argument and calls
# urllib.request.urlopen(uri): an installed urllib opener whose HTTPS handler
# trusts only the node's CA is what it then uses.
# Usage: interop-pyjwt.py JWKS_URL CA_FILE ISSUER AUDIENCE TOKEN...
# Prints one line per token: "verified SUB TENANT KID" or "refused ERROR".
import ssl
import sys
import urllib.request

import jwt

jwks_url, ca_file, issuer, audience = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca_file)
urllib.request.install_opener(urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx)))
client = jwt.PyJWKClient(jwks_url, cache_jwk_set=False)
for token in sys.argv[5:]:
    try:
        key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256", "ES256"], audience=audience,
                            issuer=issuer, options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]})
        print("verified", claims["sub"], claims.get("tenant", "-"), key.key_id)
    except Exception as e:  # the test compares the class name
        print("refused", type(e).__name__)
