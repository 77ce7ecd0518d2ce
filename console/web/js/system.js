/* system.js -- the pipe's own health (#/sistem): every device online or not, last seen,
* backlog held, clock synchronised; gaps in its sequence with the times on both sides ("did
* we lose data at 02:00?"); dead letters by reason; the collectors and the database. Every
* number says how fresh it is. Data: GET /api/system (pantau_console.system, schema/022).
* Re-fetched on the live `data` event. */

import { kit, liveView, esc } from './map.js';

export function render(root, params, ctx) {
  const k = kit(ctx);
  root.innerHTML = `
<section class="v-view v-system" aria-labelledby="v-system-title">
 <header class="v-head">
  <h1 id="v-system-title">${esc(k.t('system.title'))}</h1>
  <p class="v-status" role="status" aria-live="polite">${esc(k.t('map.loading'))}</p>
 </header>
 <div class="v-cards"></div>
 <section><h2>${esc(k.t('system.devices'))}</h2>
  <table class="v-table v-devices"><thead><tr>
   <th scope="col">${esc(k.t('system.device'))}</th><th scope="col">${esc(k.t('system.state'))}</th>
   <th scope="col">${esc(k.t('system.last_seen'))}</th><th scope="col">${esc(k.t('system.backlog'))}</th>
   <th scope="col">${esc(k.t('system.clock'))}</th><th scope="col">${esc(k.t('system.gaps'))}</th>
  </tr></thead><tbody></tbody></table></section>
 <div class="v-two">
  <section><h2>${esc(k.t('system.gap_list'))}</h2>
   <table class="v-table v-gaps"><thead><tr>
    <th scope="col">${esc(k.t('system.device'))}</th><th scope="col">${esc(k.t('system.between'))}</th>
    <th scope="col">${esc(k.t('system.missing'))}</th></tr></thead><tbody></tbody></table></section>
  <section><h2>${esc(k.t('system.dead_letters'))}</h2><p class="v-note v-dead-total"></p>
   <table class="v-table v-dead"><thead><tr>
    <th scope="col">${esc(k.t('system.reason'))}</th><th scope="col">${esc(k.t('system.count'))}</th>
    <th scope="col">${esc(k.t('system.last'))}</th></tr></thead><tbody></tbody></table></section>
 </div>
 <div class="v-two">
  <section><h2>${esc(k.t('system.collectors'))}</h2><ul class="v-list v-collectors"></ul></section>
  <section><h2>${esc(k.t('system.database'))}</h2><dl class="v-db"></dl></section>
 </div>
</section>`;

  function state(s) {
    return `<span class="v-badge ${s === 'online' ? 'v-ok' : 'v-down-badge'}">${esc(k.t('system.state_' + s))}</span>`;
  }

  function draw(data) {
    const db = data.database || {};
    const dead = data.dead_letters || {};
    root.querySelector('.v-cards').innerHTML = `
<div class="v-card"><span class="v-card-label">${esc(k.t('system.online'))}</span>
 <span class="v-card-value">${esc(data.devices_online)} / ${esc(data.devices_total)}</span>
 <span class="v-fresh">${k.fresh(data.generated_at)}</span></div>
<div class="v-card"><span class="v-card-label">${esc(k.t('system.dead_24h'))}</span>
 <span class="v-card-value">${esc(dead.total)}</span><span class="v-fresh">${k.fresh(dead.as_of)}</span></div>
<div class="v-card"><span class="v-card-label">${esc(k.t('system.queue'))}</span>
 <span class="v-card-value">${esc(db.alert_queue)}</span>
 <span class="v-fresh">${db.alert_queue_oldest ? esc(k.t('system.oldest', { time: k.ago(db.alert_queue_oldest) })) : ''}</span></div>`;
    root.querySelector('.v-devices tbody').innerHTML = (data.devices || []).map((d) =>
      `<tr data-device="${esc(d.device_id)}"><th scope="row">${esc(d.device_id)}` +
      `<span class="v-fresh"> ${esc(k.t('system.kind_' + d.kind))}${d.enabled ? '' : ' · ' + esc(k.t('system.disabled'))}</span></th>` +
      `<td>${state(d.state)}${d.connected_at ? `<span class="v-fresh"> ${esc(k.t('system.since'))} ${esc(k.wib(d.connected_at))}</span>` : ''}</td>` +
      `<td>${k.fresh(d.last_seen)}${d.last_reading ? `<span class="v-fresh"> · ${esc(k.t('system.last_reading'))} ${esc(k.wib(d.last_reading))}</span>` : ''}</td>` +
      `<td>${esc(d.backlog === null ? '-' : d.backlog)}</td>` +
      `<td>${esc(d.clock_synced === null ? '-' : d.clock_synced ? k.t('system.synced') : k.t('system.unsynced'))}</td>` +
      `<td>${esc(d.gaps)}${d.missing ? ' (' + esc(k.t('system.missing_n', { n: d.missing })) + ')' : ''}</td></tr>`
    ).join('') || `<tr><td colspan="6">${esc(k.t('map.none'))}</td></tr>`;
    root.querySelector('.v-gaps tbody').innerHTML = (data.gaps || []).map((g) =>
      `<tr><th scope="row">${esc(g.device_id)}</th>` +
      `<td>${esc(k.wib(g.after))} – ${esc(k.wib(g.before))}<span class="v-fresh"> #${esc(g.first_seq)}–${esc(g.last_seq)}</span></td>` +
      `<td>${esc(g.missing)}${g.dropped_by_device ? ' · ' + esc(k.t('system.dropped_by_device')) : ''}</td></tr>`
    ).join('') || `<tr><td colspan="3">${esc(k.t('system.no_gaps'))}</td></tr>`;
    root.querySelector('.v-dead-total').textContent = k.t('system.dead_window', { h: dead.window_h || 24 });
    root.querySelector('.v-dead tbody').innerHTML = (dead.by_reason || []).map((r) =>
      `<tr><th scope="row">${esc(r.category)}${r.reason !== r.category ? ' / ' + esc(r.reason) : ''}</th>` +
      `<td>${esc(r.count)}<span class="v-fresh"> (${esc(k.t('system.devices_n', { n: r.devices }))})</span></td>` +
      `<td>${k.fresh(r.last)}</td></tr>`).join('') ||
      `<tr><td colspan="3">${esc(k.t('system.no_dead'))}</td></tr>`;
    root.querySelector('.v-collectors').innerHTML = (data.collectors || []).map((c) =>
      `<li>${state(c.up ? 'online' : 'offline')} ${esc(c.collector_id)}` +
      (c.up ? '' : ` · ${esc(c.why || '')} · ${esc(k.t('system.since'))} ${esc(k.wib(c.down_since))}`) +
      ` <span class="v-fresh">${k.fresh(c.as_of)}</span></li>`).join('') ||
      `<li>${esc(k.t('system.no_collectors'))}</li>`;
    const dl = [
      [k.t('system.db_state'), db.up ? k.t('system.state_online') : k.t('system.state_offline')],
      [k.t('system.db_version'), db.version],
      [k.t('system.db_started'), k.wib(db.started_at)],
      [k.t('system.db_size'), k.num((db.size_bytes || 0) / 1048576, 0) + ' MiB'],
      [k.t('system.db_connections'), db.connections],
      [k.t('system.deliveries'), db.deliveries_pending],
      [k.t('system.deliveries_failed'), db.deliveries_failed_24h],
    ];
    root.querySelector('.v-db').innerHTML = dl.map(([a, b]) =>
      `<dt>${esc(a)}</dt><dd>${esc(b)}</dd>`).join('') +
      `<dt>${esc(k.t('map.as_of'))}</dt><dd>${k.fresh(db.as_of)}</dd>`;
  }

  const view = liveView(k, root, 'system', {}, draw);
  return view;
}
