// Codec throughput on 1,000 trade events per frame:
//  - FlatBuffers struct batch: verify + one set() copy + per-record key/seq stamp
//  - the same events as NDJSON through our scanner (exact ns timestamps)
//  - the same NDJSON through JSON.parse per line + copying fields into records
//    (the obvious baseline; it cannot keep ns exact, so it gets ms timestamps)
//  - FlatBuffers table batch with string ids (verify + read + intern)
import { compared, medianHz, type BenchContext, type BenchResult } from './lib.js';
import { EventDecoder } from '../host/codec/decoder.js';
import { KeyDictionary } from '../host/codec/key_dictionary.js';
import { RecordBatch } from '../host/codec/record_batch.js';
import { TRADE } from '../host/schema/event_types.js';
import { structBatch, tradeTables } from '../test/host/codec/frames.js';

const N = 1000;
const T0 = 1_700_000_000_000_000_000n;

export default async function run(ctx: BenchContext): Promise<BenchResult[]> {
  const events = Array.from({ length: N }, (_, i) => ({
    ts: T0 + BigInt(i) * 1_000_017n, instrument: `SYM${i % 64}`, price: 100 + (i % 97) / 8, qty: 1 + (i % 500), side: (i % 2 ? 1 : -1) as 1 | -1,
    trader: `T${i % 16}`, account: `A${i % 40}`, asset_class: i % 3 ? 'equity' : 'fx',
  }));
  const structs = structBatch(TRADE, events.map((e, i) => ({ ts: e.ts, fields: [i % 64, e.price, e.qty, e.side, i % 16, i % 40, i % 3 ? 1 : 2] })));
  const tables = tradeTables(events);
  const ndjson = new TextEncoder().encode(events.map((e) => `{"ts":${e.ts},"instrument":"${e.instrument}","price":${e.price},"qty":${e.qty},"side":"${e.side > 0 ? 'buy' : 'sell'}","trader":"${e.trader}","account":"${e.account}","asset_class":"${e.asset_class}"}`).join('\n'));

  const dictionary = new KeyDictionary();
  const decoder = new EventDecoder({ type: TRADE, dictionary });
  const batch = new RecordBatch(TRADE.stride, N);
  const decode = (bytes: Uint8Array, binary: boolean) => () => {
    batch.reset();
    const r = decoder.decode(bytes, binary, batch);
    if (r.accepted !== N) throw new Error(`decoded ${r.accepted} of ${N}: ${r.rejects[0]?.reason}`);
  };

  // Baseline: JSON.parse, then the same record writes a hand-rolled decoder would do.
  const textDecoder = new TextDecoder();
  const viewBatch = new RecordBatch(TRADE.stride, N);
  const parseBaseline = () => {
    const lines = textDecoder.decode(ndjson).split('\n');
    const view = viewBatch.view;
    for (let i = 0; i < lines.length; i++) {
      const o = JSON.parse(lines[i]);
      const at = i * TRADE.stride;
      view.setBigInt64(at, BigInt(Math.trunc(o.ts / 1e6)) * 1_000_000n, true);
      view.setUint32(at + 16, dictionary.intern(o.instrument), true);
      view.setFloat64(at + 24, dictionary.intern(o.instrument), true);
      view.setFloat64(at + 32, o.price, true);
      view.setFloat64(at + 40, o.qty, true);
      view.setFloat64(at + 48, o.side === 'buy' ? 1 : -1, true);
      view.setFloat64(at + 56, dictionary.intern(o.trader), true);
      view.setFloat64(at + 64, dictionary.intern(o.account), true);
      view.setFloat64(at + 72, dictionary.intern(o.asset_class), true);
    }
  };

  const structRate = medianHz(decode(structs, true), ctx, 'fb structs') * N;
  const jsonRate = medianHz(decode(ndjson, false), ctx, 'json scanner') * N;
  const parseRate = medianHz(parseBaseline, ctx, 'JSON.parse') * N;
  const tableRate = medianHz(decode(tables, true), ctx, 'fb tables') * N;
  ctx.log(`  frame sizes: structs ${structs.length} B, tables ${tables.length} B, ndjson ${ndjson.length} B (${N} events)`);
  return [
    compared('codec: FlatBuffers struct batch verify+copy (1000 trades)', 'events/s', structRate, 'JSON decode, same events', jsonRate),
    compared('codec: JSON scanner decode, exact ns (1000 trades NDJSON)', 'events/s', jsonRate, 'JSON.parse + field copy', parseRate),
    compared('codec: FlatBuffers table batch, string ids (1000 trades)', 'events/s', tableRate, 'JSON decode, same events', jsonRate),
  ];
}
