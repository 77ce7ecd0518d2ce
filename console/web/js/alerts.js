// alerts.js -- the alerts view (#/peringatan): open alerts loudest first (the order
// pantau_console.alerts gives), acknowledge with a note (the person is the account logged in)
// and resolve. Buttons only for accounts that may act; the server and the database refuse the
// others anyway. Also watchSiaga1(): a flash and a sound on every new Siaga 1 alert, whatever
// view is open.

const SIAGA_CLASS = { 1: 'siaga-1', 2: 'siaga-2', 3: 'siaga-3', 4: 'siaga-4' };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  Object.entries(attrs).forEach(([k, v]) => {
    if (k === 'class') {
      e.className = v;
    } else if (k === 'text') {
      e.textContent = v;
    } else {
      e.setAttribute(k, v);
    }
  });
  children.filter((c) => c !== null && c !== undefined).forEach((c) => e.append(c));
  return e;
}

function place(a) {
  return a.station_name || a.station_id || a.area_name || a.device_id || a.subject;
}

function alertCard(a, ctx, reload) {
  const { t, time } = ctx;
  const level = a.level ? el('span', { class: `badge ${SIAGA_CLASS[a.level]}`,
    text: t('alerts.siaga', { n: a.level }) }) : null;
  const head = el('h3', {}, level, ' ', `${t(`kind.${a.kind}`)} — ${place(a)}`);
  const stateText = el('span', { class: `state state-${a.state}`,
    text: t(`alerts.state.${a.state}`) });
  const when = el('p', { class: 'when' }, t('alerts.condition', { t: '' }),
    time.timeElement(a.condition_time), ' · ', time.ago(a.condition_time));
  const card = el('article', { class: `alert-card ${a.level ? SIAGA_CLASS[a.level] : ''}`,
    'data-alert-id': String(a.alert_id), 'data-state': a.state }, head, stateText, when);
  if (a.note) {
    card.append(el('p', { class: 'note', text: a.note }));
  }
  if (a.units && a.units.length) {
    card.append(el('p', { class: 'units', text: t('alerts.units', { units: a.units.join(', ') }) }));
  }
  if (a.acknowledged_by) {
    card.append(el('p', { class: 'acked' }, t('alerts.acknowledged_by',
      { who: a.acknowledged_by, t: time.formatWIB(a.acknowledged_at) }),
    a.acknowledged_note ? ` — “${a.acknowledged_note}”` : ''));
  }
  if (a.resolved_by) {
    card.append(el('p', { class: 'resolved' }, t('alerts.resolved_by',
      { who: a.resolved_by, t: time.formatWIB(a.resolved_at) }),
    a.resolved_note ? ` — “${a.resolved_note}”` : ''));
  }
  if (a.may_act) {
    const noteId = `note-${a.alert_id}`;
    const note = el('input', { id: noteId, name: 'note', maxlength: '1000', autocomplete: 'off' });
    const form = el('form', { class: 'act' }, el('label', { for: noteId, text: t('alerts.note') }),
      note);
    const act = async (what, button) => {
      button.disabled = true;
      try {
        await ctx.api.post(`alerts/${a.alert_id}/${what}`, { note: note.value });
        ctx.clearError();
        await reload();
      } catch (e) {
        ctx.showError(e);
        button.disabled = false;
      }
    };
    if (a.state === 'open') {
      const ack = el('button', { type: 'submit', class: 'ack', text: t('alerts.ack') });
      form.append(ack);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        act('ack', ack);
      });
    } else {
      form.addEventListener('submit', (e) => e.preventDefault());
    }
    const resolve = el('button', { type: 'button', class: 'resolve', text: t('alerts.resolve') });
    resolve.addEventListener('click', () => act('resolve', resolve));
    form.append(resolve);
    card.append(form);
  }
  return card;
}

export async function render(root, params, ctx) {
  const { t } = ctx;
  let filter = 'open';
  const title = el('h2', { text: t('alerts.title') });
  const asOf = el('p', { class: 'as-of' });
  const list = el('div', { class: 'alert-list', 'aria-live': 'polite' });
  const toggle = el('div', { class: 'filter', role: 'group' });
  const openBtn = el('button', { type: 'button', 'aria-pressed': 'true', text: t('alerts.show_open') });
  const allBtn = el('button', { type: 'button', 'aria-pressed': 'false', text: t('alerts.show_all') });
  toggle.append(openBtn, allBtn);
  root.append(el('section', { class: 'alerts-view' }, title, toggle, asOf, list));

  async function reload() {
    const data = await ctx.api.get('alerts', { state: filter });
    asOf.textContent = t('time.as_of', { t: ctx.time.formatWIB(data.as_of, true) });
    const cards = data.alerts.map((a) => alertCard(a, ctx, reload));
    list.replaceChildren(...(cards.length ? cards : [el('p', { class: 'empty', text: t('alerts.none') })]));
  }
  const setFilter = (f) => {
    filter = f;
    openBtn.setAttribute('aria-pressed', String(f === 'open'));
    allBtn.setAttribute('aria-pressed', String(f === 'all'));
    reload().then(ctx.clearError, ctx.showError);
  };
  openBtn.addEventListener('click', () => setFilter('open'));
  allBtn.addEventListener('click', () => setFilter('all'));
  await reload();
  return { refresh: reload };
}

// A short two-tone beep (Web Audio: no file, nothing from the internet). Browsers allow sound
// only after the person has touched the page; the flash is shown either way.
function beep() {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    const ac = new Ctx();
    [0, 0.35, 0.7].forEach((at, i) => {
      const o = ac.createOscillator();
      const g = ac.createGain();
      o.frequency.value = i % 2 ? 660 : 880;
      g.gain.value = 0.2;
      o.connect(g).connect(ac.destination);
      o.start(ac.currentTime + at);
      o.stop(ac.currentTime + at + 0.3);
    });
  } catch (e) {
    // no audio: the flash still shows
  }
}

// Watches the open alerts: a new Siaga 1 (one not seen before on this page) flashes a banner
// over every view and beeps. The first look only learns what is open already.
export function watchSiaga1({ api, t, onLive }) {
  const seen = new Set();
  let first = true;
  const flash = document.getElementById('flash');
  const check = async () => {
    let data;
    try {
      data = await api.get('alerts', { state: 'open' });
    } catch (e) {
      return;
    }
    const fresh = data.alerts.filter((a) => a.level === 1 && a.state === 'open'
      && !seen.has(a.alert_id));
    fresh.forEach((a) => seen.add(a.alert_id));
    if (!first && fresh.length) {
      const btn = el('button', { type: 'button', text: t('alerts.dismiss') });
      btn.addEventListener('click', () => {
        flash.hidden = true;
        document.body.classList.remove('flashing');
      });
      flash.replaceChildren(el('a', { href: '#/peringatan',
        text: t('alerts.new_siaga1', { place: [...new Set(fresh.map(place))].join(', ') }) }),
      ' ', btn);
      flash.hidden = false;
      document.body.classList.add('flashing');
      beep();
    }
    first = false;
  };
  onLive('alert', check);
  check();
}
