/* gauge.js -- one gauge's page (#/pos/<station>): its hydrograph over 24 hours or 7 days with
* the bands of the thresholds valid at each time, the rate of rise, the readings that came late
* or whose clock was corrected, its gateway's health and its alert history; "no data since
* ..." for a silent gauge. Data: GET /api/gauge?station=X&hours=24|168 (pantau_console.gauge,
* schema/022). Re-fetched on the live `data` event (refresh()). */

import { kit, liveView, esc, siagaClass } from './map.js';

const CHART = '/lib/chart.js/chart.esm.js';

/* Band colours: the Siaga colours of css/views.css, read from the page so that they stay one. */
function cssColour(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function withAlpha(hex, a) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) {
    return hex;
  }
  return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${a})`;
}

/* Draws each threshold version as bands over its own time span, behind the line. */
const bandsPlugin = {
  id: 'pantauBands',
  beforeDatasetsDraw(chart, args, opts) {
    const { ctx, chartArea, scales } = chart;
    const bands = opts.bands || [];
    ctx.save();
    ctx.beginPath();
    ctx.rect(chartArea.left, chartArea.top, chartArea.right - chartArea.left,
        chartArea.bottom - chartArea.top);
    ctx.clip();
    for (const b of bands) {
      const x0 = scales.x.getPixelForValue(b.from);
      const x1 = scales.x.getPixelForValue(b.to);
      const levels = [[b.siaga3_from, b.siaga2_from, 3], [b.siaga2_from, b.siaga1_from, 2],
              [b.siaga1_from, Infinity, 1]];
      for (const [lo, hi, n] of levels) {
        const yLo = scales.y.getPixelForValue(lo);
        const yHi = hi === Infinity ? chartArea.top : scales.y.getPixelForValue(hi);
        ctx.fillStyle = withAlpha(cssColour('--siaga-' + n + '-bg', '#888888'), 0.18);
        ctx.fillRect(x0, yHi, x1 - x0, yLo - yHi);
        ctx.strokeStyle = cssColour('--siaga-' + n + '-bg', '#888888');
        ctx.setLineDash([4, 4]);
        ctx.beginPath();
        ctx.moveTo(x0, yLo);
        ctx.lineTo(x1, yLo);
        ctx.stroke();
      }
    }
    ctx.restore();
  },
};

/* A gap in the readings is drawn as a gap ("no data" shown as such): a break where two
* readings are more than three times the usual interval apart, and at least 30 minutes. */
function withBreaks(points) {
  if (points.length < 3) {
    return points;
  }
  const gaps = [];
  for (let i = 1; i < points.length; i++) {
    gaps.push(points[i].x - points[i - 1].x);
  }
  const usual = gaps.slice().sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
  const limit = Math.max(3 * usual, 30 * 60 * 1000);
  const out = [points[0]];
  for (let i = 1; i < points.length; i++) {
    if (points[i].x - points[i - 1].x > limit) {
      out.push({ x: (points[i].x + points[i - 1].x) / 2, y: null, p: null });
    }
    out.push(points[i]);
  }
  return out;
}

export function render(root, params, ctx) {
  const k = kit(ctx);
  const station = (params && (params.station || (params.args || [])[0])) || '';
  let hours = Number(params && params.hours) === 168 ? 168 : 24;
  root.innerHTML = `
<section class="v-view v-gauge-page" aria-labelledby="v-gauge-title">
 <header class="v-head">
  <h1 id="v-gauge-title">${esc(k.t('gauge.title', { station }))}</h1>
  <p class="v-sub"></p>
  <p class="v-status" role="status" aria-live="polite">${esc(k.t('map.loading'))}</p>
 </header>
 <p class="v-silent v-banner" hidden></p>
 <div class="v-cards"></div>
 <div class="v-range" role="group" aria-label="${esc(k.t('gauge.range'))}">
  <button type="button" data-hours="24">${esc(k.t('gauge.h24'))}</button>
  <button type="button" data-hours="168">${esc(k.t('gauge.d7'))}</button>
 </div>
 <figure class="v-chart">
  <div class="v-chart-box"><canvas aria-label="${esc(k.t('gauge.chart'))}" role="img"></canvas></div>
  <figcaption class="v-note"></figcaption>
 </figure>
 <details class="v-table-wrap"><summary>${esc(k.t('gauge.table'))}</summary>
  <table class="v-table v-points"><thead><tr>
   <th scope="col">${esc(k.t('gauge.time'))}</th><th scope="col">${esc(k.t('gauge.level'))}</th>
   <th scope="col">Siaga</th><th scope="col">${esc(k.t('gauge.flags'))}</th></tr></thead>
   <tbody></tbody></table></details>
 <div class="v-two">
  <section><h2>${esc(k.t('gauge.gateway'))}</h2><ul class="v-list v-gateway"></ul></section>
  <section><h2>${esc(k.t('gauge.alerts'))}</h2>
   <table class="v-table v-alerts"><thead><tr>
    <th scope="col">${esc(k.t('gauge.when'))}</th><th scope="col">${esc(k.t('gauge.alert'))}</th>
    <th scope="col">${esc(k.t('gauge.state'))}</th></tr></thead><tbody></tbody></table>
  </section>
 </div>
