// The sign-in gate: a bearer token, kept for this browser tab only
// (sessionStorage) and sent as `Authorization: Bearer ...`; no cookie.

import {h, clear} from '../dom.js';
import {errorMessage} from '../api.js';

export function renderSignIn(main, {error, notice, hadToken, wasSignedIn = false, onSubmit}) {
  clear(main);
  const input = h('input', {type: 'password', id: 'token', name: 'token', autocomplete: 'off',
    spellcheck: 'false', required: true, 'aria-describedby': 'token-hint'});
  const status = h('div', {id: 'signin-status'});
  if (error) {
    status.append(h('div', {class: 'alert', role: 'alert'},
      wasSignedIn ? 'Your token is no longer accepted (it may have been revoked): sign in again. '
        : hadToken ? 'The token was not accepted. ' : '', errorMessage(error)));
  } else if (notice) {
    status.append(h('p', {class: 'notice', role: 'status'}, notice));
  }
  const form = h('form', {class: 'signin-form', 'aria-labelledby': 'signin-title'},
    h('div', {class: 'field'},
      h('label', {for: 'token'}, 'Access token'),
      input,
      h('span', {class: 'hint', id: 'token-hint'},
        'The token your administrator made with ', h('code', null, 'aesignal admin new-token'),
        '. It is kept in this browser tab only and sent with each request.')),
    h('button', {type: 'submit', class: 'primary'}, 'Sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    form.querySelector('button').disabled = true;
    await onSubmit(token);
  });
  main.append(h('section', {class: 'signin card', id: 'signin'},
    h('h1', {id: 'signin-title', tabindex: '-1'}, 'Sign in'),
    h('p', {class: 'lead'}, 'aesignal shows adverse-event incidence and safety signals of the trials you may see.'),
    status, form));
  input.focus();
}
