// Runs a layout change caused by a blur only once the tap that caused the blur
// is over. A field checked on blur grows an error line; done at once, that
// line pushes everything below it down in the middle of the tap that moved the
// focus, and the tap lands on whatever slid under the finger (or on nothing).
//
// On a touch screen the browser sends pointerdown/pointerup first and the
// mousedown that moves the focus (the blur) afterwards, then click; with a
// mouse the blur comes between pointerdown and pointerup. Either way a blur
// "during a tap" is one while a pointer is down or just after one went up; the
// deferred work then runs right after the click (or after a short fallback
// delay when no click follows, e.g. the finger moved and scrolled instead).

const SETTLE_MS = 400;   // a blur this soon after pointerup belongs to that tap
const FALLBACK_MS = 600; // no click came: run anyway

let down = false;
let upAt = -Infinity;
let queue = [];
let fallback = null;

const now = () => (typeof performance !== 'undefined' && performance.now ? performance.now() : Date.now());

function flush() {
  clearTimeout(fallback);
  fallback = null;
  const q = queue;
  queue = [];
  for (const fn of q) {
    try { fn(); } catch (e) { setTimeout(() => { throw e; }); }
  }
}
function arm() {
  clearTimeout(fallback);
  fallback = setTimeout(flush, FALLBACK_MS);
}

if (typeof window !== 'undefined') {
  window.addEventListener('pointerdown', () => { down = true; }, true);
  window.addEventListener('pointerup', () => { down = false; upAt = now(); if (queue.length) arm(); }, true);
  window.addEventListener('pointercancel', () => { down = false; upAt = -Infinity; if (queue.length) setTimeout(flush, 0); }, true);
  // after the click's own handlers (a picker opening, a button's action)
  window.addEventListener('click', () => { if (queue.length) setTimeout(flush, 0); }, true);
}

/** Calls fn now, or, during a tap, right after that tap's click. */
export function afterTap(fn) {
  if (!down && now() - upAt > SETTLE_MS) { fn(); return; }
  queue.push(fn);
  if (!down) arm();
}
