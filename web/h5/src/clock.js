// The server's clock, as seen from the phone. Countdowns use it, never the
// phone's own clock (which may be minutes off). The offset is measured with
// GET /api/v1/time (the middle of the round trip) and the time then advances
// with performance.now(), so changing the phone's clock does not move it.
import { ref } from 'vue';
import { api } from './api.js';

let base = null; // {server: ms, perf: ms, rtt: ms}
export const synced = ref(false);
export const tick = ref(Date.now()); // reactive "now", updated 4× a second while someone listens

function perfNow() {
  return typeof performance !== 'undefined' && performance.now ? performance.now() : Date.now();
}

export function serverNow() {
  if (!base) return Date.now();
  return base.server + (perfNow() - base.perf);
}

async function measure() {
  const t0 = perfNow();
  const r = await api.time();
  const t1 = perfNow();
  const ms = typeof r.now_ms === 'number' ? r.now_ms : Date.parse(r.now);
  if (!Number.isFinite(ms)) throw new Error('bad time');
  return { server: ms + (t1 - t0) / 2, perf: t1, rtt: t1 - t0 };
}

let syncing = null;
export function syncClock() {
  if (syncing) return syncing;
  syncing = (async () => {
    // Two samples; keep the one with the shorter round trip.
    for (let i = 0; i < 2; i++) {
      try {
        const m = await measure();
        if (!base || m.rtt <= base.rtt || i === 0) base = m;
        synced.value = true;
      } catch { /* keep the previous estimate */ }
    }
  })().finally(() => { syncing = null; });
  return syncing;
}

// A phone that slept may have paused performance.now(): measure again on wake.
if (typeof document !== 'undefined') {
  document.addEventListener('visibilitychange', () => { if (!document.hidden) syncClock(); });
}

let listeners = 0;
let timer = null;
let resync = null;
export function useClock() {
  listeners++;
  if (!timer) {
    tick.value = serverNow();
    timer = setInterval(() => { tick.value = serverNow(); }, 250);
    if (!synced.value) syncClock().then(() => { tick.value = serverNow(); });
    resync = setInterval(syncClock, 120000);
  }
  return () => {
    listeners--;
    if (listeners <= 0 && timer) {
      clearInterval(timer); clearInterval(resync);
      timer = null; resync = null; listeners = 0;
    }
  };
}

// "3天 04:05:06" / "04:05:06" / "05:06"
export function formatCountdown(ms) {
  if (ms < 0) ms = 0;
  const s = Math.ceil(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const p = (n) => String(n).padStart(2, '0');
  const hms = p(h) + ':' + p(m) + ':' + p(sec);
  return d > 0 ? d + '天 ' + hms : hms;
}

// Times are shown in Beijing time whatever the phone's zone.
const fmt = (() => {
  try {
    return new Intl.DateTimeFormat('zh-CN', {
      timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', hour12: false,
    });
  } catch { return null; }
})();

export function formatTime(iso) {
  if (!iso) return '';
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t)) return String(iso);
  if (!fmt) return new Date(t).toLocaleString();
  const parts = {};
  for (const p of fmt.formatToParts(new Date(t))) parts[p.type] = p.value;
  const hour = parts.hour === '24' ? '00' : parts.hour;
  return `${parts.year}-${parts.month}-${parts.day} ${hour}:${parts.minute}`;
}

export function formatDate(s) {
  if (!s) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  return m ? `${m[1]}年${+m[2]}月${+m[3]}日` : s;
}

// Today's date (YYYY-MM-DD) in Beijing by the server's clock.
export function serverToday() {
  const d = new Date(serverNow() + 8 * 3600 * 1000);
  return d.toISOString().slice(0, 10);
}
