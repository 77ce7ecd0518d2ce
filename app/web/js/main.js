// main.js -- wires the app together and owns what the page shows: which screen (enrol, sign
// in, form and outbox), the connection's state and the list of this week's reports with the
// state of each. The only module with page-wide state (the `app` object below).

import * as db from './db.js';
import * as enrol from './enrol.js';
import * as i18n from './i18n.js';
import * as outbox from './outbox.js';
import { Form, parseWilayah } from './form.js';
import { fetchOk } from './net.js';
import { loadLarvaValidator } from './validate.js';
import { Sender } from './sender.js';
import { Transport } from './transport.js';

const t = i18n.t;
const AGENT = 'pantau-app 0.1.0';
const app = { db: null, form: null, validate: null, transport: null, sender: null,
    device: null, store: null, officer: null, net: { state: 'offline' }, refused: null,
    kelurahanName: new Map(), renderTimer: null, renderGeneration: 0,
    waitingForLock: false, channel: null };

const $ = (sel) => document.querySelector(sel);

function show(id, visible) {
    $(id).hidden = !visible;
}

function renderNet() {
    // a refused phone keeps saying so while it tries again, until a connection is accepted
    if (app.net.state === 'refused') {
        app.refused = app.net;
    } else if (app.net.state === 'connected') {
        app.refused = null;
    }
    const s = app.refused || app.net;
    const key = { connected: 'net_online', connecting: 'net_connecting', offline: 'net_offline',
        refused: 'net_refused', error: 'net_error', other_tab: 'net_other_tab' }[s.state] ||
        'net_disconnected';
    const code = typeof s.code === 'number' ? '0x' + s.code.toString(16) : '?';
    $('#net').textContent = t(key, { code });
    $('#net').dataset.state = s.state;
}

function renderWho() {
    const parts = [];
    if (app.device) {
        parts.push(t('device_is', { device: app.device.device_id }));
    }
    if (app.officer) {
        parts.push(t('officer_is', { officer: app.officer }));
    }
    $('#who').textContent = parts.join(' · ');
}

function stateText(r) {
    if (r.state === 'refused') {
        return t('st_refused', { reason: t('st_refused_dead') });
    }
    if (r.state === 'sent' && typeof r.last_code === 'number' && r.last_code >= 0x80) {
        return t('st_broker_refused', { code: '0x' + r.last_code.toString(16) });
    }
    return t('st_' + r.state);
}

async function renderOutbox() {
    // renders overlap (each awaits the database): only the latest one draws, so that an
    // older read can never overwrite a newer state
    const generation = ++app.renderGeneration;
    const records = (await outbox.all(app.db)).sort((a, b) => b.seq - a.seq);
    if (generation !== app.renderGeneration) {
        return;
    }
    const list = $('#outbox-list');
    const counts = { saved: 0, sent: 0, stored: 0, refused: 0 };
    list.replaceChildren();
    for (const r of records) {
        counts[r.state]++;
        const b = r.body;
        const li = document.createElement('li');
        li.dataset.seq = String(r.seq);
        li.dataset.state = r.state;
        const head = document.createElement('div');
        head.textContent = t('row_summary', { seq: r.seq,
            kelurahan: app.kelurahanName.get(b.kelurahan) || b.kelurahan, rw: b.rw, rt: b.rt,
            building: t('b_' + b.building), larvae: t(b.larvae_found ? 'larvae_yes' : 'larvae_no'),
        }) + ' · ' + i18n.wib(r.saved_ms);
        const st = document.createElement('span');
        st.className = 'state ' + r.state;
        st.textContent = stateText(r);
        li.append(head, st);
        list.append(li);
    }
    $('#outbox-counts').textContent = t('counts', counts);
    show('#outbox-empty', records.length === 0);
}

function scheduleRender() {
    if (app.renderTimer === null) {
        app.renderTimer = setTimeout(() => {
            app.renderTimer = null;
            renderOutbox().catch((e) => console.error(e));
        }, 100);
    }
}

// One tab sends: two would log in with the same client id and take the connection from each
// other in turn. The first tab holds the lock for as long as it lives; another one waits for
// it (and says so), and takes over when the first is closed.
function startSending() {
    if (app.transport !== null || app.waitingForLock || !app.device) {
        return;
    }
    if (!navigator.locks) {
        startTransport();
        return;
    }
    app.waitingForLock = true;
    navigator.locks.request('pantau-app-sender', { ifAvailable: true }, (lock) => {
        if (lock === null) {
            app.net = { state: 'other_tab' };
            renderNet();
            return navigator.locks.request('pantau-app-sender', () => {
                app.waitingForLock = false;
                startTransport();
                return new Promise(() => {}); // held until this tab goes
            });
        }
        app.waitingForLock = false;
        startTransport();
        return new Promise(() => {});
    });
}

function startTransport() {
    app.transport = new Transport({
        url: app.device.url, deviceId: app.device.device_id, key: app.device.device_key,
        storeId: app.store.store_id, agent: AGENT, nextConn: () => enrol.nextConn(app.db),
        onAck: (ack) => app.sender.onAck(ack).catch((e) => console.error(e)),
        onHealth: (topic, h) => app.sender.onHealth(topic, h),
        onState: (s) => {
            app.net = s;
            renderNet();
        },
    });
    app.sender = new Sender({ db: app.db, transport: app.transport,
        storeId: app.store.store_id, onChange: () => {
            scheduleRender();
            app.channel.postMessage('outbox'); // the other tabs draw it too
        } });
    app.sender.start();
    app.transport.start();
}

