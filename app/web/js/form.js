// form.js -- the inspection form of protocol.md 4.5, laid out for one thumb: the place first
// (kelurahan, RW and RT remembered from the last report), big buttons for the building and
// the container rows (type, indoors or out, steppers for inspected and positive), the PSN
// actions as toggles, and one big "save" button at the bottom. It reads what was entered
// (read()) and shows the validator's refusals beside the field at fault (showErrors()).
// Not for: validation rules (validate.js) or saving (outbox.js).

import { t } from './i18n.js';

export const CONTAINER_TYPES = [
    'bath_tub', 'wc_tub', 'drum', 'jar', 'bucket', 'tank', 'bird_dish', 'flower_vase',
    'dispenser_tray', 'fridge_tray', 'used_goods', 'tree_hole', 'leaf_axil', 'coconut_shell',
    'other',
];
export const ACTIONS = ['drain', 'cover', 'recycle', 'larvicide', 'fish', 'repellent', 'net',
    'plant', 'other'];
export const BUILDINGS = ['house', 'public_place', 'institution'];

function el(tag, attrs = {}, children = []) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
        if (k === 'text') {
            e.textContent = v;
        } else {
            e.setAttribute(k, v);
        }
    }
    for (const c of children) {
        e.append(c);
    }
    return e;
}

// kelurahan from data/bekasi_wilayah.csv (code,name,level): [{code, name, kecamatan}]
export function parseWilayah(csv) {
    const kec = new Map();
    const out = [];
    for (const line of csv.split('\n').slice(1)) {
        const [code, name, level] = line.trim().split(',');
        if (level === 'kecamatan') {
            kec.set(code, name);
        } else if (level === 'kelurahan') {
            out.push({ code, name, kecamatan: code.slice(0, 8) });
        }
    }
    for (const k of out) {
        k.kecamatan = kec.get(k.kecamatan) || k.kecamatan;
    }
    return out.sort((a, b) => a.name.localeCompare(b.name, 'id'));
}

function stepper(cls, label, value) {
    const input = el('input', { type: 'text', inputmode: 'numeric', class: cls,
        'aria-label': label, value: String(value) });
    const minus = el('button', { type: 'button', class: 'step', 'aria-label': label + ' −',
        text: '−' });
    const plus = el('button', { type: 'button', class: 'step', 'aria-label': label + ' +',
        text: '+' });
    const bump = (d) => {
        const n = /^[0-9]+$/.test(input.value) ? Number(input.value) : 0;
        input.value = String(Math.max(0, n + d));
        input.dispatchEvent(new Event('input', { bubbles: true }));
    };
    minus.addEventListener('click', () => bump(-1));
    plus.addEventListener('click', () => bump(1));
    return el('label', { class: 'count' }, [el('span', { text: label }), minus, input, plus]);
}

export class Form {
    // root: the <form> element of index.html; kelurahan: parseWilayah's list
    constructor(root, kelurahan) {
        this.root = root;
        this.gps = null; // {lat, lon, acc}
        this.q = (sel) => root.querySelector(sel);
        const sel = this.q('#f-kelurahan');
        sel.append(el('option', { value: '', text: t('f_kelurahan_choose') }));
        for (const k of kelurahan) {
            sel.append(el('option', { value: k.code, text: k.name + ' (' + k.kecamatan + ')' }));
        }
        const b = this.q('#f-building');
        for (const name of BUILDINGS) {
            const id = 'b-' + name;
            b.append(el('input', { type: 'radio', name: 'building', value: name, id }),
                el('label', { for: id, class: 'chip', text: t('b_' + name) }));
        }
        const a = this.q('#f-actions');
        for (const name of ACTIONS) {
            const id = 'a-' + name;
            a.append(el('input', { type: 'checkbox', name: 'action', value: name, id }),
                el('label', { for: id, class: 'chip', text: t('a_' + name) }));
        }
        this.q('#f-add-container').addEventListener('click', () => this.addContainer());
        this.q('#f-gps').addEventListener('click', () => this.takeGps());
        this.q('#f-gps-clear').addEventListener('click', () => this.setGps(null));
        root.addEventListener('input', () => this.showLarvae());
        this.reset({});
    }

    addContainer(type = 'bath_tub', location = 'indoor', inspected = 1, positive = 0) {
        const list = this.q('#f-container-list');
        const typeSel = el('select', { class: 'c-type', 'aria-label': t('f_type') });
        for (const name of CONTAINER_TYPES) {
            typeSel.append(el('option', { value: name, text: t('c_' + name) }));
        }
        typeSel.value = type;
        const locSel = el('select', { class: 'c-location', 'aria-label': t('f_location') });
        for (const name of ['indoor', 'outdoor']) {
            locSel.append(el('option', { value: name, text: t('loc_' + name) }));
        }
        locSel.value = location;
        const remove = el('button', { type: 'button', class: 'remove', text: t('f_remove') });
        const row = el('li', { class: 'container-row' }, [
            typeSel, locSel, stepper('c-inspected', t('f_inspected'), inspected),
            stepper('c-positive', t('f_positive'), positive), remove,
            el('p', { class: 'err', role: 'alert' }),
        ]);
        remove.addEventListener('click', () => {
            row.remove();
            this.showLarvae();
        });
        list.append(row);
        this.showLarvae();
        return row;
    }

