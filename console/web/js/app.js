// app.js -- the console's shell: who is logged in, the router (hash routes), the language
// switch, the live stream and the Siaga 1 flash. Each view is a module exporting
// render(root, params, ctx); it may return { refresh(), destroy() }: refresh() runs on every
// live event (else the view is rendered again), destroy() when the view is left.
//
// Routes: #/peta (map.js), #/pos/<station> (gauge.js), #/lalu-lintas (traffic.js),
// #/jumantik (jumantik.js), #/peringatan (alerts.js), #/sistem (system.js).
import { loadLang, t, translate, bindLangSelect } from './i18n.js';
import { apiGet, apiPost, setCsrf, ApiError } from './api.js';
import { startLive, onLive } from './live.js';
import { formatWIB, ago, timeElement } from './time.js';
import { watchSiaga1 } from './alerts.js';

const ROUTES = {
  peta: './map.js',
  pos: './gauge.js',
  'lalu-lintas': './traffic.js',
  jumantik: './jumantik.js',
  peringatan: './alerts.js',
  sistem: './system.js',
};

const state = {
  session: null, current: null, routeName: '', seq: 0, refreshing: false, refreshAgain: false,
};

function banner(text) {
  const el = document.getElementById('banner');
  el.textContent = text || '';
  el.hidden = !text;
}

// Shows an error of a view (an ApiError or anything else) in the banner.
function showError(err) {
  banner(err instanceof ApiError ? err.text() : String(err));
}

function roleText(s) {
  if (s.role === 'unit') {
    return t('role.unit', { unit: s.unit });
  }
  return t(`role.${s.role}`);
}

function showUser() {
  const s = state.session;
  document.getElementById('user').textContent = `${s.user} (${roleText(s)})`;
}

function parseHash() {
  const parts = (window.location.hash || '#/peta').replace(/^#\/?/, '').split('/');
  return { name: parts[0] || 'peta', args: parts.slice(1).map(decodeURIComponent) };
}

function ctxFor() {
  return {
    session: state.session,
    tileUrl: state.session.tile_url,
    api: { get: apiGet, post: apiPost },
    t,
    time: { formatWIB, ago, timeElement },
    showError,
    clearError: () => banner(''),
  };
}

async function route() {
  const { name, args } = parseHash();
  const seq = ++state.seq;
  const root = document.getElementById('view');
  if (state.current && state.current.destroy) {
    state.current.destroy();
  }
  state.current = null;
  state.routeName = name;
  banner('');
  document.querySelectorAll('.main-nav a').forEach((a) => {
    const here = a.dataset.route === name || (name === 'pos' && a.dataset.route === 'peta');
    if (here) {
      a.setAttribute('aria-current', 'page');
    } else {
      a.removeAttribute('aria-current');
    }
  });
  root.replaceChildren();
  root.setAttribute('aria-busy', 'true');
  if (!ROUTES[name]) {
    root.textContent = t('app.not_found');
    root.removeAttribute('aria-busy');
    return;
  }
  let mod;
  try {
    mod = await import(ROUTES[name]);
  } catch (e) {
    if (seq === state.seq) {
      root.textContent = t('app.view_missing');
      root.removeAttribute('aria-busy');
    }
    return;
  }
  if (seq !== state.seq) {
    return;
  }
  const params = { args, station: name === 'pos' ? args[0] : undefined };
  try {
    state.current = (await mod.render(root, params, ctxFor())) || { rerender: mod.render };
  } catch (e) {
    showError(e);
  }
  root.removeAttribute('aria-busy');
}

// A live event: the view fetches its data again at once, one refresh at a time; events that
// come during a refresh make one more after it (the server already sends at most one `data`
// event per sse_coalesce, so a burst costs two fetches, not one per event and not a wait).
async function onChange() {
  if (state.refreshing) {
    state.refreshAgain = true;
    return;
  }
  state.refreshing = true;
  try {
    do {
      state.refreshAgain = false;
      const cur = state.current;
      if (cur === null) {
        break;
      }
      try {
        if (cur.refresh) {
          await cur.refresh();
          banner(''); // fetched again: whatever error was shown is over
        } else {
          await route();
        }
      } catch (e) {
        showError(e);
      }
    } while (state.refreshAgain);
  } finally {
    state.refreshing = false;
  }
}

function showLive(s) {
  const el = document.getElementById('live');
  el.dataset.state = s;
  el.textContent = t(`live.${s}`);
}

async function main() {
  await loadLang();
  try {
    state.session = await apiGet('session');
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) {
      banner(e instanceof ApiError ? e.text() : String(e));
    }
    return;
  }
  setCsrf(state.session.csrf);
  document.body.dataset.role = state.session.role;
  showUser();
  bindLangSelect(document.getElementById('lang'), () => {
    translate(document);
    showUser();
    showLive(document.getElementById('live').dataset.state);
    route();
  });
  document.getElementById('logout').addEventListener('click', async () => {
    try {
      await apiPost('logout');
    } finally {
      window.location.assign('login.html');
    }
  });
  onLive('state', showLive);
  onLive('alert', onChange);
  onLive('data', onChange);
  window.addEventListener('hashchange', route);
  watchSiaga1({ api: { get: apiGet }, t, onLive });
  startLive();
  await route();
}

main();
