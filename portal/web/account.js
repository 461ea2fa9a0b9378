// Developer portal: accounts.  Self sign-up (POST /devportal/signup, which
// the key manager refuses when the tenant turned it off: the page asks GET
// /settings first and says so plainly) and, for a signed-in user, the
// password change (POST /me/change-password).
'use strict';
import { api, el, field, say, fail, main, state, tenant, loginHref, heading } from './core.js';

function signupOff(t) {
  return el('p', { class: 'error', id: 'signup-off', text: 'Self sign-up is turned off for ' + t +
    '. Ask an administrator of ' + t + ' for an account, or sign in if you have one.' });
}

export async function viewSignup() {
  const forTenant = tenant || 'carbon.super';
  let settings = null;
  try { settings = await api('GET', '/settings'); } catch (e) { settings = null; }
  if (settings && settings.selfSignUp === false) {
    main.replaceChildren(heading('Sign up'), signupOff(forTenant),
      el('p', {}, el('a', { href: loginHref(), text: 'Sign in' }), ' · ', el('a', { href: '#/', text: 'Browse the APIs' })));
    return;
  }
  const t = el('input', { id: 'su-tenant', value: forTenant, required: true, autocomplete: 'off' });
  const u = el('input', { id: 'su-username', autocomplete: 'username', required: true });
  const p = el('input', { id: 'su-password', type: 'password', autocomplete: 'new-password', required: true,
    minlength: 8 });
  const f = el('input', { id: 'su-first', autocomplete: 'given-name' });
  const l = el('input', { id: 'su-last', autocomplete: 'family-name' });
  const e = el('input', { id: 'su-email', type: 'email', autocomplete: 'email' });
  const note = el('div', { id: 'signup-note' });
  main.replaceChildren(heading('Sign up'), note,
    el('form', { id: 'signup-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const body = { tenant: t.value, username: u.value, password: p.value };
        if (f.value) body.firstName = f.value;
        if (l.value) body.lastName = l.value;
        if (e.value) body.email = e.value;
        const r = await api('POST', '/devportal/signup', body);
        main.replaceChildren(heading('Account created'),
          el('p', { id: 'signup-done', text: 'You can now sign in as ' + r.username + '@' + r.tenant + '.' }),
          el('p', {}, el('a', { href: loginHref(), id: 'login-after-signup', text: 'Sign in' })));
        say('Account created.');
      } catch (err) {
        if (err.status === 403) {
          note.replaceChildren(signupOff(t.value));
          say('Sign-up refused: ' + err.message, 'error');
        } else {
          fail(err);
        }
      }
    } }, field('Tenant', t), field('User name', u), field('Password (8 characters or more)', p),
    field('First name', f), field('Last name', l), field('Email', e),
    el('button', { type: 'submit', text: 'Create account' })));
}

export function viewAccount() {
  if (!state.session.authenticated) {
    main.replaceChildren(heading('Account'),
      el('p', {}, el('a', { href: loginHref(), text: 'Sign in' }), ' to manage your account.'));
    return;
  }
  const cur = el('input', { id: 'pw-current', type: 'password', autocomplete: 'current-password', required: true });
  const nw = el('input', { id: 'pw-new', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const again = el('input', { id: 'pw-again', type: 'password', autocomplete: 'new-password', required: true,
    minlength: 8 });
  const result = el('div', { id: 'pw-result', 'aria-live': 'polite' });
  main.replaceChildren(heading('Account'),
    el('p', { class: 'meta', id: 'account-who', text: 'Signed in as ' + state.session.user + ' (tenant ' +
      state.session.tenant + ')' }),
    el('h2', { text: 'Change password' }),
    el('form', { id: 'password-form', onsubmit: async (ev) => {
      ev.preventDefault();
      result.replaceChildren();
      if (nw.value !== again.value) {
        result.replaceChildren(el('p', { class: 'error', text: 'The new passwords do not match.' }));
        again.focus();
        return;
      }
      try {
        await api('POST', '/me/change-password', { currentPassword: cur.value, newPassword: nw.value });
        cur.value = nw.value = again.value = '';
        result.replaceChildren(el('p', { class: 'ok', id: 'pw-done', text: 'Your password was changed. ' +
          'Use the new one the next time you sign in.' }));
        say('Password changed.');
      } catch (e) {
        result.replaceChildren(el('p', { class: 'error', id: 'pw-error', text: e.message }));
        fail(e);
        cur.focus();
      }
    } }, field('Current password', cur), field('New password (8 characters or more)', nw),
    field('New password again', again), el('button', { type: 'submit', id: 'pw-submit', text: 'Change password' })),
    result);
}
