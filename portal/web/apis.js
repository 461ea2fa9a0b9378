// Developer portal: browsing APIs.  The list (search, tags, pages of
// GET /apis and GET /tags), an API's page (description, tags, the gateway
// URLs of the environments this site lists, operations, the OpenAPI document
// rendered as text, subscribe, try-it).  OpenAPI descriptions are shown as
// plain text (white-space kept), never as Markdown or HTML.
'use strict';
import { api, el, field, say, fail, main, state, loginHref, heading } from './core.js';
import { testToken } from './apps.js';

const SIZES = [10, 25, 50];

function hashFor(q) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== '' && v !== null && v !== undefined) p.set(k, v);
  const s = p.toString();
  return '#/' + (s ? '?' + s : '');
}

// The list of APIs: params {q, tag, page, size} from the hash.
export async function viewApis(params) {
  const q = params.get('q') || '';
  const tag = params.get('tag') || '';
  let size = parseInt(params.get('size') || '10', 10);
  if (!(size >= 1 && size <= 100)) size = 10;
  let page = parseInt(params.get('page') || '1', 10);
  if (!(page >= 1)) page = 1;

  const input = el('input', { id: 'search', type: 'search', value: q, autocomplete: 'off' });
  const sizeSel = el('select', { id: 'page-size' });
  for (const n of [...new Set([...SIZES, size])].sort((a, b) => a - b)) {
    sizeSel.append(el('option', { value: String(n), text: String(n), selected: n === size }));
  }
  const form = el('form', { role: 'search', 'aria-label': 'Search APIs', onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = hashFor({ q: input.value.trim(), tag, size: sizeSel.value === '10' ? '' : sizeSel.value });
  } }, field('Search APIs', input, 'Words, or name:, tag:, context:, version:, provider:'),
  el('label', { class: 'narrow' }, el('span', { class: 'label-text', text: 'Per page' }), sizeSel),
  el('button', { type: 'submit', text: 'Search' }));
  const tags = el('nav', { id: 'tags', class: 'tags', 'aria-label': 'Tags' });
  const list = el('div', { id: 'api-list' });
  const pager = el('nav', { id: 'pager', class: 'pager', 'aria-label': 'Pages' });
  main.replaceChildren(heading('APIs'), form, tags, list, pager);

  const query = [q, tag ? 'tag:' + tag : ''].filter(Boolean).join(' ');
  const sp = new URLSearchParams({ limit: String(size), offset: String((page - 1) * size) });
  if (query) sp.set('query', query);
  const [data, tagData] = await Promise.all([api('GET', '/apis?' + sp.toString()),
    api('GET', '/tags?limit=100').catch(() => ({ list: [] }))]);

  if ((tagData.list || []).length) {
    tags.append(el('span', { class: 'meta', text: 'Tags: ' }));
    if (tag) tags.append(el('a', { href: hashFor({ q }), class: 'tag clear', text: 'All' }));
    for (const t of tagData.list) {
      tags.append(el('a', { href: hashFor({ q, tag: t.value }), class: 'tag' + (t.value === tag ? ' current' : ''),
        'aria-current': t.value === tag ? 'true' : null, 'data-tag': t.value, text: `${t.value} (${t.count})` }));
    }
  }
  if (tag || q) {
    list.append(el('p', { class: 'meta', id: 'filter-note',
      text: 'Showing APIs' + (q ? ' matching “' + q + '”' : '') + (tag ? ' tagged “' + tag + '”' : '') + '.' }));
  }
  if (!data.list.length) list.append(el('p', { text: 'No APIs found.' }));
  for (const a of data.list) {
    const tagList = (a.tags || []).length ? el('ul', { class: 'taglist', 'aria-label': 'Tags' },
      ...a.tags.map((t) => el('li', { class: 'tag', text: t }))) : null;
    list.append(el('article', { class: 'card api' },
      el('h3', {}, el('a', { href: '#/apis/' + encodeURIComponent(a.id), class: 'api-link', text: a.name })),
      el('div', { class: 'meta', text: a.version + ' · ' + a.context + ' · ' + a.provider }),
      el('p', { class: 'desc', text: a.description || '' }), tagList));
  }
  const total = data.pagination ? data.pagination.total : data.list.length;
  const pages = Math.max(1, Math.ceil(total / size));
  const link = (n, text, id) => (n >= 1 && n <= pages && n !== page)
    ? el('a', { href: hashFor({ q, tag, page: n > 1 ? n : '', size: size !== 10 ? size : '' }), id, text })
    : el('span', { class: 'disabled', 'aria-disabled': 'true', id, text });
  pager.append(link(page - 1, '← Previous', 'page-prev'),
    el('span', { id: 'page-info', text: `Page ${page} of ${pages} · ${total} API${total === 1 ? '' : 's'}` }),
    link(page + 1, 'Next →', 'page-next'));
}

function appSelect(apps, id) {
  const s = el('select', { id });
  for (const a of apps) s.append(el('option', { value: a.applicationId, text: a.name }));
  return s;
}