</section>`;
  let Chart = null;
  let chart = null;
  let stopped = false;
  let view = null;

  function setRange() {
    for (const b of root.querySelectorAll('.v-range button')) {
      b.setAttribute('aria-pressed', String(Number(b.dataset.hours) === hours));
    }
  }
  setRange();
  root.querySelector('.v-range').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-hours]');
    if (b) {
      hours = Number(b.dataset.hours);
      setRange();
      if (view) {
        view.refresh();
      }
    }
  });

  function valueOf(p) {
    return p.level_cm !== null && p.level_cm !== undefined ? p.level_cm : p.value;
  }

  function flags(p) {
    const f = [];
    if (p.late) {
      f.push(k.t('gauge.late'));
    }
    if (p.corrected) {
      f.push(k.t('gauge.corrected'));
    }
    if (p.unsynced) {
      f.push(k.t('gauge.unsynced'));
    }
    return f.join(', ');
  }

  function drawChart(data) {
    const pts = data.points || [];
    const discharge = pts.length ? pts.every((p) => p.level_cm === null)
      : (data.thresholds || []).some((b) => b.quantity === 'discharge_m3s');
    const unit = discharge ? 'm³/s' : 'cm';
    const xs = (p) => new Date(p.t).getTime();
    const from = new Date(data.from).getTime();
    const to = new Date(data.to).getTime();
    const bands = (data.thresholds || [])
      .filter((b) => (unit === 'cm') === (b.quantity === 'level_cm'))
      .map((b) => ({ ...b, from: new Date(b.from).getTime(), to: new Date(b.to).getTime() }));
    const line = cssColour('--v-line', '#0d47a1');
    const dataset = {
      label: k.t('gauge.level') + ' (' + unit + ')',
      data: withBreaks(pts.map((p) => ({ x: xs(p), y: valueOf(p), p }))),
      borderColor: line,
      backgroundColor: line,
      borderWidth: 2,
      pointRadius: (c) => {
        const p = c.raw && c.raw.p;
        return !p ? 0 : p.late || p.corrected || p.unsynced ? 5 : pts.length > 200 ? 0 : 2;
      },
      pointStyle: (c) => {
        const p = (c.raw && c.raw.p) || {};
        return p.corrected || p.unsynced ? 'rectRot' : p.late ? 'triangle' : 'circle';
      },
      pointBackgroundColor: (c) => {
        const p = (c.raw && c.raw.p) || {};
        return p.late || p.corrected || p.unsynced ? '#ffffff' : line;
      },
      spanGaps: false,
      parsing: false,
    };
    const ys = pts.map(valueOf).filter((v) => v !== null && v !== undefined);
    for (const b of bands) {
      ys.push(b.siaga3_from, b.siaga1_from);
    }
    const ymin = ys.length ? Math.min(...ys) : 0;
    const ymax = ys.length ? Math.max(...ys) : 100;
    const pad = Math.max(10, (ymax - ymin) * 0.1);
    const cfg = {
      type: 'line',
      data: { datasets: [dataset] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { type: 'linear', min: from, max: to,
            title: { display: true, text: k.t('gauge.axis_time') },
            ticks: { maxTicksLimit: 8, callback: (v) => k.wib(new Date(v).toISOString()).replace(' WIB', '') } },
          y: { min: Math.floor(ymin - pad), max: Math.ceil(ymax + pad),
            title: { display: true, text: k.t('gauge.level') + ' (' + unit + ')' } },
        },
        plugins: {
          legend: { display: false },
          pantauBands: { bands },
          tooltip: { callbacks: {
            title: (items) => (items[0].raw.p ? k.wib(items[0].raw.p.t) : ''),
            label: (item) => !item.raw.p ? '' : `${item.raw.y} ${unit}` +
              (item.raw.p.siaga ? ' · Siaga ' + item.raw.p.siaga : '') +
              (flags(item.raw.p) ? ' · ' + flags(item.raw.p) : ''),
          } },
        },
      },
      plugins: [bandsPlugin],
    };
    if (chart) {
      chart.destroy();
    }
    chart = new Chart(root.querySelector('canvas'), cfg);
    root.querySelector('figcaption').textContent =
      k.t('gauge.caption', { n: pts.length, late: pts.filter((p) => p.late).length,
                 corrected: pts.filter((p) => p.corrected || p.unsynced).length }) +
      (data.bucket_s ? ' ' + k.t('gauge.bucketed', { min: data.bucket_s / 60 }) : '');
  }

  function draw(data) {
    if (stopped) {
      return;
    }
    if (!data) {
      root.querySelector('.v-status').textContent = k.t('gauge.not_found', { station });
      return;
    }
    const s = data.station || {};
    const now = data.now || {};
    root.querySelector('#v-gauge-title').textContent = s.name || s.station_id || station;
    root.querySelector('.v-sub').textContent =
      [s.kelurahan_name, s.kecamatan_name].filter(Boolean).join(', ');
    const silent = root.querySelector('.v-silent');
    silent.hidden = !now.silent;
    silent.textContent = now.last_reading
      ? k.t('gauge.no_data_since', { time: k.wib(now.last_reading) })
      : k.t('gauge.no_data_ever');
    const level = now.level_cm !== null && now.level_cm !== undefined
      ? k.num(now.level_cm, 0) + ' cm'
      : now.discharge_m3s !== null && now.discharge_m3s !== undefined
        ? k.num(now.discharge_m3s, 0) + ' m³/s' : '-';
    const trend = { rising: k.t('gauge.rising'), falling: k.t('gauge.falling'),
            steady: k.t('gauge.steady') }[now.trend] || '-';
    root.querySelector('.v-cards').innerHTML = `
