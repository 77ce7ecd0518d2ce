// db.js -- the app's one IndexedDB database ("pantau-app"): opening it, and small promise
// helpers around requests and transactions. Owns the schema version and the object stores:
//   meta    keyPath "key": {key: "device"} (device id, key, broker URL), {key: "store"} (store
//           id, next seq, connection counter), {key: "officer"} (who is signed in),
//           {key: "form"} (the last kelurahan, RW and RT, to fill the next form)
//   outbox  keyPath "seq": one record per report (outbox.js), index "form_id" (unique: one
//           report per form instance, so a double tap saves one), index "state"
// Not for: what the records mean (outbox.js, enrol.js).

const NAME = 'pantau-app';
const VERSION = 1;

export function req(r) {
    return new Promise((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
    });
}

// Resolves when tx commits (with value), rejects when it aborts.
export function done(tx, value) {
    return new Promise((resolve, reject) => {
        tx.oncomplete = () => resolve(value);
        tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
        tx.onerror = () => reject(tx.error || new Error('transaction failed'));
    });
}

export function open() {
    return new Promise((resolve, reject) => {
        const r = indexedDB.open(NAME, VERSION);
        r.onupgradeneeded = () => {
            const db = r.result;
            db.createObjectStore('meta', { keyPath: 'key' });
            const out = db.createObjectStore('outbox', { keyPath: 'seq' });
            out.createIndex('form_id', 'form_id', { unique: true });
            out.createIndex('state', 'state');
        };
        r.onsuccess = () => {
            // keep the database durable across tab kills: ask once for persistent storage
            if (navigator.storage && navigator.storage.persist) {
                navigator.storage.persist().catch(() => {});
            }
            resolve(r.result);
        };
        r.onerror = () => reject(r.error);
        r.onblocked = () => reject(new Error('database blocked by another tab'));
    });
}

export async function getMeta(db, key) {
    const tx = db.transaction('meta', 'readonly');
    return req(tx.objectStore('meta').get(key));
}

export async function putMeta(db, record) {
    const tx = db.transaction('meta', 'readwrite');
    tx.objectStore('meta').put(record);
    return done(tx, record);
}