function text(v) { return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v); }

// A short description of a schema: its type, format, $ref or item type.
function schemaText(s) {
  if (!s || typeof s !== 'object') return '';
  if (s.$ref) return text(s.$ref).replace(/^#\/components\/schemas\//, '');
  if (s.type === 'array') return 'array of ' + (schemaText(s.items) || 'any');
  return [s.type, s.format].filter(Boolean).map(text).join(' ') + (s.enum ? ' (' + s.enum.map(text).join(', ') + ')' : '');
}

function textBlock(cls, v) {
  return v ? el('p', { class: cls + ' pre-text', text: text(v) }) : null;
}

const VERBS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

// The OpenAPI (or Swagger 2) document as readable, inert text.
export function renderOpenApi(doc) {
  const box = el('div', { id: 'openapi' });
  if (typeof doc === 'string') {
    box.append(el('pre', { text: doc }));
    return box;
  }
  doc = doc || {};
  const info = doc.info && typeof doc.info === 'object' ? doc.info : {};
  box.append(el('p', { class: 'meta', text: 'OpenAPI ' + text(doc.openapi || doc.swagger || '') + ' · ' +
    text(info.title || '') + ' ' + text(info.version || '') }));
  box.append(textBlock('oa-info-desc', info.description));
  const servers = Array.isArray(doc.servers) ? doc.servers : [];
  if (servers.length) {
    box.append(el('p', { class: 'meta', text: 'Servers in the document: ' + servers.map((s) => text(s && s.url)).join(', ') }));
  }
  const ops = el('div', { class: 'oa-ops' });
  for (const [p, item] of Object.entries(doc.paths || {})) {
    if (!item || typeof item !== 'object') continue;
    const common = Array.isArray(item.parameters) ? item.parameters : [];
    for (const verb of VERBS) {
      const op = item[verb];
      if (!op || typeof op !== 'object') continue;
      const sec = el('section', { class: 'oa-op card' });
      sec.append(el('h3', { class: 'oa-title' }, el('span', { class: 'verb', text: verb.toUpperCase() }), ' ',
        el('span', { class: 'mono', text: p })));
      if (op.summary) sec.append(el('p', { class: 'oa-summary', text: text(op.summary) }));
      sec.append(textBlock('oa-desc', op.description));
      const params = [...common, ...(Array.isArray(op.parameters) ? op.parameters : [])];
      if (params.length) {
        const rows = params.map((x) => {
          x = x && typeof x === 'object' ? x : {};
          return el('tr', {}, el('td', { class: 'mono', text: text(x.name || x.$ref || '') }),
            el('td', { text: text(x.in || '') }), el('td', { text: x.required ? 'yes' : 'no' }),
            el('td', { text: schemaText(x.schema) || text(x.type || '') }),
            el('td', { class: 'pre-text', text: text(x.description || '') }));
        });
        sec.append(el('div', { class: 'table-wrap' }, el('table', { class: 'oa-params' },
          el('caption', { text: 'Parameters' }),
          el('thead', {}, el('tr', {}, ...['Name', 'In', 'Required', 'Type', 'Description']
            .map((h) => el('th', { scope: 'col', text: h })))),
          el('tbody', {}, ...rows))));
      }
      const rb = op.requestBody && typeof op.requestBody === 'object' ? op.requestBody : null;
      if (rb) {
        const types = Object.entries(rb.content || {}).map(([ct, v]) => ct + (v && v.schema ? ': ' + schemaText(v.schema) : ''));
        sec.append(el('p', { class: 'oa-body' }, el('strong', { text: 'Request body' + (rb.required ? ' (required)' : '') + ': ' }),
          types.join('; ')));
        sec.append(textBlock('oa-desc', rb.description));
      }
      const resp = op.responses && typeof op.responses === 'object' ? Object.entries(op.responses) : [];
      if (resp.length) {
        sec.append(el('p', { class: 'oa-label' }, el('strong', { text: 'Responses' })));
        sec.append(el('ul', { class: 'oa-responses', 'aria-label': 'Responses' },
          ...resp.map(([code, r]) => el('li', {}, el('span', { class: 'verb', text: code }), ' ',
            el('span', { class: 'pre-text', text: text(r && r.description) })))));
      }
      ops.append(sec);
    }
  }
  if (!ops.children.length) ops.append(el('p', { text: 'The document lists no operations.' }));
  box.append(ops);
  box.append(el('details', {}, el('summary', { text: 'Full document (JSON)' }),
    el('pre', { text: JSON.stringify(doc, null, 2) })));
  return box;
}

// The gateway URLs of each environment this site lists (the REST API leaves out the others).
function gatewayUrls(a) {
  const box = el('div', { id: 'gateway-urls' });
  let first = '';
  for (const e of a.endpointURLs || []) {
    const items = [];
    for (const [scheme, u] of Object.entries(e.URLs || {})) {
      if (!u) continue;
      if (!first && scheme === 'https') first = u;
      items.push(el('li', { 'data-env': e.environmentName }, el('span', { class: 'verb', text: scheme.toUpperCase() }),
        ' ', el('span', { class: 'mono', text: u })));
    }
    box.append(el('section', { class: 'env', 'data-env': e.environmentName },
      el('h3', { text: e.environmentDisplayName + ' (' + e.environmentType + ')' }),
      el('ul', { class: 'ops' }, ...items)));
  }
  if (!box.children.length) box.append(el('p', { text: 'This API is not deployed to a gateway this site lists.' }));
  return { box, first };
}

export async function viewApi(id) {
  let a;
  try {
    a = await api('GET', '/apis/' + encodeURIComponent(id));
  } catch (e) {
    if (e.status === 404) {
      main.replaceChildren(heading('API not found', 'api-missing'),
        el('p', { class: 'error', id: 'api-missing-text', text: 'No API with this id is available to you on this site. ' +
          'It may be private, restricted to some roles, not deployed to this site\'s gateways, or gone.' }),
        el('p', {}, el('a', { href: '#/', text: 'Back to the APIs' })));
      return;
    }
    throw e;
  }
  const parts = [heading(a.name + ' ' + a.version, 'api-name'),
    el('p', { class: 'meta', text: a.context + ' · by ' + a.provider + ' · ' + a.lifeCycleStatus }),
    el('p', { id: 'api-description', class: 'pre-text', text: a.description || '' })];
  if ((a.tags || []).length) {
    parts.push(el('ul', { class: 'taglist', id: 'api-tags', 'aria-label': 'Tags' },
      ...a.tags.map((t) => el('li', {}, el('a', { class: 'tag', href: hashFor({ tag: t }), text: t })))));
  }
  parts.push(el('h2', { text: 'Gateway URLs' }));
  const gw = gatewayUrls(a);
  parts.push(gw.box);
  parts.push(el('h2', { text: 'Operations' }));
  const ops = el('ul', { class: 'ops', id: 'operations' });
  for (const o of a.operations || []) ops.append(el('li', {}, el('span', { class: 'verb', text: o.verb }), ' ', o.target));
  parts.push(ops);
  parts.push(el('h2', { text: 'OpenAPI document' }));
  const oa = el('div', { id: 'openapi-box' }, el('p', { text: 'Loading…' }));
  parts.push(oa);
  api('GET', '/apis/' + encodeURIComponent(id) + '/swagger', undefined, { raw: true })
    .then((doc) => oa.replaceChildren(renderOpenApi(doc)))
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
          await api('POST', '/subscriptions', { apiId: a.id, applicationId: app.value, throttlingPolicy: tier.value });
          say('Subscribed with ' + tier.value + '.');
        } catch (e) { fail(e); }
      } }, field('Application', app), field('Tier', tier), el('button', { type: 'submit', text: 'Subscribe' })));
      parts.push(...tryIt(apps, gw.first));
    }
  } else {
    parts.push(el('p', {}, el('a', { href: loginHref(), text: 'Sign in' }), ' to subscribe and try this API.'));
  }
  main.replaceChildren(...parts);
}

