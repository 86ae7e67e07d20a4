// Masked personal data, as the server masks it (src/domain/mask.c): an ID number
// keeps its first 2 and last 3 characters, a bank account its first 4 and last
// 4; anything too short to keep both ends is hidden whole.
function keep(s, head, tail) {
  const chars = Array.from(String(s ?? ''));
  const n = chars.length;
  return chars.map((c, i) => (n > head + tail && (i < head || i >= n - tail) ? c : '*')).join('');
}

/** "53010219900101123X" → "53*************23X" */
export function maskId(id) { return keep(id, 2, 3); }
/** "6222021234567890123" → "6222***********0123" */
export function maskBank(acct) { return keep(String(acct ?? '').replace(/\s+/g, ''), 4, 4); }
