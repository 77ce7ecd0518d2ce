/* traffic.js -- traffic (#/lalu-lintas): the worst corridors now, every camera's level of
* service of the last hour, and per camera and hour its counts by class, speed, degree of
* saturation and level of service; incidents with their updates. Data: GET
* /api/traffic?hours=24 (pantau_console.traffic, schema/022). Re-fetched on the live `data`
* event (refresh()). */

import { kit, liveView, esc, losClass } from './map.js';

export function render(root, params, ctx) {
  const k = kit(ctx);
  const hours = Math.min(168, Math.max(1, Number(params && params.hours) || 24));
  root.innerHTML = `
<section class="v-view v-traffic" aria-labelledby="v-traffic-title">
 <header class="v-head">
  <h1 id="v-traffic-title">${esc(k.t('traffic.title'))}</h1>
  <p class="v-status" role="status" aria-live="polite">${esc(k.t('map.loading'))}</p>
 </header>
 <div class="v-two">
  <section><h2>${esc(k.t('traffic.worst'))}</h2><ol class="v-list v-worst"></ol></section>
  <section><h2>${esc(k.t('traffic.incidents'))}</h2><ul class="v-list v-incidents"></ul></section>
 </div>
 <section><h2>${esc(k.t('traffic.cameras', { hours }))}</h2>
  <table class="v-table v-cams"><thead><tr>
   <th scope="col">${esc(k.t('traffic.camera'))}</th><th scope="col">${esc(k.t('map.los'))}</th>
   <th scope="col">DS</th><th scope="col">${esc(k.t('traffic.speed'))}</th>
   <th scope="col">${esc(k.t('traffic.by_hour'))}</th><th scope="col">${esc(k.t('map.as_of'))}</th>
  </tr></thead><tbody></tbody></table>
 </section>
</section>`;

  function hourTable(c) {
    if (!c.hours.length) {
      return esc(k.t('traffic.no_counts'));
    }
    return `<details><summary>${esc(k.t('traffic.hours_n', { n: c.hours.length }))}</summary>` +
      `<table class="v-table v-small"><thead><tr><th scope="col">${esc(k.t('traffic.hour'))}</th>` +
      ['motorcycle', 'car', 'bus', 'truck', 'nonmotor'].map((x) =>
        `<th scope="col">${esc(k.t('traffic.' + x))}</th>`).join('') +
      `<th scope="col">${esc(k.t('traffic.flow'))}</th><th scope="col">DS</th>` +
      `<th scope="col">${esc(k.t('traffic.speed'))}</th><th scope="col">${esc(k.t('map.los'))}</th></tr></thead><tbody>` +
      c.hours.slice().reverse().map((h) => `<tr><td>${esc(k.wib(h.hour))}</td>` +
        ['motorcycle', 'car', 'bus', 'truck', 'nonmotor'].map((x) => `<td>${esc(h[x])}</td>`).join('') +
        `<td>${esc(k.num(h.q_pcu_h, 0))}</td><td>${esc(k.num(h.ds, 2))}</td>` +
        `<td>${esc(k.num(h.speed_kmh, 0))}</td>` +
        `<td><span class="v-badge ${losClass(h.los)}">${esc(h.los || '-')}</span></td></tr>`).join('') +
      '</tbody></table></details>';
  }

  function draw(data) {
    const names = new Map((data.cameras || []).map((c) => [c.station_id, c.name || c.station_id]));
    root.querySelector('.v-worst').innerHTML = (data.worst || []).map((w) =>
      `<li data-station="${esc(w.station_id)}"><span class="v-badge ${losClass(w.los)}">` +
      `${esc(k.t('map.los'))} ${esc(w.los || '-')}</span> ${esc(w.name || w.station_id)} ` +
      `· DS ${esc(k.num(w.ds, 2))} · ${esc(k.num(w.speed_kmh, 0))} ${esc(k.t('traffic.kmh'))} ` +
      `<span class="v-fresh">${k.fresh(w.as_of)}</span></li>`).join('') ||
      `<li>${esc(k.t('traffic.no_counts'))}</li>`;
    root.querySelector('.v-incidents').innerHTML = (data.incidents || []).map((i) =>
      `<li class="${i.state === 'end' ? 'v-ended' : ''}"><span class="v-badge ${i.state === 'end' ? 'v-ok' : 'v-incident'}">` +
      `${esc(k.t('traffic.type_' + i.type))}</span> ${esc(names.get(i.station_id) || i.station_id)}` +
      ` · ${esc(k.t('traffic.since'))} ${esc(k.wib(i.start_at))}` +
      (i.end_at ? ` · ${esc(k.t('traffic.ended'))} ${esc(k.wib(i.end_at))}` : '') +
      (i.confidence !== null ? ` · ${esc(Math.round(i.confidence * 100))} %` : '') +
      `<details><summary>${esc(k.t('traffic.updates', { n: (i.updates || []).length }))}</summary><ul>` +
      (i.updates || []).map((u) => `<li>${esc(k.wib(u.ts))}: ${esc(k.t('traffic.state_' + u.state))}` +
                  ` (${esc(k.t('traffic.type_' + u.type))})</li>`).join('') +
      '</ul></details></li>').join('') || `<li>${esc(k.t('traffic.no_incidents'))}</li>`;
    root.querySelector('.v-cams tbody').innerHTML = (data.cameras || []).map((c) => {
      const n = c.now || {};
      return `<tr data-station="${esc(c.station_id)}"><th scope="row">${esc(c.name || c.station_id)}` +
        `<span class="v-fresh"> ${esc(c.kelurahan_name || '')}</span></th>` +
        `<td><span class="v-badge ${n.silent ? 'v-los-none' : losClass(n.los)}">${esc(n.silent ? k.t('map.silent') : n.los || '-')}</span>` +
        ((n.incidents || []).length ? ` <span class="v-badge v-incident">⚠ ${esc(n.incidents.length)}</span>` : '') + '</td>' +
        `<td>${esc(k.num(n.ds, 2))}</td><td>${esc(k.num(n.speed_kmh, 0))}</td>` +
        `<td>${hourTable(c)}</td><td>${k.fresh(n.as_of)}</td></tr>`;
    }).join('');
  }

  const view = liveView(k, root, 'traffic', { hours }, draw);
  return view;
}
