// Run by 22-keys.t: the npm package jose against the key manager's JWKS.
//   node 22-jose.mjs verify JWKS_URL ISSUER TOKEN...   remote JWKS, one line per token:
//                                                      "ok KID ALG" or "fail CODE"
//   node 22-jose.mjs parse JWKS_URL                     imports every key: "keys N KID,KID,..."
//   node 22-jose.mjs genkey KID                         a P-256 private JWK (JSON) with kid
import { createRemoteJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';

const [mode, ...args] = process.argv.slice(2);
if (mode === 'verify') {
  const [url, issuer, ...tokens] = args;
  const jwks = createRemoteJWKSet(new URL(url));
  for (const t of tokens) {
    try {
      const { protectedHeader } = await jwtVerify(t, jwks, { issuer });
      console.log(`ok ${protectedHeader.kid} ${protectedHeader.alg}`);
    } catch (e) {
      console.log(`fail ${e.code || e.message}`);
    }
  }
} else if (mode === 'parse') {
  const res = await fetch(args[0]);
  const set = await res.json();
  const kids = [];
  for (const k of set.keys) {
    await importJWK(k, k.alg);
    kids.push(k.kid);
  }
  console.log(`keys ${kids.length} ${kids.join(',')}`);
} else if (mode === 'genkey') {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  console.log(JSON.stringify({ ...jwk, kid: args[0], alg: 'ES256', use: 'sig' }));
} else if (mode === 'kid') {
  console.log(decodeProtectedHeader(args[0]).kid);
} else {
  console.error('usage: 22-jose.mjs verify|parse|genkey|kid ...');
  process.exit(2);
}
