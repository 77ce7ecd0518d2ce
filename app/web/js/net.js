// net.js -- the one way the app fetches its own files (translations, schemas, the kelurahan
// list): with a timeout, and an error that names the file and the cause, shown on the page by
// main.js. The service worker answers these from its cache when the network is gone.
// Not for: reports (they go over MQTT: transport.js).

export async function fetchOk(url, timeoutMs = 10000) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
        const res = await fetch(url, { signal: ctl.signal });
        if (!res.ok) {
            throw new Error(url + ': HTTP ' + res.status);
        }
        return res;
    } catch (e) {
        if (e.name === 'AbortError') {
            throw new Error(url + ': no answer within ' + timeoutMs / 1000 + ' s');
        }
        throw e;
    } finally {
        clearTimeout(timer);
    }
}
