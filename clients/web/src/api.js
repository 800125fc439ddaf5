// The HTTP/JSON API of aesignald (docs/api.md, "HTTP/JSON"): fetch with the
// bearer token of this browser session, errors in Google's JSON error shape
// turned into ApiError with a readable message, 401 -> the sign-in prompt.

import {caller as normalizeCaller} from './normalize.js';

const TOKEN_KEY = 'aesignal.token';

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}
export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor({httpStatus, status, message, details, path}) {
    super(message);
    this.name = 'ApiError';
    this.httpStatus = httpStatus;  // e.g. 404
    this.status = status;          // e.g. "NOT_FOUND"
    this.details = details ?? [];  // google.rpc details with "@type"
    this.path = path;
  }
  // Field violations of a google.rpc.BadRequest, if any.
  get fieldViolations() {
    return this.details
      .filter((d) => String(d['@type']).endsWith('google.rpc.BadRequest'))
      .flatMap((d) => d.fieldViolations ?? []);
  }
  get reason() {
    const info = this.details.find((d) => String(d['@type']).endsWith('google.rpc.ErrorInfo'));
    return info?.reason ?? '';
  }
}

const STATUS_WORDS = {
  UNAUTHENTICATED: 'Not signed in',
  PERMISSION_DENIED: 'Not allowed for your role',
  NOT_FOUND: 'Not found',
  INVALID_ARGUMENT: 'Invalid request',
  FAILED_PRECONDITION: 'Not possible now',
  ALREADY_EXISTS: 'Already exists',
  UNAVAILABLE: 'Server unavailable',
  RESOURCE_EXHAUSTED: 'Too many requests',
  DEADLINE_EXCEEDED: 'Timed out',
};

// A sentence a person can act on.
export function errorMessage(err) {
  if (!(err instanceof ApiError)) {
    if (err?.name === 'AbortError') return 'Cancelled.';
    return `Could not reach the server (${err?.message ?? err}).`;
  }
  const head = STATUS_WORDS[err.status] ?? (err.status || `HTTP ${err.httpStatus}`);
  const violations = err.fieldViolations.map((v) => `${v.field}: ${v.description}`);
  const text = violations.length && !violations.every((v) => err.message.includes(v))
    ? `${err.message} (${violations.join('; ')})`
    : err.message;
  return `${head}: ${text}`;
}

// Listeners for "the token was refused" (main.js shows the sign-in prompt).
const unauthenticatedListeners = new Set();
export function onUnauthenticated(fn) {
  unauthenticatedListeners.add(fn);
}
export function notifyUnauthenticated(err) {
  for (const fn of unauthenticatedListeners) fn(err);
}

// `/v1/trials/{t}/...` from segments, each percent-encoded. A segment may be
// given as {path: 'a/b'} to keep its slashes (report ids may contain '/'):
// each part is encoded and the parts are joined by '/'.
export function v1(...segments) {
  return `/v1/${segments.map((s) => (typeof s === 'object' && s
    ? s.path.split('/').map(encodeURIComponent).join('/')
    : encodeURIComponent(s))).join('/')}`;
}

// Query string from an object: proto field names; arrays repeat the key;
// undefined, null and '' are left out.
export function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

export function authHeaders(extra = {}) {
  const headers = {Accept: 'application/json', ...extra};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

async function errorFrom(res, path) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON (e.g. a proxy's page)
  }
  const e = body?.error;
  return new ApiError({
    httpStatus: res.status,
    status: e?.status ?? '',
    message: e?.message || res.statusText || `HTTP ${res.status}`,
    details: e?.details,
    path,
  });
}

// One call. `query` as for queryString; `body` is sent as JSON.
export async function api(path, {method, query, body, signal} = {}) {
  const url = path + queryString(query);
  const init = {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    headers: authHeaders(body === undefined ? {} : {'Content-Type': 'application/json'}),
    signal,
    cache: 'no-store',
    credentials: 'omit',
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(url, init);
  if (!res.ok) {
    const err = await errorFrom(res, path);
    if (res.status === 401) notifyUnauthenticated(err);
    throw err;
  }
  return res.json();
}

// Every page of a List: follows nextPageToken; `field` is the repeated field.
// `map` normalizes each item (normalize.js).
// `onPage(page)` sees each raw page (for fields beside the items).
export async function listAll(path, field, {query = {}, signal, pageSize = 1000, limit = Infinity, map = (x) => x, onPage} = {}) {
  const items = [];
  let pageToken = '';
  do {
    const page = await api(path, {query: {...query, page_size: pageSize, page_token: pageToken}, signal});
    onPage?.(page);
    items.push(...(page[field] ?? []).map(map));
    pageToken = page.nextPageToken ?? '';
  } while (pageToken && items.length < limit);
  return items;
}

// Who is calling: {principal, role, sites, authenticated}.
export async function getCaller(signal) {
  return normalizeCaller(await api('/v1/caller', {signal}));
}

// The v1 methods each role may call (services/access/policy.cc), used only
// to decide what to show: the server enforces it.
const SITE = new Set(['GetTrial', 'EnrollSubjects', 'GetSubject', 'SubmitReports',
  'StreamReports', 'GetReport', 'ListReports']);
const SAFETY_OFFICER = new Set(['GetTrial', 'ListTrials', 'ListSubjects', 'GetSubject',
  'GetIncidence', 'GetReport', 'ListReports', 'ListBaselines', 'GetBaseline',
  'ListSignals', 'GetSignal', 'TriageSignal', 'UpdateSignal', 'WatchSignals',
  'ListTopics', 'GetTopic', 'TriageTopic', 'WatchTopics', 'ListAuditRecords',
  'GetAuditTrail', 'GenerateDsmbReport']);
// A DSMB member reads what the board reviews: no triage, no audit trail.
// Written out, so that a new officer-only method is not a member's by default.
const DSMB_MEMBER = new Set(['GetTrial', 'ListTrials', 'ListSubjects', 'GetSubject',
  'GetIncidence', 'GetReport', 'ListReports', 'ListBaselines', 'GetBaseline',
  'ListSignals', 'GetSignal', 'WatchSignals', 'ListTopics', 'GetTopic', 'WatchTopics',
  'GenerateDsmbReport']);
// A role as the page names it ("DSMB member").
export function roleLabel(role) {
  return {admin: 'Administrator', safety_officer: 'Safety officer', dsmb_member: 'DSMB member', site: 'Site'}[role] ?? role;
}

export function may(caller, method) {
  switch (caller?.role) {
    case 'admin': return true;
    case 'safety_officer': return SAFETY_OFFICER.has(method);
    case 'dsmb_member': return DSMB_MEMBER.has(method);
    case 'site': return SITE.has(method);
    default: return false;
  }
}
