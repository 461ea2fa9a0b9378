// Run by 42-jose-interop.t: the npm package jose verifies our tokens and signs with our keys.
import { importJWK, jwtVerify, SignJWT, importPKCS8 } from 'jose';
import { readFileSync, writeFileSync } from 'node:fs';
const d = process.argv[2];
const keys = JSON.parse(readFileSync(d + '/jwks.json', 'utf8')).keys;
let ok = 0, out = '';
for (const line of readFileSync(d + '/ours.txt', 'utf8').trim().split('\n')) {
  const [kid, tok] = line.split(' ');
  const jwk = keys.find(k => k.kid === kid);
  const { payload } = await jwtVerify(tok, await importJWK(jwk, jwk.alg), { audience: 'gatehouse-gateway' });
  if (payload.sub === 'alice@acme.com') ok++;
  const priv = await importPKCS8(readFileSync(d + '/' + kid + '.pem', 'utf8'), jwk.alg);
  const t = await new SignJWT({ sub: 'alice@acme.com' }).setProtectedHeader({ alg: jwk.alg, kid })
    .setExpirationTime('10m').sign(priv);
  out += kid + ' ' + t + '\n';
}
writeFileSync(d + '/node.txt', out);
console.log('jose-verified ' + ok);
