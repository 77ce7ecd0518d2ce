/* jumantik.js -- larva inspections (#/jumantik): ABJ, HI, CI and BI per kelurahan and week
* against the 95 % target, the RW that need fogging, and today's positive houses (their
* address and GPS only when the account may see personal data: the database leaves them out
* otherwise). Data: GET /api/jumantik?week=YYYY-MM-DD (pantau_console.jumantik, schema/022).
* Re-fetched on the live `data` event. */

import { kit, liveView, esc, abjClass } from './map.js';

function mondayOf(d) {
  const x = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  x.setUTCDate(x.getUTCDate() - ((x.getUTCDay() + 6) % 7));
  return x.toISOString().slice(0, 10);
}

export function render(root, params, ctx) {
  const k = kit(ctx);
  /* today in WIB, then its Monday */
  let week = (params && /^\d{4}-\d{2}-\d{2}$/.test(params.week || '') && params.week) ||
    mondayOf(new Date(Date.now() + 7 * 3600 * 1000));
  root.innerHTML = `
<section class="v-view v-jumantik" aria-labelledby="v-jumantik-title">
 <header class="v-head">
  <h1 id="v-jumantik-title">${esc(k.t('jumantik.title'))}</h1>
  <form class="v-week"><label for="v-week-input">${esc(k.t('jumantik.week'))}</label>
   <input id="v-week-input" type="date" value="${esc(week)}" required>
   <button type="submit">${esc(k.t('jumantik.show'))}</button></form>
  <p class="v-status" role="status" aria-live="polite">${esc(k.t('map.loading'))}</p>
 </header>
 <div class="v-two">
  <section><h2>${esc(k.t('jumantik.today'))}</h2><p class="v-today-count"></p>
   <ul class="v-list v-today"></ul></section>
  <section><h2>${esc(k.t('jumantik.fogging'))}</h2><p class="v-note v-fog-rule"></p>
   <ul class="v-list v-fog"></ul></section>
 </div>
 <section><h2>${esc(k.t('jumantik.per_kelurahan'))}</h2>
  <table class="v-table v-kel"><thead><tr>
   <th scope="col">${esc(k.t('jumantik.kelurahan'))}</th><th scope="col">${esc(k.t('jumantik.houses'))}</th>
   <th scope="col">ABJ</th><th scope="col">HI</th><th scope="col">CI</th><th scope="col">BI</th>
   <th scope="col">${esc(k.t('map.as_of'))}</th></tr></thead><tbody></tbody></table>
 </section>
</section>`;
  const pct = (v) => (v === null || v === undefined ? '-' : k.num(v) + ' %');

  function draw(data) {
    const today = data.positives_today || {};
    root.querySelector('.v-today-count').textContent =
      k.t('jumantik.today_count', { n: today.count || 0, day: today.day || '' });
    root.querySelector('.v-today').innerHTML = (today.inspections || []).map((i) =>
      `<li><span class="v-badge v-abj-low">${esc(k.t('jumantik.positive'))}</span> ` +
      `${esc(i.kelurahan_name)} RW ${esc(i.rw)} RT ${esc(i.rt)} · ${esc(k.t('jumantik.building_' + i.building))}` +
      ` · ${esc(k.wib(i.t))}` +
      (i.address ? `<br><span class="v-pii">${esc(i.address)}` +
        (i.lat !== null ? ` (${esc(i.lat)}, ${esc(i.lon)})` : '') + '</span>' : '') + '</li>'
    ).join('') + (data.personal ? '' : `<li class="v-note">${esc(k.t('jumantik.no_personal'))}</li>`);
    root.querySelector('.v-fog-rule').textContent =
      k.t('jumantik.fog_rule', { hi: data.hi_fogging_pct, n: data.min_houses });
    root.querySelector('.v-fog').innerHTML = (data.fogging_rw || []).map((f) =>
      `<li><span class="v-badge v-abj-low">HI ${esc(k.num(f.hi_pct))} %</span> ` +
      `${esc(f.kelurahan_name)} RW ${esc(f.rw)} · ${esc(f.houses_positive)}/${esc(f.houses_inspected)} ` +
      `${esc(k.t('map.houses'))} <span class="v-fresh">${k.fresh(f.as_of)}</span></li>`).join('') ||
      `<li>${esc(k.t('jumantik.no_fogging'))}</li>`;
    const rows = (data.kelurahan || []).slice().sort((a, b) =>
      (a.abj_pct === null) - (b.abj_pct === null) || (a.abj_pct || 0) - (b.abj_pct || 0) ||
      a.code.localeCompare(b.code));
    root.querySelector('.v-kel tbody').innerHTML = rows.map((r) =>
      `<tr data-kelurahan="${esc(r.code)}"><th scope="row">${esc(r.name)}<span class="v-fresh"> ${esc(r.kecamatan_name)}</span></th>` +
      `<td>${esc(r.houses_inspected)}${r.enough_houses || !r.houses_inspected ? '' : ' <span class="v-note">' + esc(k.t('jumantik.few')) + '</span>'}</td>` +
      `<td><span class="v-badge ${abjClass({ abj_pct: r.abj_pct, target_pct: data.target_abj_pct })}">${esc(pct(r.abj_pct))}</span></td>` +
      `<td>${esc(pct(r.hi_pct))}</td><td>${esc(pct(r.ci_pct))}</td><td>${esc(r.bi === null ? '-' : k.num(r.bi))}</td>` +
      `<td>${r.as_of ? k.fresh(r.as_of) : '-'}</td></tr>`).join('');
  }

  const view = liveView(k, root, 'jumantik', () => ({ week }), draw);
  root.querySelector('.v-week').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = root.querySelector('#v-week-input').value;
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
      week = mondayOf(new Date(v + 'T00:00:00Z'));
      view.refresh();
    }
  });
  return view;
}
