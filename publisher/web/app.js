// Publisher console: a small vanilla-JS single page over the publisher REST API
// (/api/am/publisher/v4) and the admin REST API (/api/am/admin/v4) with the session
// cookie; every state change carries the session's X-CSRF-Token.  Every string from
// the server is put in the page with textContent (never innerHTML), so API names,
// descriptions and OpenAPI text render inert; charts are SVG elements made here.
// Routes live in the hash: #/ (APIs), #/create, #/import, #/apis/ID[/TAB],
// #/admin/(tenants|environments|policies|deny|users|audit).
'use strict';
(function () {
  const PUB = '/api/am/publisher/v4';
  const ADM = '/api/am/admin/v4';
  const SVGNS = 'http://www.w3.org/2000/svg';
  const AUTH_ON = 'Application & Application User';
  const VERBS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
  const state = { session: { authenticated: false }, cache: {} };
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
      else if (k === 'checked') e.checked = !!v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
    return e;
  }
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function field(labelText, control) { return el('label', {}, labelText, control); }
  function check(labelText, control) { return el('label', { class: 'check' }, control, labelText); }
  function say(text, kind) {
    state.said = Date.now();
    statusBox.replaceChildren(text ? el('p', { class: kind || 'ok', text }) : '');
  }
  function fail(err) { say(err && err.message ? err.message : String(err), 'error'); }
  function list(s) { return String(s || '').split(/[\s,]+/).map((x) => x.trim()).filter(Boolean); }
  function hasScope(s) { return (' ' + (state.session.scopes || '') + ' ').includes(' ' + s + ' '); }
  function enc(s) { return encodeURIComponent(s); }
  function table(id, headers, rows) {
    const t = el('table', { id }, el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, ...rows));
    return el('div', { class: 'table-wrap' }, t);
  }
  function badge(s) { return el('span', { class: 'badge ' + String(s || ''), text: s || '' }); }

  // A REST call: JSON (or FormData) body, the CSRF header on state changes, errors
  // thrown with the server's description.
  async function api(method, url, body) {
    const h = { Accept: 'application/json' };
    let payload;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) { h['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
    if (method !== 'GET' && state.session.csrfToken) h['X-CSRF-Token'] = state.session.csrfToken;
    const r = await fetch(url, { method, headers: h, credentials: 'same-origin', body: payload });
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

  async function cached(key, url) {
    if (!state.cache[key]) state.cache[key] = await api('GET', url);
    return state.cache[key];
  }

  function renderNav() {
    const nav = document.getElementById('nav');
    const items = [];
    if (state.session.authenticated) {
      items.push(el('a', { href: '#/', text: 'APIs' }));
      if (hasScope('apim:api_create')) {
        items.push(el('a', { href: '#/create', id: 'nav-create', text: 'Create API' }));
        items.push(el('a', { href: '#/import', id: 'nav-import', text: 'Import OpenAPI' }));
      }
      if (hasScope('apim:admin')) items.push(el('a', { href: '#/admin/tenants', id: 'nav-admin', text: 'Admin' }));
      items.push(el('span', { class: 'who', id: 'who', text: state.session.user }));
      items.push(el('button', { type: 'button', id: 'logout', class: 'secondary', onclick: logout, text: 'Sign out' }));
    } else {
      items.push(el('a', { href: '/publisher/login', id: 'login-link', text: 'Sign in' }));
    }
    nav.replaceChildren(...items);
  }

  async function logout() {
    try {
      await api('POST', '/publisher/logout');
      state.session = { authenticated: false };
      state.cache = {};
      location.hash = '#/';
      renderNav();
      say('You are signed out.');
      route();
    } catch (e) { fail(e); }
  }

  // ---- APIs: list, search, create, import ----

  async function viewList(query) {
    const input = el('input', { id: 'search', type: 'search', value: query || '' });
    const form = el('form', { role: 'search', onsubmit: (ev) => {
      ev.preventDefault();
      location.hash = '#/?q=' + enc(input.value);
    } }, field('Search APIs (name, context, tags…)', input), el('button', { type: 'submit', text: 'Search' }));
    const box = el('div', { id: 'api-list' });
    main.replaceChildren(el('h1', { text: 'APIs' }), form, box);
    const q = query ? '?query=' + enc(query) + '&limit=100' : '?limit=100';
    const data = await api('GET', PUB + '/apis' + q);
    if (!data.list.length) box.append(el('p', { text: query ? 'No API matches.' : 'No APIs yet: create one.' }));
    for (const a of data.list) {
      box.append(el('article', { class: 'card api' },
        el('h3', {}, el('a', { href: '#/apis/' + enc(a.id), class: 'api-link', text: a.name + ' ' + a.version })),
        el('div', { class: 'meta' }, a.context + ' · ' + (a.provider || '') + ' ', badge(a.lifeCycleStatus)),
        el('p', { class: 'desc', text: a.description || '' })));
    }
  }

  async function tierBoxes(selected) {
    const tiers = await cached('tiers', PUB + '/throttling-policies/subscription');
    const fs = el('fieldset', { id: 'tiers' }, el('legend', { text: 'Subscription tiers' }));
    for (const t of tiers.list) {
      fs.append(check(t.displayName || t.name, el('input', { type: 'checkbox', name: 'tier', value: t.name,
        checked: selected.includes(t.name) })));
    }
    return fs;
  }
  function checkedValues(root, name) {
    return [...root.querySelectorAll('input[name="' + name + '"]')].filter((i) => i.checked).map((i) => i.value);
  }
  function endpointConfig(prod, sand) {
    const ec = { endpoint_type: 'http' };
    if (prod) ec.production_endpoints = { url: prod };
    if (sand) ec.sandbox_endpoints = { url: sand };
    return ec;
  }

  async function viewCreate() {
    const name = el('input', { id: 'c-name', required: true, maxlength: 60, autocomplete: 'off' });
    const ctx = el('input', { id: 'c-context', required: true, placeholder: '/weather', autocomplete: 'off' });
    const ver = el('input', { id: 'c-version', required: true, value: '1.0.0' });
    const desc = el('textarea', { id: 'c-description', rows: 3 });
    const prod = el('input', { id: 'c-endpoint', type: 'url', placeholder: 'https://backend.example/api' });
    const sand = el('input', { id: 'c-sandbox', type: 'url' });
    const tiers = await tierBoxes(['Unlimited']);
    const form = el('form', { id: 'create-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const body = { name: name.value, context: ctx.value, version: ver.value, description: desc.value,
          policies: checkedValues(form, 'tier'), endpointConfig: endpointConfig(prod.value, sand.value) };
        const a = await api('POST', PUB + '/apis', body);
        say('API ' + a.name + ' created.');
        location.hash = '#/apis/' + enc(a.id);
      } catch (e) { fail(e); }
    } }, field('Name', name), field('Context', ctx), field('Version', ver), field('Description', desc),
    field('Production endpoint URL', prod), field('Sandbox endpoint URL', sand), tiers,
    el('div', { class: 'actions' }, el('button', { type: 'submit', text: 'Create API' })));
    main.replaceChildren(el('h1', { text: 'Create an API' }), form);
  }

  async function viewImport() {
    const file = el('input', { id: 'i-file', type: 'file', accept: '.json,.yaml,.yml,application/json,application/yaml' });
    const text = el('textarea', { id: 'i-text', rows: 10, spellcheck: 'false' });
    const name = el('input', { id: 'i-name', placeholder: 'from info.title' });
    const ctx = el('input', { id: 'i-context', placeholder: '/weather' });
    const ver = el('input', { id: 'i-version', placeholder: 'from info.version' });
    const prod = el('input', { id: 'i-endpoint', type: 'url' });
    const tiers = await tierBoxes(['Unlimited']);
    const form = el('form', { id: 'import-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const fd = new FormData();
        if (file.files.length) fd.append('file', file.files[0]);
        else if (text.value.trim()) fd.append('inlineAPIDefinition', text.value);
        else throw new Error('Choose a file or paste an OpenAPI document');
        const props = { policies: checkedValues(form, 'tier') };
        if (name.value) props.name = name.value;
        if (ctx.value) props.context = ctx.value;
        if (ver.value) props.version = ver.value;
        if (prod.value) props.endpointConfig = endpointConfig(prod.value, '');
        fd.append('additionalProperties', JSON.stringify(props));
        const a = await api('POST', PUB + '/apis/import-openapi', fd);
        say('API ' + a.name + ' imported.');
        location.hash = '#/apis/' + enc(a.id) + '/definition';
      } catch (e) { fail(e); }
    } }, field('OpenAPI file (JSON or YAML)', file), field('…or paste the document', text),
    field('Name', name), field('Context', ctx), field('Version', ver), field('Production endpoint URL', prod), tiers,
    el('div', { class: 'actions' }, el('button', { type: 'submit', text: 'Import' })));
    main.replaceChildren(el('h1', { text: 'Import an OpenAPI document' }), form);
  }

  // ---- one API ----

  const TABS = [['overview', 'Overview'], ['operations', 'Operations'], ['scopes', 'Scopes'],
    ['policies', 'Policies'], ['endpoints', 'Endpoints'], ['cors', 'CORS'], ['geo', 'GeoIP'],
    ['deploy', 'Revisions & deployments'], ['subscriptions', 'Subscriptions'], ['analytics', 'Analytics'],
    ['definition', 'Definition']];

  async function save(a, partial, what) {
    const n = await api('PUT', PUB + '/apis/' + enc(a.id), partial);
    say(what + ' saved.');
    return n;
  }

  async function viewApi(id, tab) {
    tab = tab || 'overview';
    const a = await api('GET', PUB + '/apis/' + enc(id));
    const tabs = el('nav', { class: 'tabs', 'aria-label': 'API sections' },
      ...TABS.map(([k, label]) => el('a', { href: '#/apis/' + enc(id) + '/' + k, id: 'tab-' + k, text: label,
        'aria-current': k === tab ? 'page' : null })));
    const box = el('section', { id: 'tab-body', 'aria-labelledby': 'tab-' + tab });
    main.replaceChildren(el('h1', { id: 'api-name', text: a.name + ' ' + a.version }),
      el('p', { class: 'meta' }, a.context + ' · by ' + (a.provider || '') + ' ', badge(a.lifeCycleStatus)), tabs, box);
    const views = { overview: tabOverview, operations: tabOperations, scopes: tabScopes, policies: tabPolicies,
      endpoints: tabEndpoints, cors: tabCors, geo: tabGeo, deploy: tabDeploy, subscriptions: tabSubscriptions,
      analytics: tabAnalytics, definition: tabDefinition };
    await (views[tab] || tabOverview)(a, box);
  }

  function rerender(a, tab) { return viewApi(a.id, tab); }

  async function tabOverview(a, box) {
    box.append(el('h2', { text: 'Description' }), el('p', { id: 'api-description', text: a.description || '' }));
    // lifecycle: only the transitions the REST API allows
    const lc = await api('GET', PUB + '/apis/' + enc(a.id) + '/lifecycle-state');
    const buttons = el('div', { class: 'actions', id: 'lifecycle' });
    for (const t of lc.availableTransitions || []) {
      buttons.append(el('button', { type: 'button', class: 'lc', 'data-action': t.event, text: t.event,
        onclick: async () => {
          try {
            await api('POST', PUB + '/apis/change-lifecycle?action=' + enc(t.event) + '&apiId=' + enc(a.id));
            say('Lifecycle: ' + t.event + ' → ' + t.targetState + '.');
            await rerender(a, 'overview');
          } catch (e) { fail(e); }
        } }));
    }
    if (!(lc.availableTransitions || []).length) buttons.append(el('p', { text: 'No transition from ' + lc.state + '.' }));
    box.append(el('h2', { text: 'Lifecycle: ' + lc.state }), buttons);
    // basic information
    const desc = el('textarea', { id: 'e-description', rows: 4, value: a.description || '' });
    const vis = el('select', { id: 'e-visibility' }, ...['PUBLIC', 'PRIVATE', 'RESTRICTED'].map((v) =>
      el('option', { value: v, text: v, selected: v === a.visibility })));
    const roles = el('input', { id: 'e-roles', value: (a.visibleRoles || []).join(', ') });
    const tags = el('input', { id: 'e-tags', value: (a.tags || []).join(', ') });
    box.append(el('h2', { text: 'Details' }), el('form', { id: 'details-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await save(a, { description: desc.value, visibility: vis.value, visibleRoles: list(roles.value),
          tags: list(tags.value) }, 'Details');
        await rerender(a, 'overview');
      } catch (e) { fail(e); }
    } }, field('Description', desc), field('Visibility', vis), field('Visible to roles (RESTRICTED)', roles),
    field('Tags', tags), el('div', { class: 'actions' }, el('button', { type: 'submit', text: 'Save details' }))));
    // delete, in two steps (no confirm() dialog)
    const del = el('button', { type: 'button', class: 'danger', id: 'delete-api', text: 'Delete API…' });
    del.addEventListener('click', async () => {
      if (!del.dataset.armed) {
        del.dataset.armed = '1';
        del.textContent = 'Really delete ' + a.name + '?';
        return;
      }
      try {
        await api('DELETE', PUB + '/apis/' + enc(a.id));
        say('API deleted.');
        location.hash = '#/';
      } catch (e) { fail(e); }
    });
    box.append(el('div', { class: 'actions' }, del));
  }

  async function tabOperations(a, box) {
    const apiPolicies = await cached('apiPolicies', PUB + '/throttling-policies/api');
    const ops = (a.operations || []).map((o) => Object.assign({}, o));
    const tbody = el('tbody');
    function policySelect(value, label) {
      const s = el('select', { 'aria-label': label });
      const names = ['Unlimited', ...apiPolicies.list.map((p) => p.name).filter((n) => n !== 'Unlimited')];
      for (const n of names) s.append(el('option', { value: n, text: n, selected: n === value }));
      return s;
    }
    function draw() {
      tbody.replaceChildren();
      ops.forEach((o, i) => {
        const n = i + 1;
        const verb = el('select', { 'aria-label': 'Verb of operation ' + n },
          ...VERBS.map((v) => el('option', { value: v, text: v, selected: v === o.verb })));
        verb.addEventListener('change', () => { o.verb = verb.value; });
        const target = el('input', { value: o.target, 'aria-label': 'Target of operation ' + n });
        target.addEventListener('change', () => { o.target = target.value; });
        const auth = el('input', { type: 'checkbox', checked: o.authType !== 'None',
          'aria-label': 'Security of operation ' + n });
        auth.addEventListener('change', () => { o.authType = auth.checked ? AUTH_ON : 'None'; });
        const scopes = el('input', { value: (o.scopes || []).join(', '), 'aria-label': 'Scopes of operation ' + n });
        scopes.addEventListener('change', () => { o.scopes = list(scopes.value); });
        const pol = policySelect(o.throttlingPolicy || 'Unlimited', 'Throttling policy of operation ' + n);
        pol.addEventListener('change', () => { o.throttlingPolicy = pol.value; });
        tbody.append(el('tr', {}, el('td', {}, verb), el('td', {}, target), el('td', {}, auth), el('td', {}, scopes),
          el('td', {}, pol), el('td', {}, el('button', { type: 'button', class: 'secondary',
            'aria-label': 'Remove operation ' + n + ' (' + o.verb + ' ' + o.target + ')', text: 'Remove',
            onclick: () => { ops.splice(i, 1); draw(); } }))));
      });
    }
    draw();
    const t = el('table', { id: 'ops-table' }, el('thead', {}, el('tr', {}, ...['Verb', 'Target', 'Security',
      'Scopes', 'Throttling', ''].map((h) => el('th', { scope: 'col', text: h })))), tbody);
    const nv = el('select', { id: 'op-verb' }, ...VERBS.map((v) => el('option', { value: v, text: v })));
    const nt = el('input', { id: 'op-target', placeholder: '/items/{id}' });
    const addForm = el('form', { id: 'op-add-form', onsubmit: (ev) => {
      ev.preventDefault();
      if (!nt.value) { say('Give the new operation a target such as /items', 'error'); return; }
      ops.push({ verb: nv.value, target: nt.value, authType: AUTH_ON, throttlingPolicy: 'Unlimited', scopes: [] });
      nt.value = '';
      draw();
      say('Operation added: save to keep it.');
    } }, field('Verb', nv), field('Target', nt), el('button', { type: 'submit', id: 'op-add', class: 'secondary',
      text: 'Add operation' }));
    const saveBtn = el('button', { type: 'button', id: 'ops-save', text: 'Save operations', onclick: async () => {
      try {
        await save(a, { operations: ops.map((o) => ({ verb: o.verb, target: o.target, authType: o.authType,
          throttlingPolicy: o.throttlingPolicy, scopes: o.scopes || [] })) }, 'Operations');
        await rerender(a, 'operations');
      } catch (e) { fail(e); }
    } });
    box.append(el('h2', { text: 'Operations' }), el('div', { class: 'table-wrap' }, t), addForm,
      el('div', { class: 'actions' }, saveBtn));
  }

  async function tabScopes(a, box) {
    const scopes = (a.scopes || []).map((s) => Object.assign({}, s));
    const rows = scopes.map((s, i) => el('tr', {}, el('td', { text: s.name }), el('td', { text: s.description || '' }),
      el('td', { text: (s.bindings || []).join(', ') }), el('td', {}, el('button', { type: 'button', class: 'secondary',
        'aria-label': 'Remove scope ' + s.name, text: 'Remove', onclick: async () => {
          try {
            scopes.splice(i, 1);
            await save(a, { scopes }, 'Scopes');
            await rerender(a, 'scopes');
          } catch (e) { fail(e); }
        } }))));
    const name = el('input', { id: 'scope-name', placeholder: 'weather:read' });
    const desc = el('input', { id: 'scope-desc' });
    const roles = el('input', { id: 'scope-roles', placeholder: 'subscriber, creator' });
    box.append(el('h2', { text: 'Scopes' }), table('scopes-table', ['Name', 'Description', 'Roles', ''], rows),
      el('form', { id: 'scope-form', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          scopes.push({ name: name.value, displayName: name.value, description: desc.value, bindings: list(roles.value) });
          await save(a, { scopes }, 'Scopes');
          await rerender(a, 'scopes');
        } catch (e) { fail(e); }
      } }, field('Scope name', name), field('Description', desc), field('Roles (comma-separated)', roles),
      el('button', { type: 'submit', text: 'Add scope' })));
  }

  async function tabPolicies(a, box) {
    const tiers = await tierBoxes(a.policies || []);
    const apiPolicies = await cached('apiPolicies', PUB + '/throttling-policies/api');
    const level = el('select', { id: 'api-policy' }, el('option', { value: '', text: '(none: per operation)' }),
      ...apiPolicies.list.map((p) => el('option', { value: p.name, text: p.displayName || p.name,
        selected: p.name === a.apiThrottlingPolicy })));
    box.append(el('h2', { text: 'Policies' }), el('form', { id: 'policies-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await save(a, { policies: checkedValues(tiers, 'tier'), apiThrottlingPolicy: level.value || null }, 'Policies');
        await rerender(a, 'policies');
      } catch (e) { fail(e); }
    } }, tiers, field('API-level throttling policy', level),
    el('div', { class: 'actions' }, el('button', { type: 'submit', text: 'Save policies' }))));
  }

  function firstUrl(v) {
    if (!v) return '';
    if (Array.isArray(v)) return v.length ? v[0].url || '' : '';
    return v.url || '';
  }

  async function tabEndpoints(a, box) {
    const ec = a.endpointConfig || {};
    const prod = el('input', { id: 'ep-prod', type: 'url', value: firstUrl(ec.production_endpoints) });
    const sand = el('input', { id: 'ep-sand', type: 'url', value: firstUrl(ec.sandbox_endpoints) });
    const lb = Array.isArray(ec.production_endpoints) && ec.production_endpoints.length > 1;
    box.append(el('h2', { text: 'Endpoints' }),
      lb ? el('p', { class: 'meta', text: 'Load-balanced: ' + ec.production_endpoints.map((x) => x.url).join(', ') +
        ' (saving here keeps one production URL)' }) : null,
      el('form', { id: 'endpoints-form', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          await save(a, { endpointConfig: endpointConfig(prod.value, sand.value) }, 'Endpoints');
          await rerender(a, 'endpoints');
        } catch (e) { fail(e); }
      } }, field('Production endpoint URL', prod), field('Sandbox endpoint URL', sand),
      el('div', { class: 'actions' }, el('button', { type: 'submit', text: 'Save endpoints' }))));
  }

  async function tabCors(a, box) {
    const c = a.corsConfiguration || {};
    const on = el('input', { type: 'checkbox', id: 'cors-on', checked: c.corsConfigurationEnabled });
    const origins = el('input', { id: 'cors-origins', value: (c.accessControlAllowOrigins || []).join(', ') });
    const headers = el('input', { id: 'cors-headers', value: (c.accessControlAllowHeaders || []).join(', ') });
    const cred = el('input', { type: 'checkbox', id: 'cors-cred', checked: c.accessControlAllowCredentials });
    const methods = el('fieldset', {}, el('legend', { text: 'Allowed methods' }),
      ...['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'].map((m) => check(m, el('input', { type: 'checkbox',
        name: 'cors-method', value: m, checked: (c.accessControlAllowMethods || []).includes(m) }))));
    box.append(el('h2', { text: 'CORS' }), el('form', { id: 'cors-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await save(a, { corsConfiguration: { corsConfigurationEnabled: on.checked,
          accessControlAllowOrigins: list(origins.value), accessControlAllowHeaders: list(headers.value),
          accessControlAllowMethods: checkedValues(methods, 'cors-method'),
          accessControlAllowCredentials: cred.checked } }, 'CORS');
        await rerender(a, 'cors');
      } catch (e) { fail(e); }
    } }, check('CORS enabled', on), field('Allowed origins', origins), field('Allowed headers', headers), methods,
    check('Allow credentials', cred), el('div', { class: 'actions' }, el('button', { type: 'submit', text: 'Save CORS' }))));
  }

  async function tabGeo(a, box) {
    const g = a.geoRestriction || null;
    const mode = el('select', { id: 'geo-mode' }, el('option', { value: '', text: 'No restriction' }),
      el('option', { value: 'allow', text: 'Allow only these countries', selected: g && g.mode === 'allow' }),
      el('option', { value: 'deny', text: 'Deny these countries', selected: g && g.mode === 'deny' }));
    const countries = el('input', { id: 'geo-countries', placeholder: 'DE, FR, US', value: g ? g.countries.join(', ') : '' });
    box.append(el('h2', { text: 'GeoIP restriction' }),
      el('p', { class: 'meta', text: 'Enforced by gw-external on the client address (X-Forwarded-For from the load balancer).' }),
      el('form', { id: 'geo-form', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const v = mode.value ? { mode: mode.value, countries: list(countries.value).map((x) => x.toUpperCase()) } : null;
          await save(a, { geoRestriction: v }, 'GeoIP restriction');
          await rerender(a, 'geo');
        } catch (e) { fail(e); }
      } }, field('Mode', mode), field('Countries (ISO 3166 codes)', countries),
      el('div', { class: 'actions' }, el('button', { type: 'submit', text: 'Save GeoIP restriction' }))));
  }

  async function environments() {
    const s = await cached('settings', PUB + '/settings');
    return s.environment || [];
  }

  async function tabDeploy(a, box) {
    const envs = await environments();
    const revs = await api('GET', PUB + '/apis/' + enc(a.id) + '/revisions');
    const deps = await api('GET', PUB + '/apis/' + enc(a.id) + '/deployments');
    const revName = {};
    for (const r of revs.list) revName[r.id] = r.displayName;
    // where each environment runs what
    const where = el('ul', { id: 'deployments', class: 'ops' });
    for (const e of envs) {
      const d = deps.find((x) => x.name === e.name);
      where.append(el('li', { 'data-env': e.name }, el('strong', { text: e.displayName || e.name }),
        ' (' + e.type + '): ' + (d ? (revName[d.revisionId] || d.displayName) + (d.displayOnDevportal ? '' :
          ' (hidden from the portal)') : 'not deployed')));
    }
    const rows = revs.list.map((r) => {
      const on = deps.filter((d) => d.revisionId === r.id).map((d) => d.name);
      const actions = el('td', {}, el('button', { type: 'button', class: 'deploy-open', 'data-revision': r.id,
        'aria-label': 'Deploy ' + r.displayName, text: 'Deploy…', onclick: () => openDeploy(a, r, envs, deps) }));
      if (!on.length) {
        actions.append(' ', el('button', { type: 'button', class: 'secondary', 'aria-label': 'Delete ' + r.displayName,
          text: 'Delete', onclick: async () => {
            try {
              await api('DELETE', PUB + '/apis/' + enc(a.id) + '/revisions/' + enc(r.id));
              say(r.displayName + ' deleted.');
              await rerender(a, 'deploy');
            } catch (e) { fail(e); }
          } }));
      }
      return el('tr', { 'data-revision': r.id }, el('td', { text: r.displayName }), el('td', { text: r.description || '' }),
        el('td', { text: (r.createdTime || '').replace('T', ' ').slice(0, 19) }),
        el('td', { class: 'runs', text: on.length ? on.join(', ') : '—' }), actions);
    });
    const desc = el('input', { id: 'rev-desc', maxlength: 255 });
    box.append(el('h2', { text: 'Where each environment runs' }), where,
      el('h2', { text: 'Revisions' }), table('revisions', ['Revision', 'Description', 'Created', 'Deployed to', ''], rows),
      el('form', { id: 'revision-form', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const r = await api('POST', PUB + '/apis/' + enc(a.id) + '/revisions', { description: desc.value });
          say(r.displayName + ' created.');
          await rerender(a, 'deploy');
        } catch (e) { fail(e); }
      } }, field('Description of the new revision', desc),
      el('button', { type: 'submit', id: 'rev-create', text: 'Create revision' })));
  }

  // The deploy dialog: a checkbox per gateway environment, ticked where this revision runs.
  function openDeploy(a, r, envs, deps) {
    const old = document.getElementById('deploy-dialog');
    if (old) old.remove();
    const fs = el('fieldset', {}, el('legend', { text: 'Gateway environments' }));
    for (const e of envs) {
      const d = deps.find((x) => x.name === e.name);
      const runs = d ? (d.revisionId === r.id ? 'runs this revision' : 'runs ' + d.displayName) : 'not deployed';
      fs.append(check((e.displayName || e.name) + ' (' + e.type + ') — ' + runs, el('input', { type: 'checkbox',
        name: 'env', value: e.name, id: 'env-' + e.name, checked: !!d && d.revisionId === r.id })));
    }
    const show = el('input', { type: 'checkbox', id: 'deploy-show', checked: true });
    const dlg = el('dialog', { id: 'deploy-dialog', 'aria-labelledby': 'deploy-title' },
      el('h2', { id: 'deploy-title', text: 'Deploy ' + r.displayName }), fs, check('Show in the developer portal', show),
      el('div', { class: 'actions' },
        el('button', { type: 'button', id: 'deploy-confirm', text: 'Apply', onclick: async () => {
          const want = checkedValues(fs, 'env');
          const add = want.filter((n) => !deps.some((d) => d.name === n && d.revisionId === r.id));
          const drop = deps.filter((d) => d.revisionId === r.id && !want.includes(d.name)).map((d) => d.name);
          try {
            const q = '?revisionId=' + enc(r.id);
            if (add.length) {
              await api('POST', PUB + '/apis/' + enc(a.id) + '/deploy-revision' + q,
                add.map((n) => ({ name: n, displayOnDevportal: show.checked })));
            }
            if (drop.length) {
              await api('POST', PUB + '/apis/' + enc(a.id) + '/undeploy-revision' + q, drop.map((n) => ({ name: n })));
            }
            dlg.close();
            say(r.displayName + ': ' + (add.length ? 'deployed to ' + add.join(', ') : '') +
              (add.length && drop.length ? '; ' : '') + (drop.length ? 'undeployed from ' + drop.join(', ') : '') +
              (add.length || drop.length ? '.' : 'nothing changed.'));
            await rerender(a, 'deploy');
          } catch (e) { fail(e); }
        } }),
        el('button', { type: 'button', class: 'secondary', id: 'deploy-cancel', text: 'Cancel',
          onclick: () => dlg.close() })));
    document.body.append(dlg);
    dlg.showModal();
  }

  async function tabSubscriptions(a, box) {
    const subs = await api('GET', PUB + '/subscriptions?apiId=' + enc(a.id) + '&limit=1000');
    const rows = subs.list.map((s) => {
      const app = s.applicationInfo || {};
      const act = el('td', {});
      const change = async (path, what) => {
        try {
          await api('POST', PUB + '/subscriptions/' + path);
          say('Subscription of ' + app.name + ' ' + what + '.');
          await rerender(a, 'subscriptions');
        } catch (e) { fail(e); }
      };
      if (s.subscriptionStatus === 'UNBLOCKED') {
        act.append(el('button', { type: 'button', class: 'danger sub-block', 'aria-label': 'Block the subscription of ' + app.name,
          text: 'Block', onclick: () => change('block-subscription?subscriptionId=' + enc(s.subscriptionId) +
            '&blockState=BLOCKED', 'blocked') }), ' ',
        el('button', { type: 'button', class: 'secondary', 'aria-label': 'Block production keys of ' + app.name,
          text: 'Block production only', onclick: () => change('block-subscription?subscriptionId=' +
            enc(s.subscriptionId) + '&blockState=PROD_ONLY_BLOCKED', 'blocked for production') }));
      } else if (s.subscriptionStatus === 'BLOCKED' || s.subscriptionStatus === 'PROD_ONLY_BLOCKED') {
        act.append(el('button', { type: 'button', class: 'sub-unblock', 'aria-label': 'Unblock the subscription of ' + app.name,
          text: 'Unblock', onclick: () => change('unblock-subscription?subscriptionId=' + enc(s.subscriptionId), 'unblocked') }));
      }
      return el('tr', { 'data-subscription': s.subscriptionId }, el('td', { class: 'app', text: app.name }),
        el('td', { text: app.subscriber || app.owner || '' }), el('td', { text: s.throttlingPolicy }),
        el('td', { class: 'sub-status' }, badge(s.subscriptionStatus)), act);
    });
    box.append(el('h2', { text: 'Subscriptions' }), rows.length ? table('subscriptions', ['Application', 'Subscriber',
      'Tier', 'Status', ''], rows) : el('p', { text: 'No subscriptions yet.' }));
  }

  // ---- analytics: SVG charts ----

  function fmtTime(ms, gran) {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, '0');
    return gran === 'day' ? p(d.getUTCMonth() + 1) + '-' + p(d.getUTCDate()) : p(d.getUTCHours()) + ':' + p(d.getUTCMinutes());
  }

  // The smallest 1, 2 or 5 × 10^k at or above v and at least 4, so that four ticks are whole numbers.
  function niceMax(v) {
    let m = 4;
    for (let k = 1; m < v; k *= 10) for (const f of [1, 2, 5]) { if (m >= v) break; m = Math.max(4, f * 4 * k); }
    return m;
  }

  // A bar chart of points (value(p) stacked with err(p)) with labelled axes; title for screen readers.
  function barChart(id, title, points, value, err, gran) {
    const W = 640, H = 220, L = 44, B = 24, T = 10, R = 8;
    const max = niceMax(Math.max(0, ...points.map(value)));
    const s = svg('svg', { id, class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
    s.append(svg('title', {}, title));
    const ph = H - B - T, pw = W - L - R, bw = pw / Math.max(1, points.length);
    for (let i = 0; i <= 4; i++) {
      const y = T + ph - (ph * i) / 4;
      s.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: y, y2: y, opacity: i ? 0.3 : 1 }));
      s.append(svg('text', { x: L - 4, y: y + 4, 'text-anchor': 'end' }, Math.round((max * i) / 4)));
    }
    points.forEach((p, i) => {
      const v = value(p), e = err ? err(p) : 0;
      const h = (ph * v) / max, he = (ph * e) / max, x = L + i * bw + bw * 0.1, w = Math.max(1, bw * 0.8);
      if (v > 0) s.append(svg('rect', { class: 'bar', x, y: T + ph - h, width: w, height: h }));
      if (e > 0) s.append(svg('rect', { class: 'bar err', x, y: T + ph - he, width: w, height: he }));
    });
    const step = Math.max(1, Math.ceil(points.length / 6));
    points.forEach((p, i) => {
      if (i % step === 0) s.append(svg('text', { x: L + i * bw + bw / 2, y: H - 6, 'text-anchor': 'middle' },
        fmtTime(p.timestamp, gran)));
    });
    return s;
  }

  function lineChart(id, title, points, series, gran) {
    const W = 640, H = 200, L = 44, B = 24, T = 10, R = 8;
    const max = niceMax(Math.max(0, ...points.flatMap((p) => series.map((k) => p[k] || 0))));
    const s = svg('svg', { id, class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
    s.append(svg('title', {}, title));
    const ph = H - B - T, pw = W - L - R, dx = pw / Math.max(1, points.length - 1);
    for (let i = 0; i <= 4; i++) {
      const y = T + ph - (ph * i) / 4;
      s.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: y, y2: y, opacity: i ? 0.3 : 1 }));
      s.append(svg('text', { x: L - 4, y: y + 4, 'text-anchor': 'end' }, Math.round((max * i) / 4) + ' ms'));
    }
    for (const k of series) {
      const d = points.map((p, i) => (i ? 'L' : 'M') + (L + i * dx).toFixed(1) + ' ' + (T + ph - (ph * (p[k] || 0)) / max).toFixed(1)).join(' ');
      if (points.length) s.append(svg('path', { class: 'line ' + k, d }));
    }
    const step = Math.max(1, Math.ceil(points.length / 6));
    points.forEach((p, i) => {
      if (i % step === 0) s.append(svg('text', { x: L + i * dx, y: H - 6, 'text-anchor': 'middle' }, fmtTime(p.timestamp, gran)));
    });
    return s;
  }

  async function tabAnalytics(a, box) {
    const range = el('select', { id: 'an-range' }, el('option', { value: '3600000', text: 'Last hour' }),
      el('option', { value: '86400000', text: 'Last 24 hours' }), el('option', { value: '604800000', text: 'Last 7 days' }));
    const out = el('div', { id: 'analytics' });
    async function load() {
      try {
        const to = Date.now(), from = to - Number(range.value);
        const q = '?apiId=' + enc(a.id) + '&from=' + from + '&to=' + to;
        const [req, lat] = await Promise.all([api('GET', PUB + '/analytics/requests' + q),
          api('GET', PUB + '/analytics/latency' + q)]);
        const sm = req.summary || {};
        out.replaceChildren(
          el('div', { class: 'summary', id: 'an-summary' },
            el('div', {}, el('strong', { text: sm.requests || 0 }), 'requests'),
            el('div', {}, el('strong', { text: sm.errors || 0 }), 'errors'),
            el('div', {}, el('strong', { text: sm.throttled || 0 }), 'throttled'),
            el('div', {}, el('strong', { text: ((lat.summary || {}).p95 || 0) + ' ms' }), 'p95 latency')),
          el('h3', { text: 'Requests per ' + req.granularity }),
          el('div', { class: 'legend' }, el('span', {}, el('span', { class: 'sw req' }), 'requests'),
            el('span', {}, el('span', { class: 'sw err' }), 'errors')),
          barChart('chart-requests', 'Requests and errors per ' + req.granularity, req.list, (p) => p.requests,
            (p) => p.errors, req.granularity),
          el('h3', { text: 'Latency' }),
          el('div', { class: 'legend' }, el('span', {}, el('span', { class: 'sw req' }), 'p50'),
            el('span', {}, el('span', { class: 'sw p95' }), 'p95')),
          lineChart('chart-latency', 'Latency p50 and p95 in milliseconds', lat.list, ['p50', 'p95'], lat.granularity));
      } catch (e) { fail(e); }
    }
    range.addEventListener('change', load);
    box.append(el('h2', { text: 'Analytics' }), field('Period', range), out);
    await load();
  }

  // The OpenAPI document, rendered as text only (descriptions and summaries stay inert).
  async function tabDefinition(a, box) {
    const doc = await api('GET', PUB + '/apis/' + enc(a.id) + '/swagger');
    const info = (doc && doc.info) || {};
    const wrap = el('div', { id: 'openapi' },
      el('p', { class: 'meta', text: 'OpenAPI ' + (doc.openapi || doc.swagger || '') + ' · ' + (info.title || '') +
        ' ' + (info.version || '') }),
      el('p', { id: 'openapi-description', text: typeof info.description === 'string' ? info.description : '' }));
    const ul = el('ul', { class: 'ops', id: 'openapi-paths' });
    for (const [p, ops] of Object.entries(doc.paths || {})) {
      for (const [verb, op] of Object.entries(ops || {})) {
        if (!op || typeof op !== 'object') continue;
        ul.append(el('li', {}, el('span', { class: 'verb', text: verb.toUpperCase() }), ' ', p,
          typeof op.summary === 'string' ? ' — ' + op.summary : ''));
      }
    }
    wrap.append(ul, el('details', {}, el('summary', { text: 'Full document' }),
      el('pre', { text: JSON.stringify(doc, null, 2) })));
    box.append(el('h2', { text: 'Definition' }), wrap);
  }

  // ---- admin pages (apim:admin) ----

  const ADMIN_TABS = [['tenants', 'Tenants'], ['environments', 'Environments'], ['policies', 'Throttling policies'],
    ['deny', 'Deny policies'], ['users', 'Users'], ['audit', 'Audit log']];

  async function viewAdmin(tab, arg) {
    if (!hasScope('apim:admin')) throw new Error('The admin pages need the apim:admin scope (an admin role)');
    const tabs = el('nav', { class: 'tabs', 'aria-label': 'Admin sections' },
      ...ADMIN_TABS.map(([k, label]) => el('a', { href: '#/admin/' + k, id: 'admin-' + k, text: label,
        'aria-current': k === tab ? 'page' : null })));
    const box = el('section', { id: 'admin-body' });
    main.replaceChildren(el('h1', { text: 'Administration — ' + state.session.tenant }), tabs, box);
    const views = { tenants: admTenants, environments: admEnvironments, policies: admPolicies, deny: admDeny,
      users: admUsers, audit: admAudit };
    await (views[tab] || admTenants)(box, arg);
  }

  async function admTenants(box) {
    if (state.session.tenant !== 'carbon.super') {
      const s = await api('GET', ADM + '/tenant-settings');
      const cb = el('input', { type: 'checkbox', id: 'own-signup', checked: s.selfSignUp });
      cb.addEventListener('change', async () => {
        try {
          const n = await api('PUT', ADM + '/tenant-settings', { selfSignUp: cb.checked });
          say('Self sign-up is ' + (n.selfSignUp ? 'on' : 'off') + ' for ' + n.tenant + '.');
        } catch (e) { cb.checked = !cb.checked; fail(e); }
      });
      box.append(el('h2', { text: 'Settings of ' + s.tenant }), check('Developers may sign up on the portal', cb));
      return;
    }
    const ts = await api('GET', ADM + '/tenants');
    const rows = ts.list.map((t) => {
      const on = t.domain === 'carbon.super' ? !(t.settings && t.settings.selfSignUp === false)
        : !!(t.settings && t.settings.selfSignUp === true);
      const cb = el('input', { type: 'checkbox', class: 'tenant-signup', 'data-tenant': t.domain, checked: on,
        'aria-label': 'Self sign-up of ' + t.domain });
      cb.addEventListener('change', async () => {
        try {
          await api('PUT', ADM + '/tenants/' + enc(t.domain), { settings: { selfSignUp: cb.checked } });
          say('Self sign-up is ' + (cb.checked ? 'on' : 'off') + ' for ' + t.domain + '.');
        } catch (e) { cb.checked = !cb.checked; fail(e); }
      });
      const next = t.status === 'active' ? 'inactive' : 'active';
      const st = t.domain === 'carbon.super' ? el('td', {}) : el('td', {}, el('button', { type: 'button', class: 'secondary',
        'aria-label': (next === 'active' ? 'Activate ' : 'Deactivate ') + t.domain,
        text: next === 'active' ? 'Activate' : 'Deactivate', onclick: async () => {
          try {
            await api('PUT', ADM + '/tenants/' + enc(t.domain), { status: next });
            say(t.domain + ' is ' + next + '.');
            await viewAdmin('tenants');
          } catch (e) { fail(e); }
        } }));
      return el('tr', { 'data-tenant': t.domain }, el('td', { text: t.domain }), el('td', {}, badge(t.status)),
        el('td', {}, cb), st);
    });
    const dom = el('input', { id: 't-domain', placeholder: 'example.com' });
    const adm = el('input', { id: 't-admin', value: 'admin' });
    const pw = el('input', { id: 't-password', type: 'password', autocomplete: 'new-password' });
    box.append(el('h2', { text: 'Tenants' }), table('tenants', ['Domain', 'Status', 'Self sign-up', ''], rows),
      el('h2', { text: 'New tenant' }), el('form', { id: 'tenant-form', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const t = await api('POST', ADM + '/tenants', { domain: dom.value, adminUsername: adm.value, adminPassword: pw.value });
          say('Tenant ' + t.domain + ' created.');
          await viewAdmin('tenants');
        } catch (e) { fail(e); }
      } }, field('Domain', dom), field('Admin user name', adm), field('Admin password', pw),
      el('button', { type: 'submit', text: 'Create tenant' })));
  }

  async function admEnvironments(box) {
    const envs = await api('GET', ADM + '/environments');
    const rows = envs.list.map((e) => el('tr', {}, el('td', { text: e.name }), el('td', { text: e.displayName }),
      el('td', { text: e.type }), el('td', { text: (e.vhosts || []).map((v) => v.host + ':' + (v.httpsPort || '')).join(', ') }),
      el('td', { text: e.description || '' })));
    const name = el('input', { id: 'env-name' });
    const disp = el('input', { id: 'env-display' });
    const type = el('select', { id: 'env-type' }, el('option', { value: 'internal', text: 'internal' }),
      el('option', { value: 'external', text: 'external' }));
    const host = el('input', { id: 'env-host', placeholder: 'api.example.com' });
    const port = el('input', { id: 'env-port', type: 'number', min: 1, max: 65535, value: 443 });
    box.append(el('h2', { text: 'Gateway environments' }), table('environments', ['Name', 'Display name', 'Type',
      'Virtual hosts', 'Description'], rows), el('h2', { text: 'New environment' }),
    el('form', { id: 'env-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await api('POST', ADM + '/environments', { name: name.value, displayName: disp.value || name.value,
          type: type.value, vhosts: [{ host: host.value, httpsPort: Number(port.value) }] });
        state.cache = {};
        say('Environment ' + name.value + ' created.');
        await viewAdmin('environments');
      } catch (e) { fail(e); }
    } }, field('Name', name), field('Display name', disp), field('Type', type), field('Host', host),
    field('HTTPS port', port), el('button', { type: 'submit', text: 'Create environment' })));
  }

  function limitText(l) {
    if (!l || l.type === 'UNLIMITED') return 'Unlimited';
    const q = l.requestCount || l.bandwidth || l.eventCount || {};
    const n = q.requestCount || q.dataAmount || q.eventCount;
    return n + (l.bandwidth ? ' ' + (q.dataUnit || '') : '') + ' per ' + (q.unitTime > 1 ? q.unitTime + ' ' : '') + q.timeUnit;
  }

  async function admPolicies(box, kind) {
    kind = ['subscription', 'application', 'advanced'].includes(kind) ? kind : 'subscription';
    const ps = await api('GET', ADM + '/throttling/policies/' + kind);
    const kinds = el('div', { class: 'actions' }, ...['subscription', 'application', 'advanced'].map((k) =>
      el('a', { href: '#/admin/policies/' + k, 'aria-current': k === kind ? 'page' : null, text: k[0].toUpperCase() + k.slice(1) })));
    const rows = ps.list.map((p) => el('tr', {}, el('td', { text: p.policyName || p.name }),
      el('td', { text: p.description || '' }), el('td', { text: limitText(p.defaultLimit) }),
      el('td', {}, p.policyId && !String(p.policyId).startsWith('builtin-') ? el('button', { type: 'button',
        class: 'secondary', 'aria-label': 'Delete policy ' + (p.policyName || p.name), text: 'Delete', onclick: async () => {
          try {
            await api('DELETE', ADM + '/throttling/policies/' + kind + '/' + enc(p.policyId));
            state.cache = {};
            say('Policy deleted.');
            await viewAdmin('policies', kind);
          } catch (e) { fail(e); }
        } }) : el('span', { class: 'meta', text: 'built-in' }))));
    const name = el('input', { id: 'pol-name' });
    const desc = el('input', { id: 'pol-desc' });
    const count = el('input', { id: 'pol-count', type: 'number', min: 1, value: 100 });
    const unit = el('select', { id: 'pol-unit' }, ...['min', 'hour', 'day', 'sec'].map((u) => el('option', { value: u, text: u })));
    box.append(el('h2', { text: 'Throttling policies' }), kinds, table('policies', ['Name', 'Description', 'Limit', ''], rows),
      el('h2', { text: 'New ' + kind + ' policy' }), el('form', { id: 'policy-form', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          await api('POST', ADM + '/throttling/policies/' + kind, { policyName: name.value, displayName: name.value,
            description: desc.value, defaultLimit: { type: 'REQUESTCOUNTLIMIT', requestCount: { timeUnit: unit.value,
              unitTime: 1, requestCount: Number(count.value) } } });
          state.cache = {};
          say('Policy ' + name.value + ' created.');
          await viewAdmin('policies', kind);
        } catch (e) { fail(e); }
      } }, field('Name', name), field('Description', desc), field('Requests', count), field('Per', unit),
      el('button', { type: 'submit', text: 'Create policy' })));
  }

  function denyText(d) {
    const v = d.conditionValue;
    if (v && typeof v === 'object') {
      return (v.fixedIp || (v.startingIp + ' – ' + v.endingIp)) + (v.invert ? ' (inverted)' : '');
    }
    return String(v);
  }

  async function admDeny(box) {
    const ds = await api('GET', ADM + '/throttling/deny-policies');
    const rows = ds.list.map((d) => {
      const on = el('input', { type: 'checkbox', checked: d.conditionStatus, 'aria-label': 'Deny policy ' +
        d.conditionType + ' ' + denyText(d) + ' enabled' });
      on.addEventListener('change', async () => {
        try {
          await api('PATCH', ADM + '/throttling/deny-policies/' + enc(d.conditionId), { conditionStatus: on.checked });
          say('Deny policy ' + (on.checked ? 'enabled' : 'disabled') + '.');
        } catch (e) { on.checked = !on.checked; fail(e); }
      });
      return el('tr', { 'data-condition': d.conditionId }, el('td', { text: d.conditionType }),
        el('td', { class: 'deny-value', text: denyText(d) }), el('td', {}, on),
        el('td', {}, el('button', { type: 'button', class: 'secondary', 'aria-label': 'Delete deny policy ' + denyText(d),
          text: 'Delete', onclick: async () => {
            try {
              await api('DELETE', ADM + '/throttling/deny-policies/' + enc(d.conditionId));
              say('Deny policy deleted.');
              await viewAdmin('deny');
            } catch (e) { fail(e); }
          } })));
    });
    const type = el('select', { id: 'deny-type' }, ...['API', 'APPLICATION', 'USER', 'IP', 'IPRANGE'].map((t) =>
      el('option', { value: t, text: t })));
    const value = el('input', { id: 'deny-value', placeholder: '/t/acme.com/weather/1.0.0, owner:app, user, 10.0.0.1' });
    const end = el('input', { id: 'deny-end', placeholder: 'IPRANGE only' });
    const inv = el('input', { type: 'checkbox', id: 'deny-invert' });
    box.append(el('h2', { text: 'Deny policies' }), rows.length ? table('deny-policies', ['Type', 'Value', 'Enabled', ''], rows)
      : el('p', { text: 'No deny policies.' }), el('h2', { text: 'New deny policy' }),
    el('form', { id: 'deny-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        let v = value.value;
        if (type.value === 'IP') v = { fixedIp: value.value, invert: inv.checked };
        if (type.value === 'IPRANGE') v = { startingIp: value.value, endingIp: end.value, invert: inv.checked };
        await api('POST', ADM + '/throttling/deny-policies', { conditionType: type.value, conditionValue: v,
          conditionStatus: true });
        say('Deny policy created.');
        await viewAdmin('deny');
      } catch (e) { fail(e); }
    } }, field('Condition type', type), field('Value (or first address)', value), field('Last address', end),
    check('Invert (IP types)', inv), el('button', { type: 'submit', text: 'Create deny policy' })));
  }

  async function admUsers(box) {
    const us = await api('GET', ADM + '/users?limit=500');
    const rows = us.list.map((u) => el('tr', { 'data-user': u.username }, el('td', { text: u.signInName }),
      el('td', { text: [u.firstName, u.lastName].filter(Boolean).join(' ') }), el('td', { text: u.email }),
      el('td', { text: (u.roles || []).join(', ') })));
    const who = el('select', { id: 'reset-user' }, ...us.list.map((u) => el('option', { value: u.username, text: u.signInName })));
    const pw = el('input', { id: 'reset-password', type: 'password', autocomplete: 'new-password', minlength: 8 });
    box.append(el('h2', { text: 'Users of ' + state.session.tenant }), table('users', ['User', 'Name', 'E-mail', 'Roles'], rows),
      us.truncated ? el('p', { class: 'meta', text: 'Only the first 500 users are shown.' }) : null,
      el('h2', { text: 'Reset a password' }), el('form', { id: 'reset-form', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const r = await api('POST', ADM + '/users/' + enc(who.value) + '/reset-password', { newPassword: pw.value });
          pw.value = '';
          say('The password of ' + r.username + ' was reset.');
        } catch (e) { fail(e); }
      } }, field('User', who), field('New password', pw), el('button', { type: 'submit', text: 'Reset password' })));
  }

  async function admAudit(box) {
    const actor = el('input', { id: 'audit-actor' });
    const action = el('input', { id: 'audit-action', placeholder: 'api.create' });
    const out = el('div', { id: 'audit' });
    async function load() {
      try {
        let q = '?limit=100';
        if (actor.value) q += '&actor=' + enc(actor.value);
        if (action.value) q += '&action=' + enc(action.value);
        const r = await api('GET', ADM + '/audit' + q);
        out.replaceChildren(el('p', { class: 'meta', text: r.pagination.total + ' entries' }),
          table('audit-table', ['Time', 'Component', 'Actor', 'Tenant', 'Action', 'Target', 'Outcome'],
            r.list.map((x) => el('tr', {}, el('td', { text: x.time.replace('T', ' ').slice(0, 19) }),
              el('td', { text: x.component }), el('td', { text: x.actor || '' }), el('td', { text: x.tenant || '' }),
              el('td', { text: x.action }), el('td', { text: x.target || '' }), el('td', { text: x.outcome })))));
      } catch (e) { fail(e); }
    }
    box.append(el('h2', { text: 'Audit log' }), el('form', { id: 'audit-form', onsubmit: (ev) => { ev.preventDefault(); load(); } },
      field('Actor', actor), field('Action', action), el('button', { type: 'submit', text: 'Filter' })), out);
    await load();
  }

  // ---- router ----

  function viewWelcome() {
    main.replaceChildren(el('h1', { text: 'Publisher' }),
      el('p', { text: 'Create, publish and deploy APIs to the internal and external gateways.' }),
      el('p', {}, el('a', { href: '/publisher/login', class: 'button', id: 'welcome-login', text: 'Sign in' })));
  }

  async function route() {
    const h = location.hash.replace(/^#/, '') || '/';
    const [path, qs] = h.split('?');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    try {
      if (!state.session.authenticated) { viewWelcome(); return; }
      if (parts.length === 0) await viewList(new URLSearchParams(qs || '').get('q') || '');
      else if (parts[0] === 'create') await viewCreate();
      else if (parts[0] === 'import') await viewImport();
      else if (parts[0] === 'apis' && parts[1]) await viewApi(parts[1], parts[2]);
      else if (parts[0] === 'admin') await viewAdmin(parts[1] || 'tenants', parts[2]);
      else main.replaceChildren(el('h1', { text: 'Not found' }), el('p', {}, el('a', { href: '#/', text: 'Back to the APIs' })));
      main.focus({ preventScroll: true });
    } catch (e) {
      fail(e);
      if (!main.firstChild || main.textContent === 'Loading…') main.replaceChildren(el('h1', { text: 'Error' }));
    }
  }

  // a message said just before a navigation (e.g. "API created") stays for the new view
  window.addEventListener('hashchange', () => { if (Date.now() - (state.said || 0) > 1500) say(''); route(); });
  (async function start() {
    try {
      state.session = await api('GET', '/publisher/session');
    } catch (e) { fail(e); }
    renderNav();
    await route();
  })();
})();
