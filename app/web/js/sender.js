// sender.js -- what is sent when (protocol.md 6.2, 7.3, 8, 11): the outbox's reports go out
// oldest first, a new report at once, each from one token bucket kept under the handheld's
// limit (2/s burst 100: 0.9 of the rate, half the burst, as the reference agent); a report no
// acknowledgement covered is sent again after a timeout that doubles (5 s to 5 min), and a
// report the broker refused (PUBACK 0x80 and above) after 40 s doubling to 1 h; resends and
// the backlog go only while some collector's retained health says online and db up. `replay`
// is true when the report has been held longer than the lateness L (5 min) at the send.
// Not for: the connection (transport.js) or the records (outbox.js).

import * as outbox from './outbox.js';

const TICK_MS = 250;
const RATE_PER_S = 1.8;
const BURST = 50;
const LATENESS_MS = 5 * 60 * 1000; // protocol 4.1, MSG_HISTORY_LATENESS_MS
const ACK_TIMEOUT_MIN_MS = 5000;
const ACK_TIMEOUT_MAX_MS = 5 * 60 * 1000;
const REFUSED_MIN_MS = 40000;
const REFUSED_MAX_MS = 3600 * 1000;
const IN_FLIGHT_MAX = 20;

// The payload of record r as sent now: the stored members with `replay` set for this send.
export function payloadOf(r, nowMs) {
    const b = r.body;
    const head = {
        store: b.store, seq: b.seq, ts: b.ts, clock_synced: b.clock_synced,
        replay: nowMs - r.saved_ms > LATENESS_MS,
    };
    return JSON.stringify(Object.assign(head, b));
}

export class Sender {
    // opts: {db, transport, storeId, onChange()}
    constructor(opts) {
        this.o = opts;
        this.health = new Map(); // collector topic -> {state, db}
        this.tokens = BURST;
        this.lastRefill = performance.now();
        this.inFlight = new Set(); // seqs waiting for their PUBACK
        this.timer = null;
        this.busy = false;
    }

    start() {
        this.timer = setInterval(() => this.tick(), TICK_MS);
    }

    stop() {
        clearInterval(this.timer);
    }

    resendAllowed() {
        for (const h of this.health.values()) {
            if (h.state === 'online' && h.db === 'up') {
                return true;
            }
        }
        return false;
    }

    onHealth(topic, h) {
        if (h && typeof h.state === 'string') {
            this.health.set(topic, { state: h.state, db: h.db });
        }
    }

    async onAck(ack) {
        const n = await outbox.applyAck(this.o.db, this.o.storeId, ack);
        if (n > 0) {
            this.o.onChange();
        }
    }

    take() {
        const now = performance.now();
        this.tokens = Math.min(BURST, this.tokens + (now - this.lastRefill) / 1000 * RATE_PER_S);
        this.lastRefill = now;
        if (this.tokens >= 1) {
            this.tokens -= 1;
            return true;
        }
        return false;
    }

    async tick() {
        if (this.busy || !this.o.transport.connected) {
            return;
        }
        this.busy = true;
        try {
            const now = Date.now();
            const allowed = this.resendAllowed();
            const due = (await outbox.pending(this.o.db)).filter((r) => {
                if (this.inFlight.has(r.seq) || now < r.next_try_ms) {
                    return false;
                }
                const fresh = r.sends === 0 && now - r.saved_ms <= LATENESS_MS;
                return fresh || allowed;
            });
            // live reports first (news), then the backlog oldest first
            due.sort((a, b) => (b.sends === 0) - (a.sends === 0) || a.seq - b.seq);
            for (const r of due) {
                if (this.inFlight.size >= IN_FLIGHT_MAX || !this.take()) {
                    break;
                }
                this.send(r);
            }
        } finally {
            this.busy = false;
        }
    }

    async send(r) {
        const now = Date.now();
        this.inFlight.add(r.seq);
        const sends = r.sends + 1;
        // the next try, should no acknowledgement come: noted before the publish, so that a
        // killed tab resends no sooner than planned
        const wait = Math.min(ACK_TIMEOUT_MIN_MS * 2 ** Math.min(sends - 1, 16),
            ACK_TIMEOUT_MAX_MS);
        await outbox.noteSend(this.o.db, r.seq, { sends, last_send_ms: now,
            next_try_ms: now + wait });
        this.o.onChange();
        const code = await this.o.transport.publish('larva', payloadOf(r, now));
        this.inFlight.delete(r.seq);
        if (code !== null && code >= 0x80) {
            const refusals = (r.refusals || 0) + 1;
            const back = Math.min(REFUSED_MIN_MS * 2 ** Math.min(refusals - 1, 16),
                REFUSED_MAX_MS);
            await outbox.noteSend(this.o.db, r.seq, { last_code: code, refusals,
                next_try_ms: Date.now() + back });
            this.o.onChange();
        } else if (code !== null) {
            await outbox.noteSend(this.o.db, r.seq, { last_code: code });
        }
    }
}