function tryIt(apps, firstUrl) {
  const tapp = appSelect(apps, 'try-app');
  const kt = el('select', { id: 'try-keytype' }, el('option', { value: 'PRODUCTION', text: 'Production' }),
    el('option', { value: 'SANDBOX', text: 'Sandbox' }));
  const token = el('input', { id: 'try-token', type: 'password', autocomplete: 'off' });
  const method = el('select', { id: 'try-method' });
  for (const v of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) method.append(el('option', { value: v, text: v }));
  const url = el('input', { id: 'try-url', type: 'url', value: firstUrl ? firstUrl + '/' : '' });
  const body = el('textarea', { id: 'try-body', rows: 3 });
  const out = el('div', { id: 'try-result', 'aria-live': 'polite' });
  return [el('h2', { text: 'Try it' }),
    el('div', { class: 'row' }, field('Application', tapp), field('Keys', kt),
      el('button', { type: 'button', id: 'try-get-token', onclick: async () => {
        try { token.value = await testToken(tapp.value, kt.value); say('Test token ready.'); } catch (e) { fail(e); }
      }, text: 'Get test token' })),
    el('form', { id: 'try-form', onsubmit: async (ev) => {
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
        const t = await r.text();
        out.replaceChildren(el('p', { class: 'result', id: 'try-status', text: 'Status: ' + r.status }),
          el('pre', { id: 'try-body-out', text: t.slice(0, 20000) }));
      } catch (e) {
        out.replaceChildren(el('p', { class: 'error', id: 'try-status',
          text: 'The call failed: ' + e.message + ' (is CORS enabled for this portal on the API?)' }));
      }
    } }, field('Access token', token), field('Method', method), field('Request URL', url),
    field('Body', body), el('button', { type: 'submit', id: 'try-send', text: 'Send' })),
    out];
}
