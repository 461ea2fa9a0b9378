// The publisher console in headless Chromium (run by 20-publisher.t, one phase per run).
// Environment: PHASE (owner | block | admin), PUB_URL, PORTAL_URL, KM_URL, KM_ADMIN_PW,
// BE_PROD_URL, XSS_DESC, STATE (JSON file carried between phases), OUT_DIR.
// Prints one line per failed check and "N passed, N failed" at the end.
import { chromium } from 'playwright-core';
import { check, makeShot, tally } from './lib.mjs';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

const env = process.env;
const P = env.PUB_URL;
const COOKIE = '__Host-gh_publisher';
const OWNER = 'owner@acme.com', OWNER_PW = 'Owner-pass-123';
const XSS_NAME = '<img src=x onerror="alert(3)">Shop';
const XSS_DOC_DESC = 'Imported <img src=x onerror="alert(4)"> text';
const XSS_SUMMARY = '<script>alert(5)</script>List things';
const st = existsSync(env.STATE) ? JSON.parse(readFileSync(env.STATE, 'utf8')) : {};
const shot = makeShot(env.OUT_DIR, 'publisher');

async function statusText(page) { return (await page.textContent('#status')) || ''; }
async function waitStatus(page, re, what) {
  try {
    await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('status').textContent),
      re.source, { timeout: 10000 });
    check(what, true);
  } catch (e) {
    check(what, false, await statusText(page));
  }
}

async function signIn(page, user, pw) {
  await page.goto(`${P}/publisher/`);
  await page.click('#login-link');
  await page.waitForSelector('#username', { timeout: 10000 });
  check('the sign-in page is the key manager\'s', page.url().startsWith(env.KM_URL + '/oauth2/authorize'), page.url());
  const u = new URL(page.url());
  check('the console\'s authorization request: its client, PKCE S256', u.searchParams.get('client_id') ===
    'gatehouse-publisher-console' && u.searchParams.get('code_challenge_method') === 'S256', page.url());
  await page.fill('#username', user);
  await page.fill('#password', pw);
  await Promise.all([page.waitForURL(`${P}/publisher/**`, { timeout: 15000 }), page.click('button[type=submit]')]);
  await page.waitForSelector('#who', { timeout: 10000 });
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox',
  '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run'] });
const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 900 } });
const page = await ctx.newPage();
let dialogs = 0;
const pageErrors = [];
page.on('dialog', (d) => { dialogs++; d.dismiss().catch(() => {}); });
page.on('pageerror', (e) => pageErrors.push(String(e)));

