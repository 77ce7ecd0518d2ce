// live.js -- the live stream (GET /api/events, server-sent events). EventSource reconnects by
// itself and sends Last-Event-ID, so the server replays what was missed; when the server
// refuses the stream (logged out, restarted) this module opens a new one after a pause. It
// owns the one EventSource of the page and tells listeners of `alert` and `data` events and of
// the connection's state ('connecting', 'on', 'off').

const RETRY_MS = 5000;
const listeners = { alert: [], data: [], state: [] };
let source = null;
let retryTimer = null;

function emit(type, detail) {
  listeners[type].forEach((fn) => fn(detail));
}

function parse(e) {
  try {
    return JSON.parse(e.data);
  } catch (err) {
    return {};
  }
}

function open() {
  emit('state', 'connecting');
  source = new EventSource('/api/events');
  source.addEventListener('open', () => emit('state', 'on'));
  source.addEventListener('alert', (e) => emit('alert', { id: e.lastEventId, ...parse(e) }));
  source.addEventListener('data', (e) => emit('data', { id: e.lastEventId, ...parse(e) }));
  source.addEventListener('error', () => {
    emit('state', 'off');
    if (source.readyState === EventSource.CLOSED) {
      // refused (e.g. 401 or 503): EventSource gives up; try again ourselves
      source = null;
      clearTimeout(retryTimer);
      retryTimer = setTimeout(open, RETRY_MS);
    }
  });
}

function close() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (source !== null) {
    source.close();
    source = null;
  }
}

// Starts the stream (once). A page that is left closes its stream at once: else a browser
// may keep the connection of a page it holds in its back/forward cache, and after a few
// reloads its six connections per host are all taken by streams of pages no one sees (the
// page then waits for ever on its own requests). A page shown again opens a new one.
export function startLive() {
  if (source === null && retryTimer === null) {
    open();
    window.addEventListener('pagehide', close);
    window.addEventListener('pageshow', (e) => {
      if (e.persisted && source === null) {
        open();
      }
    });
  }
}

// Calls fn(detail) on every event of type ('alert', 'data' or 'state'); returns a function
// that stops it.
export function onLive(type, fn) {
  listeners[type].push(fn);
  return () => {
    listeners[type] = listeners[type].filter((f) => f !== fn);
  };
}
