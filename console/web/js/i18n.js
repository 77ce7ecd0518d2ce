// i18n.js -- the page's words, one file per language (i18n/id.json, i18n/en.json); Bahasa
// Indonesia by default, the choice kept in localStorage. This module owns the current language
// and its table; every other module asks t(key, vars).

const STORE_KEY = 'pantau.lang';
const LANGS = ['id', 'en'];
let lang = 'id';
let table = {};

export function currentLang() {
  return lang;
}

// Loads the chosen language (or Bahasa Indonesia) and translates the page's data-i18n marks.
export async function loadLang(wanted) {
  const pick = LANGS.includes(wanted) ? wanted : (localStorage.getItem(STORE_KEY) || 'id');
  lang = LANGS.includes(pick) ? pick : 'id';
  const res = await fetch(`i18n/${lang}.json`, { cache: 'no-cache' });
  table = res.ok ? await res.json() : {};
  localStorage.setItem(STORE_KEY, lang);
  document.documentElement.lang = lang;
  translate(document);
  return lang;
}

// The text of key with {name} replaced from vars; the key itself when it has no text.
export function t(key, vars = {}) {
  const text = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

// Fills elements marked data-i18n (text) and data-i18n-label (aria-label) under root.
export function translate(root) {
  root.querySelectorAll('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  root.querySelectorAll('[data-i18n-label]').forEach((el) => {
    el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  });
}

// Wires a <select> to switch the language; onChange runs after the new table is loaded.
export function bindLangSelect(select, onChange) {
  select.value = lang;
  select.addEventListener('change', async () => {
    await loadLang(select.value);
    if (onChange) {
      onChange(lang);
    }
  });
}
