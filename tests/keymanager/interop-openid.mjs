// Run by 41-interop-node.t: clients nobody here wrote against the key manager.
// openid-client (v6) discovers the metadata at KM_URL, gets a client_credentials
// token, introspects it, revokes it and introspects it again; jose verifies the
// JWT through the JWKS URL with issuer and audience checks, and refuses it for
// the gateway audience and a foreign issuer.  Prints one "name: value" line per
// fact; the .t file compares them.  NODE_EXTRA_CA_CERTS trusts the node's CA.
// Usage: node interop-openid.mjs KM_URL CLIENT_ID CLIENT_SECRET
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';

const [url, clientId, clientSecret] = process.argv.slice(2);
const say = (k, v) => console.log(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);

async function attempt(name, fn) {
  try {
    return await fn();
  } catch (e) {
    say(name, 'error ' + (e.code || e.name) + ' ' + e.message);
    return undefined;
  }
}

const config = await attempt('discovery', () => client.discovery(new URL(url), clientId, clientSecret));
if (config) {
  const md = config.serverMetadata();
  say('discovery', 'ok');
  say('issuer', md.issuer);
  say('token_endpoint', md.token_endpoint);
  say('jwks_uri', md.jwks_uri);
  say('grant_types_supported has client_credentials',
    Array.isArray(md.grant_types_supported) && md.grant_types_supported.includes('client_credentials'));

  const tokens = await attempt('cc', () => client.clientCredentialsGrant(config));
  if (tokens) {
    say('cc', 'ok');
    say('token_type', tokens.token_type.toLowerCase());
    say('expires_in positive', tokens.expiresIn() > 0);
    const at = tokens.access_token;
    const header = decodeProtectedHeader(at);
    say('alg', header.alg);
    say('kid present', typeof header.kid === 'string' && header.kid.length > 0);

    const jwks = createRemoteJWKSet(new URL(url + '/oauth2/jwks'));
    const v = await attempt('jose', () => jwtVerify(at, jwks, { issuer: url, audience: 'gatehouse-management' }));
    if (v) {
      say('jose', 'ok');
      say('jose sub', v.payload.sub);
      say('jose client_id', v.payload.client_id);
      say('jose tenant', v.payload.tenant);
    }
    // The same token must fail the other audience and another issuer.
    await jwtVerify(at, jwks, { issuer: url, audience: 'gatehouse-gateway' })
      .then(() => say('jose gateway audience', 'accepted'),
        (e) => say('jose gateway audience', 'refused ' + e.code));
    await jwtVerify(at, jwks, { issuer: 'https://evil.example', audience: 'gatehouse-management' })
      .then(() => say('jose foreign issuer', 'accepted'),
        (e) => say('jose foreign issuer', 'refused ' + e.code));
    // A flipped signature byte must fail.
    const parts = at.split('.');
    const sig = Buffer.from(parts[2], 'base64url');
    sig[10] ^= 1;
    await jwtVerify(parts[0] + '.' + parts[1] + '.' + sig.toString('base64url'), jwks,
      { issuer: url, audience: 'gatehouse-management' })
      .then(() => say('jose tampered', 'accepted'),
        (e) => say('jose tampered', 'refused ' + e.code));

    const i1 = await attempt('introspect1', () => client.tokenIntrospection(config, at));
    if (i1) {
      say('introspect1 active', i1.active);
      say('introspect1 client_id', i1.client_id);
    }
    const r = await attempt('revoke', () => client.tokenRevocation(config, at));
    if (r === undefined) say('revoke', 'ok');
    const i2 = await attempt('introspect2', () => client.tokenIntrospection(config, at));
    if (i2) say('introspect2 active', i2.active);
    // The signature still verifies after revocation: revocation is the key manager's word.
    const v2 = await attempt('jose after revoke', () => jwtVerify(at, jwks, { issuer: url, audience: 'gatehouse-management' }));
    if (v2) say('jose after revoke', 'ok');
  }

  // A wrong secret: openid-client surfaces RFC 6749's invalid_client.
  const bad = new client.Configuration(md, clientId, clientSecret + 'x');
  await client.clientCredentialsGrant(bad)
    .then(() => say('wrong secret', 'accepted'),
      (e) => {
        // A 401 with WWW-Authenticate surfaces as WWWAuthenticateChallengeError: its
        // challenge carries the scheme, the response body the RFC 6749 error.
        const ch = Array.isArray(e.cause) && e.cause[0] ? e.cause[0].scheme : '-';
        say('wrong secret', 'refused ' + (e.error || e.code) + ' ' + (e.status || '') + ' ' + ch);
      });
}
