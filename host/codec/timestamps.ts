// Event-time parsing to exact i64 nanoseconds since the epoch.
//
// Epoch nanoseconds (~1.7e18) exceed 2^53, so a timestamp is never allowed to
// pass through a JS number: numeric forms are parsed from their decimal TEXT
// (the JSON scanner hands over the digits, not a parsed double) straight into
// a bigint, and ISO 8601 fractions keep all nine digits.
//
// Accepted forms:
//   epoch numbers or numeric strings: "1700000000123" (ms), "1700000000123456789"
//     (ns), decimals and exponents ("1700000000.5", "1.7e12"). The unit is the
//     configured one, or with 'auto' inferred from magnitude:
//       < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds
//     (boundaries sit decades away from any plausible date in each unit).
//   ISO 8601: 2024-03-01T12:00:00Z, 2024-03-01 12:00:00.123456789+02:00,
//     offsets ±HH:MM / ±HHMM / ±HH; no offset means UTC.
// Digits finer than 1 ns are truncated.
//
// A declared unit (not 'auto') is a promise about the producer, and a value
// that breaks it is rejected, not reinterpreted: read in the declared unit, an
// epoch value must land between 1973-03-03T09:46:40Z (1e17 ns) and the end of
// the i64 ns range (2262-04-11), i.e. s 1e8…9.2e9, ms 1e11…9.2e12,
// us 1e14…9.2e15, ns 1e17…9.2e18. Milliseconds declared as ns would otherwise
// land in 1970 (and pass any "max future" rule); ns declared as ms overflow.
// 'auto' infers the unit from magnitude and never rejects on plausibility.

export type TimeUnit = 'auto' | 's' | 'ms' | 'us' | 'ns';

const SCALE: Record<Exclude<TimeUnit, 'auto'>, number> = { s: 9, ms: 6, us: 3, ns: 0 };
const POW10: bigint[] = Array.from({ length: 40 }, (_, i) => 10n ** BigInt(i));

/** Result: the ns value, or an error message (user errors are values, not exceptions). */
export type TsResult = bigint | string;

function unitFor(text: string, unit: TimeUnit): Exclude<TimeUnit, 'auto'> {
  if (unit !== 'auto') return unit;
  const a = Math.abs(Number(text));
  return a < 1e11 ? 's' : a < 1e14 ? 'ms' : a < 1e17 ? 'us' : 'ns';
}

/**
 * Parses epoch time from decimal text (JSON number grammar, optional leading
 * '+' tolerated in strings). Integer milliseconds are the common case and take
 * a short path; everything else goes through exact decimal arithmetic.
 */
export function parseEpochText(text: string, unit: TimeUnit = 'auto'): TsResult {
  // Short path: a plain integer. Its digit count gives the unit, and up to 15
  // digits it is exact as a double.
  const n = text.length;
  const neg = text.charCodeAt(0) === 45;
  let plain = n > (neg ? 1 : 0) && n <= 20;
  for (let i = neg ? 1 : 0; plain && i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) plain = false;
  }
  if (plain && text.charCodeAt(neg ? 1 : 0) !== 48) {
    const d = n - (neg ? 1 : 0);
    const u = unit !== 'auto' ? unit : d <= 11 ? 's' : d <= 14 ? 'ms' : d <= 17 ? 'us' : 'ns';
    const scale = SCALE[u];
    const digits = d <= 15 ? BigInt(Number(text)) : BigInt(text);
    const v = scale === 0 ? digits : digits * POW10[scale];
    // 18 digits always fit in an i64 (scaled: 18 - scale digits do).
    if (d + scale > 18 && (v > 0x7fffffffffffffffn || v < -0x8000000000000000n)) return outOfRange(text, unit);
    return v;
  }
  const u = unitFor(text, unit);
  const m = /^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return `timestamp "${clip(text)}" is not a number`;
  const [, sign, int, frac = '', expText] = m;
  const exp = (expText ? Number(expText) : 0) + SCALE[u] - frac.length;
  if (!Number.isFinite(exp) || exp > 30 || int.length + frac.length > 60) return `timestamp "${clip(text)}" is out of range`;
  let digits = BigInt(int + frac);
  if (exp >= 0) digits *= POW10[exp];
  else digits = -exp >= POW10.length ? 0n : digits / POW10[-exp];
  const v = sign === '-' ? -digits : digits;
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) return outOfRange(text, unit);
  return v;
}

function outOfRange(text: string, unit: TimeUnit): string {
  if (unit === 'auto') return `timestamp "${clip(text)}" is out of range`;
  const looks = unitFor(text, 'auto');
  return `timestamp "${clip(text)}" is out of range in event_time.unit ${unit} (past 2262-04-11)${looks !== unit ? `; it looks like ${looks} (set unit: ${looks}, or auto)` : ''}`;
}

/** The earliest plausible epoch time for a declared unit: 1973-03-03T09:46:40Z. */
export const MIN_PLAUSIBLE_NS = 100_000_000_000_000_000n;

/** ISO 8601 text rather than epoch digits (what parseTimestampString tells apart). */
export function isIsoText(text: string): boolean {
  const c = text.charCodeAt(0);
  return !((c >= 48 && c <= 57) || c === 45 || c === 43) || (text.length > 4 && text.charCodeAt(4) === 45 && c !== 45 && c !== 43);
}

