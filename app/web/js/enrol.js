// enrol.js -- the phone's identity: the enrolment code that `pantau-admin enrol-phone` prints
// (app/README.md "Enrolment"), the device account and a new store made from it, and the
// officer who is signed in. The code is text (also shown as a QR code or link):
//   pantau2;<device id>;<device key, 64 hex digits>;<broker URL, ws:// or wss://>;<officer>...
// each <officer> being <account>:<iterations>$<salt, 32 hex>$<check, 64 hex>: an officer account
// the phone carries, with her password hash's iterations and salt (msg/msg_secret.h) and the
// SHA-256 of its PBKDF2 output; she signs in with her password, checked here with WebCrypto's
// PBKDF2, online or not (app/README.md "Signing in"). The collector stores reports only for these officers.
// Not for: reports (outbox.js).

import { getMeta, putMeta, done } from './db.js';

const DEVICE_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/; // protocol.md 2
const KEY = /^[0-9a-f]{64}$/;
// an officer account's name (pantau_ops.account.username, schema/005)
const OFFICER = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const VERIFIER = /^([0-9]{6,8})\$([0-9a-f]{32})\$([0-9a-f]{64})$/;

// Parses a code (or a link whose fragment is #enrol=<code>). Returns {deviceId, key, url,
// officers: [{id, verifier}]}, 'old' for a pantau1 code (from before officers were listed: it
// names none, so nobody could sign in), or null.
export function parseCode(text) {
    let s = String(text || '').trim();
    const at = s.indexOf('#enrol=');
    if (at >= 0) {
        s = decodeURIComponent(s.slice(at + 7));
    }
    const parts = s.split(';');
    if (parts[0] === 'pantau1') {
        return 'old';
    }
    if (parts.length < 5 || parts[0] !== 'pantau2') {
        return null;
    }
    const url = parts[3];
    if (!DEVICE_ID.test(parts[1]) || !KEY.test(parts[2]) || !/^wss?:\/\/[^\s]+$/.test(url)) {
        return null;
    }
    const officers = [];
    for (const o of parts.slice(4)) {
        const colon = o.indexOf(':');
        const id = o.slice(0, colon);
        const verifier = o.slice(colon + 1);
        if (colon < 1 || !OFFICER.test(id) || !VERIFIER.test(verifier)) {
            return null;
        }
        officers.push({ id, verifier });
    }
    return { deviceId: parts[1], key: parts[2], url, officers };
}

function hexBytes(hex) {
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) {
        out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    }
    return out;
}

// Whether password is the one of verifier (VERIFIER's form): the SHA-256 of PBKDF2-HMAC-SHA512
// over the password's UTF-8 with the salt's 16 bytes, 64 bytes out (what
// msg_secret_password_verify compares), is its check.
async function passwordMatches(verifier, password) {
    const m = VERIFIER.exec(verifier);
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password),
        'PBKDF2', false, ['deriveBits']);
    const dk = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-512',
        salt: hexBytes(m[2]), iterations: Number(m[1]) }, key, 512);
    const bits = new Uint8Array(await crypto.subtle.digest('SHA-256', dk));
    const want = hexBytes(m[3]);
    let diff = 0;
    for (let i = 0; i < want.length; i++) {
        diff |= bits[i] ^ want[i];
    }
    return diff === 0;
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
        officers: c.officers, enrolled_ms: Date.now() });
    meta.delete('officer');
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

// Signs the officer id in with password if the phone carries her (its enrolment code listed
// her) and the password is hers. Returns 'ok', 'unknown' (not an officer of this phone) or
// 'password' (wrong password).
export async function signIn(db, id, password) {
    const dev = await getMeta(db, 'device');
    const o = ((dev && dev.officers) || []).find((x) => x.id === id);
    if (!o) {
        return 'unknown';
    }
    if (!(await passwordMatches(o.verifier, password))) {
        return 'password';
    }
    await putMeta(db, { key: 'officer', id, since_ms: Date.now() });
    return 'ok';
}

export async function signOut(db) {
    const tx = db.transaction('meta', 'readwrite');
    tx.objectStore('meta').delete('officer');
    await done(tx);
}
