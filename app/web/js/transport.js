// transport.js -- the MQTT 5 connection over WebSocket to pantau's broker (protocol.md 1, 5,
// 13), with mqtt.js (npm `mqtt`, its browser ESM build copied to vendor/ at build time).
// One connection at a time, made by this module's own loop rather than mqtt.js's reconnect, so
// that each attempt has a new connection counter `conn` in its will and birth (protocol 5):
// the counter is incremented and saved (nextConn) before every attempt.
// Subscribes to pantau/v1/<device>/ack and pantau/v1/_sys/health/+; publishes at QoS 1.
// A PUBACK is reported to the caller as it is (a reason code); it never means "stored".
// Not for: what is sent when (sender.js).

import mqtt from '../vendor/mqtt.esm.js';

const CONNECT_TIMEOUT_MS = 10000;
const PUBLISH_TIMEOUT_MS = 15000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;

export class Transport {
    // opts: {url, deviceId, key, storeId, nextConn: async () => int, agent,
    //        onAck(obj), onHealth(topic, obj), onState({state, code, message})}
    constructor(opts) {
        this.o = opts;
        this.client = null;
        this.connected = false;
        this.stopped = true;
        this.retryMs = RETRY_MIN_MS;
        this.timer = null;
        this.onOnline = () => this.kick();
        this.onOffline = () => this.drop('offline');
    }

    start() {
        this.stopped = false;
        window.addEventListener('online', this.onOnline);
        window.addEventListener('offline', this.onOffline);
        this.kick();
    }

    stop() {
        this.stopped = true;
        window.removeEventListener('online', this.onOnline);
        window.removeEventListener('offline', this.onOffline);
        clearTimeout(this.timer);
        this.drop('stopped');
    }

    state(state, extra = {}) {
        this.o.onState(Object.assign({ state }, extra));
    }

    // Ends the current connection (the broker publishes the will: it was not a clean stop).
    drop(why) {
        const c = this.client;
        this.client = null;
        this.connected = false;
        if (c !== null) {
            c.end(true);
        }
        if (!this.stopped) {
            this.state(why === 'offline' ? 'offline' : 'disconnected');
        }
    }

    // Connects now (or soon, after a failure); does nothing while connected or connecting.
    kick() {
        clearTimeout(this.timer);
        if (this.stopped || this.client !== null) {
            return;
        }
        if (navigator.onLine === false) {
            this.state('offline');
            return;
        }
        this.connect().catch((e) => this.state('error', { message: String(e) }));
    }

    later() {
        clearTimeout(this.timer);
        if (this.stopped) {
            return;
        }
        this.timer = setTimeout(() => this.kick(), this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    }

    async connect() {
        const o = this.o;
        const conn = await o.nextConn();
        const status = (state) => JSON.stringify({
            state, conn, store: o.storeId, ts: new Date().toISOString(), clock_synced: true,
        });
        const statusTopic = 'pantau/v1/' + o.deviceId + '/status';
        this.state('connecting');
        const c = mqtt.connect(o.url, {
            protocolVersion: 5,
            clientId: o.deviceId,
            username: o.deviceId,
            password: o.key,
            clean: true, // Clean Start 1, no Session Expiry Interval (protocol 1)
            keepalive: 30,
            reconnectPeriod: 0, // our own loop: a new `conn` for each attempt
            connectTimeout: CONNECT_TIMEOUT_MS,
            queueQoSZero: false,
            will: { topic: statusTopic, payload: status('offline'), qos: 1, retain: true },
        });
        this.client = c;
        c.on('connect', () => {
            if (this.client !== c) {
                return;
            }
            this.connected = true;
            this.retryMs = RETRY_MIN_MS;
            c.subscribe(['pantau/v1/' + o.deviceId + '/ack', 'pantau/v1/_sys/health/+'],
                { qos: 1 }, (err) => {
                    if (err) {
                        this.state('error', { code: err.code, message: String(err) });
                    }
                });
            c.publish(statusTopic, JSON.stringify(Object.assign(JSON.parse(status('online')),
                { agent: o.agent })), { qos: 1, retain: true });
            this.state('connected');
        });
        c.on('message', (topic, payload) => {
            let obj = null;
            try {
                obj = JSON.parse(new TextDecoder().decode(payload));
            } catch (e) {
                return; // not ours to judge: the broker let it through
            }
            if (topic.endsWith('/ack')) {
                o.onAck(obj);
            } else {
                o.onHealth(topic, obj);
            }
        });
        c.on('error', (err) => {
            if (this.client !== c) {
                return;
            }
            if (typeof err.code === 'number' && !this.connected) {
                // a refused CONNECT (0x87: unknown, disabled or revoked phone): mqtt.js ends
                // the client without always saying 'close', so this connection ends here
                this.client = null;
                c.end(true);
                this.state('refused', { code: err.code, message: String(err.message) });
                this.later();
                return;
            }
            this.state('error', { code: err.code, message: String(err.message || err) });
        });
        c.on('close', () => {
            if (this.client === c) {
                this.client = null;
                this.connected = false;
                c.end(true);
                this.state('disconnected');
                this.later();
            }
        });
    }

    // Publishes payload (a string) at QoS 1 on the device's topic for stream. Resolves to the
    // PUBACK's reason code (0 or 0x10: taken; 0x80 and above: refused), or null when there was
    // no connection or no PUBACK in time.
    publish(stream, payload) {
        const c = this.client;
        if (c === null || !this.connected) {
            return Promise.resolve(null);
        }
        return new Promise((resolve) => {
            const timer = setTimeout(() => resolve(null), PUBLISH_TIMEOUT_MS);
            c.publish('pantau/v1/' + this.o.deviceId + '/' + stream, payload, { qos: 1 },
                (err, packet) => {
                    clearTimeout(timer);
                    if (err) {
                        resolve(typeof err.code === 'number' ? err.code : null);
                    } else {
                        resolve(packet && packet.reasonCode ? packet.reasonCode : 0);
                    }
                });
        });
    }
}
