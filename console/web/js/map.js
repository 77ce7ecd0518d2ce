/* map.js -- the map of Kota Bekasi (#/peta): every gauge coloured by its Siaga level with its
* level and trend, every camera by its level of service, open incidents, kelurahan by their
* larva-free index (ABJ) of the week, and devices that are offline or silent. Data: GET
* /api/map (pantau_console.map, schema/022). Re-fetched on the live `data` event (refresh()).
*
* Base tiles come from the configured tile URL (console.conf tile_url, ctx.tileUrl);
* with none, or when tiles fail, the map is a plain background with the kecamatan names, never
* a broken page. Beside the map, the same facts as lists (a person reading a list, or a screen
* reader, sees what the colours say).
*
* The 500 cameras are circles on one canvas (Leaflet's canvas renderer, L.circleMarker): 520
* DOM markers cost the first render more than the data did. What a person sees stays: the
* colour of the level of service, a thicker purple ring for an open incident, a dashed ring for
* a device offline, a tooltip on hover and the popup on a click. A canvas is nothing to a screen
* reader or a keyboard, so every camera is also in a list under the map (visually hidden: the
* list beside the map shows the worst, each with a button that opens its popup). Gauges (20)
* stay DOM markers with their level as text, focusable with the keyboard.
*
* Also the views' small shared kit (colours that keep their meaning everywhere, time in WIB,
* the load-and-show-errors loop): gauge.js, traffic.js, jumantik.js
* and system.js import it from here. */

const LEAFLET = '/lib/leaflet/leaflet.esm.js';
const LEAFLET_CSS = '/lib/leaflet/leaflet.css';
const BEKASI = [-6.285, 106.98];
const FETCH_TIMEOUT_MS = 10000;

/* Siaga 1 is always the same red, everywhere (css/views.css holds the colours, each pair
* passing WCAG AA: tests/integration/test_console_views.py checks the contrast). */
export function siagaClass(level) {
  return level >= 1 && level <= 4 ? 'v-siaga-' + level : 'v-siaga-none';
}

export function losClass(los) {
  return /^[A-F]$/.test(los || '') ? 'v-los-' + los : 'v-los-none';
}

export function abjClass(k) {
  if (k.abj_pct === null || k.abj_pct === undefined) {
    return 'v-abj-none';
  }
  return k.abj_pct >= (k.target_pct || 95) ? 'v-abj-ok' : 'v-abj-low';
}

/* The map views on screen (root element -> what probeCamera needs); owned by this module */
const shown = new WeakMap();

/* What a person sees of a camera on the canvas: its position in the map (CSS px from the map's
* top left) and the colour of the canvas pixel at its centre ('#rrggbb'); null when the camera
* is not drawn. For tests and the benchmark (tests/integration/test_console_views.py), which
* cannot look into a canvas otherwise. */
export function probeCamera(root, id) {
  const v = shown.get(root);
  return v ? v.probe(id) : null;
}

