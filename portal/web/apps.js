// Developer portal: applications.  The list (create, delete, usage of all my
// applications) and an application's page: edit (name, description,
// throttling tier), delete, its subscriptions, PRODUCTION and SANDBOX keys
// (generate; the secret shown once with a copy button; regenerate the
// secret), a test token, an API key, and its usage chart.
'use strict';
import { api, el, field, say, fail, main, heading, secretRow, actionButton, confirmButton } from './core.js';
import { usagePanel } from './chart.js';

const enc = encodeURIComponent;

// A test token of the application's keys of keyType (the portal asks the key manager to mint it).
export async function testToken(appId, keyType) {
  const kt = keyType || 'PRODUCTION';
  const keys = await api('GET', '/applications/' + enc(appId) + '/oauth-keys');
  const k = (keys.list || []).find((x) => x.keyType === kt);
  if (!k) throw new Error('Generate ' + kt.toLowerCase() + ' keys for this application first.');
  const t = await api('POST', '/applications/' + enc(appId) + '/oauth-keys/' + enc(k.keyMappingId) +
    '/generate-token', { validityPeriod: 3600, scopes: [] });
  return t.accessToken;
}

async function tierSelect(id, current) {
  const s = el('select', { id });
  const pol = await api('GET', '/throttling-policies/application?limit=100');
  for (const p of pol.list || []) s.append(el('option', { value: p.name, text: p.name, selected: p.name === current }));
  return s;
}

export async function viewApps() {
  const name = el('input', { id: 'app-name', required: true, maxlength: 70, autocomplete: 'off' });
  const desc = el('input', { id: 'app-description', maxlength: 512, autocomplete: 'off' });
  const tier = await tierSelect('app-tier', '');
  const list = el('div', { id: 'app-list' });
  const data = await api('GET', '/applications?limit=100');
  main.replaceChildren(heading('Applications'),
    el('h2', { text: 'Create an application' }),
    el('form', { id: 'app-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const a = await api('POST', '/applications', { name: name.value, throttlingPolicy: tier.value,
          description: desc.value });
        say('Application ' + a.name + ' created.');
        location.hash = '#/apps/' + enc(a.applicationId);
      } catch (e) { fail(e); name.focus(); }
    } }, field('Name', name), field('Description', desc), field('Throttling tier', tier),
    el('button', { type: 'submit', id: 'app-create', text: 'Create application' })),
    el('h2', { text: 'My applications' }), list);
  if (!data.list.length) list.append(el('p', { text: 'No applications yet.' }));
  for (const a of data.list) {
    list.append(el('article', { class: 'card app' },
      el('h3', {}, el('a', { href: '#/apps/' + enc(a.applicationId), class: 'app-link', text: a.name })),
      el('div', { class: 'meta', text: a.throttlingPolicy + ' · ' + a.subscriptionCount + ' subscription(s)' }),
      el('p', { text: a.description || '' }),
      confirmButton({ text: 'Delete', 'aria-label': 'Delete ' + a.name }, 'Confirm delete', async () => {
        await api('DELETE', '/applications/' + enc(a.applicationId));
        await viewApps();
        say('Application ' + a.name + ' deleted.');
        const h1 = main.querySelector('h1');
        if (h1) h1.focus();
      })));
  }
  if (data.list.length) {
    main.append(el('h2', { text: 'Usage of my applications' }), usagePanel('usage-all', 'Requests of my applications', {}));
  }
}

// The label of a key-related thing for keyType: "Consumer key" / "Sandbox consumer key".
function lbl(kt, text) {
  return kt === 'SANDBOX' ? 'Sandbox ' + text.charAt(0).toLowerCase() + text.slice(1) : text;
}

