// api.js -- every call to the console's API: a timeout, the CSRF header on POST, and an error
// the page can show (never a blank page). This module owns the CSRF token of the session.
import { t } from './i18n.js';

const TIMEOUT_MS = 10000;
let csrfToken = '';

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }

  // The sentence a person reads.
  text() {
    if (this.code === 'timeout') {
      return t('error.timeout', { s: TIMEOUT_MS / 1000 });
    }
    if (this.code === 'network') {
      return t('error.network');
    }
    if (this.code === 'database_unavailable') {
      return t('error.database');
    }
    if (this.code === 'not_available') {
      return t('error.not_available');
    }
    if (this.status === 403 && this.code === 'csrf') {
      return t('error.csrf');
    }
    if (this.status === 403) {
      return t('error.forbidden');
    }
    if (this.status === 409) {
      return t('error.conflict');
    }
    return t('error.other', { status: this.status, detail: this.detail || this.code });
  }
}

export function setCsrf(token) {
  csrfToken = token || '';
}

async function call(method, path, body) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  const headers = { Accept: 'application/json' };
  if (method === 'POST') {
    headers['Content-Type'] = 'application/json';
    if (csrfToken) {
      headers['X-CSRF-Token'] = csrfToken;
    }
  }
  let res;
  try {
    res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin', cache: 'no-store', signal: ctrl.signal,
    });
  } catch (e) {
    throw new ApiError(0, e.name === 'AbortError' ? 'timeout' : 'network', String(e));
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    data = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data && data.error ? data.error : 'http',
      data && data.detail ? data.detail : res.statusText);
    err.retryAfter = Number(res.headers.get('Retry-After') || 0);
    if (res.status === 401 && path !== '/api/login') {
      window.location.assign('login.html');
    }
    throw err;
  }
  return data;
}

// GET /api/<name>?params: the SQL function's JSON.
export function apiGet(name, params = {}) {
  const q = new URLSearchParams();
  Object.entries(params).forEach(([k, v]) => {
    if (v !== undefined && v !== null && v !== '') {
      q.set(k, v);
    }
  });
  const qs = q.toString();
  return call('GET', `/api/${name}${qs ? `?${qs}` : ''}`);
}

export function apiPost(path, body = {}) {
  return call('POST', `/api/${path}`, body);
}