<div class="v-card"><span class="v-card-label">${esc(k.t('gauge.level_now'))}</span>
 <span class="v-card-value">${esc(level)}</span>
 <span class="v-fresh">${k.fresh(now.as_of)}</span></div>
<div class="v-card"><span class="v-card-label">Siaga</span>
 <span class="v-badge v-big ${now.silent ? 'v-siaga-none' : siagaClass(now.siaga)}">${esc(
   now.silent ? k.t('map.silent') : now.siaga ? k.t('map.siaga_' + now.siaga) : k.t('map.no_threshold'))}</span></div>
<div class="v-card"><span class="v-card-label">${esc(k.t('gauge.rise'))}</span>
 <span class="v-card-value">${esc(now.rise_cm_h === null || now.rise_cm_h === undefined ? '-'
   : (now.rise_cm_h > 0 ? '+' : '') + k.num(now.rise_cm_h) + ' cm/' + k.t('gauge.hour'))}</span>
 <span class="v-fresh">${esc(trend)}</span></div>`;
    drawChart(data);
    root.querySelector('.v-points tbody').innerHTML = (data.points || []).slice().reverse()
      .map((p) => `<tr><td>${esc(k.wib(p.t))}</td><td>${esc(k.num(valueOf(p)))}</td>` +
        `<td>${esc(p.siaga || '-')}</td><td>${esc(flags(p))}</td></tr>`).join('');
    root.querySelector('.v-gateway').innerHTML = (data.gateway || []).map((d) =>
      `<li><span class="v-badge ${d.state === 'online' ? 'v-ok' : 'v-down-badge'}">` +
      `${esc(k.t('system.state_' + d.state))}</span> ${esc(d.device_id)}` +
      ` · ${esc(k.t('system.clock'))}: ${esc(d.clock_synced === null ? '-' : d.clock_synced
        ? k.t('system.synced') : k.t('system.unsynced'))}` +
      ` · ${esc(k.t('system.backlog'))}: ${esc(d.backlog === null ? '-' : d.backlog)}` +
      (d.station_state ? ` · ${esc(k.t('gauge.sensor'))}: ${esc(k.t('system.state_' + d.station_state))}` : '') +
      ` <span class="v-fresh">${k.fresh(d.as_of)}</span></li>`).join('') ||
      `<li>${esc(k.t('map.none'))}</li>`;
    root.querySelector('.v-alerts tbody').innerHTML = (data.alerts || []).map((a) =>
      `<tr><td>${esc(k.wib(a.condition_time))}</td><td>` +
      `${a.level ? `<span class="v-badge ${siagaClass(a.level)}">Siaga ${esc(a.level)}</span> ` : ''}` +
      `${esc(k.t('gauge.kind_' + a.kind))}${a.rise_cm ? ' +' + esc(k.num(a.rise_cm)) + ' cm' : ''}</td>` +
      `<td>${esc(k.t('gauge.state_' + a.state))}${a.acknowledged_by ? ' (' + esc(a.acknowledged_by) + ')' : ''}</td></tr>`
    ).join('') || `<tr><td colspan="3">${esc(k.t('gauge.no_alerts'))}</td></tr>`;
  }

  const ready = import(CHART).then((mod) => {
    if (stopped) {
      return;
    }
    Chart = mod.Chart;
    Chart.register(...mod.registerables);
    view = liveView(k, root, 'gauge', () => ({ station, hours }), draw,
                    k.t('gauge.not_found', { station }));
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
      if (view) {
        view.destroy();
      }
      if (chart) {
        chart.destroy();
      }
    },
  };
}
