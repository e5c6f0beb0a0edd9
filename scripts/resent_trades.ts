// Writes examples/data/resent-trades.jsonl, the recorded feed of
// examples/dedup-trades.yaml: 2,000 trades over 8 instruments at about 40 a
// second, and after ~15 % of them a resend of an earlier trade (same
// instrument, trade_id and time): mostly one of the last few (a reconnect),
// sometimes one from long before (a replayed file). trade_id counts per
// instrument (T1, T2, ...), so the same id on another instrument is another
// trade. Deterministic (seeded): rerun only to change the feed, then
// regenerate the golden fixture (scripts/golden.ts).
//
//   npx tsx scripts/resent_trades.ts
import { writeFileSync } from 'node:fs';
import { rng } from '../test/helpers/trades_file.js';

const TRADES = 2000;
const T0 = Date.parse('2026-01-05T14:30:00Z');

const rnd = rng(11);

const ids = new Map<string, number>();
const originals: string[] = [];
const lines: string[] = [];
let ts = T0;
for (let i = 0; i < TRADES; i++) {
  ts += Math.floor(rnd() * 50);
  const instrument = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOG', 'META', 'TSLA', 'ASML'][Math.floor(rnd() * rnd() * 8)];
  const id = (ids.get(instrument) ?? 0) + 1;
  ids.set(instrument, id);
  const qty = rnd() < 0.01 ? 5000 + Math.floor(rnd() * 5000) : 1 + Math.floor(rnd() * 300);
  const line = JSON.stringify({ ts, instrument, trade_id: `T${id}`, price: Number((100 + 20 * rnd()).toFixed(2)), qty, side: rnd() < 0.5 ? 'buy' : 'sell' });
  originals.push(line);
  lines.push(line);
  while (rnd() < 0.15) {
    const back = rnd() < 0.8 ? 1 + Math.floor(rnd() * 5) : 1 + Math.floor(rnd() * originals.length);
    lines.push(originals[Math.max(0, originals.length - back)]);
  }
}
writeFileSync(new URL('../examples/data/resent-trades.jsonl', import.meta.url), lines.join('\n') + '\n');
process.stdout.write(`${TRADES} trades, ${lines.length - TRADES} resends\n`);