export function esc(s) {
  return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/* What every view needs from the shell (js/app.js passes ctx: api.get(name, params), t(key,
* vars), time.formatWIB / time.ago, tileUrl, showError). The shell calls the object render()
* returns: refresh() on every live event, destroy() when the view is left. */
export function kit(ctx) {
  const c = ctx || {};
  const t = (key, vars) => (typeof c.t === 'function' ? c.t(key, vars || {}) : key);
  const lang = () => document.documentElement.lang || 'id';
  function get(name, params) {
    if (c.api && typeof c.api.get === 'function') {
      return c.api.get(name, params || {});
    }
    return Promise.reject(new Error('no API in the view context'));
  }
  function wib(ts) {
    if (!ts) {
      return '—';
    }
    if (c.time && typeof c.time.formatWIB === 'function') {
      return c.time.formatWIB(ts);
    }
    return new Intl.DateTimeFormat('id-ID', { timeZone: 'Asia/Jakarta', dateStyle: 'short',
                         timeStyle: 'short' }).format(new Date(ts)) + ' WIB';
  }
  function ago(ts) {
    if (!ts) {
      return t('map.never');
    }
    if (c.time && typeof c.time.ago === 'function') {
      return c.time.ago(ts);
    }
    return wib(ts);
  }
  function fresh(ts) {
    if (!ts) {
      return esc(t('map.never'));
    }
    return '<time datetime="' + esc(ts) + '" title="' + esc(wib(ts)) + '">' +
      esc(ago(ts)) + '</time>';
  }
  function num(v, digits) {
    if (v === null || v === undefined) {
      return '-';
    }
    return Number(v).toLocaleString(lang() === 'en' ? 'en-GB' : 'id-ID',
                    { maximumFractionDigits: digits === undefined ? 1 : digits });
  }
  function errorText(e) {
    return e && typeof e.text === 'function' ? e.text() : (e && e.message) || String(e);
  }
  return { t, get, wib, ago, fresh, num, errorText, tileUrl: c.tileUrl || '' };
}

/* One loader for a view: fetch, draw, show "updated at" or the error (keeping the last data
* on screen, saying how old it is). refresh() runs it again (the shell calls it on every live
* `data` event); one fetch at a time, a refresh during a fetch runs once after it. */
export function liveView(k, root, name, params, draw, notFound) {
  let stopped = false;
  let busy = null;
  let again = false;
  let last = null;
  const status = root.querySelector('.v-status');
  async function load() {
    if (busy) {
      again = true;
      return busy;
    }
    busy = (async () => {
      try {
        const data = await k.get(name, typeof params === 'function' ? params() : params);
        if (stopped) {
          return;
        }
        last = data;
        draw(data);
        if (status) {
          status.className = 'v-status';
          status.textContent = k.t('map.updated', { time: k.wib(data && data.generated_at) });
        }
      } catch (e) {
        if (!stopped && status) {
          status.className = 'v-status v-error';
          status.textContent = e && e.status === 404 && notFound ? notFound
            : k.t('map.load_failed', { detail: k.errorText(e) }) +
              (last ? ' ' + k.t('map.showing_from', { time: k.wib(last.generated_at) }) : '');
        }
      }
    })();
    try {
      await busy;
    } finally {
      busy = null;
    }
    if (again && !stopped) {
      again = false;
      await load();
    }
    return undefined;
  }
  load();
  return {
    refresh: load,
    destroy() {
      stopped = true;
    },
  };
}

function ensureCss(href) {
  if (!document.querySelector('link[href="' + href + '"]')) {
    const l = document.createElement('link');
    l.rel = 'stylesheet';
    l.href = href;
    document.head.appendChild(l);
  }
}

function gaugeLabel(k, s) {
  const g = s.gauge || {};
  if (g.silent) {
    return k.t('map.no_data');
  }
  if (g.level_cm !== null && g.level_cm !== undefined) {
    return k.num(g.level_cm, 0) + ' cm';
  }
  if (g.discharge_m3s !== null && g.discharge_m3s !== undefined) {
    return k.num(g.discharge_m3s, 0) + ' m³/s';
  }
  return k.t('map.no_data');
}

function trendArrow(trend) {
  return { rising: '▲', falling: '▼', steady: '■' }[trend] || '';
}

function siagaText(k, g) {
  if (!g || g.silent) {
    return k.t('map.silent');
  }
  return g.siaga ? k.t('map.siaga', { n: g.siaga }) : k.t('map.no_threshold');
}

function downIds(data) {
  return new Set((data.devices_down || []).map((d) => d.device_id));
}

function isDown(s, down) {
  return (s.devices || []).some((d) => down.has(d.device_id) || d.state === 'offline' ||
                   d.station_state === 'offline');
}

export function render(root, params, ctx) {
  const k = kit(ctx);
  root.innerHTML = `
<section class="v-view v-map" aria-labelledby="v-map-title">
 <header class="v-head">
  <h1 id="v-map-title">${esc(k.t('map.title'))}</h1>
  <p class="v-status" role="status" aria-live="polite">${esc(k.t('map.loading'))}</p>
 </header>
 <div class="v-map-grid">
  <div class="v-map-canvas" role="region" aria-label="${esc(k.t('map.title'))}"></div>
  <section class="visually-hidden" aria-labelledby="v-cam-all-title">
   <h2 id="v-cam-all-title" class="v-cam-all-title"></h2>
   <ul class="v-cam-all"></ul>
  </section>
  <aside class="v-map-side">
   <h2>${esc(k.t('map.gauges'))}</h2>
   <ul class="v-list v-gauge-list"></ul>
   <h2>${esc(k.t('map.devices_down'))}</h2>
   <ul class="v-list v-down-list"></ul>
   <h2>${esc(k.t('map.cameras_worst'))}</h2>
   <p class="v-note v-cam-summary"></p>
   <ul class="v-list v-camera-list"></ul>
   <h2>${esc(k.t('map.abj_title'))}</h2>
   <div class="v-abj-list"></div>
  </aside>
 </div>
</section>`;
  const el = root.querySelector('.v-map-canvas');
  root.querySelector('.v-camera-list').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-open]');
    const m = b && markers.get(b.dataset.open);
    if (m && map) {
      map.panTo(m.getLatLng());
      m.openPopup();
    }
  });
  let L = null;
  let map = null;
  let tiles = null;
  let layers = null;
  let stopped = false;
  const markers = new Map();
  const latest = new Map(); /* station id -> its row of the last answer (popups are made on open) */
  let camRenderer = null;
  let colours = null;
  let kecLabels = [];
  let declutterTimer = null;
  let fitted = false;
  let plain = false;

  function setPlain(on) {
    plain = on;
    el.classList.toggle('v-map-plain', on);
    if (layers) {
      if (on) {
        layers.kec.addTo(map);
      } else {
        layers.kec.remove();
      }
    }
  }

  function setup(data) {
    map = L.map(el, { zoomControl: true, attributionControl: true, minZoom: 10,
             maxZoom: 18 }).setView(BEKASI, 12);
    camRenderer = L.canvas({ padding: 0.2 });
    colours = cssColours();
    /* kecamatan names under everything else (overlays 400, markers 600) */
    map.createPane('v-kec');
    map.getPane('v-kec').style.zIndex = 350;
    map.getPane('v-kec').style.pointerEvents = 'none';
    const tileUrl = k.tileUrl || data.tile_url || '';
    layers = {
      kec: L.layerGroup(),
      abj: L.layerGroup().addTo(map),
      cams: L.layerGroup().addTo(map),
      gauges: L.layerGroup().addTo(map),
    };
    if (tileUrl) {
      let errors = 0;
      tiles = L.tileLayer(tileUrl, { maxZoom: 19, attribution: esc(k.t('map.tiles_credit')) });
      tiles.on('tileerror', () => {
        errors += 1;
        if (errors >= 4 && !plain) {
          tiles.remove();
          setPlain(true);
        }
      });
      tiles.addTo(map);
    } else {
      setPlain(true);
    }
    const overlays = {};
    overlays[esc(k.t('map.layer_gauges'))] = layers.gauges;
    overlays[esc(k.t('map.layer_cameras'))] = layers.cams;
    overlays[esc(k.t('map.layer_abj'))] = layers.abj;
    overlays[esc(k.t('map.layer_kecamatan'))] = layers.kec;
    L.control.layers(null, overlays, { collapsed: true }).addTo(map);
    const legend = L.control({ position: 'bottomright' });
    legend.onAdd = () => {
      const div = L.DomUtil.create('div', 'v-legend');
      const sw = (cls, text) => `<li><span class="v-swatch ${cls}"></span>${esc(text)}</li>`;
      /* open on a wall or a desk, folded on a phone (it would cover the map) */
      const open = window.matchMedia('(min-width: 700px)').matches ? ' open' : '';
      div.innerHTML = `<details${open}><summary>${esc(k.t('map.legend'))}</summary><ul>` +
        [1, 2, 3, 4].map((n) => sw('v-siaga-' + n, k.t('map.siaga_' + n))).join('') +
        sw('v-siaga-none', k.t('map.silent')) +
        sw('v-down v-siaga-none', k.t('map.device_offline')) +
        '</ul><h3>' + esc(k.t('map.los')) + '</h3><ul class="v-legend-los">' +
        ['A', 'B', 'C', 'D', 'E', 'F'].map((l) => sw('v-los-' + l, l)).join('') +
        '</ul><h3>' + esc(k.t('map.abj')) + '</h3><ul>' +
        sw('v-abj-ok', k.t('map.abj_ok')) + sw('v-abj-low', k.t('map.abj_low')) +
        sw('v-incident', k.t('map.incident')) + '</ul></details>';
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    legend.addTo(map);
    for (const kc of data.kecamatan || []) {
      if (kc.lat !== null && kc.lon !== null) {
        kecLabels.push(L.marker([kc.lat, kc.lon], {
          interactive: false, keyboard: false, pane: 'v-kec',
          icon: L.divIcon({ className: 'v-kec-label', html: `<span>${esc(kc.name)}</span>`,
                   iconSize: [120, 18], iconAnchor: [60, 9] }),
        }).addTo(layers.kec));
      }
    }
    map.on('zoomend moveend', declutterSoon);
    layers.kec.on('add', declutterSoon);
  }

  /* after the frame in which Leaflet has placed every marker (at zoomend the names of the
  * kecamatan pane may still be where the zoom left them) */
  function declutterSoon() {
    if (!declutterTimer) {
      declutterTimer = setTimeout(() => {
        declutterTimer = null;
        declutter();
      }, 50);
    }
  }

  /* A kecamatan name is moved off the gauges, the ABJ labels, the cameras and the names before
  * it that it would cover (a name sits at the mean position of its stations: often on one of
  * them). Tries the place itself, then a line below, above, two below, two above; else leaves
  * it there, faded. */
  function declutter() {
    if (!map || !plain) {
      return;
    }
    const boxes = [];
    for (const n of el.querySelectorAll('.v-gauge, .v-abj')) {
      boxes.push(n.getBoundingClientRect());
    }
    const base = el.getBoundingClientRect();
    for (const m of markers.values()) {
      if (m instanceof L.CircleMarker) {
        const p = map.latLngToContainerPoint(m.getLatLng());
        const r = m.getRadius() + 3;
        boxes.push({ left: base.left + p.x - r, right: base.left + p.x + r,
               top: base.top + p.y - r, bottom: base.top + p.y + r });
      }
    }
    const hits = (a, dy) => boxes.some((b) => a.left < b.right && a.right > b.left &&
                        a.top + dy < b.bottom && a.bottom + dy > b.top);
    for (const lm of kecLabels) {
      const icon = lm.getElement();
      const span = icon && icon.firstElementChild;
      if (!span) {
        continue;
      }
      span.style.transform = '';
      span.classList.remove('v-kec-faded');
      const box = span.getBoundingClientRect();
      const step = box.height + 6;
      const dy = [0, step, -step, 2 * step, -2 * step].find((d) => !hits(box, d));
      if (dy === undefined) {
        span.classList.add('v-kec-faded');
      } else {
        if (dy !== 0) {
          span.style.transform = `translateY(${dy}px)`;
        }
        /* the next names keep off this one too */
        boxes.push({ left: box.left, right: box.right, top: box.top + dy,
               bottom: box.bottom + dy });
      }
    }
  }

  /* The colours of css/views.css (one place for them), for the canvas */
  function cssColours() {
    const cs = getComputedStyle(document.documentElement);
    const get = (name) => cs.getPropertyValue(name).trim();
    const c = { none: get('--los-none-bg'), incident: get('--incident-bg'),
          down: get('--down-bg') };
    for (const l of ['A', 'B', 'C', 'D', 'E', 'F']) {
      c[l] = get('--los-' + l + '-bg');
    }
    return c;
  }

  function cameraStyle(c, incident, dn) {
    return {
      renderer: camRenderer, radius: 7, fillOpacity: 1,
      fillColor: (!c.silent && colours[c.los]) || colours.none,
      color: incident ? colours.incident : (dn ? colours.down : '#ffffff'),
      weight: incident ? 4 : 2, dashArray: dn ? '3 2' : null,
    };
  }

  function probe(id) {
    const m = markers.get(id);
    const cv = el.querySelector('.leaflet-overlay-pane canvas');
    if (!m || !cv || !(m instanceof L.CircleMarker)) {
      return null;
    }
    const p = map.latLngToContainerPoint(m.getLatLng());
    const box = el.getBoundingClientRect();
    const cb = cv.getBoundingClientRect();
    const sx = cv.width / cb.width;
    const x = Math.round((box.left + p.x - cb.left) * sx);
    const y = Math.round((box.top + p.y - cb.top) * sx);
    const d = cv.getContext('2d').getImageData(x, y, 1, 1).data;
    const hex = '#' + [d[0], d[1], d[2]].map((n) => n.toString(16).padStart(2, '0')).join('');
    return { x: p.x, y: p.y, colour: hex, alpha: d[3] };
  }

  function cameraText(s) {
    const c = s.camera || {};
    const incidents = (c.incidents || []).length;
    return k.t('map.camera_sr', { name: s.name || s.station_id, los: c.los || '-' }) +
      (incidents ? ` · ⚠ ${incidents} ${k.t('map.incident')}` : '');
  }

  function gaugeIcon(s, down) {
    const g = s.gauge || {};
    const cls = ['v-gauge', g.silent ? 'v-siaga-none' : siagaClass(g.siaga)];
    if (down) {
      cls.push('v-down');
    }
    return L.divIcon({
      className: 'v-gauge-icon',
      html: `<span class="${cls.join(' ')}" data-station="${esc(s.station_id)}"` +
        ` data-siaga="${esc(g.silent ? '' : g.siaga || '')}">` +
        `${esc(gaugeLabel(k, s))} ${trendArrow(g.trend)}</span>`,
      iconSize: null, iconAnchor: [0, 0],
    });
  }

  function popup(id) {
    const s = latest.get(id);
    if (!s) {
      return '';
    }
    const g = s.gauge;
    const c = s.camera;
    let body = `<strong>${esc(s.name || s.station_id)}</strong><br>` +
      `${esc(s.kelurahan_name || '')}${s.kecamatan_name ? ', ' + esc(s.kecamatan_name) : ''}<br>`;
    if (g) {
      body += `${esc(siagaText(k, g))} · ${esc(gaugeLabel(k, s))}` +
        (g.rise_cm_h !== null && g.rise_cm_h !== undefined
          ? ` · ${esc(k.t('map.rise', { v: k.num(g.rise_cm_h) }))}` : '') +
        `<br>${esc(k.t('map.as_of'))} ${k.fresh(g.as_of)}<br>` +
        `<a href="#/pos/${encodeURIComponent(s.station_id)}">${esc(k.t('map.open_gauge'))}</a>`;
    }
    if (c) {
      body += `${esc(k.t('map.los'))}: ${esc(c.los || '-')} · DS ${esc(k.num(c.ds, 2))}` +
        ` · ${esc(k.num(c.speed_kmh, 0))} ${esc(k.t('traffic.kmh'))}<br>` +
        (c.incidents || []).map((i) => `⚠ ${esc(k.t('traffic.type_' + i.type))}` +
                    ` (${k.fresh(i.start_at)})`).join('<br>') +
        `<br>${esc(k.t('map.as_of'))} ${k.fresh(c.as_of)}`;
    }
    for (const d of s.devices || []) {
      body += `<br>${esc(d.device_id)}: ${esc(k.t('system.state_' + d.state))}`;
    }
    return body;
  }

  function draw(data) {
    if (stopped) {
      return;
    }
    if (!map) {
      setup(data);
    }
    const down = downIds(data);
    const seen = new Set();
    const bounds = [];
    for (const s of data.stations || []) {
      if (s.lat === null || s.lon === null) {
        continue;
      }
      seen.add(s.station_id);
      latest.set(s.station_id, s);
      bounds.push([s.lat, s.lon]);
      const isGauge = s.kind === 'flood_gauge';
      const dn = isDown(s, down);
      let m = markers.get(s.station_id);
      if (isGauge) {
        if (!m) {
          m = L.marker([s.lat, s.lon], { icon: gaugeIcon(s, dn), keyboard: true,
                         title: s.name || s.station_id,
                         zIndexOffset: 1000 }).addTo(layers.gauges);
          markers.set(s.station_id, m);
        } else {
          m.setIcon(gaugeIcon(s, dn));
        }
      } else {
        const c = s.camera || {};
        const style = cameraStyle(c, (c.incidents || []).length > 0, dn);
        if (!m) {
          const id = s.station_id;
          m = L.circleMarker([s.lat, s.lon], style).addTo(layers.cams);
          m.bindTooltip(() => cameraText(latest.get(id)));
          markers.set(id, m);
        } else {
          m.setStyle(style);
        }
      }
      if (!m.getPopup()) {
        const id = s.station_id;
        m.bindPopup(() => popup(id));
      }
    }
    for (const [id, m] of markers) {
      if (!seen.has(id)) {
        m.remove();
        markers.delete(id);
        latest.delete(id);
      }
    }
    layers.abj.clearLayers();
    for (const kl of data.kelurahan || []) {
      if (kl.lat === null || kl.lon === null || kl.abj_pct === null) {
        continue;
      }
      L.marker([kl.lat, kl.lon], {
        keyboard: false,
        icon: L.divIcon({ className: 'v-abj-icon',
                 html: `<span class="v-abj ${abjClass(kl)}">ABJ ${esc(k.num(kl.abj_pct))}%</span>`,
                 iconSize: null, iconAnchor: [-8, 24] }),
      }).bindPopup(`<strong>${esc(kl.name)}</strong><br>ABJ ${esc(k.num(kl.abj_pct))} % ` +
            `(${esc(kl.houses_inspected)} ${esc(k.t('map.houses'))})`)
       .addTo(layers.abj);
    }
    if (!fitted && bounds.length > 1) {
      /* no zoom animation on the first view: nothing to follow, and one drawing less */
      map.fitBounds(bounds, { padding: [30, 30], maxZoom: 14, animate: false });
      fitted = true;
    }
    drawSide(data, down);
    declutterSoon();
  }

  function drawSide(data, down) {
    const gauges = (data.stations || []).filter((s) => s.kind === 'flood_gauge');
    gauges.sort((a, b) => ((a.gauge && !a.gauge.silent && a.gauge.siaga) || 9) -
               ((b.gauge && !b.gauge.silent && b.gauge.siaga) || 9) ||
               a.station_id.localeCompare(b.station_id));
    root.querySelector('.v-gauge-list').innerHTML = gauges.map((s) => {
      const g = s.gauge || {};
      return `<li data-station="${esc(s.station_id)}">` +
        `<span class="v-badge ${g.silent ? 'v-siaga-none' : siagaClass(g.siaga)}">` +
        `${esc(siagaText(k, g))}</span> ` +
        `<a href="#/pos/${encodeURIComponent(s.station_id)}">${esc(s.name || s.station_id)}</a> ` +
        `<span class="v-value">${esc(gaugeLabel(k, s))} ${trendArrow(g.trend)}</span> ` +
        `<span class="v-fresh">${g.silent
          ? esc(k.t('gauge.no_data_since', { time: k.wib(g.last_reading) }))
          : k.fresh(g.as_of)}</span>` +
        (isDown(s, down) ? ` <span class="v-badge v-down-badge">${esc(k.t('map.device_offline'))}</span>` : '') +
        '</li>';
    }).join('') || `<li>${esc(k.t('map.none'))}</li>`;
    root.querySelector('.v-down-list').innerHTML = (data.devices_down || []).map((d) =>
      `<li data-device="${esc(d.device_id)}"><span class="v-badge v-down-badge">` +
      `${esc(k.t('system.state_' + d.state))}</span> ${esc(d.device_id)} ` +
      `<span class="v-fresh">${esc((d.stations || []).join(', '))} · ${k.fresh(d.as_of)}</span></li>`
    ).join('') || `<li>${esc(k.t('map.none'))}</li>`;
    const cams = (data.stations || []).filter((s) => s.kind === 'traffic_camera' && s.camera &&
                         (s.camera.incidents.length || s.camera.ds !== null));
    cams.sort((a, b) => (b.camera.incidents.length - a.camera.incidents.length) ||
              ((b.camera.ds || 0) - (a.camera.ds || 0)));
    root.querySelector('.v-camera-list').innerHTML = cams.slice(0, 8).map((s) =>
      `<li data-station="${esc(s.station_id)}"><span class="v-badge ${losClass(s.camera.los)}">` +
      `${esc(k.t('map.los'))} ${esc(s.camera.los || '-')}</span> ` +
      `<button type="button" class="v-link" data-open="${esc(s.station_id)}"` +
      ` title="${esc(k.t('map.show_on_map'))}">${esc(s.name || s.station_id)}</button>` +
      (s.camera.incidents.length ? ` <span class="v-badge v-incident">⚠ ${esc(s.camera.incidents.length)}</span>` : '') +
      ` <span class="v-fresh">${k.fresh(s.camera.as_of)}</span></li>`
    ).join('') || `<li>${esc(k.t('map.none'))}</li>`;
    const all = (data.stations || []).filter((s) => s.kind === 'traffic_camera');
    const byLos = new Map();
    for (const s of all) {
      const l = (s.camera && !s.camera.silent && s.camera.los) || '-';
      byLos.set(l, (byLos.get(l) || 0) + 1);
    }
    root.querySelector('.v-cam-summary').textContent = all.length ? k.t('map.cameras_summary', {
      n: all.length,
      counts: ['A', 'B', 'C', 'D', 'E', 'F', '-'].filter((l) => byLos.has(l))
        .map((l) => `${l} ${byLos.get(l)}`).join(' · '),
    }) : '';
    /* every camera for a screen reader (the canvas says nothing to it) */
    root.querySelector('.v-cam-all-title').textContent = k.t('map.cameras_all', { n: all.length });
    root.querySelector('.v-cam-all').innerHTML = all.map((s) => {
      const los = (s.camera && !s.camera.silent && s.camera.los) || '';
      return `<li data-station="${esc(s.station_id)}" data-los="${esc(los)}">` +
        `${esc(cameraText(s))}</li>`;
    }).join('');
    const byKec = new Map();
    for (const kl of data.kelurahan || []) {
      if (!byKec.has(kl.kecamatan_name)) {
        byKec.set(kl.kecamatan_name, []);
      }
      byKec.get(kl.kecamatan_name).push(kl);
    }
    let html = `<p class="v-note">${esc(k.t('map.abj_week', { week: data.week || '' }))}</p>`;
    for (const [kec, list] of byKec) {
      const withData = list.filter((x) => x.abj_pct !== null);
      if (!withData.length) {
        continue;
      }
      html += `<h3>${esc(kec)}</h3><ul class="v-list">` + withData.map((x) =>
        `<li><span class="v-badge ${abjClass(x)}">ABJ ${esc(k.num(x.abj_pct))}%</span> ` +
        `${esc(x.name)} <span class="v-fresh">${esc(x.houses_inspected)} ${esc(k.t('map.houses'))}</span></li>`
      ).join('') + '</ul>';
    }
    root.querySelector('.v-abj-list').innerHTML = html;
  }

  let view = null;
  shown.set(root, { probe });
  ensureCss(LEAFLET_CSS);
  const ready = import(LEAFLET).then((mod) => {
    if (stopped) {
      return;
    }
    L = mod;
    view = liveView(k, root, 'map', {}, draw);
  }).catch((e) => {
    const st = root.querySelector('.v-status');
    st.className = 'v-status v-error';
    st.textContent = k.t('map.lib_failed', { detail: e.message || String(e) });
  });
  return {
    async refresh() {
      await ready;
      if (view) {
        await view.refresh();
      }
    },
    destroy() {
      stopped = true;
      if (shown.get(root) && shown.get(root).probe === probe) {
        shown.delete(root);
      }
      if (view) {
        view.destroy();
      }
      clearTimeout(declutterTimer);
      if (map) {
        map.remove();
      }
    },
  };
}
