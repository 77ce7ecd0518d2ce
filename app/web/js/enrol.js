// enrol.js -- the phone's identity: the enrolment code that `pantau-admin enrol-phone` prints
// (app/README.md "Enrolment"), the device account and a new store made from it, and the
// officer who is signed in. The code is text (also shown as a QR code or link):
//   pantau1;<device id>;<device key, 64 hex digits>;<broker URL, ws:// or wss://>
// Not for: reports (outbox.js).

import { getMeta, putMeta, done } from './db.js';

const DEVICE_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/; // protocol.md 2
const KEY = /^[0-9a-f]{64}$/;
// protocol.md 2 and schema/json/defs.json id_text: the officer id is an id, so it is checked
// again by the validator with the report; here only its length and the characters a person
// types (letters, digits, . _ -), so that a typing slip is caught at sign-in.
const OFFICER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

// Parses a code (or a link whose fragment is #enrol=<code>). Returns {deviceId, key, url} or
// null.
export function parseCode(text) {
    let s = String(text || '').trim();
    const at = s.indexOf('#enrol=');
    if (at >= 0) {
        s = decodeURIComponent(s.slice(at + 7));
    }
    const parts = s.split(';');
    if (parts.length < 4 || parts[0] !== 'pantau1') {
        return null;
    }
    const url = parts.slice(3).join(';');
    if (!DEVICE_ID.test(parts[1]) || !KEY.test(parts[2]) || !/^wss?:\/\/[^\s]+$/.test(url)) {
        return null;
    }
    return { deviceId: parts[1], key: parts[2], url };
}

export async function device(db) {
    return getMeta(db, 'device');
}

export async function store(db) {
    return getMeta(db, 'store');
}

// Enrols this phone with code c (parseCode's): the device account, and a new store (a new
// random store id, seq from 1). Refused (returns false) while reports wait to be stored: a new
// store would orphan them.
export async function enrol(db, c, pendingCount) {
    if (pendingCount > 0) {
        return false;
    }
    const tx = db.transaction('meta', 'readwrite');
    const meta = tx.objectStore('meta');
    meta.put({ key: 'device', device_id: c.deviceId, device_key: c.key, url: c.url,
        enrolled_ms: Date.now() });
    meta.put({ key: 'store', store_id: crypto.randomUUID(), next_seq: 1, conn: 0 });
    await done(tx);
    return true;
}

// The next connection counter (protocol 5), incremented and saved before it is used.
export function nextConn(db) {
    const tx = db.transaction('meta', 'readwrite');
    const meta = tx.objectStore('meta');
    let conn = 0;
    const g = meta.get('store');
    g.onsuccess = () => {
        const s = g.result;
        s.conn = (s.conn || 0) + 1;
        conn = s.conn;
        meta.put(s);
    };
    return done(tx).then(() => conn);
}

export function officerValid(id) {
    return OFFICER.test(id);
}

export async function officer(db) {
    const o = await getMeta(db, 'officer');
    return o ? o.id : null;
}

export async function signIn(db, id) {
    await putMeta(db, { key: 'officer', id, since_ms: Date.now() });
}

export async function signOut(db) {
    const tx = db.transaction('meta', 'readwrite');
    tx.objectStore('meta').delete('officer');
    await done(tx);
}
