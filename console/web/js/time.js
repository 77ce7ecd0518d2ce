// time.js -- times as people in Bekasi read them: WIB (UTC+7, Asia/Jakarta) with the zone
// named, and "n menit lalu". The API sends UTC ("2026-12-07T10:00:00.000Z").
import { t, currentLang } from './i18n.js';

const ZONE = 'Asia/Jakarta';

function parse(iso) {
  if (iso === null || iso === undefined || iso === '') {
    return null;
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

// "07/12/2026 17.05 WIB" (id) or "07/12/2026, 17:05 WIB" (en); "—" for no time.
export function formatWIB(iso, withSeconds = false) {
  const d = parse(iso);
  if (d === null) {
    return '—';
  }
  const f = new Intl.DateTimeFormat(currentLang() === 'en' ? 'en-GB' : 'id-ID', {
    timeZone: ZONE, day: '2-digit', month: '2-digit', year: 'numeric',
    hour: '2-digit', minute: '2-digit', second: withSeconds ? '2-digit' : undefined,
    hour12: false,
  });
  return `${f.format(d)} ${t('time.zone')}`;
}

// "5 menit lalu" from iso to now.
export function ago(iso, now = Date.now()) {
  const d = parse(iso);
  if (d === null) {
    return '—';
  }
  const min = Math.floor((now - d.getTime()) / 60000);
  if (min < 1) {
    return t('time.just_now');
  }
  if (min < 60) {
    return t('time.minutes_ago', { n: min });
  }
  if (min < 48 * 60) {
    return t('time.hours_ago', { n: Math.floor(min / 60) });
  }
  return t('time.days_ago', { n: Math.floor(min / 1440) });
}

// An element <time> with the WIB text, the age in its title and the ISO in datetime.
export function timeElement(iso) {
  const el = document.createElement('time');
  el.textContent = formatWIB(iso);
  if (iso) {
    el.dateTime = iso;
    el.title = ago(iso);
  }
  return el;
}
