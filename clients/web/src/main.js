// The dashboard: a hash router over the views, the role-aware trial
// navigation and the sign-in gate. Routes (each view reachable by URL):
//   #/trials                          trials
//   #/open                            open a trial by id (site role)
//   #/trials/{t}                      trial overview
//   #/trials/{t}/incidence?...        incidence explorer
//   #/trials/{t}/term?...             a term over time
//   #/trials/{t}/signals?status=...   signal queue (live)
//   #/trials/{t}/topics/{id}          a topic: evidence, history, triage
//   #/trials/{t}/subjects             subjects
//   #/trials/{t}/subjects/{s}         subject profile
//   #/trials/{t}/reports?...          report listing
//   #/trials/{t}/audit?...            audit trail
//   #/trials/{t}/dsmb?cutoff=...      DSMB report at a data cut-off

import './app.css';
import {getCaller, getToken, setToken, onUnauthenticated, may, roleLabel, errorMessage, ApiError} from './api.js';
import {h, clear} from './dom.js';
import {hashFor, trialHash} from './links.js';
import {loadTrial} from './views/common.js';
import {ChartsUnavailableError} from './charts/load.js';
import {renderSignIn} from './views/signin.js';
import * as trials from './views/trials.js';
import * as openTrial from './views/open.js';
import * as overview from './views/overview.js';
import * as incidence from './views/incidence.js';
import * as term from './views/term.js';
import * as queue from './views/queue.js';
import * as topic from './views/topic.js';
import * as subjects from './views/subjects.js';
import * as subject from './views/subject.js';
import * as reports from './views/reports.js';
import * as audit from './views/audit.js';
import * as dsmb from './views/dsmb.js';

const ROUTES = [
  [/^\/trials$/, trials, []],
  [/^\/open$/, openTrial, []],
  [/^\/trials\/([^/]+)$/, overview, ['trial']],
  [/^\/trials\/([^/]+)\/incidence$/, incidence, ['trial']],
  [/^\/trials\/([^/]+)\/term$/, term, ['trial']],
  [/^\/trials\/([^/]+)\/signals$/, queue, ['trial']],
  [/^\/trials\/([^/]+)\/topics\/([^/]+)$/, topic, ['trial', 'topic']],
  [/^\/trials\/([^/]+)\/subjects$/, subjects, ['trial']],
  [/^\/trials\/([^/]+)\/subjects\/([^/]+)$/, subject, ['trial', 'subject']],
  [/^\/trials\/([^/]+)\/reports$/, reports, ['trial']],
  [/^\/trials\/([^/]+)\/audit$/, audit, ['trial']],
  [/^\/trials\/([^/]+)\/dsmb$/, dsmb, ['trial']],
];

// Trial views in the navigation, with the method each needs.
const TRIAL_NAV = [
  ['', 'Overview', 'GetTrial'],
  ['incidence', 'Incidence', 'GetIncidence'],
  ['signals', 'Signals', 'ListTopics'],
  ['subjects', 'Subjects', 'ListSubjects'],
  ['reports', 'Reports', 'ListReports'],
  ['audit', 'Audit trail', 'ListAuditRecords'],
  ['dsmb', 'DSMB report', 'GenerateDsmbReport'],
];

const main = document.getElementById('main');
const who = document.getElementById('who');
const trialnav = document.getElementById('trialnav');
const live = document.getElementById('live');

let caller = null;
let current = null;  // {controller, dispose: []}
// Completed renders (tests wait for the next one after changing a filter).
let renders = 0;

function announce(text) {
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 50);
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const query = Object.fromEntries(new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1)));
  return {path, query};
}