// The keys section of keyType: generate, or show the key with its actions; one-time values go to out.
function keySection(appId, kt, key) {
  const sfx = kt === 'SANDBOX' ? '-sandbox' : '';
  const sec = el('section', { class: 'keys', id: 'keys-' + kt.toLowerCase(), 'aria-labelledby': 'keys-h' + sfx });
  const out = el('div', { class: 'key-out', id: 'key-out' + sfx, 'aria-live': 'polite' });
  const tokenBox = el('div', { id: 'token' + sfx });
  const apikeyBox = el('div', { id: 'apikey' + sfx });

  function render(k, secret) {
    const h = el('h2', { id: 'keys-h' + sfx, text: kt === 'SANDBOX' ? 'Sandbox keys' : 'Production keys' });
    if (!k) {
      sec.replaceChildren(h, el('p', { class: 'meta', text: kt === 'SANDBOX'
        ? 'Sandbox keys call the APIs\' sandbox endpoints.' : 'Production keys call the APIs\' production endpoints.' }),
      el('div', { class: 'row' }, actionButton({ id: 'gen-keys' + sfx, text: 'Generate ' + (kt === 'SANDBOX' ? 'sandbox ' : '') + 'keys' },
        async () => {
          const r = await api('POST', '/applications/' + enc(appId) + '/generate-keys',
            { keyType: kt, grantTypesToBeSupported: ['client_credentials'] });
          render({ keyMappingId: r.keyMappingId, consumerKey: r.consumerKey }, r.consumerSecret);
          say(lbl(kt, 'Keys') + ' generated.');
          document.getElementById('consumer-secret' + sfx).focus();
        })), out);
      return;
    }
    if (secret) {
      out.replaceChildren(el('p', { class: 'meta notice', text: 'The secret is shown only once: copy it now.' }),
        secretRow(lbl(kt, 'Consumer secret'), 'consumer-secret' + sfx, secret));
    }
    sec.replaceChildren(h, secretRow(lbl(kt, 'Consumer key'), 'consumer-key' + sfx, k.consumerKey),
      el('div', { class: 'row' },
        actionButton({ id: 'gen-token' + sfx, class: 'secondary', text: 'Generate test token' }, async () => {
          const t = await testToken(appId, kt);
          tokenBox.replaceChildren(secretRow(lbl(kt, 'Access token'), 'access-token' + sfx, t));
          say('Token generated (valid one hour).');
        }),
        actionButton({ id: 'gen-apikey' + sfx, class: 'secondary', text: 'Generate API key' }, async () => {
          const r = await api('POST', '/applications/' + enc(appId) + '/api-keys/' + kt + '/generate');
          apikeyBox.replaceChildren(el('p', { class: 'meta', text: 'Send it in the apikey header. It is shown only once.' }),
            secretRow(lbl(kt, 'API key'), 'api-key' + sfx, r.apikey));
          say('API key generated.');
        }),
        actionButton({ id: 'regen-secret' + sfx, class: 'secondary', text: 'Regenerate secret' }, async () => {
          const r = await api('POST', '/applications/' + enc(appId) + '/oauth-keys/' + enc(k.keyMappingId) +
            '/regenerate-secret');
          out.replaceChildren(el('p', { class: 'meta notice', text: 'A new secret: the old one no longer works. ' +
            'It is shown only once: copy it now.' }),
          secretRow(lbl(kt, 'Consumer secret'), 'consumer-secret' + sfx, r.consumerSecret));
          say('Secret regenerated.');
          document.getElementById('consumer-secret' + sfx).focus();
        })),
      out, tokenBox, apikeyBox);
  }
  render(key, null);
  return sec;
}

export async function viewApp(id) {
  const [a, subs, keys] = await Promise.all([api('GET', '/applications/' + enc(id)),
    api('GET', '/subscriptions?applicationId=' + enc(id) + '&limit=100'),
    api('GET', '/applications/' + enc(id) + '/oauth-keys')]);
  const subList = el('ul', { class: 'ops', id: 'subscriptions' });
  for (const s of subs.list || []) {
    const info = s.apiInfo || {};
    const apiName = (info.name || s.apiId) + ' ' + (info.version || '');
    subList.append(el('li', { class: 'sub' }, el('span', { class: 'verb', text: s.throttlingPolicy }), ' ',
      el('a', { href: '#/apis/' + enc(s.apiId), text: apiName }), ' · ' + s.status + ' ',
      confirmButton({ text: 'Unsubscribe', class: 'danger small', 'aria-label': 'Unsubscribe from ' + apiName },
        'Confirm unsubscribe', async () => {
          await api('DELETE', '/subscriptions/' + enc(s.subscriptionId));
          await viewApp(id);
          say('Unsubscribed from ' + apiName + '.');
        })));
  }
  if (!(subs.list || []).length) subList.append(el('li', { text: 'No subscriptions yet: subscribe from an API page.' }));

  const name = el('input', { id: 'app-edit-name', required: true, maxlength: 70, value: a.name, autocomplete: 'off' });
  const desc = el('textarea', { id: 'app-edit-description', maxlength: 512, rows: 2 });
  desc.value = a.description || '';
  const tier = await tierSelect('app-edit-tier', a.throttlingPolicy);
  const edit = el('form', { id: 'app-edit-form', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const r = await api('PUT', '/applications/' + enc(id), { name: name.value, description: desc.value,
        throttlingPolicy: tier.value });
      say('Application ' + r.name + ' saved.');
      await viewApp(id);
      document.getElementById('app-title').focus();
    } catch (e) { fail(e); }
  } }, field('Name', name), field('Description', desc), field('Throttling tier', tier),
  el('button', { type: 'submit', id: 'app-save', text: 'Save changes' }));

  const byType = (kt) => (keys.list || []).find((k) => k.keyType === kt) || null;
  main.replaceChildren(heading(a.name, 'app-title'),
    el('p', { class: 'meta', id: 'app-meta', text: a.throttlingPolicy + ' · owner ' + a.owner }),
    el('p', { id: 'app-description-text', class: 'pre-text', text: a.description || '' }),
    el('h2', { text: 'Subscriptions' }), subList,
    keySection(id, 'PRODUCTION', byType('PRODUCTION')),
    keySection(id, 'SANDBOX', byType('SANDBOX')),
    el('h2', { text: 'Usage' }), usagePanel('usage-chart', 'Requests of ' + a.name, { applicationId: id }),
    el('details', { class: 'edit', id: 'app-edit' }, el('summary', { text: 'Edit the application' }), edit),
    el('h2', { text: 'Delete' }),
    el('p', { class: 'meta', text: 'Deleting the application removes its keys and subscriptions.' }),
    confirmButton({ id: 'app-delete', text: 'Delete application' }, 'Confirm: delete ' + a.name, async () => {
      await api('DELETE', '/applications/' + enc(id));
      say('Application ' + a.name + ' deleted.');
      location.hash = '#/apps';
    }));
}
