// Developer portal front end: a small vanilla-JS single page over the DevPortal
// REST API (/api/am/devportal/v3) with the session cookie; state changes carry
// the session's X-CSRF-Token.  Every string from the server is put in the page
// with textContent (never innerHTML), so names, descriptions and OpenAPI text
// render inert.  Routes live in the hash (#/, #/apis/ID, #/apps, #/apps/ID,
// #/signup); the tenant comes from the path (/devportal/t/TENANT/).
'use strict';
(function () {
  const API = '/api/am/devportal/v3';
  const m = location.pathname.match(/^\/devportal\/t\/([^/]+)\/?/);
  const tenant = m ? decodeURIComponent(m[1]) : null;
  const state = { session: { authenticated: false }, tokens: {} };
  const main = document.getElementById('main');
  const statusBox = document.getElementById('status');

  // el('tag', {attr: value, text: '...', onclick: fn}, children...)
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'value') e.value = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
    return e;
  }
  function field(labelText, control) { return el('label', {}, labelText, control); }
  function say(text, kind) {
    statusBox.replaceChildren(text ? el('p', { class: kind || 'ok', text }) : '');
  }
  function fail(err) { say(err && err.message ? err.message : String(err), 'error'); }

  async function api(method, path, body) {
    const h = { Accept: 'application/json' };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    if (method !== 'GET' && state.session.csrfToken) h['X-CSRF-Token'] = state.session.csrfToken;
    if (tenant && !path.startsWith('/devportal/')) h['X-WSO2-Tenant'] = tenant;
    const url = path.startsWith('/devportal/') ? path : API + path;
    const r = await fetch(url, { method, headers: h, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!r.ok) {
      if (r.status === 401 && state.session.authenticated) {
        state.session = { authenticated: false };
        renderNav();
      }
      const d = data && (data.description || data.message);
      throw new Error(d ? d + ' (' + r.status + ')' : 'Request failed (' + r.status + ')');
    }
    return data;
  }

  function loginHref() {
    return '/devportal/login' + (tenant ? '?tenant=' + encodeURIComponent(tenant) : '');
  }

  function renderNav() {
    const nav = document.getElementById('nav');
    const items = [el('a', { href: '#/', text: 'APIs' })];
    if (state.session.authenticated) {
      items.push(el('a', { href: '#/apps', text: 'Applications' }));
      items.push(el('span', { class: 'who', id: 'who', text: state.session.user }));
      items.push(el('button', { type: 'button', id: 'logout', class: 'secondary', onclick: logout,
        text: 'Sign out' }));
    } else {
      items.push(el('a', { href: '#/signup', id: 'signup-link', text: 'Sign up' }));
      items.push(el('a', { href: loginHref(), id: 'login-link', text: 'Sign in' }));
    }
    nav.replaceChildren(...items);
    if (tenant) document.getElementById('brand').textContent = 'Developer Portal — ' + tenant;
  }

  async function logout() {
    try {
      await api('POST', '/devportal/logout');
      state.session = { authenticated: false };
      location.hash = '#/';
      renderNav();
      say('You are signed out.');
      route();
    } catch (e) { fail(e); }
  }

  // ---- views ----

  async function viewApis(query) {
    const input = el('input', { id: 'search', type: 'search', value: query || '' });
    const form = el('form', { role: 'search', onsubmit: (ev) => {
      ev.preventDefault();
      location.hash = '#/?q=' + encodeURIComponent(input.value);
    } }, field('Search APIs', input), el('button', { type: 'submit', text: 'Search' }));
    const list = el('div', { id: 'api-list' });
    main.replaceChildren(el('h1', { text: 'APIs' }), form, list);
    const q = query ? '?query=' + encodeURIComponent(query) + '&limit=100' : '?limit=100';
    const data = await api('GET', '/apis' + q);
    if (!data.list.length) list.append(el('p', { text: 'No APIs found.' }));
    for (const a of data.list) {
      list.append(el('article', { class: 'card api' },
        el('h3', {}, el('a', { href: '#/apis/' + encodeURIComponent(a.id), class: 'api-link', text: a.name })),
        el('div', { class: 'meta', text: a.version + ' · ' + a.context + ' · ' + a.provider }),
        el('p', { class: 'desc', text: a.description || '' })));
    }
  }

  function appSelect(apps, id) {
    const s = el('select', { id });
    for (const a of apps) s.append(el('option', { value: a.applicationId, text: a.name }));
    return s;
  }

  function renderOpenApi(doc) {
    const box = el('div', { id: 'openapi' });
    const info = doc && doc.info ? doc.info : {};
    box.append(el('p', { class: 'meta', text: 'OpenAPI ' + (doc.openapi || doc.swagger || '') + ' · ' +
      (info.title || '') + ' ' + (info.version || '') }));
    const ul = el('ul', { class: 'ops' });
    for (const [p, ops] of Object.entries(doc.paths || {})) {
      for (const [verb, op] of Object.entries(ops || {})) {
        ul.append(el('li', {}, el('span', { class: 'verb', text: verb.toUpperCase() }), ' ', p,
          op && op.summary ? ' — ' + op.summary : ''));
      }
    }
    box.append(ul);
    const det = el('details', {}, el('summary', { text: 'Full document' }),
      el('pre', { text: JSON.stringify(doc, null, 2) }));
    box.append(det);
    return box;
  }

  async function testToken(appId) {
    const keys = await api('GET', '/applications/' + encodeURIComponent(appId) + '/oauth-keys');
    const k = (keys.list || []).find((x) => x.keyType === 'PRODUCTION') || (keys.list || [])[0];
    if (!k) throw new Error('Generate keys for this application first');
    const t = await api('POST', '/applications/' + encodeURIComponent(appId) + '/oauth-keys/' +
      encodeURIComponent(k.keyMappingId) + '/generate-token', { validityPeriod: 3600, scopes: [] });
    state.tokens[appId] = t.accessToken;
    return t.accessToken;
  }

  async function viewApi(id) {
    const a = await api('GET', '/apis/' + encodeURIComponent(id));
    const parts = [el('h1', { id: 'api-name', text: a.name + ' ' + a.version }),
      el('p', { class: 'meta', text: a.context + ' · by ' + a.provider + ' · ' + a.lifeCycleStatus }),
      el('p', { id: 'api-description', text: a.description || '' })];
    parts.push(el('h2', { text: 'Gateway URLs' }));
    const urls = el('ul', { id: 'gateway-urls', class: 'ops' });
    let firstUrl = '';
    for (const e of a.endpointURLs || []) {
      for (const [scheme, u] of Object.entries(e.URLs || {})) {
        if (!u) continue;
        if (!firstUrl && scheme === 'https') firstUrl = u;
        urls.append(el('li', {}, el('span', { class: 'verb', text: e.environmentDisplayName }), ' ',
          el('span', { class: 'mono', text: u })));
      }
    }
    parts.push(urls);
    parts.push(el('h2', { text: 'Operations' }));
    const ops = el('ul', { class: 'ops', id: 'operations' });
    for (const o of a.operations || []) {
      ops.append(el('li', {}, el('span', { class: 'verb', text: o.verb }), ' ', o.target));
    }
    parts.push(ops);
    parts.push(el('h2', { text: 'OpenAPI document' }));
    const oa = el('div', {}, el('p', { text: 'Loading…' }));
    parts.push(oa);
    api('GET', '/apis/' + encodeURIComponent(id) + '/swagger')
      .then((doc) => oa.replaceChildren(renderOpenApi(doc || {})))
      .catch((e) => oa.replaceChildren(el('p', { class: 'error', text: e.message })));

    if (state.session.authenticated) {
      const apps = (await api('GET', '/applications?limit=100')).list;
      parts.push(el('h2', { text: 'Subscribe' }));
      if (!apps.length) {
        parts.push(el('p', {}, 'Create an application first: ', el('a', { href: '#/apps', text: 'Applications' })));
      } else {
        const app = appSelect(apps, 'sub-app');
        const tier = el('select', { id: 'sub-tier' });
        for (const t of a.tiers || []) tier.append(el('option', { value: t.tierName, text: t.tierName }));
        parts.push(el('form', { id: 'subscribe-form', onsubmit: async (ev) => {
          ev.preventDefault();
          try {
            await api('POST', '/subscriptions', { apiId: a.id, applicationId: app.value,
              throttlingPolicy: tier.value });
            say('Subscribed with ' + tier.value + '.');
          } catch (e) { fail(e); }
        } }, field('Application', app), field('Tier', tier), el('button', { type: 'submit', text: 'Subscribe' })));

        parts.push(el('h2', { text: 'Try it' }));
        const tapp = appSelect(apps, 'try-app');
        const token = el('input', { id: 'try-token', type: 'password', autocomplete: 'off' });
        const method = el('select', { id: 'try-method' });
        for (const v of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) method.append(el('option', { value: v, text: v }));
        const url = el('input', { id: 'try-url', type: 'url', value: firstUrl ? firstUrl + '/' : '' });
        const body = el('textarea', { id: 'try-body', rows: 3 });
        const out = el('div', { id: 'try-result', 'aria-live': 'polite' });
        parts.push(el('div', { class: 'row' }, field('Application', tapp),
          el('button', { type: 'button', id: 'try-get-token', onclick: async () => {
            try { token.value = await testToken(tapp.value); say('Test token ready.'); } catch (e) { fail(e); }
          }, text: 'Get test token' })));
        parts.push(el('form', { id: 'try-form', onsubmit: async (ev) => {
          ev.preventDefault();
          out.replaceChildren(el('p', { text: 'Calling…' }));
          try {
            const init = { method: method.value, mode: 'cors', credentials: 'omit',
              headers: { Authorization: 'Bearer ' + token.value } };
            if (method.value !== 'GET' && body.value) {
              init.body = body.value;
              init.headers['Content-Type'] = 'application/json';
            }
            const r = await fetch(url.value, init);
            const text = await r.text();
            out.replaceChildren(el('p', { class: 'result', id: 'try-status', text: 'Status: ' + r.status }),
              el('pre', { text: text.slice(0, 20000) }));
          } catch (e) {
            out.replaceChildren(el('p', { class: 'error', id: 'try-status',
              text: 'The call failed: ' + e.message + ' (is CORS enabled for this portal on the API?)' }));
          }
        } }, field('Access token', token), field('Method', method), field('Request URL', url),
          field('Body', body), el('button', { type: 'submit', id: 'try-send', text: 'Send' })));
        parts.push(out);
      }
    } else {
      parts.push(el('p', {}, el('a', { href: loginHref(), text: 'Sign in' }), ' to subscribe and try this API.'));
    }
    main.replaceChildren(...parts);
  }

  async function viewApps() {
    const name = el('input', { id: 'app-name', required: true, maxlength: 100 });
    const desc = el('input', { id: 'app-description', maxlength: 500 });
    const tier = el('select', { id: 'app-tier' });
    const list = el('div', { id: 'app-list' });
    main.replaceChildren(el('h1', { text: 'Applications' }),
      el('form', { id: 'app-form', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const a = await api('POST', '/applications', { name: name.value, throttlingPolicy: tier.value,
            description: desc.value });
          say('Application ' + a.name + ' created.');
          location.hash = '#/apps/' + encodeURIComponent(a.applicationId);
        } catch (e) { fail(e); }
      } }, field('Name', name), field('Description', desc), field('Throttling tier', tier),
        el('button', { type: 'submit', text: 'Create application' })), list);
    const pol = await api('GET', '/throttling-policies/application?limit=100');
    for (const p of pol.list || []) tier.append(el('option', { value: p.name, text: p.name }));
    const data = await api('GET', '/applications?limit=100');
    if (!data.list.length) list.append(el('p', { text: 'No applications yet.' }));
    for (const a of data.list) {
      const del = el('button', { type: 'button', class: 'danger', text: 'Delete' });
      del.addEventListener('click', async () => {
        if (del.dataset.armed !== '1') {
          del.dataset.armed = '1';
          del.textContent = 'Confirm delete';
          return;
        }
        try {
          await api('DELETE', '/applications/' + encodeURIComponent(a.applicationId));
          say('Application deleted.');
          route();
        } catch (e) { fail(e); }
      });
      list.append(el('article', { class: 'card app' },
        el('h3', {}, el('a', { href: '#/apps/' + encodeURIComponent(a.applicationId), class: 'app-link',
          text: a.name })),
        el('div', { class: 'meta', text: a.throttlingPolicy + ' · ' + a.subscriptionCount + ' subscription(s)' }),
        el('p', { text: a.description || '' }), del));
    }
  }

  function secretRow(labelText, id, value) {
    const input = el('input', { id, readonly: true, value });
    return el('div', { class: 'secret' }, field(labelText, input),
      el('button', { type: 'button', class: 'secondary', text: 'Copy', 'aria-label': 'Copy ' + labelText,
        onclick: () => {
          input.select();
          (navigator.clipboard ? navigator.clipboard.writeText(value) : Promise.reject(new Error('no clipboard')))
            .then(() => say(labelText + ' copied.'), () => say('Select the text and copy it.'));
        } }));
  }

  async function viewApp(id) {
    const a = await api('GET', '/applications/' + encodeURIComponent(id));
    const subs = await api('GET', '/subscriptions?applicationId=' + encodeURIComponent(id) + '&limit=100');
    const keysBox = el('div', { id: 'keys' });
    const tokenBox = el('div', { id: 'token' });
    const subList = el('ul', { class: 'ops', id: 'subscriptions' });
    for (const s of subs.list || []) {
      const info = s.apiInfo || {};
      subList.append(el('li', {}, el('span', { class: 'verb', text: s.throttlingPolicy }), ' ',
        (info.name || s.apiId) + ' ' + (info.version || '') + ' · ' + s.status));
    }
    if (!(subs.list || []).length) subList.append(el('li', { text: 'No subscriptions yet: subscribe from an API page.' }));
    main.replaceChildren(el('h1', { id: 'app-title', text: a.name }),
      el('p', { class: 'meta', text: a.throttlingPolicy + ' · owner ' + a.owner }),
      el('p', { id: 'app-description-text', text: a.description || '' }),
      el('h2', { text: 'Subscriptions' }), subList,
      el('h2', { text: 'Production keys' }),
      el('div', { class: 'row' },
        el('button', { type: 'button', id: 'gen-keys', text: 'Generate keys', onclick: async () => {
          try {
            const k = await api('POST', '/applications/' + encodeURIComponent(id) + '/generate-keys',
              { keyType: 'PRODUCTION', grantTypesToBeSupported: ['client_credentials'] });
            keysBox.replaceChildren(el('p', { class: 'meta', text: 'The secret is shown only once: copy it now.' }),
              secretRow('Consumer key', 'consumer-key', k.consumerKey),
              secretRow('Consumer secret', 'consumer-secret', k.consumerSecret));
            say('Keys generated.');
          } catch (e) { fail(e); }
        } }),
        el('button', { type: 'button', id: 'gen-token', class: 'secondary', text: 'Generate test token',
          onclick: async () => {
            try {
              const t = await testToken(id);
              tokenBox.replaceChildren(secretRow('Access token', 'access-token', t));
              say('Token generated (valid one hour).');
            } catch (e) { fail(e); }
          } })),
      keysBox, tokenBox);
  }

  function viewSignup() {
    const t = el('input', { id: 'su-tenant', value: tenant || 'carbon.super', required: true });
    const u = el('input', { id: 'su-username', autocomplete: 'username', required: true });
    const p = el('input', { id: 'su-password', type: 'password', autocomplete: 'new-password', required: true,
      minlength: 8 });
    const f = el('input', { id: 'su-first', autocomplete: 'given-name' });
    const l = el('input', { id: 'su-last', autocomplete: 'family-name' });
    const e = el('input', { id: 'su-email', type: 'email', autocomplete: 'email' });
    main.replaceChildren(el('h1', { text: 'Sign up' }),
      el('form', { id: 'signup-form', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const body = { tenant: t.value, username: u.value, password: p.value };
          if (f.value) body.firstName = f.value;
          if (l.value) body.lastName = l.value;
          if (e.value) body.email = e.value;
          const r = await api('POST', '/devportal/signup', body);
          main.replaceChildren(el('h1', { text: 'Account created' }),
            el('p', { id: 'signup-done', text: 'You can now sign in as ' + r.username + '@' + r.tenant + '.' }),
            el('p', {}, el('a', { href: loginHref(), id: 'login-after-signup', text: 'Sign in' })));
          say('Account created.');
        } catch (err) { fail(err); }
      } }, field('Tenant', t), field('User name', u), field('Password (8 characters or more)', p),
        field('First name', f), field('Last name', l), field('Email', e),
        el('button', { type: 'submit', text: 'Create account' })));
  }

  async function route() {
    const h = location.hash || '#/';
    const [path, query] = h.slice(1).split('?');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    try {
      if (parts[0] === 'apis' && parts[1]) await viewApi(parts[1]);
      else if (parts[0] === 'apps' && parts[1]) await viewApp(parts[1]);
      else if (parts[0] === 'apps') await viewApps();
      else if (parts[0] === 'signup') viewSignup();
      else await viewApis(new URLSearchParams(query || '').get('q') || '');
      main.setAttribute('data-view', parts[0] || 'apis');
    } catch (e) {
      fail(e);
      main.setAttribute('data-view', 'error');
    }
  }

  async function start() {
    try { state.session = await api('GET', '/devportal/session'); } catch (e) { fail(e); }
    renderNav();
    window.addEventListener('hashchange', () => { say(''); route(); });
    await route();
  }
  start();
})();