function renderWho() {
  clear(who);
  if (!caller) return;
  who.append(
    h('span', {class: 'principal'}, h('span', {class: 'sr-only'}, 'Signed in as '), caller.principal || 'anonymous'),
    h('span', {class: `role role-${caller.role}`}, roleLabel(caller.role),
      caller.sites?.length ? ` · site ${caller.sites.join(', ')}` : ''),
  );
  if (!caller.authenticated) {
    who.append(h('span', {class: 'auth-off', title: 'The server runs without --principals: every caller is an administrator.'}, 'authentication off'));
  } else {
    who.append(h('button', {type: 'button', class: 'link-button', id: 'sign-out', on: {click: signOut}}, 'Sign out'));
  }
}

function renderTrialNav(trialId, active) {
  clear(trialnav);
  if (!trialId) {
    trialnav.hidden = true;
    return;
  }
  trialnav.hidden = false;
  const list = h('ul');
  for (const [sub, label, method] of TRIAL_NAV) {
    if (!may(caller, method)) continue;
    const isActive = sub === active || (active === 'topics' && sub === 'signals') ||
      (active === 'term' && sub === 'incidence');
    list.append(h('li', null, h('a', {href: trialHash(trialId, sub), 'aria-current': isActive ? 'page' : null}, label)));
  }
  trialnav.append(h('span', {class: 'trial-id'}, h('span', {class: 'sr-only'}, 'Trial '), trialId), list);
}

function signOut() {
  setToken('');
  caller = null;
  renderWho();
  showSignIn(null, 'You are signed out.');
}

function disposeCurrent() {
  if (!current) return;
  current.controller.abort();
  for (const fn of current.dispose) {
    try {
      fn();
    } catch {
      // a view's cleanup must not stop the next view
    }
  }
  current = null;
}

function showSignIn(err, notice, {wasSignedIn = false} = {}) {
  disposeCurrent();
  caller = null;
  renderWho();
  renderTrialNav(null);
  document.title = 'Sign in · aesignal';
  main.dataset.view = 'signin';
  main.dataset.ready = 'true';
  renderSignIn(main, {
    error: err,
    notice,
    hadToken: Boolean(getToken()),
    wasSignedIn,
    onSubmit: async (token) => {
      setToken(token);
      await start();
    },
  });
}

// What each view shows, for a refusal ("Your role cannot see the audit
// trail") in words rather than the server's method names.
const VIEW_NOUNS = {
  trials: 'the list of trials', overview: 'this trial', incidence: 'incidence', term: 'incidence over time',
  queue: 'signals', topic: 'this signal topic', subjects: 'the subjects', subject: 'this subject',
  reports: 'the reports', audit: 'the audit trail', dsmb: 'the DSMB report',
};

// The page of a view that failed: its heading and the tab's title say what
// happened (not found, not allowed, invalid, or a failure); a trial that does
// not exist (or is not the caller's) loses the trial navigation.
function showError(err, match) {
  const api = err instanceof ApiError;
  const status = api ? err.httpStatus : 0;
  const heading = {403: 'Not available for your role', 404: 'Not found', 400: 'Invalid request'}[status] ?? 'Something went wrong';
  const trialPath = match.params.trial === undefined ? null : `/v1/trials/${encodeURIComponent(match.params.trial)}`;
  if (api && (status === 404 || status === 403) && trialPath && err.path?.split('?')[0] === trialPath) renderTrialNav(null);
  document.title = `${heading} · aesignal`;
  const body = status === 403
    ? [h('div', {class: 'alert', role: 'alert'}, `Your role (${roleLabel(caller.role)}) cannot see ${VIEW_NOUNS[match.view.name] ?? 'this page'}.`),
      h('details', null, h('summary', null, 'The server\'s answer'), h('p', {class: 'mono'}, err.message))]
    : [h('div', {class: 'alert', role: 'alert'}, err instanceof ChartsUnavailableError ? err.message : errorMessage(err))];
  clear(main).append(h('h1', {tabindex: '-1'}, heading), ...body, h('p', null, h('a', {href: '#/'}, 'Back to the start page')));
}

