// The developer portal's main journey in headless Chromium (run by 10-devportal.t).
// Environment: PORTAL_URL, GWE_URL, API_ID, XSS_DESC, OUT_DIR, KM_URL.
// Prints one line per failed check and "N passed, N failed" at the end.
import { chromium } from 'playwright-core';
import { check, makeShot, tally } from './lib.mjs';
import { writeFileSync } from 'node:fs';

const env = process.env;
const P = env.PORTAL_URL;
const T = 'acme.com';
const COOKIE = '__Host-gh_devportal';
const XSS_APP = '<img src=x onerror="alert(3)">Acme App';   // refused by the REST API: shown as text
const APP = 'Acme App & Co';
const XSS_APP_DESC = '<img src=x onerror="alert(4)"><script>alert(5)</script>notes';
const PW = 'Dev1-pass-word';
const shot = makeShot(env.OUT_DIR, 'devportal');

async function signIn(page, user) {
  await page.click('#login-link');
  await page.waitForSelector('#username', { timeout: 10000 });
  check('the sign-in page is the key manager\'s', page.url().startsWith(env.KM_URL + '/oauth2/authorize'), page.url());
  const u = new URL(page.url());
  check('the authorization request uses PKCE S256', u.searchParams.get('code_challenge_method') === 'S256' &&
    /^[A-Za-z0-9_-]{43}$/.test(u.searchParams.get('code_challenge') || ''), page.url());
  await page.fill('#username', user);
  await page.fill('#password', PW);
  await Promise.all([page.waitForURL(`${P}/devportal/t/${T}/**`, { timeout: 15000 }), page.click('button[type=submit]')]);
  await page.waitForSelector('#who', { timeout: 10000 });
}

async function sessionCookie(ctx) {
  return (await ctx.cookies(P)).find((c) => c.name === COOKIE);
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox',
  '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run'] });
