// The rest of the developer portal's UI in headless Chromium (run by 30-devportal-more.t):
// sites and visibility, tags/search/pages, the OpenAPI document rendered inert, keyboard-only
// use, application edit/delete, production and sandbox keys, regenerated secret, API key,
// usage chart against the analytics API, password change, sign-up turned off, 375 px.
// Environment: PORTAL_URL, EXT_URL, GWE_URL, KM_URL, OUT_DIR, API_BOTH, API_INT, API_RESTR,
// API_OA, API_SPUB, API_SPRIV, XSS_TAG, PW1, PW1_NEW, PW2.
// Prints one line per failed check and "N passed, N failed" at the end.
import { chromium } from 'playwright-core';
import { check, makeShot, tally } from './lib.mjs';
import { writeFileSync } from 'node:fs';

const env = process.env;
const P = env.PORTAL_URL, X = env.EXT_URL, T = 'acme.com';
const GW = `${env.GWE_URL}/t/${T}/moreweather/1.0.0`;
const shot = makeShot(env.OUT_DIR, 'devportal-more');

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox',
  '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--host-resolver-rules=MAP ext.localhost 127.0.0.1'] });
let dialogs = 0;
const pageErrors = [];
async function newPage(width) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: width || 1100, height: 900 } });
  const page = await ctx.newPage();
  page.on('dialog', (d) => { dialogs++; d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  return page;
}

async function signIn(page, site, user, pw) {
  await page.goto(`${site}/devportal/t/${T}/`);
  await page.click('#login-link');
  await page.waitForSelector('#username', { timeout: 10000 });
  await page.fill('#username', user);
  await page.fill('#password', pw);
  await Promise.all([page.waitForURL(`${site}/devportal/t/${T}/**`, { timeout: 15000 }), page.click('button[type=submit]')]);
  await page.waitForSelector('#who', { timeout: 10000 });
  check(`signed in as ${user} on ${site}`, (await page.textContent('#who')) === user);
}

async function apiNames(page) {
  await page.waitForSelector('#api-list .api, #api-list p', { timeout: 10000 });
  return page.$$eval('#api-list .api-link', (as) => as.map((a) => a.textContent));
}

async function go(page, url, sel) {
  await page.goto(url);
  await page.waitForSelector(sel, { timeout: 10000 });
}

// Press Tab until the element with id has the focus (at most max presses).
async function tabTo(page, id, max) {
  for (let i = 0; i < (max || 40); i++) {
    if ((await page.evaluate(() => document.activeElement && document.activeElement.id)) === id) return true;
    await page.keyboard.press('Tab');
  }
  return (await page.evaluate(() => document.activeElement && document.activeElement.id)) === id;
}

async function basic(ck, cs) { return 'Basic ' + Buffer.from(`${ck}:${cs}`).toString('base64'); }

let appCalls = 0, appErrors = 0;
// A call through gw-external with the Keyboard App's credentials (counted for the usage check).
async function gwCall(page, path, headers) {
  const r = await page.request.get(GW + path, { headers });
  appCalls++;
  if (r.status() >= 400) appErrors++;
  return r;
}

const pages = [];
try {
  // ---- the external site lists External only ----
  const ext = await newPage();
  pages.push(ext);
  await ext.goto(`${X}/devportal/t/${T}/`);
  let names = await apiNames(ext);
  check('external site: the API deployed to External and Internal is listed', names.includes('MoreWeather'), names);
  check('external site: the Internal-only API is not listed', !names.includes('InternalOnly'), names);
  await shot(ext, 'ext-apis');
  await go(ext, `${X}/devportal/t/${T}/#/?q=InternalOnly`, '#filter-note');
  names = await apiNames(ext);
  check('external site: searching its name finds nothing', names.length === 0, names);
  await go(ext, `${X}/devportal/t/${T}/#/apis/${env.API_INT}`, '#api-missing');
  check('external site: its page says it is not available',
    /No API with this id is available to you on this site/.test(await ext.textContent('#api-missing-text')));
  await go(ext, `${X}/devportal/t/${T}/#/apis/${env.API_BOTH}`, '#gateway-urls section');
  const extEnvs = await ext.$$eval('#gateway-urls section', (s) => s.map((e) => e.dataset.env));
  check('external site: the API page lists the External gateway only', JSON.stringify(extEnvs) === '["External"]', extEnvs);
  await signIn(ext, X, 'dev1@acme.com', env.PW1);
  names = await apiNames(ext);
  check('external site, signed in: still no Internal-only API', names.includes('MoreWeather') && !names.includes('InternalOnly'), names);

  // ---- the internal (default) site: every environment; tags, search, pages ----
  const anon = await newPage();
  pages.push(anon);
  await anon.goto(`${P}/devportal/t/${T}/`);
  names = await apiNames(anon);
  check('default site: the Internal-only API is listed', names.includes('InternalOnly'), names);
  check('anonymous: the RESTRICTED API is not listed', !names.includes('AcmeRestricted'), names);
  await go(anon, `${P}/devportal/t/${T}/#/apis/${env.API_BOTH}`, '#gateway-urls section');
  const allEnvs = await anon.$$eval('#gateway-urls section', (s) => s.map((e) => e.dataset.env).sort());
  check('default site: the API page lists External and Internal', JSON.stringify(allEnvs) === '["External","Internal"]', allEnvs);
  check('the External URL is the gateway\'s', (await anon.textContent('#gateway-urls section[data-env="External"]')).includes(GW));
  check('the XSS tag on the API page is text', (await anon.textContent('#api-tags')).includes(env.XSS_TAG) &&
    (await anon.$$('#api-tags img')).length === 0);
  check('markup in the API description is text', (await anon.textContent('#api-description')) === 'Forecasts <script>alert(6)</script>');

  await go(anon, `${P}/devportal/t/${T}/#/?size=4`, '#page-info');
  await apiNames(anon);
  const info1 = await anon.textContent('#page-info');
  check('paging: 4 per page, 6 APIs in 2 pages', info1 === 'Page 1 of 2 · 6 APIs', info1);
  const p1 = await apiNames(anon);
  await anon.click('#page-next');
  await anon.waitForFunction(() => document.getElementById('page-info') &&
    document.getElementById('page-info').textContent.startsWith('Page 2'), null, { timeout: 10000 });
  const p2 = await apiNames(anon);
  check('paging: the second page holds the other 2', p1.length === 4 && p2.length === 2 &&
    new Set([...p1, ...p2]).size === 6, JSON.stringify([p1, p2]));
  check('paging: no next link on the last page', (await anon.$$('a#page-next')).length === 0);
  await shot(anon, 'apis-paged');
  await go(anon, `${P}/devportal/t/${T}/`, '#tags a[data-tag="bulk"]');
  check('the XSS tag is a text link', (await anon.$$eval('#tags a.tag', (as) => as.map((a) => a.dataset.tag)))
    .includes(env.XSS_TAG) && (await anon.$$('#tags img, #api-list img')).length === 0);
  await anon.click('#tags a[data-tag="bulk"]');
  await anon.waitForSelector('#filter-note');
  names = await apiNames(anon);
  check('tag bulk: the three bulk APIs', JSON.stringify(names) === '["Bulk1","Bulk2","Bulk3"]', names);
  await anon.fill('#search', 'OpenApiXss');
  await anon.click('form[role=search] button');
  await anon.waitForFunction(() => document.getElementById('filter-note') &&
    document.getElementById('filter-note').textContent.includes('OpenApiXss'), null, { timeout: 10000 });
  names = await apiNames(anon);
  check('search OpenApiXss (within the tag) finds nothing, without the tag finds it', names.length === 0, names);
  await go(anon, `${P}/devportal/t/${T}/#/?q=OpenApiXss`, '#filter-note');
  names = await apiNames(anon);
  check('search by name', JSON.stringify(names) === '["OpenApiXss"]', names);

  // ---- the OpenAPI document with markup, rendered as text ----
  await go(anon, `${P}/devportal/t/${T}/#/apis/${env.API_OA}`, '#openapi .oa-op');
  const oa = await anon.textContent('#openapi');
  check('OpenAPI info description shown as text', oa.includes('Info <script>alert(8)</script> and <img src=x onerror=alert(9)>'), oa);
  check('operation description and summary as text', oa.includes('Returns <script>alert(10)</script>') &&
    oa.includes('Get <b>one</b> item'), oa);
  check('parameter description as text in its table', (await anon.textContent('#openapi .oa-params'))
    .includes('The id <img src=x onerror=alert(11)>'));
  check('response description as text', oa.includes('OK <iframe src=javascript:alert(12)></iframe>'));
  check('no element was made from the OpenAPI text',
    (await anon.$$('#openapi script, #openapi img, #openapi iframe, #openapi b')).length === 0);
  await shot(anon, 'api-openapi');

  // ---- sign-up turned off ----
  await go(anon, `${P}/devportal/t/closed.org/#/signup`, '#signup-off');
  check('sign-up off: a clear message and no form', /Self sign-up is turned off for closed\.org/.test(
    await anon.textContent('#signup-off')) && (await anon.$$('#signup-form')).length === 0);
  await shot(anon, 'signup-off');

  // ---- visibility for signed-in users ----
  const page = await newPage();
  pages.push(page);
  await signIn(page, P, 'dev1@acme.com', env.PW1);
  names = await apiNames(page);
  check('dev1 (no gold-partners role) does not see the RESTRICTED API', !names.includes('AcmeRestricted') &&
    names.includes('MoreWeather'), names);
  await go(page, `${P}/devportal/t/${T}/#/apis/${env.API_RESTR}`, '#api-missing');
  check('nor can open it', true);
  await go(page, `${P}/devportal/t/carbon.super/`, '#api-list');
  names = await apiNames(page);
  check('dev1 of acme.com sees carbon.super\'s PUBLIC API open to all tenants', names.includes('SuperPublic'), names);
  check('but never its PRIVATE one', !names.includes('SuperPrivate'), names);
  await go(page, `${P}/devportal/t/carbon.super/#/apis/${env.API_SPRIV}`, '#api-missing');
  check('nor by its id', true);
  const p2page = await newPage();
  pages.push(p2page);
  await signIn(p2page, P, 'dev2@acme.com', env.PW2);
  names = await apiNames(p2page);
  check('dev2 (gold-partners) sees the RESTRICTED API', names.includes('AcmeRestricted'), names);
  await go(p2page, `${P}/devportal/t/${T}/#/apis/${env.API_RESTR}`, '#api-name');
  check('and opens it', (await p2page.textContent('#api-name')) === 'AcmeRestricted 1.0.0');

  // ---- keyboard only: create an application, generate keys ----
  await page.goto(`${P}/devportal/t/${T}/#/apps`);
  await page.waitForSelector('#app-form #app-tier option', { state: 'attached' });
  check('Tab reaches the application name field', await tabTo(page, 'app-name'));
  await page.keyboard.type('Keyboard App');
  check('Tab reaches the create button', await tabTo(page, 'app-create', 5));
  const focusStyle = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return { style: s.outlineStyle, width: s.outlineWidth };
  });
  check('the focused button shows its focus', focusStyle.style !== 'none' && focusStyle.width !== '0px',
    JSON.stringify(focusStyle));
  await shot(page, 'keyboard-focus');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('app-title') &&
    document.getElementById('app-title').textContent === 'Keyboard App', null, { timeout: 10000 });
  check('Enter on "Create application" created it', true);
  check('the new page\'s heading has the focus', await page.evaluate(() => document.activeElement.id) === 'app-title');
  const appId = decodeURIComponent(page.url().split('#/apps/')[1]);
  check('Tab reaches "Generate keys"', await tabTo(page, 'gen-keys', 20));
  await page.keyboard.press('Space');
  await page.waitForSelector('#consumer-secret', { timeout: 15000 });
  check('Space on "Generate keys" generated them', (await page.inputValue('#consumer-secret')).length >= 20);
  const ck = await page.inputValue('#consumer-key');
  const cs1 = await page.inputValue('#consumer-secret');

  // ---- edit the application ----
  await page.click('#app-edit summary');
  await page.fill('#app-edit-name', 'Keyboard App Renamed');
  await page.fill('#app-edit-description', 'Edited <b>notes</b>');
  await page.selectOption('#app-edit-tier', '20PerMin');
  await page.click('#app-save');
  await page.waitForFunction(() => document.getElementById('app-title') &&
    document.getElementById('app-title').textContent === 'Keyboard App Renamed', null, { timeout: 10000 });
  check('edit: the new name is shown', true);
  check('edit: the new tier is shown', (await page.textContent('#app-meta')).includes('20PerMin'));
  check('edit: the description is shown as text', (await page.textContent('#app-description-text')) === 'Edited <b>notes</b>');
  check('edit: the keys stayed', (await page.inputValue('#consumer-key')) === ck);

  // ---- subscribe, sandbox keys, regenerate the secret ----
  await go(page, `${P}/devportal/t/${T}/#/apis/${env.API_BOTH}`, '#subscribe-form');
  await page.selectOption('#sub-app', { label: 'Keyboard App Renamed' });
  await page.selectOption('#sub-tier', 'Gold');
  await page.click('#subscribe-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('Subscribed with Gold'),
    null, { timeout: 10000 });
  await go(page, `${P}/devportal/t/${T}/#/apps/${appId}`, '#gen-keys-sandbox');
  check('the subscription is listed on the application', (await page.textContent('#subscriptions')).includes('MoreWeather'));
  await page.click('#gen-keys-sandbox');
  await page.waitForSelector('#consumer-secret-sandbox', { timeout: 15000 });
  const sck = await page.inputValue('#consumer-key-sandbox');
  check('sandbox keys: another consumer key, the secret shown once with a copy button', sck !== ck &&
    (await page.inputValue('#consumer-secret-sandbox')).length >= 20 &&
    (await page.$$('button[aria-label="Copy Sandbox consumer secret"]')).length === 1);
  const keyTypes = await page.evaluate(async (id) => {
    const r = await fetch(`/api/am/devportal/v3/applications/${id}/oauth-keys`);
    return (await r.json()).list.map((k) => k.keyType).sort();
  }, appId);
  check('the REST API lists PRODUCTION and SANDBOX keys', JSON.stringify(keyTypes) === '["PRODUCTION","SANDBOX"]', keyTypes);
  await page.click('#regen-secret');
  await page.waitForFunction((old) => document.getElementById('consumer-secret') &&
    document.getElementById('consumer-secret').value !== old, cs1, { timeout: 15000 });
  const cs2 = await page.inputValue('#consumer-secret');
  check('regenerate: a new secret with its copy button', cs2.length >= 20 && cs2 !== cs1 &&
    (await page.$$('button[aria-label="Copy Consumer secret"]')).length === 1);
  await shot(page, 'app-keys');
  const tokOld = await page.request.post(`${env.KM_URL}/oauth2/token`, { headers: { Authorization: await basic(ck, cs1) },
    form: { grant_type: 'client_credentials' } });
  check('the old secret no longer gets a token', tokOld.status() === 401 || tokOld.status() === 400, tokOld.status());
  const tokNew = await page.request.post(`${env.KM_URL}/oauth2/token`, { headers: { Authorization: await basic(ck, cs2) },
    form: { grant_type: 'client_credentials' } });
  const at = tokNew.ok() ? (await tokNew.json()).access_token : '';
  check('the new secret gets one', tokNew.status() === 200 && at.split('.').length === 3, tokNew.status());

  // ---- calls through gw-external: token, API key ----
  let st = 0;
  for (let i = 0; i < 50 && st !== 200; i++) {     // the subscription reaches the gateway through the feed
    st = (await gwCall(page, '/ping', { Authorization: 'Bearer ' + at })).status();
    if (st !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  check('the production token calls the API through gw-external', st === 200, st);
  check('a second call', (await gwCall(page, '/ping', { Authorization: 'Bearer ' + at })).status() === 200);
  check('a call the backend answers 404', (await gwCall(page, '/status/404', { Authorization: 'Bearer ' + at })).status() === 404);
  await go(page, `${P}/devportal/t/${T}/#/apps/${appId}`, '#gen-apikey');
  await page.click('#gen-apikey');
  await page.waitForSelector('#api-key', { timeout: 15000 });
  const apikey = await page.inputValue('#api-key');
  check('an API key is generated (a JWT)', apikey.split('.').length === 3);
  const ak = await gwCall(page, '/ping', { apikey });
  check('gw-external accepts the API key in the apikey header', ak.status() === 200, ak.status());
  await page.click('#gen-token-sandbox');
  await page.waitForSelector('#access-token-sandbox', { timeout: 15000 });
  check('a sandbox test token', (await page.inputValue('#access-token-sandbox')).split('.').length === 3);

  // ---- try-it with the sandbox keys: the sandbox backend answers ----
  await go(page, `${P}/devportal/t/${T}/#/apis/${env.API_BOTH}`, '#try-form');
  await page.selectOption('#try-app', { label: 'Keyboard App Renamed' });
  await page.selectOption('#try-keytype', 'SANDBOX');
  await page.click('#try-get-token');
  await page.waitForFunction(() => document.getElementById('try-token').value.length > 20, null, { timeout: 15000 });
  await page.fill('#try-url', `${GW}/ping`);
  await page.click('#try-send');
  await page.waitForSelector('#try-status', { timeout: 15000 });
  appCalls++;
  const tst = await page.textContent('#try-status');
  if (tst !== 'Status: 200') appErrors++;
  check('try-it with sandbox keys: 200', tst === 'Status: 200', tst);
  check('from the sandbox backend', (await page.textContent('#try-body-out')).includes('"backend": "sandbox"'));

  // ---- the usage chart equals the analytics API ----
  await go(page, `${P}/devportal/t/${T}/#/apps/${appId}`, '#usage-chart[data-state="ready"]');
  let total = -1;
  for (let i = 0; i < 60; i++) {
    total = Number(await page.getAttribute('#usage-chart', 'data-total'));
    if (total >= appCalls) break;
    await new Promise((r) => setTimeout(r, 500));
    await page.click('#usage-chart-refresh');
    await page.waitForSelector('#usage-chart[data-state="ready"]', { timeout: 10000 });
  }
  check(`the chart counts the application's ${appCalls} calls`, total === appCalls, total);
  const cmp = await page.evaluate(async () => {
    const box = document.getElementById('usage-chart');
    const r = await fetch('/api/am/devportal/v3/analytics/requests?' + box.dataset.query, { headers: { Accept: 'application/json' } });
    const j = await r.json();
    const pts = [...box.querySelectorAll('g.pt')].map((g) => [Number(g.dataset.timestamp), Number(g.dataset.requests),
      Number(g.dataset.errors)]);
    const api = j.list.map((p) => [p.timestamp, p.requests, p.errors]);
    return { equal: JSON.stringify(pts) === JSON.stringify(api), n: pts.length, total: j.summary.requests,
      errors: j.summary.errors, bars: box.querySelectorAll('rect.bar').length,
      summary: box.querySelector('.chart-summary').textContent, query: box.dataset.query };
  });
  check('the chart\'s points equal the analytics API\'s', cmp.equal && cmp.n === 60, JSON.stringify(cmp));
  check('with the errors', cmp.errors === appErrors && cmp.total === appCalls, JSON.stringify(cmp));
  check('bars are drawn and the summary says it', cmp.bars >= 1 && cmp.summary.startsWith(`${appCalls} requests`),
    JSON.stringify(cmp));
  check('the query filters by the application', cmp.query.includes('applicationId=' + appId), cmp.query);
  await page.locator('#usage-chart').scrollIntoViewIfNeeded();
  await shot(page, 'app-usage');

  // ---- delete an application from the list ----
  await page.evaluate(async () => {
    const s = await (await fetch('/devportal/session')).json();
    await fetch('/api/am/devportal/v3/applications', { method: 'POST', headers: { 'Content-Type': 'application/json',
      'X-CSRF-Token': s.csrfToken, 'X-WSO2-Tenant': 'acme.com' }, body: JSON.stringify({ name: 'Temp App', throttlingPolicy: 'Unlimited' }) });
  });
  await go(page, `${P}/devportal/t/${T}/#/apps`, 'button[aria-label="Delete Temp App"]');
  await page.waitForSelector('#usage-all[data-state="ready"]', { timeout: 10000 });
  check('the applications page charts all my applications',
    Number(await page.getAttribute('#usage-all', 'data-total')) >= appCalls);
  await shot(page, 'apps');
  await page.click('button[aria-label="Delete Temp App"]');
  check('delete asks to confirm', (await page.textContent('button[aria-label="Delete Temp App"]')) === 'Confirm delete');
  await page.click('button[aria-label="Delete Temp App"]');
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('Temp App deleted'), null,
    { timeout: 10000 });
  const gone = await page.waitForFunction(() => !document.getElementById('app-list').textContent.includes('Temp App'),
    null, { timeout: 10000 }).then(() => true, () => false);
  check('the application is gone from the list', gone);
  check('so is it from the REST API', await page.evaluate(async () => (await (await fetch('/api/am/devportal/v3/applications',
    { headers: { 'X-WSO2-Tenant': 'acme.com' } })).json()).list.every((a) => a.name !== 'Temp App')));

  // ---- a phone-sized screen ----
  await page.setViewportSize({ width: 375, height: 800 });
  for (const [hash, sel, name] of [['#/apps', '#app-form', 'apps'], [`#/apps/${appId}`, '#usage-chart[data-state="ready"]', 'app'],
    ['#/account', '#password-form', 'account'], [`#/apis/${env.API_OA}`, '#openapi .oa-op', 'openapi']]) {
    await go(page, `${P}/devportal/t/${T}/${hash}`, sel);
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    check(`375 px: no horizontal scrolling on ${name}`, w <= 375, w);
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
      .filter((e) => !e.closest('label') && !e.getAttribute('aria-label')).map((e) => e.id));
    check(`375 px: every control of ${name} has a label`, unlabelled.length === 0, unlabelled.join(','));
    if (name === 'app') await shot(page, 'mobile-app');
  }
  await page.setViewportSize({ width: 1100, height: 900 });

  // ---- change the password, sign in with the new one ----
  await go(page, `${P}/devportal/t/${T}/#/account`, '#password-form');
  await page.fill('#pw-current', 'Not-the-password-1');
  await page.fill('#pw-new', env.PW1_NEW);
  await page.fill('#pw-again', env.PW1_NEW);
  await page.click('#pw-submit');
  await page.waitForSelector('#pw-error', { timeout: 10000 });
  check('a wrong current password: the REST error shown plainly', (await page.textContent('#pw-error'))
    .includes('The current password is wrong'), await page.textContent('#pw-error'));
  check('the session survives a wrong current password', (await page.$$('#who')).length === 1);
  await page.fill('#pw-current', env.PW1);
  await page.fill('#pw-again', 'Something-else-9');
  await page.click('#pw-submit');
  check('mismatched new passwords are caught', (await page.textContent('#pw-result')).includes('do not match'));
  await page.fill('#pw-again', env.PW1_NEW);
  await page.click('#pw-submit');
  await page.waitForSelector('#pw-done', { timeout: 10000 });
  check('the password is changed', true);
  await shot(page, 'account');
  await page.click('#logout');
  await page.waitForSelector('#login-link', { timeout: 10000 });
  await signIn(page, P, 'dev1@acme.com', env.PW1_NEW);

  check('no dialog fired (stored XSS inert)', dialogs === 0, dialogs);
  check('no script error on the pages', pageErrors.length === 0, pageErrors.join(' | '));
} catch (e) {
  const page = pages[pages.length - 1];
  let st = '';
  try { st = await page.textContent('#status'); } catch (_) { /* none */ }
  check('journey completed', false, (e.stack || String(e)) + ' | page status: ' + st + ' | url ' + (page && page.url()));
  try { await page.screenshot({ path: `${env.OUT_DIR}/devportal-more-failure.png`, fullPage: true }); } catch (_) { /* none */ }
} finally {
  await browser.close();
}
writeFileSync(`${env.OUT_DIR}/devportal-more-result.txt`, `${tally.passed} passed, ${tally.failed} failed\n`);
console.log(`${tally.passed} passed, ${tally.failed} failed`);
process.exit(tally.failed ? 1 : 0);
