// Developer portal: the pieces every view uses.  Elements are built with
// el()/svg() and filled with textContent only (never innerHTML), so every
// string from the server (names, descriptions, OpenAPI text, error bodies)
// renders inert.  api() calls the DevPortal REST API with the session cookie;
// state changes carry the session's X-CSRF-Token; errors become Error objects
// whose message is the REST error body's description.
'use strict';

export const API = '/api/am/devportal/v3';
const m = location.pathname.match(/^\/devportal\/t\/([^/]+)\/?/);
export const tenant = m ? decodeURIComponent(m[1]) : null;
export const state = { session: { authenticated: false }, settings: null, onSignedOut: null };
export const main = document.getElementById('main');
const statusBox = document.getElementById('status');

// el('tag', {attr: value, text: '...', onclick: fn}, children...)
export function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  for (const k of kids) if (k !== null && k !== undefined && k !== false) e.append(k instanceof Node ? k : String(k));
  return e;
}

const SVGNS = 'http://www.w3.org/2000/svg';
// svg('rect', {x: 1, ...}, children...): an SVG element, attributes set one by one.
export function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVGNS, tag);
  setAttrs(e, attrs);
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

function setAttrs(e, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'value') e.value = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
}

// A control with its visible label (the label wraps the control: no id pairing needed).
export function field(labelText, control, hint) {
  return el('label', {}, el('span', { class: 'label-text', text: labelText }), control,
    hint ? el('span', { class: 'hint', text: hint }) : null);
}

export function say(text, kind) {
  statusBox.replaceChildren(text ? el('p', { class: kind || 'ok', text }) : '');
}

export function fail(err) {
  say(err && err.message ? err.message : String(err), 'error');
}

export function loginHref() {
  return '/devportal/login' + (tenant ? '?tenant=' + encodeURIComponent(tenant) : '');
}

// An Error from a REST reply: the error body's description (or message), and the status.
function restError(status, data) {
  let text;
  if (status === 401) text = 'Your session has ended or is not valid: sign in again.';
  else if (data && (data.description || data.message)) text = data.description || data.message;
  else text = 'The request failed';
  const e = new Error(text + ' (' + status + ')');
  e.status = status;
  e.body = data;
  return e;
}

// Call the REST API (path under /api/am/devportal/v3, or a /devportal/ path of the UI).
// Resolves to the parsed JSON body (null when empty); rejects with restError().
export async function api(method, path, body, opts) {
  const h = { Accept: 'application/json' };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.session.csrfToken) h['X-CSRF-Token'] = state.session.csrfToken;
  const browse = opts && opts.tenant !== undefined ? opts.tenant : tenant;
  if (browse && !path.startsWith('/devportal/')) h['X-WSO2-Tenant'] = browse;
  const url = path.startsWith('/devportal/') ? path : API + path;
  let r;
  try {
    r = await fetch(url, { method, headers: h, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new Error('The portal could not be reached: check the connection and try again.');
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = opts && opts.raw ? text : null; }
  if (!r.ok) {
    if (r.status === 401 && state.session.authenticated) {
      state.session = { authenticated: false };
      if (state.onSignedOut) state.onSignedOut();
    }
    throw restError(r.status, data);
  }
  return data;
}

// A button that runs an async action, disabled while it runs; errors go to the status line.
export function actionButton(attrs, action) {
  const b = el('button', Object.assign({ type: 'button' }, attrs));
  b.addEventListener('click', async () => {
    if (b.disabled) return;
    b.disabled = true;
    b.setAttribute('aria-busy', 'true');
    try { await action(b); } catch (e) { fail(e); } finally {
      b.disabled = false;
      b.removeAttribute('aria-busy');
    }
  });
  return b;
}

// A button that asks once more before a destructive action ("Delete" → "Confirm delete").
export function confirmButton(attrs, confirmText, action) {
  const label = attrs.text;
  const b = el('button', Object.assign({ type: 'button', class: 'danger' }, attrs));
  b.addEventListener('click', async () => {
    if (b.dataset.armed !== '1') {
      b.dataset.armed = '1';
      b.textContent = confirmText;
      say('Press "' + confirmText + '" again to go on, or leave the page.', 'ok');
      setTimeout(() => { if (b.isConnected) { b.dataset.armed = ''; b.textContent = label; } }, 8000);
      return;
    }
    b.disabled = true;
    try { await action(b); } catch (e) { fail(e); b.disabled = false; }
  });
  return b;
}

// A read-only value with a copy button (secrets: shown once, copy it now).
export function secretRow(labelText, id, value) {
  const input = el('input', { id, readonly: true, value, autocomplete: 'off', spellcheck: 'false' });
  return el('div', { class: 'secret' }, field(labelText, input),
    el('button', { type: 'button', class: 'secondary', text: 'Copy', 'aria-label': 'Copy ' + labelText,
      onclick: () => {
        input.select();
        (navigator.clipboard ? navigator.clipboard.writeText(value) : Promise.reject(new Error('no clipboard')))
          .then(() => say(labelText + ' copied.'), () => say('Select the text and copy it (Ctrl+C).'));
      } }));
}

// The heading of a view; focused after navigation so keyboard users start at the content.
export function heading(text, id) {
  return el('h1', { id: id || null, tabindex: '-1', text });
}

export function fmtTime(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + p(d.getHours()) + ':' +
    p(d.getMinutes());
}