const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 900 } });
const page = await ctx.newPage();
let dialogs = 0;
const pageErrors = [];
page.on('dialog', (d) => { dialogs++; d.dismiss().catch(() => {}); });
page.on('pageerror', (e) => pageErrors.push(String(e)));
try {
  // ---- anonymous: the tenant's PUBLIC API, headers of the page ----
  const resp = await page.goto(`${P}/devportal/t/${T}/`);
  const h = resp.headers();
  check('page served 200 as HTML', resp.status() === 200 && /^text\/html/.test(h['content-type'] || ''), resp.status());
  const csp = h['content-security-policy'] || '';
  check('CSP without inline script', /script-src 'self'(;|$)/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp), csp);
  check('CSP frame-ancestors none', /frame-ancestors 'none'/.test(csp), csp);
  check('nosniff and a referrer policy', h['x-content-type-options'] === 'nosniff' && !!h['referrer-policy'],
    JSON.stringify(h));
  check('the page has an ETag', /^"[0-9a-f]{16}"$/.test(h.etag || ''), h.etag);
  const js = await page.request.get(`${P}/devportal/assets/app.js`);
  check('app.js served as JavaScript', /^text\/javascript/.test(js.headers()['content-type'] || ''), js.headers()['content-type']);
  const js304 = await page.request.get(`${P}/devportal/assets/app.js`, { headers: { 'If-None-Match': js.headers().etag } });
  check('If-None-Match answers 304', js304.status() === 304, js304.status());
  await page.waitForSelector('#api-list .api', { timeout: 10000 });
  check('anonymous visitors see the PUBLIC API', (await page.textContent('#api-list')).includes('AcmeWeather'));
  await shot(page, 'apis-anonymous');

  // ---- self sign-up ----
  await page.click('#signup-link');
  await page.waitForSelector('#signup-form');
  check('sign-up is for the tenant of the path', (await page.inputValue('#su-tenant')) === T);
  await page.fill('#su-username', 'dev1');
  await page.fill('#su-password', PW);
  await page.fill('#su-email', 'dev1@example.com');
  await shot(page, 'signup');
  await page.click('#signup-form button[type=submit]');
  await page.waitForSelector('#signup-done', { timeout: 10000 });
  check('sign-up creates the account', (await page.textContent('#signup-done')).includes('dev1@acme.com'));

  // ---- sign-in (a session cookie planted before must not survive: fresh id) ----
  const planted = 'F'.repeat(43);
  await ctx.addCookies([{ name: COOKIE, value: planted, url: P + '/', secure: true, httpOnly: true, sameSite: 'Lax' }]);
  await page.goto(`${P}/devportal/t/${T}/`);
  await page.waitForSelector('#login-link');
  check('a planted (unknown) session cookie is not a session', (await sessionCookie(ctx)) === undefined,
    JSON.stringify(await sessionCookie(ctx)));
  await ctx.addCookies([{ name: COOKIE, value: planted, url: P + '/', secure: true, httpOnly: true, sameSite: 'Lax' }]);
  await signIn(page, 'dev1@acme.com');
  const c1 = await sessionCookie(ctx);
  check('signed in as dev1@acme.com', (await page.textContent('#who')) === 'dev1@acme.com');
  check('session cookie present', !!c1);
  check('the session id changed at login', c1 && c1.value !== planted && /^[A-Za-z0-9_-]{43}$/.test(c1.value),
    c1 && c1.value);
  check('cookie flags: HttpOnly, Secure, SameSite=Lax, Path=/', c1 && c1.httpOnly && c1.secure &&
    c1.sameSite === 'Lax' && c1.path === '/', JSON.stringify(c1));
  check('the cookie is not readable from scripts', !(await page.evaluate(() => document.cookie)).includes(COOKIE));

  // ---- find the API ----
  await page.fill('#search', 'AcmeWeather');
  await page.click('form[role=search] button');
  await page.waitForSelector('#api-list .api-link');
  await page.click('#api-list .api-link');
  await page.waitForSelector('#api-description');
  const desc = await page.textContent('#api-description');
  check('stored XSS in the API description is shown as text', desc === env.XSS_DESC, desc);
  check('no element was made from the description', (await page.$$('#api-description *')).length === 0);
  const urls = await page.textContent('#gateway-urls');
  check('the External gateway URL is listed', urls.includes(`${env.GWE_URL}/t/${T}/weather/1.0.0`), urls);
  await page.waitForSelector('#openapi');
  check('the OpenAPI document is rendered as a list', (await page.textContent('#openapi')).includes('GET'));
  await shot(page, 'api');

  // ---- an application (with a stored-XSS name) ----
  await page.click('a[href="#/apps"]');
  await page.waitForSelector('#app-form');
  await page.waitForSelector('#app-tier option', { state: 'attached' });
  await page.fill('#app-name', XSS_APP);
  await page.click('#app-form button[type=submit]');
  await page.waitForSelector('#status .error', { timeout: 10000 });
  const refusal = await page.textContent('#status');
  check('a name with markup is refused and the error shown as text', /none of .*<>/.test(refusal) &&
    (await page.$$('#status img, #status script')).length === 0, refusal);
  await page.fill('#app-name', APP);
  await page.fill('#app-description', XSS_APP_DESC);
  await page.click('#app-form button[type=submit]');
  await page.waitForSelector('#app-title', { timeout: 10000 });
  check('the application name is shown literally', (await page.textContent('#app-title')) === APP);
  check('stored XSS in the application description is shown as text',
    (await page.textContent('#app-description-text')) === XSS_APP_DESC, await page.textContent('#app-description-text'));
  check('no element was made from it', (await page.$$('#app-description-text *')).length === 0);
  const appUrl = page.url();

  // ---- subscribe with Gold on the API page ----
  await page.goto(`${P}/devportal/t/${T}/#/apis/${env.API_ID}`);
  await page.waitForSelector('#subscribe-form');
  await page.selectOption('#sub-app', { label: APP });
  await page.selectOption('#sub-tier', 'Gold');
  await page.click('#subscribe-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('Subscribed with Gold'),
    null, { timeout: 10000 });
  check('subscribed with Gold', true);

  // ---- keys and a token on the application page ----
  await page.goto(appUrl);
  await page.waitForSelector('#gen-keys');
  check('the subscription is listed', (await page.textContent('#subscriptions')).includes('Gold'));
  await page.click('#gen-keys');
  await page.waitForSelector('#consumer-secret', { timeout: 15000 });
  check('the consumer secret is shown once', (await page.inputValue('#consumer-secret')).length >= 20);
  check('a copy button for the secret', (await page.$$('button[aria-label="Copy Consumer secret"]')).length === 1);
  await page.click('#gen-token');
  await page.waitForSelector('#access-token', { timeout: 15000 });
  check('a test token (JWT) is generated', (await page.inputValue('#access-token')).split('.').length === 3);
  await shot(page, 'application-keys');

  // ---- try-it: the browser calls gw-external with the token ----
  await page.goto(`${P}/devportal/t/${T}/#/apis/${env.API_ID}`);
  await page.waitForSelector('#try-form');
  await page.selectOption('#try-app', { label: APP });
  await page.click('#try-get-token');
  await page.waitForFunction(() => document.getElementById('try-token').value.length > 20, null, { timeout: 15000 });
  await page.fill('#try-url', `${env.GWE_URL}/t/${T}/weather/1.0.0/forecast`);
  await page.click('#try-send');
  await page.waitForSelector('#try-status', { timeout: 15000 });
  const st = await page.textContent('#try-status');
  check('the try-it console shows 200 from the gateway', st === 'Status: 200', st);
  await shot(page, 'try-it');

  // ---- CSRF: a state change without the header is refused ----
  const csrf = await page.evaluate(async () => {
    const noHdr = await fetch('/api/am/devportal/v3/applications', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'csrf-probe', throttlingPolicy: 'Unlimited' }) });
    const wrong = await fetch('/api/am/devportal/v3/applications', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': 'x'.repeat(43) },
      body: JSON.stringify({ name: 'csrf-probe', throttlingPolicy: 'Unlimited' }) });
    const s = await (await fetch('/devportal/session')).json();
    const ok = await fetch('/api/am/devportal/v3/applications', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrfToken },
      body: JSON.stringify({ name: 'csrf-probe', throttlingPolicy: 'Unlimited' }) });
    const created = await ok.json();
    const del = await fetch('/api/am/devportal/v3/applications/' + created.applicationId, { method: 'DELETE',
      headers: { 'X-CSRF-Token': s.csrfToken } });
    const logoutNoHdr = await fetch('/devportal/logout', { method: 'POST' });
    return { noHdr: noHdr.status, body: await noHdr.text(), wrong: wrong.status, ok: ok.status, del: del.status,
      logout: logoutNoHdr.status };
  });
  check('POST without X-CSRF-Token: 403', csrf.noHdr === 403 && /X-CSRF-Token/.test(csrf.body), JSON.stringify(csrf));
  check('POST with a wrong X-CSRF-Token: 403', csrf.wrong === 403, JSON.stringify(csrf));
  check('POST with the session\'s token: 201, DELETE 200', csrf.ok === 201 && csrf.del === 200, JSON.stringify(csrf));
  check('logout without the token: 403', csrf.logout === 403, JSON.stringify(csrf));

  // ---- a phone-sized screen ----
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(`${P}/devportal/t/${T}/#/apis/${env.API_ID}`);
  await page.waitForSelector('#try-form');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  check('no horizontal scrolling at 375 px', overflow <= 375, overflow);
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((e) => !e.closest('label') && !e.getAttribute('aria-label')).map((e) => e.id));
  check('every control has a label', unlabelled.length === 0, unlabelled.join(','));
  await shot(page, 'mobile-api');
  await page.setViewportSize({ width: 1100, height: 900 });

  // ---- logout revokes; the old id is dead; a new login gets a new id ----
  await page.goto(`${P}/devportal/t/${T}/`);
  await page.waitForSelector('#logout');
  await page.click('#logout');
  await page.waitForSelector('#login-link', { timeout: 10000 });
  check('logout clears the cookie', (await sessionCookie(ctx)) === undefined);
  const replay = await page.request.get(`${P}/api/am/devportal/v3/applications`, { headers: { Cookie: `${COOKIE}=${c1.value}` } });
  check('the old session id is refused after logout', replay.status() === 401, replay.status());
  await signIn(page, 'dev1@acme.com');
  const c2 = await sessionCookie(ctx);
  check('a new login gets a new session id', c2 && c2.value !== c1.value);

  check('no dialog fired (stored XSS inert)', dialogs === 0, dialogs);
  check('no script error on the pages', pageErrors.length === 0, pageErrors.join(' | '));
} catch (e) {
  let st = '';
  try { st = await page.textContent('#status'); } catch (_) { /* none */ }
  check('journey completed', false, (e.stack || String(e)) + ' | page status: ' + st + ' | url ' + page.url());
  try { await page.screenshot({ path: `${env.OUT_DIR}/devportal-failure.png`, fullPage: true }); } catch (_) { /* none */ }
} finally {
  await browser.close();
}
writeFileSync(`${env.OUT_DIR}/devportal-result.txt`, `${tally.passed} passed, ${tally.failed} failed\n`);
console.log(`${tally.passed} passed, ${tally.failed} failed`);
process.exit(tally.failed ? 1 : 0);
