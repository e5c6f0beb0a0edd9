import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PAYMENT, QUOTE, TRADE, type EventType } from '../../host/schema/event_types.js';
import { TradeRecord } from '../../schemas/generated/ganglion/wire/trade-record.js';
import { QuoteRecord } from '../../schemas/generated/ganglion/wire/quote-record.js';
import { PaymentRecord } from '../../schemas/generated/ganglion/wire/payment-record.js';

const root = new URL('../..', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}

test('checked-in generated TypeScript is what `npm run schemas` produces', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ganglion-schemas-'));
  try {
    execFileSync('bash', ['-c', `cp -r scripts schemas "${tmp}/" && cd "${tmp}" && bash scripts/gen-schemas.sh`], { cwd: root, stdio: 'pipe' });
    const fresh = join(tmp, 'schemas/generated');
    const ours = join(root, 'schemas/generated');
    const list = (d: string) => files(d).map((f) => relative(d, f)).sort();
    assert.equal(list(fresh), list(ours));
    for (const f of list(ours)) assert.is(readFileSync(join(ours, f), 'utf8'), readFileSync(join(fresh, f), 'utf8'), f);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

/** Field names of `struct <name> { ... }` in a .fbs file, in declaration order. */
function structFields(fbs: string, name: string): string[] {
  const text = readFileSync(join(root, 'schemas', fbs), 'utf8');
  const body = new RegExp(`struct ${name} \\{([^}]*)\\}`).exec(text)![1];
  return [...body.matchAll(/^\s*(\w+)\s*:/gm)].map((m) => m[1]);
}

test('each struct is the ring record: header then the event type fields in order, size = stride', () => {
  const cases: [string, string, EventType, number][] = [
    ['trades.fbs', 'TradeRecord', TRADE, TradeRecord.sizeOf()],
    ['quotes.fbs', 'QuoteRecord', QUOTE, QuoteRecord.sizeOf()],
    ['payments.fbs', 'PaymentRecord', PAYMENT, PaymentRecord.sizeOf()],
  ];
  for (const [fbs, name, type, size] of cases) {
    assert.equal(structFields(fbs, name), ['ts', 'seq', 'key', 'flags', ...type.fields.map((f) => f.name)], name);
    assert.is(size, type.stride, name);
  }
});

test('each table declares ts then one slot per tableSlots entry', () => {
  const cases: [string, string, EventType][] = [['trades.fbs', 'Trade', TRADE], ['quotes.fbs', 'Quote', QUOTE], ['payments.fbs', 'Payment', PAYMENT]];
  for (const [fbs, name, type] of cases) {
    const text = readFileSync(join(root, 'schemas', fbs), 'utf8');
    const body = new RegExp(`table ${name} \\{([^}]*)\\}`).exec(text)![1];
    const slots = [...body.matchAll(/^\s*(\w+)\s*:\s*([\w\[\]]+)/gm)].map((m) => [m[1], m[2]]);
    assert.equal(slots[0], ['ts', 'long'], name);
    assert.is(slots.length, type.tableSlots.length + 1, name);
    type.tableSlots.forEach((s, i) => {
      const [field, wire] = slots[i + 1];
      const want = { string: 'string', f64: 'double', i8: 'Side', vector_f64: '[double]' }[s.type];
      assert.is(wire, want, `${name}.${field}`);
      if (s.type !== 'vector_f64') assert.is(field, type.fields[s.field].name, `${name} slot ${i + 1}`);
    });
  }
});

test.run();
