// sw.js -- the service worker: caches the app shell (every file the app needs, listed below)
// when it is installed, and answers from that cache first, so that the app opens with no
// network at all (MDN "Offline and background operation"; Jake Archibald's "offline cookbook":
// cache, falling back to the network). Reports never pass through it: they live in IndexedDB
// and go out over the WebSocket. BUILD is stamped by app/build.sh with a hash of the files, so
// that a new version installs a new cache and the old one is deleted when it activates.

const BUILD = '@BUILD@';
const CACHE = 'pantau-app-' + BUILD;
const SHELL = [
    './', 'index.html', 'app.css', 'manifest.webmanifest', 'icon.svg', 'icon-192.png',
    'icon-512.png', 'i18n/id.json', 'i18n/en.json', 'js/main.js', 'js/db.js', 'js/outbox.js', 'js/sender.js',
    'js/transport.js', 'js/form.js', 'js/validate.js', 'js/i18n.js', 'js/enrol.js', 'js/net.js',
    'vendor/mqtt.esm.js', 'schema/larva.json', 'schema/defs.json', 'data/bekasi_wilayah.csv',
];

self.addEventListener('install', (event) => {
    event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() =>
        self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
    event.waitUntil(caches.keys().then((keys) => Promise.all(
        keys.filter((k) => k.startsWith('pantau-app-') && k !== CACHE).map((k) =>
            caches.delete(k)))).then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
    const req = event.request;
    if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin) {
        return;
    }
    event.respondWith(caches.open(CACHE).then(async (c) => {
        const hit = await c.match(req, { ignoreSearch: true }) ||
            (req.mode === 'navigate' ? await c.match('index.html') : undefined);
        return hit || fetch(req);
    }));
});