    takeGps() {
        const msg = this.q('#f-gps-state');
        if (!navigator.geolocation) {
            msg.textContent = t('f_gps_denied');
            return;
        }
        navigator.geolocation.getCurrentPosition(
            (p) => this.setGps({ lat: p.coords.latitude, lon: p.coords.longitude,
                acc: p.coords.accuracy }),
            () => {
                this.setGps(null);
                msg.textContent = t('f_gps_denied');
            },
            { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    }

    setGps(g) {
        this.gps = g;
        this.q('#f-gps-state').textContent = g === null ? t('f_gps_none')
            : t('f_gps_got', { lat: g.lat.toFixed(5), lon: g.lon.toFixed(5),
                acc: Math.round(g.acc) });
    }

    num(v) {
        const s = String(v).trim();
        return /^[0-9]{1,9}$/.test(s) ? Number(s) : (s === '' ? undefined : s);
    }

    containers() {
        return Array.from(this.root.querySelectorAll('.container-row')).map((row) => ({
            type: row.querySelector('.c-type').value,
            location: row.querySelector('.c-location').value,
            inspected: this.num(row.querySelector('.c-inspected').value),
            positive: this.num(row.querySelector('.c-positive').value),
        }));
    }

    showLarvae() {
        const found = this.containers().some((c) => typeof c.positive === 'number' &&
            c.positive > 0);
        this.q('#f-larvae').textContent = t('f_larvae', { yes_no: t(found ? 'yes' : 'no') });
    }

    // The report's own members as entered (no envelope, no inspector); members left empty are
    // absent or undefined, so that the validator names them.
    read() {
        const r = {};
        const building = this.root.querySelector('input[name=building]:checked');
        r.building = building ? building.value : undefined;
        r.kelurahan = this.q('#f-kelurahan').value || undefined;
        r.rw = this.num(this.q('#f-rw').value);
        r.rt = this.num(this.q('#f-rt').value);
        const address = this.q('#f-address').value.trim();
        if (address !== '') {
            r.address = address;
        }
        if (this.gps !== null) {
            r.lat = Math.round(this.gps.lat * 1e6) / 1e6;
            r.lon = Math.round(this.gps.lon * 1e6) / 1e6;
        }
        r.containers = this.containers();
        r.larvae_found = r.containers.some((c) => typeof c.positive === 'number' &&
            c.positive > 0);
        const actions = Array.from(this.root.querySelectorAll('input[name=action]:checked'))
            .map((i) => i.value);
        if (actions.length > 0) {
            r.actions = actions;
        }
        const note = this.q('#f-note').value.trim();
        if (note !== '') {
            r.note = note;
        }
        for (const k of Object.keys(r)) {
            if (r[k] === undefined) {
                delete r[k];
            }
        }
        return r;
    }

    clearErrors() {
        for (const e of this.root.querySelectorAll('.err')) {
            e.textContent = '';
        }
        for (const e of this.root.querySelectorAll('[aria-invalid]')) {
            e.removeAttribute('aria-invalid');
        }
        this.q('#f-message').textContent = '';
    }

    // errs: the validator's [{path, keyword}]; each is shown beside its field. Returns how
    // many were shown.
    showErrors(errs) {
        this.clearErrors();
        const rows = this.root.querySelectorAll('.container-row');
        for (const { path, keyword } of errs) {
            const parts = path.split('/').filter((x) => x !== '');
            let key = 'e_' + keyword;
            if ((parts[0] === 'rt' || parts[0] === 'rw') && parts.length === 1 &&
                keyword !== 'required') {
                key = 'e_' + parts[0];
            }
            let text = t(key, { keyword });
            if (text === key) {
                text = t('e_other', { keyword });
            }
            let box = null;
            let field = null;
            if (parts[0] === 'containers' && parts.length > 1 && rows[Number(parts[1])]) {
                const row = rows[Number(parts[1])];
                box = row.querySelector('.err');
                field = row.querySelector('.c-' + (parts[2] || 'type'));
            } else {
                const name = { lat: 'gps', lon: 'gps', larvae_found: 'containers' }[parts[0]] ||
                    parts[0];
                box = this.q('#err-' + name);
                field = this.q('#f-' + name);
            }
            if (box === null) {
                box = this.q('#f-message');
                text = (parts[0] || '') + ': ' + text;
            }
            box.textContent = box.textContent ? box.textContent + ' ' + text : text;
            if (field !== null) {
                field.setAttribute('aria-invalid', 'true');
            }
        }
        if (errs.length > 0) {
            this.q('#f-message').textContent = this.q('#f-message').textContent ||
                t('form_invalid');
        }
        return errs.length;
    }

    // A new blank form; the place (kelurahan, RW, RT) is kept from last.
    reset(last) {
        this.root.reset();
        this.q('#f-container-list').replaceChildren();
        this.q('#f-kelurahan').value = last.kelurahan || '';
        this.q('#f-rw').value = last.rw !== undefined ? String(last.rw) : '';
        this.q('#f-rt').value = last.rt !== undefined ? String(last.rt) : '';
        this.q('#b-house').checked = true;
        this.setGps(null);
        this.clearErrors();
        this.showLarvae();
        this.formId = crypto.randomUUID(); // one form instance, one report (ODK's instance id)
    }
}
