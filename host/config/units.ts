// Durations and byte sizes as people write them in pipeline files ("500ms",
// "1d", "64MiB"), parsed exactly: durations become bigint nanoseconds because
// event time is kept in exact nanoseconds end to end (a JS number cannot hold
// epoch nanoseconds), sizes become byte counts.

const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
};

const DURATION = /^(\d+)(?:\.(\d+))?\s*(ns|us|µs|ms|s|m|h|d)$/;

export const DURATION_HINT = 'a duration like "500ms", "5s", "1m", "1h" or "1d" (units ns, us, ms, s, m, h, d)';

/** "1.5s" → 1_500_000_000n; undefined when the text is not a duration. */
export function parseDuration(text: string): bigint | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const unit = DURATION_UNITS[m[3]];
  const whole = BigInt(m[1]) * unit;
  if (!m[2]) return whole;
  // Fractions are exact or rejected: "1.5ns" has no meaning at ns resolution.
  const scaled = BigInt(m[2]) * unit;
  const denom = 10n ** BigInt(m[2].length);
  if (scaled % denom !== 0n) return undefined;
  return whole + scaled / denom;
}

/** Inverse of parseDuration for messages and docs: 1_500_000_000n → "1500ms". */
export function formatDuration(ns: bigint): string {
  for (const [unit, scale] of [['d', 86_400_000_000_000n], ['h', 3_600_000_000_000n], ['m', 60_000_000_000n], ['s', 1_000_000_000n], ['ms', 1_000_000n], ['us', 1_000n]] as const) {
    if (ns !== 0n && ns % scale === 0n) return `${ns / scale}${unit}`;
  }
  return `${ns}ns`;
}

const SIZE_UNITS: Record<string, number> = {
  B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3,
};

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/;

export const SIZE_HINT = 'a size like "64MiB", "100MB" or a byte count (units B, KB, MB, GB, KiB, MiB, GiB)';

/** "64MiB" → 67108864; a plain number is a byte count. undefined when unparseable. */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  const m = SIZE.exec(input.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * SIZE_UNITS[m[2] ?? 'B'];
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