/**
 * Why epoch value `ns`, parsed from `text` in the declared `unit`, is
 * implausible; undefined when it is plausible (or the unit is 'auto').
 * Values past the top of the range never get here: they overflow i64.
 */
export function implausibleEpoch(ns: bigint, unit: TimeUnit, text: string): string | undefined {
  if (unit === 'auto' || ns >= MIN_PLAUSIBLE_NS) return undefined;
  const looks = unitFor(text, 'auto');
  return `timestamp ${clip(text)} is implausible in event_time.unit ${unit}: it would be ${formatNs(ns)}, and ${unit} epoch values start at ${MIN_EPOCH_TEXT[unit]} (1973-03-03)${looks !== unit ? `; it looks like ${looks} (set unit: ${looks}, or auto)` : ''}`;
}

const MIN_EPOCH_TEXT: Record<Exclude<TimeUnit, 'auto'>, string> = { s: '1e8', ms: '1e11', us: '1e14', ns: '1e17' };

const B9 = 1_000_000_000n;
const I64_MAX = 0x7fffffffffffffffn, I64_MIN = -0x8000000000000000n;
// The high digits of consecutive timestamps rarely change: one bigint for them, not one per event.
let hiDigits = -1;
let hiValue = 0n;

/**
 * parseEpochText's short path for digits held in bytes (the JSON scanner's
 * frame), without making a string: an optional '-' and 1..19 digits, no
 * leading zero. Returns undefined for anything else and for values out of
 * the i64 range, which the caller then hands to parseEpochText as text (so
 * every result and message comes from one definition).
 */
export function parseEpochDigits(b: Uint8Array, from: number, to: number, unit: TimeUnit = 'auto'): bigint | undefined {
  let i = from;
  const neg = b[i] === 45;
  if (neg) i++;
  const d = to - i;
  if (d < 1 || d > 19 || b[i] === 48) return undefined;
  let digits: bigint;
  if (d <= 15) {
    let m = 0;
    for (; i < to; i++) {
      const c = b[i];
      if (!(c >= 48 && c <= 57)) return undefined;
      m = m * 10 + (c - 48);
    }
    digits = BigInt(neg ? -m : m);
  } else {
    // hi has at most 10 digits, lo 9: both exact as doubles.
    let hi = 0, lo = 0;
    const split = to - 9;
    for (; i < split; i++) {
      const c = b[i];
      if (!(c >= 48 && c <= 57)) return undefined;
      hi = hi * 10 + (c - 48);
    }
    for (; i < to; i++) {
      const c = b[i];
      if (!(c >= 48 && c <= 57)) return undefined;
      lo = lo * 10 + (c - 48);
    }
    if (hi !== hiDigits) { hiDigits = hi; hiValue = BigInt(hi) * B9; }
    digits = hiValue + BigInt(lo);
    if (neg) digits = -digits;
  }
  const u = unit !== 'auto' ? unit : d <= 11 ? 's' : d <= 14 ? 'ms' : d <= 17 ? 'us' : 'ns';
  const scale = SCALE[u];
  const v = scale === 0 ? digits : digits * POW10[scale];
  if (d + scale > 18 && (v > I64_MAX || v < I64_MIN)) return undefined;
  return v;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

export function parseIso8601(text: string): TsResult {
  const m = ISO.exec(text);
  if (!m) return `timestamp "${clip(text)}" is not ISO 8601 (expected e.g. 2024-03-01T12:00:00.123Z)`;
  const y = +m[1], mo = +m[2], d = +m[3], h = +m[4], mi = +m[5], s = m[6] ? +m[6] : 0;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const dim = mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1];
  if (mo < 1 || mo > 12 || d < 1 || d > dim || h > 23 || mi > 59 || s > 59) return `timestamp "${clip(text)}" is not a valid date/time`;
  let offsetMin = 0;
  if (m[9]) {
    const oh = +m[10], om = m[11] ? +m[11] : 0;
    if (oh > 23 || om > 59) return `timestamp "${clip(text)}" has an invalid UTC offset`;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const frac = (m[7] ?? '').slice(0, 9).padEnd(9, '0');
  const secs = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offsetMin * 60;
  return BigInt(secs) * 1_000_000_000n + BigInt(frac);
}

/**
 * A timestamp given as a JSON string: numeric strings are epoch values (so ns
 * can travel as strings), anything else must be ISO 8601.
 */
export function parseTimestampString(text: string, unit: TimeUnit = 'auto'): TsResult {
  const c = text.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 45 || c === 43) {
    if (text.length > 4 && text.charCodeAt(4) === 45 && c !== 45 && c !== 43) return parseIso8601(text);
    return parseEpochText(text, unit);
  }
  return parseIso8601(text);
}

/** Wall clock in ns since the epoch, with sub-ms resolution from hrtime. */
const anchorNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
export function nowNs(): bigint {
  return anchorNs + process.hrtime.bigint();
}

export function formatNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  const sub = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  return iso.slice(0, 19) + '.' + sub.toString().padStart(9, '0') + 'Z';
}

function clip(s: string): string {
  return s.length > 64 ? s.slice(0, 61) + '...' : s;
}
