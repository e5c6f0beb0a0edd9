import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Builder } from 'flatbuffers';
import { verify, utf8Invalid, type FbTable } from '../../../host/codec/flatbuffers_verifier.js';
import { fbSchemasFor } from '../../../host/codec/flatbuffers_decode.js';
import { EventDecoder } from '../../../host/codec/decoder.js';
import { KeyDictionary } from '../../../host/codec/key_dictionary.js';
import { RecordBatch, type Reject } from '../../../host/codec/record_batch.js';
import { DeadLetterQueue } from '../../../host/ingest/dead_letter.js';
import { PAYMENT, QUOTE, TRADE, type EventType } from '../../../host/schema/event_types.js';
import { paymentTables, quoteTables, referenceStructs, referenceTables, rng, structBatch, tradeTables } from './frames.js';

const T0 = 1_700_000_000_000_000_000n;
const trade = fbSchemasFor(TRADE);
const one = () => tradeTables([{ ts: T0, instrument: 'AAPL', price: 1, qty: 2, side: 1, trader: 'tr' }]);

test('valid buffers of every form pass', () => {
  assert.is(verify(one(), trade.tableBatch, { identifier: 'GTRT' }), null);
  assert.is(verify(structBatch(TRADE, [{ ts: T0, fields: [1, 2, 3, 1, 5, 6, 7] }]), trade.structBatch, { identifier: 'GTRR' }), null);
  assert.is(verify(paymentTables([{ ts: T0, account: 'a', amount: 1, features: [1, 2] }]), fbSchemasFor(PAYMENT).tableBatch), null);
});

test('identifier, short buffer, root offset', () => {
  assert.match(verify(one(), trade.tableBatch, { identifier: 'GTRR' })!, /identifier "GTRT" is not "GTRR"/);
  assert.match(verify(new Uint8Array(4), trade.tableBatch)!, /too short/);
  const b = one();
  new DataView(b.buffer).setUint32(0, b.length + 4, true);
  assert.match(verify(b, trade.tableBatch)!, /root offset/);
  const c = one();
  new DataView(c.buffer).setUint32(0, new DataView(c.buffer).getUint32(0, true) + 2, true);
  assert.match(verify(c, trade.tableBatch)!, /not 4-byte aligned|vtable/);
});

test('vtable outside the buffer and bad vtable size', () => {
  const b = one();
  const view = new DataView(b.buffer);
  const root = view.getUint32(0, true);
  view.setInt32(root, root + 1000, true);
  assert.match(verify(b, trade.tableBatch)!, /vtable/);
  const c = one();
  const v2 = new DataView(c.buffer);
  const r2 = v2.getUint32(0, true);
  const vt = r2 - v2.getInt32(r2, true);
  v2.setUint16(vt, 3, true);
  assert.match(verify(c, trade.tableBatch)!, /bad vtable size 3/);
});