async function ownerPhase() {
  // ---- headers of the page; sign-in with a planted cookie ----
  const resp = await page.goto(`${P}/publisher/`);
  const h = resp.headers();
  const csp = h['content-security-policy'] || '';
  check('page served 200 as HTML', resp.status() === 200 && /^text\/html/.test(h['content-type'] || ''), resp.status());
  check('CSP without inline script, frame-ancestors none', /script-src 'self'(;|$)/.test(csp) &&
    !/unsafe-inline|unsafe-eval/.test(csp) && /frame-ancestors 'none'/.test(csp), csp);
  const js = await page.request.get(`${P}/publisher/assets/app.js`);
  check('app.js served as JavaScript', /^text\/javascript/.test(js.headers()['content-type'] || ''));
  const planted = 'F'.repeat(43);
  await ctx.addCookies([{ name: COOKIE, value: planted, url: P + '/', secure: true, httpOnly: true, sameSite: 'Lax' }]);
  await signIn(page, OWNER, OWNER_PW);
  const c1 = (await ctx.cookies(P)).find((c) => c.name === COOKIE);
  check('signed in as the owner', (await page.textContent('#who')) === OWNER);
  check('the session id changed at login', c1 && c1.value !== planted && /^[A-Za-z0-9_-]{43}$/.test(c1.value));
  check('cookie flags: HttpOnly, Secure, SameSite=Lax, Path=/', c1 && c1.httpOnly && c1.secure &&
    c1.sameSite === 'Lax' && c1.path === '/', JSON.stringify(c1));
  check('an owner without apim:admin sees no admin link', (await page.$$('#nav-admin')).length === 0);
  await page.waitForSelector('#api-list');
  await shot(page, 'apis-empty');

  // ---- create with the form: a name with markup is refused, shown as text ----
  await page.click('#nav-create');
  await page.waitForSelector('#create-form');
  await page.fill('#c-name', XSS_NAME);
  await page.fill('#c-context', '/shop');
  await page.fill('#c-description', env.XSS_DESC);
  await page.fill('#c-endpoint', env.BE_PROD_URL);
  await page.check('#tiers input[value="Gold"]');
  await page.click('#create-form button[type=submit]');
  await page.waitForSelector('#status .error', { timeout: 10000 });
  const refusal = await statusText(page);
  check('a name with markup is refused; the error is text', /not allowed/.test(refusal) &&
    (await page.$$('#status img, #status script')).length === 0, refusal);
  await shot(page, 'create');
  await page.fill('#c-name', 'AcmeShop');
  await page.click('#create-form button[type=submit]');
  await page.waitForSelector('#api-description', { timeout: 10000 });
  st.apiId = decodeURIComponent(page.url().split('#/apis/')[1].split('/')[0]);
  writeFileSync(env.STATE, JSON.stringify(st));
  check('stored XSS in the description is shown as text', (await page.textContent('#api-description')) === env.XSS_DESC);
  check('no element was made from it', (await page.$$('#api-description *')).length === 0);
  const lcCreated = await page.$$eval('#lifecycle button', (b) => b.map((x) => x.textContent).sort().join('|'));
  check('lifecycle buttons of CREATED: exactly the allowed transitions', lcCreated === 'Deploy as a Prototype|Publish', lcCreated);

  // ---- an operation ----
  await page.click('#tab-operations');
  await page.waitForSelector('#op-add-form');
  await page.selectOption('#op-verb', 'GET');
  await page.fill('#op-target', '/items');
  await page.click('#op-add');
  await page.click('#ops-save');
  await waitStatus(page, /Operations saved/, 'the operation is saved');
  await page.waitForFunction(() => [...document.querySelectorAll('#ops-table input')].some((i) => i.value === '/items'));
  const opsLabelled = await page.evaluate(() => [...document.querySelectorAll('#ops-table input, #ops-table select')]
    .every((e) => e.getAttribute('aria-label')));
  check('every control of the operations table has a label', opsLabelled);
  await shot(page, 'operations');

  // ---- scopes, policies, endpoints, CORS, GeoIP ----
  await page.click('#tab-scopes');
  await page.fill('#scope-name', 'shop:read');
  await page.fill('#scope-roles', 'subscriber, creator');
  await page.click('#scope-form button[type=submit]');
  await waitStatus(page, /Scopes saved/, 'a scope is added');
  await page.waitForSelector('#scopes-table td');
  check('the scope is listed with its roles', /shop:read[\s\S]*subscriber, creator/.test(await page.textContent('#scopes-table')));
  await page.click('#tab-policies');
  await page.check('#tiers input[value="Silver"]');
  await page.click('#policies-form button[type=submit]');
  await waitStatus(page, /Policies saved/, 'policies are saved');
  await page.click('#tab-endpoints');
  await page.fill('#ep-sand', env.BE_PROD_URL + '/sandbox');
  await page.click('#endpoints-form button[type=submit]');
  await waitStatus(page, /Endpoints saved/, 'endpoints are saved');
  await page.click('#tab-cors');
  await page.check('#cors-on');
  await page.fill('#cors-origins', 'https://portal.example');
  await page.click('#cors-form button[type=submit]');
  await waitStatus(page, /CORS saved/, 'CORS is saved');
  await page.click('#tab-geo');
  await page.selectOption('#geo-mode', 'deny');
  await page.fill('#geo-countries', 'kp, ir');
  await page.click('#geo-form button[type=submit]');
  await waitStatus(page, /GeoIP restriction saved/, 'the GeoIP restriction is saved');
  const geoShown = await page.waitForFunction(() => document.getElementById('geo-countries').value === 'KP, IR' &&
    document.getElementById('geo-mode').value === 'deny', null, { timeout: 5000 }).then(() => true, () => false);
  check('the GeoIP form shows what is stored (upper-cased)', geoShown, await page.inputValue('#geo-countries'));

  // ---- a revision and the deploy dialog: External only ----
  await page.click('#tab-deploy');
  await page.waitForSelector('#revision-form');
  await page.fill('#rev-desc', 'first cut');
  await page.click('#rev-create');
  await waitStatus(page, /Revision 1 created/, 'a revision is created');
  await page.waitForSelector('#revisions .deploy-open');
  await page.click('#revisions .deploy-open');
  await page.waitForSelector('#deploy-dialog[open]');
  const envs = await page.$$eval('#deploy-dialog input[name=env]', (x) => x.map((i) => i.value).sort().join('|'));
  check('the deploy dialog offers Internal and External', envs === 'External|Internal', envs);
  await page.check('#env-External');
  check('Internal stays unticked', !(await page.isChecked('#env-Internal')));
  await shot(page, 'deploy-dialog');
  await page.click('#deploy-confirm');
  await waitStatus(page, /deployed to External\./, 'deployed to External');
  await page.waitForSelector('#deployments li[data-env="External"]');
  // the list is drawn before the deployments are fetched again: wait for the new state
  await page.waitForFunction(() => /Revision 1/.test(
    (document.querySelector('#deployments li[data-env="External"]') || {}).textContent || ''),
  null, { timeout: 10000 }).catch(() => {});
  const ext = await page.textContent('#deployments li[data-env="External"]');
  const int = await page.textContent('#deployments li[data-env="Internal"]');
  check('the page shows where the revision runs', /Revision 1/.test(ext) && /not deployed/.test(int), ext + ' / ' + int);
  await shot(page, 'deployments');

  // ---- publish ----
  await page.click('#tab-overview');
  await page.waitForSelector('#lifecycle button[data-action="Publish"]');
  await page.click('#lifecycle button[data-action="Publish"]');
  await waitStatus(page, /Publish → Published/, 'published from the lifecycle buttons');
  await page.waitForSelector('#lifecycle button[data-action="Block"]');
  const lcPub = await page.$$eval('#lifecycle button', (b) => b.map((x) => x.textContent).sort().join('|'));
  check('lifecycle buttons of PUBLISHED', lcPub === 'Block|Demote to Created|Deploy as a Prototype|Deprecate', lcPub);
  await shot(page, 'api-overview');

  // ---- import an OpenAPI document with markup in its text ----
  await page.click('#nav-import');
  await page.waitForSelector('#import-form');
  const doc = { openapi: '3.0.3', info: { title: 'ImportedThings', version: '2.0.0', description: XSS_DOC_DESC },
    paths: { '/things': { get: { summary: XSS_SUMMARY, responses: { 200: { description: 'ok' } } } } } };
  await page.fill('#i-text', JSON.stringify(doc, null, 2));
  await page.fill('#i-context', '/things');
  await page.fill('#i-endpoint', env.BE_PROD_URL);
  await page.click('#import-form button[type=submit]');
  await page.waitForSelector('#openapi', { timeout: 10000 });
  check('imported: the definition page', (await page.textContent('#api-name')) === 'ImportedThings 2.0.0');
  check('OpenAPI description rendered as text', (await page.textContent('#openapi-description')) === XSS_DOC_DESC);
  check('OpenAPI summary rendered as text', (await page.textContent('#openapi-paths')).includes(XSS_SUMMARY));
  check('no element was made from the OpenAPI text', (await page.$$('#openapi img, #openapi script')).length === 0);
  await shot(page, 'definition');

  // ---- the list and search ----
  await page.click('a[href="#/"]');
  await page.fill('#search', 'AcmeShop');
  await page.click('form[role=search] button');
  await page.waitForFunction(() => document.querySelectorAll('#api-list .api').length === 1);
  check('search finds the API', (await page.textContent('#api-list')).includes('AcmeShop 1.0.0'));
  check('the list shows the description as text', (await page.$$('#api-list img, #api-list script')).length === 0);

  // ---- CSRF ----
  const csrf = await page.evaluate(async (id) => {
    const body = JSON.stringify({ description: 'csrf probe' });
    const no = await fetch('/api/am/publisher/v4/apis/' + id, { method: 'PUT', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body });
    const wrong = await fetch('/api/am/publisher/v4/apis/' + id, { method: 'PUT', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': 'x'.repeat(43) }, body });
    const life = await fetch('/api/am/publisher/v4/apis/change-lifecycle?action=Block&apiId=' + id, { method: 'POST' });
    const out = await fetch('/publisher/logout', { method: 'POST' });
    return { no: no.status, text: await no.text(), wrong: wrong.status, life: life.status, out: out.status };
  }, st.apiId);
  check('PUT without X-CSRF-Token: 403', csrf.no === 403 && /X-CSRF-Token/.test(csrf.text), JSON.stringify(csrf));
  check('PUT with a wrong token: 403', csrf.wrong === 403, JSON.stringify(csrf));
  check('a lifecycle change without the token: 403', csrf.life === 403, JSON.stringify(csrf));
  check('logout without the token: 403', csrf.out === 403, JSON.stringify(csrf));

  // ---- logout; the old id is dead ----
  await page.click('#logout');
  await page.waitForSelector('#login-link', { timeout: 10000 });
  const replay = await page.request.get(`${P}/api/am/publisher/v4/apis`, { headers: { Cookie: `${COOKIE}=${c1.value}` } });
  check('the old session id is refused after logout', replay.status() === 401, replay.status());
}

// A phone-sized screen: no horizontal scrolling and a label on every control of each page.
async function narrow(pages, name) {
  await page.setViewportSize({ width: 375, height: 800 });
  for (const [hash, sel] of pages) {
    await page.goto(`${P}/publisher/${hash}`);
    await page.waitForSelector(sel);
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    check(`no horizontal scrolling at 375 px (${hash})`, w <= 375, w);
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
      .filter((e) => !e.closest('label') && !e.getAttribute('aria-label')).map((e) => e.id || e.outerHTML.slice(0, 60)));
    check(`every control has a label (${hash})`, unlabelled.length === 0, unlabelled.join(','));
  }
  await shot(page, name);
  await page.setViewportSize({ width: 1200, height: 900 });
}

async function blockPhase() {
  await signIn(page, OWNER, OWNER_PW);
  await page.goto(`${P}/publisher/#/apis/${st.apiId}/analytics`);
  await page.waitForSelector('#chart-requests', { timeout: 10000 });
  const bars = await page.$$('#chart-requests rect.bar');
  check('the requests chart draws bars from the analytics API', bars.length >= 20, bars.length);
  check('and error bars', (await page.$$('#chart-requests rect.bar.err')).length >= 10);
  check('the latency chart draws lines', (await page.$$('#chart-latency path.line')).length === 2);
  const sum = await page.textContent('#an-summary');
  check('the summary counts the requests and a p95', /\d{3,}\s*requests/.test(sum) && /[1-9]\d* ms/.test(sum), sum);
  await shot(page, 'analytics');

  await page.click('#tab-subscriptions');
  await page.waitForSelector('#subscriptions');
  const row = await page.textContent('#subscriptions tbody tr');
  check('the developer\'s subscription is listed', row.includes('ShopApp') && row.includes('Gold') &&
    row.includes('UNBLOCKED'), row);
  await page.click('#subscriptions .sub-block');
  await waitStatus(page, /Subscription of ShopApp blocked/, 'the owner blocks the subscription');
  await page.waitForSelector('#subscriptions .sub-unblock');
  check('the row shows BLOCKED', (await page.textContent('#subscriptions .sub-status')) === 'BLOCKED');
  await shot(page, 'subscriptions');
  await narrow([['#/', '#api-list'], [`#/apis/${st.apiId}/operations`, '#ops-table'],
    [`#/apis/${st.apiId}/deploy`, '#revisions'], [`#/apis/${st.apiId}/cors`, '#cors-form'],
    [`#/apis/${st.apiId}/geo`, '#geo-form']], 'mobile-api');
}

async function adminPhase() {
  await signIn(page, 'admin', env.KM_ADMIN_PW);
  check('an admin sees the admin link', (await page.$$('#nav-admin')).length === 1);
  await page.click('#nav-admin');
  await page.waitForSelector('#tenants');
  const cb = 'input.tenant-signup[data-tenant="acme.com"]';
  const signup = async (user) => page.request.post(`${env.PORTAL_URL}/devportal/signup`, {
    data: { tenant: 'acme.com', username: user, password: 'Sign-up-pass-1' } });
  if (!(await page.isChecked(cb))) {
    await page.check(cb);
    await waitStatus(page, /Self sign-up is on for acme\.com/, 'self sign-up turned on');
  }
  let r = await signup('early1');
  check('sign-up open: the portal creates the account (201)', r.status() === 201, r.status() + ' ' + (await r.text()));
  await page.uncheck(cb);
  await waitStatus(page, /Self sign-up is off for acme\.com/, 'self sign-up turned off in the console');
  r = await signup('late1');
  check('sign-up off: the portal refuses (403)', r.status() === 403, r.status() + ' ' + (await r.text()));
  await page.check(cb);
  await waitStatus(page, /Self sign-up is on for acme\.com/, 'and on again');
  r = await signup('late2');
  check('sign-up on again: 201', r.status() === 201, r.status());
  await shot(page, 'admin-tenants');

  await page.click('#admin-environments');
  await page.waitForSelector('#environments');
  check('environments listed', /External[\s\S]*Internal/.test(await page.textContent('#environments')));
  await page.click('#admin-policies');
  await page.waitForSelector('#policies');
  check('subscription policies listed', /Gold/.test(await page.textContent('#policies')));

  await page.click('#admin-deny');
  await page.waitForSelector('#deny-form');
  await page.selectOption('#deny-type', 'USER');
  await page.fill('#deny-value', 'mallory');
  await page.click('#deny-form button[type=submit]');
  await waitStatus(page, /Deny policy created/, 'a deny policy is created');
  await page.waitForSelector('#deny-policies');
  check('the deny policy is listed', (await page.textContent('#deny-policies')).includes('mallory'));
  await shot(page, 'admin-deny');

  await page.click('#admin-users');
  await page.waitForSelector('#users');
  const users = await page.textContent('#users');
  check('the tenant\'s users with roles', users.includes('victim') && /admin/.test(users), users);
  await page.selectOption('#reset-user', 'victim');
  await page.fill('#reset-password', 'Victim-new-pass-123');
  await page.click('#reset-form button[type=submit]');
  await waitStatus(page, /password of victim was reset/, 'a password is reset');
  await shot(page, 'admin-users');

  await page.click('#admin-audit');
  await page.waitForSelector('#audit-table');
  const audit = await page.textContent('#audit-table');
  check('the audit log shows the console\'s changes', audit.includes('api.create') && audit.includes('deny.create') &&
    audit.includes('user.password.reset'), audit.slice(0, 400));
  await shot(page, 'admin-audit');

  await narrow([['#/admin/users', '#users'], ['#/admin/deny', '#deny-form'], ['#/admin/audit', '#audit-table']], 'mobile-admin');
}

try {
  if (env.PHASE === 'owner') await ownerPhase();
  else if (env.PHASE === 'block') await blockPhase();
  else if (env.PHASE === 'admin') await adminPhase();
  else check('known phase', false, env.PHASE);
  check('no dialog fired (stored XSS inert)', dialogs === 0, dialogs);
  check('no script error on the pages', pageErrors.length === 0, pageErrors.join(' | '));
} catch (e) {
  let s = '';
  try { s = await statusText(page); } catch (_) { /* none */ }
  check(`${env.PHASE} phase completed`, false, (e.stack || String(e)) + ' | page status: ' + s + ' | url ' + page.url());
  try { await page.screenshot({ path: `${env.OUT_DIR}/publisher-failure-${env.PHASE}.png`, fullPage: true }); } catch (_) { /* none */ }
} finally {
  await browser.close();
}
console.log(`${tally.passed} passed, ${tally.failed} failed`);
process.exit(tally.failed ? 1 : 0);
