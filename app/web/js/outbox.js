// outbox.js -- the reports on the phone, the source of truth until the POC has them
// (protocol.md 11, as the reference agent's store on a gateway). A report is written with its
// store id and seq in ONE IndexedDB transaction (the seq is taken from meta "store" and the
// record added together, or neither), before anything is sent. States:
//   saved    on the phone, never sent
//   sent     published at least once, no acknowledgement covers it yet (a PUBACK changes nothing)
//   stored   an acknowledgement of the collector (6.1) covers it: PostgreSQL committed it; the
//            address and GPS are removed from the phone then (UU PDP 27/2022)
//   refused  covered by an acknowledgement as `dead` (a dead letter at the POC, 6.1)
// The broker's refusals (PUBACK 0x80 and above) are noted on the record (last_code) and the
// report is tried again (7.3); they never end it.
// Not for: sending (sender.js) or the MQTT connection (transport.js).

import { done, req } from './db.js';

const PERSONAL = ['address', 'lat', 'lon'];
export const KEEP_MS = 7 * 24 * 3600 * 1000; // the officer's list: one week

// Saves report (the payload without store, seq and replay) for form instance formId.
// build(store, seq) must return the full payload; it is called inside the transaction.
// Returns the record; a second save of the same form instance returns the first record and
// writes nothing (a double tap is one report).
export function save(db, formId, build) {
    const tx = db.transaction(['meta', 'outbox'], 'readwrite');
    const meta = tx.objectStore('meta');
    const out = tx.objectStore('outbox');
    let result = null;
    const dup = out.index('form_id').get(formId);
    dup.onsuccess = () => {
        if (dup.result !== undefined) {
            result = dup.result;
            return;
        }
        const st = meta.get('store');
        st.onsuccess = () => {
            const store = st.result;
            if (store === undefined) {
                tx.abort();
                return;
            }
            const seq = store.next_seq;
            const body = build(store.store_id, seq);
            result = {
                seq, form_id: formId, state: 'saved', body, saved_ms: Date.now(),
                sends: 0, last_send_ms: 0, next_try_ms: 0, last_code: null,
            };
            out.add(result);
            store.next_seq = seq + 1;
            meta.put(store);
        };
    };
    return done(tx).then(() => result);
}

export async function all(db) {
    const tx = db.transaction('outbox', 'readonly');
    return req(tx.objectStore('outbox').getAll());
}

// The records still to be sent or acknowledged (saved, sent), oldest first.
export async function pending(db) {
    const records = await all(db);
    return records.filter((r) => r.state === 'saved' || r.state === 'sent');
}

// Notes a send of record seq: state sent, the time, the next try, the PUBACK's reason code.
export function noteSend(db, seq, fields) {
    const tx = db.transaction('outbox', 'readwrite');
    const out = tx.objectStore('outbox');
    const g = out.get(seq);
    g.onsuccess = () => {
        const r = g.result;
        if (r === undefined || (r.state !== 'saved' && r.state !== 'sent')) {
            return; // acknowledged meanwhile: nothing to note
        }
        Object.assign(r, fields);
        if (r.state === 'saved') {
            r.state = 'sent';
        }
        out.put(r);
    };
    return done(tx);
}

function inRanges(seq, ranges) {
    return Array.isArray(ranges) &&
        ranges.some((p) => Array.isArray(p) && seq >= p[0] && seq <= p[1]);
}

// Applies one acknowledgement (protocol.md 6.1) for our store: every held report it covers is
// stored (or refused when in `dead`), and loses its address and GPS. Ranges covering reports
// we do not hold are ignored. Returns the number of records changed.
export function applyAck(db, storeId, ack) {
    const items = (ack && Array.isArray(ack.acks) ? ack.acks : []).filter(
        (a) => a && a.store === storeId && Array.isArray(a.ranges));
    if (items.length === 0) {
        return Promise.resolve(0);
    }
    const tx = db.transaction('outbox', 'readwrite');
    const out = tx.objectStore('outbox');
    let changed = 0;
    for (const item of items) {
        for (const p of item.ranges) {
            if (!Array.isArray(p) || !(p[0] <= p[1])) {
                continue;
            }
            const cur = out.openCursor(IDBKeyRange.bound(p[0], p[1]));
            cur.onsuccess = () => {
                const c = cur.result;
                if (c === null) {
                    return;
                }
                const r = c.value;
                if (r.state === 'saved' || r.state === 'sent') {
                    const dead = inRanges(r.seq, item.dead);
                    r.state = dead ? 'refused' : 'stored';
                    r.reason = dead ? 'dead' : null;
                    r.acked_ms = Date.now();
                    for (const k of PERSONAL) {
                        delete r.body[k];
                    }
                    c.update(r);
                    changed++;
                }
                c.continue();
            };
        }
    }
    return done(tx).then(() => changed);
}

// Forgets stored and refused reports older than the officer's week.
export function prune(db, nowMs = Date.now()) {
    const tx = db.transaction('outbox', 'readwrite');
    const cur = tx.objectStore('outbox').openCursor();
    cur.onsuccess = () => {
        const c = cur.result;
        if (c === null) {
            return;
        }
        const r = c.value;
        if ((r.state === 'stored' || r.state === 'refused') && nowMs - r.saved_ms > KEEP_MS) {
            c.delete();
        }
        c.continue();
    };
    return done(tx);
}