test('missing required field, overlong vector, string without NUL, invalid UTF-8', () => {
  const b = new Builder(64);
  b.startObject(1);
  b.finish(b.endObject(), 'GTRT');
  assert.match(verify(b.asUint8Array(), trade.tableBatch)!, /required field #0 missing/);

  const v = structBatch(TRADE, [{ ts: T0, fields: [1, 2, 3, 1, 5, 6, 7] }]);
  const dv = new DataView(v.buffer);
  const vecField = (() => { const t = dv.getUint32(0, true); const vt = t - dv.getInt32(t, true); return t + dv.getUint16(vt + 4, true); })();
  const vec = vecField + dv.getUint32(vecField, true);
  dv.setUint32(vec, 2, true);
  assert.match(verify(v, trade.structBatch)!, /overruns/);

  const s = one();
  const at = Buffer.from(s).indexOf('AAPL');
  s[at + 4] = 0x41;
  assert.match(verify(s, trade.tableBatch)!, /NUL terminator/);
  const u = one();
  u[Buffer.from(u).indexOf('AAPL') + 1] = 0xc3;
  assert.match(verify(u, trade.tableBatch)!, /not valid UTF-8/);
});

test('nesting depth and table count limits', () => {
  const node: { name: string; fields: unknown[] } = { name: 'node', fields: [] };
  node.fields.push({ kind: 'table', table: node });
  const b = new Builder(1024);
  let child = 0;
  for (let i = 0; i < 100; i++) {
    b.startObject(1);
    if (child) b.addFieldOffset(0, child, 0);
    child = b.endObject();
  }
  b.finish(child);
  const bytes = b.asUint8Array();
  assert.match(verify(bytes, node as FbTable)!, /nesting deeper than 64/);
  assert.is(verify(bytes, node as FbTable, { maxDepth: 200 }), null);
  assert.match(verify(bytes, node as FbTable, { maxDepth: 200, maxTables: 50 })!, /more than 50 tables/);
});

test('utf8Invalid agrees with a fatal TextDecoder', () => {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  const next = rng(7);
  const samples = [[0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xe2, 0x82]];
  for (let i = 0; i < 20000; i++) {
    const len = Math.floor(next() * 6);
    samples.push(Array.from({ length: len }, () => (next() < 0.5 ? 0x80 + Math.floor(next() * 0x80) : Math.floor(next() * 256))));
  }
  for (const s of samples) {
    const bytes = Uint8Array.from(s);
    let ok = true;
    try { fatal.decode(bytes); } catch { ok = false; }
    assert.is(utf8Invalid(bytes, 0, bytes.length) < 0, ok, `bytes ${s.map((x) => x.toString(16)).join(' ')}`);
  }
});

// --- fuzz --------------------------------------------------------------------

const WORDS = ['AAPL', 'EURUSD', 'trader-7', 'Zürich', '東京', '🚀x', '', 'acct|1', 'fx'];

function baseFrames(next: () => number): { type: EventType; bytes: Uint8Array }[] {
  const w = () => WORDS[Math.floor(next() * WORDS.length)];
  const num = () => Math.round(next() * 1e6) / 100;
  const out: { type: EventType; bytes: Uint8Array }[] = [];
  for (let k = 0; k < 4; k++) {
    const n = 1 + Math.floor(next() * 5);
    out.push({ type: TRADE, bytes: tradeTables(Array.from({ length: n }, (_, i) => ({ ts: T0 + BigInt(i), instrument: w(), price: num(), qty: num(), side: ([1, -1, 0] as const)[i % 3], trader: next() < 0.7 ? w() : undefined, account: next() < 0.5 ? w() : undefined, asset_class: w() }))) });
    out.push({ type: QUOTE, bytes: quoteTables(Array.from({ length: n }, (_, i) => ({ ts: T0 + BigInt(i), instrument: w(), bid: num(), ask: num(), bid_size: num(), ask_size: num(), venue: next() < 0.5 ? w() : undefined }))) });
    out.push({ type: PAYMENT, bytes: paymentTables(Array.from({ length: n }, (_, i) => ({ ts: T0 + BigInt(i), account: w(), merchant: w(), amount: num(), currency: 'EUR', channel: next() < 0.5 ? 'pos' : undefined, features: next() < 0.7 ? Array.from({ length: Math.floor(next() * 9) }, num) : undefined }))) });
    for (const type of [TRADE, QUOTE, PAYMENT]) {
      out.push({ type, bytes: structBatch(type, Array.from({ length: n }, (_, i) => ({ ts: T0 + BigInt(i), fields: Array.from({ length: type.fields.length }, (_, f) => (f === 0 ? i + 1 : num())) }))) });
    }
  }
  return out;
}

/** What our decoder must produce for a buffer the verifier accepted, derived from the generated code's reading. */
function expected(type: EventType, bytes: Uint8Array, dict: KeyDictionary, batch: RecordBatch, rejects: Reject[]): void {
  const structs = bytes[7] === 'R'.charCodeAt(0);
  let rec = 0;
  const rejected = new Set(rejects.map((r) => r.index));
  if (structs) {
    const rows = referenceStructs(type, bytes);
    rows.forEach((row, i) => {
      const bad = row.flags !== 0 || row.ts === 0n || !Number.isFinite(row.fields[0]);
      assert.is(rejected.has(i), bad, `struct ${i} rejected?`);
      if (bad) return;
      assert.is(batch.ts(rec), row.ts);
      for (let f = 0; f < row.fields.length; f++) assert.ok(Object.is(batch.field(rec, f), row.fields[f]), `struct ${i} field ${f}`);
      rec++;
    });
  } else {
    const events = referenceTables(type, bytes);
    events.forEach((e, i) => {
      const side = type === TRADE ? (e.slots[3] as number) : 0;
      const features = type === PAYMENT ? (e.slots[5] as number[] | null) : null;
      const bad = e.ts === 0n || (side !== 0 && side !== 1 && side !== -1) || (features !== null && features.length > 8);
      assert.is(rejected.has(i), bad, `event ${i} rejected?`);
      if (bad) return;
      assert.is(batch.ts(rec), e.ts);
      type.tableSlots.forEach((slot, s) => {
        const want = e.slots[s];
        if (slot.type === 'string') {
          if (want === null) assert.ok(Number.isNaN(batch.field(rec, slot.field)));
          else assert.is(dict.name(batch.field(rec, slot.field)), want);
        } else if (slot.type === 'i8') {
          assert.ok(Object.is(batch.field(rec, slot.field), want === 0 ? NaN : want));
        } else if (slot.type === 'vector_f64') {
          const fs = (want as number[] | null) ?? [];
          for (let k = 0; k < slot.length; k++) assert.ok(Object.is(batch.field(rec, slot.field + k), k < fs.length ? fs[k] : NaN));
        } else {
          assert.ok(Object.is(batch.field(rec, slot.field), want));
        }
      });
      rec++;
    });
  }
  assert.is(batch.count, rec);
}

test('fuzz: 100,000 truncated, bit-flipped and random buffers', () => {
  const next = rng(0x9a11);
  const bases = baseFrames(next);
  const dlq = new DeadLetterQueue();
  const decoders = new Map<EventType, { dict: KeyDictionary; dec: EventDecoder }>();
  for (const type of [TRADE, QUOTE, PAYMENT]) {
    const dict = new KeyDictionary();
    decoders.set(type, { dict, dec: new EventDecoder({ type, dictionary: dict, now: () => T0 }) });
  }
  // Unmodified buffers decode to what they were built from.
  for (const { type, bytes } of bases) {
    const { dict, dec } = decoders.get(type)!;
    const batch = new RecordBatch(type.stride);
    const r = dec.decode(bytes, true, batch);
    expected(type, bytes, dict, batch, r.rejects);
  }
  let accepted = 0, rejectedFrames = 0, rejectedEvents = 0;
  const N = 100_000;
  for (let n = 0; n < N; n++) {
    const base = bases[Math.floor(next() * bases.length)];
    let bytes: Uint8Array;
    const mode = n % 4;
    if (mode === 0) bytes = base.bytes.slice(0, Math.floor(next() * base.bytes.length));
    else if (mode === 1 || mode === 2) {
      bytes = base.bytes.slice();
      const flips = 1 + Math.floor(next() * (mode === 1 ? 2 : 8));
      for (let k = 0; k < flips; k++) {
        // Keep the identifier most of the time so mutations reach the verifier's depths.
        const at = 8 + Math.floor(next() * (bytes.length - 8));
        bytes[at] ^= 1 << Math.floor(next() * 8);
      }
    } else {
      bytes = new Uint8Array(Math.floor(next() * 300));
      for (let k = 0; k < bytes.length; k++) bytes[k] = next() < 0.6 ? Math.floor(next() * 8) : Math.floor(next() * 256);
      if (bytes.length >= 8 && next() < 0.8) bytes.set(Buffer.from(next() < 0.5 ? base.type.tableIdentifier : base.type.structIdentifier), 4);
      if (bytes.length >= 8) new DataView(bytes.buffer).setUint32(0, 8 + 4 * Math.floor(next() * 8), true);
    }
    const { dict, dec } = decoders.get(base.type)!;
    const batch = new RecordBatch(base.type.stride, 8);
    let r;
    try {
      r = dec.decode(bytes, true, batch);
    } catch (e) {
      throw new Error(`decode threw on fuzz case ${n} (${Buffer.from(bytes).toString('base64')}): ${(e as Error).stack}`);
    }
    const frameReject = r.rejects.find((x) => x.index === -1);
    for (const x of r.rejects) {
      const entry = dlq.reject({ origin: `fuzz:${n}`, receivedAtNs: T0, binary: true }, x);
      if (x.index === -1) { assert.is(entry.entry.encoding, 'base64'); assert.is(entry.entry.data, Buffer.from(bytes).toString('base64')); }
    }
    if (frameReject) {
      rejectedFrames++;
      assert.is(batch.count, 0);
      assert.is(r.rejects.length, 1);
    } else {
      accepted++;
      rejectedEvents += r.rejects.length;
      expected(base.type, bytes, dict, batch, r.rejects);
    }
  }
  const counts = dlq.counts();
  assert.is(dlq.total, rejectedFrames + rejectedEvents);
  assert.is(Object.values(counts).reduce((a, b) => a + b, 0), dlq.total);
  assert.ok(accepted > 5_000, `accepted ${accepted}: mutations must also produce valid buffers`);
  assert.ok(rejectedFrames > 50_000, `rejected ${rejectedFrames}`);
  console.log(`  fuzz: ${N} buffers, ${accepted} accepted, ${rejectedFrames} frames and ${rejectedEvents} events rejected`, counts);
});

test.run();
