// Developer portal front end: a small vanilla-JS single page (ES modules, no
// framework) over the DevPortal REST API (/api/am/devportal/v3) with the
// session cookie; state changes carry the session's X-CSRF-Token.  Every
// string from the server is put in the page with textContent (never
// innerHTML), so names, descriptions and OpenAPI text render inert.  Routes
// live in the hash (#/, #/apis/ID, #/apps, #/apps/ID, #/account, #/signup);
// the tenant comes from the path (/devportal/t/TENANT/).  This file holds
// the navigation and the router; the views are in apis.js, apps.js and
// account.js, the shared helpers in core.js, the usage charts in chart.js.
'use strict';
import { api, el, say, fail, main, state, tenant, loginHref } from './core.js';
import { viewApis, viewApi } from './apis.js';
import { viewApps, viewApp } from './apps.js';
import { viewSignup, viewAccount } from './account.js';

function renderNav() {
  const nav = document.getElementById('nav');
  const here = (location.hash || '#/').split('?')[0];
  const link = (href, text, id) => el('a', { href, id, text,
    'aria-current': here === href || (href !== '#/' && here.startsWith(href + '/')) ? 'page' : null });
  const items = [link('#/', 'APIs', 'nav-apis')];
  if (state.session.authenticated) {
    items.push(link('#/apps', 'Applications', 'nav-apps'));
    items.push(link('#/account', 'Account', 'nav-account'));
    items.push(el('span', { class: 'who', id: 'who', text: state.session.user }));
    items.push(el('button', { type: 'button', id: 'logout', class: 'secondary', onclick: logout, text: 'Sign out' }));
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

async function route(focus) {
  const h = location.hash || '#/';
  const [path, query] = h.slice(1).split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || '');
  main.setAttribute('aria-busy', 'true');
  try {
    if (parts[0] === 'apis' && parts[1]) await viewApi(parts[1]);
    else if (parts[0] === 'apps' && parts[1]) await viewApp(parts[1]);
    else if (parts[0] === 'apps') await viewApps();
    else if (parts[0] === 'signup') await viewSignup();
    else if (parts[0] === 'account') viewAccount();
    else await viewApis(params);
    main.setAttribute('data-view', parts[0] || 'apis');
    if (focus) {
      const h1 = main.querySelector('h1');
      if (h1) h1.focus({ preventScroll: false });
    }
  } catch (e) {
    fail(e);
    main.setAttribute('data-view', 'error');
  } finally {
    main.removeAttribute('aria-busy');
  }
}

async function start() {
  try { state.session = await api('GET', '/devportal/session'); } catch (e) { fail(e); }
  state.onSignedOut = renderNav;
  renderNav();
  const skip = document.getElementById('skip');
  if (skip) {
    skip.addEventListener('click', (ev) => {
      ev.preventDefault();
      const h1 = main.querySelector('h1');
      (h1 || main).focus();
    });
  }
  window.addEventListener('hashchange', () => { say(''); renderNav(); route(true); });
  await route(false);
}
start();