async function screens() {
    app.device = await enrol.device(app.db);
    app.store = await enrol.store(app.db);
    app.officer = await enrol.officer(app.db);
    show('#enrol', !app.device);
    show('#signin', !!app.device && !app.officer);
    show('#report', !!app.device && !!app.officer);
    show('#outbox', !!app.device);
    renderWho();
    renderNet();
    if (app.device) {
        await renderOutbox();
        startSending();
    }
}

async function onEnrol(ev) {
    ev.preventDefault();
    const c = enrol.parseCode($('#enrol-code').value);
    if (c === null || c === 'old') {
        $('#err-enrol').textContent = t(c === 'old' ? 'enrol_old' : 'enrol_bad');
        return;
    }
    const pending = (await outbox.pending(app.db)).length;
    if (!(await enrol.enrol(app.db, c, pending))) {
        $('#err-enrol').textContent = t('enrol_pending');
        return;
    }
    $('#err-enrol').textContent = '';
    await screens();
}

async function onSignIn(ev) {
    ev.preventDefault();
    const id = $('#signin-officer').value.trim().toLowerCase();
    const password = $('#signin-password').value;
    if (!enrol.officerValid(id)) {
        $('#err-signin').textContent = t('signin_bad');
        return;
    }
    const button = $('#signin-form button[type=submit]');
    button.disabled = true; // PBKDF2 takes a moment on a phone
    $('#err-signin').textContent = t('signin_checking');
    let verdict;
    try {
        verdict = await enrol.signIn(app.db, id, password);
    } finally {
        button.disabled = false;
    }
    $('#signin-password').value = '';
    if (verdict !== 'ok') {
        $('#err-signin').textContent = t(verdict === 'unknown' ? 'signin_unknown' : 'signin_wrong',
            { officer: id });
        return;
    }
    $('#err-signin').textContent = '';
    await screens();
}

// The language chosen (i18n/<lang>.json), kept on the phone; the page starts again in it.
async function onLang() {
    await db.putMeta(app.db, { key: 'lang', lang: $('#lang').value });
    location.reload();
}

async function onSignOut() {
    await enrol.signOut(app.db);
    await screens();
}

async function onSave(ev) {
    ev.preventDefault();
    const button = $('#f-save');
    if (button.disabled) {
        return;
    }
    // a second tap while this one saves, or just after, is the same report: the button is off
    // meanwhile, and the outbox keeps one report per form instance whatever happens
    button.disabled = true;
    let saved = false;
    try {
        saved = await saveForm();
    } finally {
        setTimeout(() => {
            button.disabled = false;
        }, saved ? 800 : 0);
    }
}

async function saveForm() {
    const form = app.form;
    const formId = form.formId;
    const fields = form.read();
    const ts = new Date().toISOString();
    const build = (store, seq) => Object.assign({ store, seq, ts, clock_synced: true,
        replay: false, inspector: app.officer }, fields);
    // judged with the store's next seq; the seq itself cannot make a report invalid
    const errs = app.validate(build(app.store.store_id, 1));
    if (form.showErrors(errs) > 0) {
        return false;
    }
    const record = await outbox.save(app.db, formId, (store, seq) => {
        const body = build(store, seq);
        delete body.replay; // set at each send (sender.payloadOf)
        return body;
    });
    if (form.formId === formId) {
        await db.putMeta(app.db, { key: 'form', kelurahan: fields.kelurahan, rw: fields.rw,
            rt: fields.rt });
        form.reset({ kelurahan: fields.kelurahan, rw: fields.rw, rt: fields.rt });
    }
    $('#f-saved').textContent = t('saved_msg', { seq: record.seq });
    scheduleRender();
    app.sender.tick();
    return true;
}

async function boot() {
    if ('serviceWorker' in navigator) {
        navigator.serviceWorker.register('sw.js').catch((e) => console.error('sw', e));
    }
    app.db = await db.open();
    app.channel = new BroadcastChannel('pantau-app');
    app.channel.onmessage = () => scheduleRender();
    const lang = ((await db.getMeta(app.db, 'lang')) || {}).lang || 'id';
    await i18n.load(lang);
    i18n.apply();
    $('#lang').value = lang;
    $('#lang').addEventListener('change', () => onLang().catch(fail));
    app.validate = await loadLarvaValidator('schema/');
    const csv = await (await fetchOk('data/bekasi_wilayah.csv')).text();
    const kelurahan = parseWilayah(csv);
    app.kelurahanName = new Map(kelurahan.map((k) => [k.code, k.name]));
    app.form = new Form($('#larva-form'), kelurahan);
    const last = (await db.getMeta(app.db, 'form')) || {};
    app.form.reset(last);
    await outbox.prune(app.db);
    $('#enrol-form').addEventListener('submit', (e) => onEnrol(e).catch(fail));
    $('#signin-form').addEventListener('submit', (e) => onSignIn(e).catch(fail));
    $('#larva-form').addEventListener('submit', (e) => onSave(e).catch(fail));
    $('#signout').addEventListener('click', () => onSignOut().catch(fail));
    const fromLink = location.hash.startsWith('#enrol=') ? location.hash : '';
    if (fromLink) {
        $('#enrol-code').value = fromLink;
        history.replaceState(null, '', location.pathname); // the key leaves the address bar
    }
    await screens();
    document.body.dataset.ready = 'true';
}

function fail(e) {
    console.error(e);
    const p = $('#boot-error');
    p.textContent = String(e && e.message ? e.message : e);
    p.hidden = false;
}

boot().catch(fail);