async function route() {
  if (!caller) return;
  const {path, query} = parseHash();
  if (path === '/' || path === '') {
    location.replace(may(caller, 'ListTrials') ? '#/trials' : '#/open');
    return;
  }
  let match = null;
  for (const [re, view, names] of ROUTES) {
    const m = re.exec(path);
    if (m) {
      const params = {};
      names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
      match = {view, params};
      break;
    }
  }
  // Remember which control had focus, to restore it when only the query changed.
  const focusName = document.activeElement?.closest?.('#main') ? document.activeElement.getAttribute('name') : null;
  const sameView = current && match && current.view === match.view && current.trial === match.params.trial;
  disposeCurrent();
  const controller = new AbortController();
  current = {controller, dispose: [], view: match?.view, trial: match?.params.trial};
  const me = current;
  main.dataset.ready = 'false';
  if (!match) {
    renderTrialNav(null);
    document.title = 'Page not found · aesignal';
    main.dataset.view = 'not-found';
    clear(main).append(h('h1', {tabindex: '-1'}, 'Page not found'),
      h('p', null, 'No view at ', h('code', null, location.hash), '. ', h('a', {href: '#/'}, 'Go to the start page')));
    main.dataset.ready = 'true';
    return;
  }
  const sub = path.split('/')[3] ?? '';
  renderTrialNav(match.params.trial, sub);
  main.dataset.view = match.view.name;
  const ctx = {
    caller,
    params: match.params,
    query,
    main,
    signal: controller.signal,
    onDispose: (fn) => me.dispose.push(fn),
    announce,
    // Replace the query of the current view (filters): a new history entry.
    setQuery(next, {replace = false} = {}) {
      const url = hashFor(path, next);
      if (replace) history.replaceState(null, '', url);
      else location.hash = url.slice(1);
      if (replace) route();
    },
    setTitle(title) {
      document.title = `${title} · aesignal`;
    },
  };
  try {
    await match.view.render(ctx);
    if (controller.signal.aborted) return;
    renders += 1;
    main.dataset.renders = String(renders);
    main.dataset.route = location.hash;
    main.dataset.ready = 'true';
    if (sameView && focusName) {
      const el = main.querySelector(`[name="${CSS.escape(focusName)}"]`);
      if (el) el.focus();
    } else {
      main.querySelector('h1')?.focus({preventScroll: true});
    }
  } catch (err) {
    if (controller.signal.aborted || err?.name === 'AbortError') return;
    if (err instanceof ApiError && err.httpStatus === 401) return;  // sign-in shown
    showError(err, match);
    renders += 1;
    main.dataset.renders = String(renders);
    main.dataset.route = location.hash;
    main.dataset.ready = 'error';
    main.querySelector('h1').focus();
  }
}

async function start() {
  // The trial a trial view shows is asked for together with the caller, not
  // after it: the first view waits for one round trip instead of two
  // (loadTrial keeps the promise for the view). A refusal is the view's to
  // show, so it is ignored here.
  const trialId = /^\/trials\/([^/]+)/.exec(parseHash().path)?.[1];
  if (trialId) loadTrial(decodeURIComponent(trialId)).catch(() => {});
  try {
    caller = await getCaller();
  } catch (err) {
    if (err instanceof ApiError && err.httpStatus === 401) {
      showSignIn(getToken() ? err : null);
      return;
    }
    caller = null;
    clear(main).append(h('h1', {tabindex: '-1'}, 'Cannot reach aesignald'),
      h('div', {class: 'alert', role: 'alert'}, errorMessage(err)),
      h('p', null, h('button', {type: 'button', on: {click: start}}, 'Try again')));
    main.dataset.ready = 'error';
    return;
  }
  renderWho();
  await route();
}

// A token refused after it was accepted (revoked, or the server restarted
// with other principals) says so, rather than "not accepted".
onUnauthenticated((err) => {
  if (caller) showSignIn(err, undefined, {wasSignedIn: true});
});
window.addEventListener('hashchange', route);
document.getElementById('skip-link').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
start();
