// For callers who may not list trials (the site role): open one by its id.

import {h, clear, mount, field} from '../dom.js';
import {trialHash} from '../links.js';
import {pageHeader, section} from './common.js';

export const name = 'open';

export async function render(ctx) {
  const {main} = ctx;
  ctx.setTitle('Open a trial');
  const input = h('input', {type: 'text', name: 'trial', required: true, autocomplete: 'off', spellcheck: 'false'});
  const form = h('form', {class: 'inline-form'}, field('Trial id', input, 'e.g. MSC-IPF-EX1'),
    h('button', {type: 'submit', class: 'primary'}, 'Open'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (input.value.trim()) location.hash = trialHash(input.value.trim()).slice(1);
  });
  mount(main, 
    pageHeader({title: 'Open a trial', subtitle: `Your role lists the reports and subjects of site${ctx.caller.sites?.length > 1 ? 's' : ''} ${(ctx.caller.sites ?? []).join(', ')} only.`}),
    section('Trial', form));
}
