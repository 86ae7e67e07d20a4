// Generators of test identities: valid resident ID numbers (GB 11643-1999)
// and mainland mobile phones. Every value handed out is also recorded, so a
// test can later check that none of them leaks into logs or storage.

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

/** The check character for the first 17 digits of a resident ID number. */
export function checkDigit(body17) {
  if (!/^\d{17}$/.test(body17)) throw new Error(`bad ID body: ${body17}`);
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body17[i]) * WEIGHTS[i];
  return CHECK[sum % 11];
}

/** An ID number from its parts, with the right check digit (whatever the date). */
export function makeId(area, yyyymmdd, seq) {
  const body = `${area}${yyyymmdd}${String(seq).padStart(3, '0')}`;
  return body + checkDigit(body);
}

/** The same ID number with a wrong check character. */
export function wrongCheckDigit(id) {
  const right = id[17];
  const other = CHECK.split('').find((c) => c !== right && c !== 'X');
  return id.slice(0, 17) + other;
}

export const used = { ids: new Set(), phones: new Set() };

const AREAS = ['530102', '530103', '530111', '530112', '530302', '530402', '532301', '532501'];
const DAY = 86400000;
const FIRST = Date.UTC(1970, 0, 1);
const SPAN = Math.floor((Date.UTC(2000, 11, 31) - FIRST) / DAY); // days in 1970..2000
let idCounter = Math.floor(Math.random() * 1000);

/** A fresh valid ID number of an adult born 1970–2000; unique within this process. */
export function idNumber() {
  const n = idCounter++;
  const day = (n * 7919) % SPAN; // spread birth dates
  const d = new Date(FIRST + day * DAY);
  const ymd = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(
    d.getUTCDate(),
  ).padStart(2, '0')}`;
  const area = AREAS[Math.floor(n / SPAN) % AREAS.length];
  const seq = 100 + (Math.floor(n / (SPAN * AREAS.length)) % 900);
  const id = makeId(area, ymd, seq);
  used.ids.add(id);
  return id;
}

// Phones: 1[3-9]X XXXX XXXX. Each process starts at a random block so runs differ.
let phoneCounter = Math.floor(Math.random() * 50000) * 100;

/** A fresh mainland mobile phone number; unique within this process. */
export function phone() {
  const n = phoneCounter++;
  const p = String(13800000000 + (n % 100000000));
  if (!/^1[3-9]\d{9}$/.test(p)) throw new Error(`generated bad phone ${p}`);
  used.phones.add(p);
  return p;
}

/** Records a value (ID or phone) that a test sent, though not generated here. */
export function remember(kind, value) {
  used[kind].add(value);
}
