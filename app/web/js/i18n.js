// i18n.js -- the words on screen: one JSON file per language in i18n/ (Bahasa Indonesia is
// the default, id.json), loaded once. t(key, {name: value}) fills {name} placeholders; a key
// missing from the language is shown as the key itself, so that a gap is visible.
// Not for: formatting numbers or dates (the page shows times in WIB with the zone named).

import { fetchOk } from './net.js';

const state = { words: {}, lang: 'id' };

export async function load(lang = 'id') {
    state.words = await (await fetchOk('i18n/' + lang + '.json')).json();
    state.lang = lang;
    document.documentElement.lang = lang;
}

export function t(key, vars = {}) {
    const s = Object.prototype.hasOwnProperty.call(state.words, key) ? state.words[key] : key;
    return s.replace(/\{([a-z_]+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

// Every element with data-i18n gets its text; data-i18n-placeholder its placeholder.
export function apply(root = document) {
    for (const el of root.querySelectorAll('[data-i18n]')) {
        el.textContent = t(el.dataset.i18n);
    }
    for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
        el.placeholder = t(el.dataset.i18nPlaceholder);
    }
}

// A time (ms since the epoch) in WIB (UTC+7), with the zone named.
export function wib(ms) {
    const d = new Date(ms + 7 * 3600 * 1000);
    const p = (n) => String(n).padStart(2, '0');
    return p(d.getUTCDate()) + '/' + p(d.getUTCMonth() + 1) + ' ' + p(d.getUTCHours()) + ':' +
        p(d.getUTCMinutes()) + ' WIB';
}
