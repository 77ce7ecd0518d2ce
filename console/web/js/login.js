// login.js -- the login page: user name and password to POST /api/login, then the console.
import { loadLang, t, bindLangSelect } from './i18n.js';
import { apiPost, ApiError } from './api.js';

async function main() {
  await loadLang();
  const form = document.getElementById('login-form');
  const error = document.getElementById('login-error');
  const button = document.getElementById('login-submit');
  bindLangSelect(document.getElementById('lang'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    const username = form.username.value.trim().toLowerCase(); // account names are lower case
    const password = form.password.value;
    if (!username || !password) {
      error.textContent = t('login.required');
      error.hidden = false;
      return;
    }
    button.disabled = true;
    try {
      await apiPost('login', { username, password });
      window.location.assign('index.html#/peta');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        error.textContent = t('login.refused');
      } else if (err instanceof ApiError && err.status === 429) {
        error.textContent = t('login.slowed', { s: err.retryAfter || 60 });
      } else {
        error.textContent = err instanceof ApiError ? err.text() : String(err);
      }
      error.hidden = false;
      form.password.value = '';
      form.password.focus();
    } finally {
      button.disabled = false;
    }
  });
}

main();
