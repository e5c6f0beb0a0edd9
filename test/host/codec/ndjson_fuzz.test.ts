// NDJSON record boundaries under fuzzing: random frames of valid lines and
// damaged lines (truncated objects, stray brackets, unbalanced strings,
// invalid UTF-8, huge numbers). Each line is its own record: every valid
// line is accepted, and every damaged line is exactly one dead letter
// carrying exactly its own bytes. The expected outcome comes from how each
// line was built, not from the decoder. Every frame holds at least one valid
// line: a frame made only of damaged lines may legitimately read as one
// pretty-printed object (and has nothing valid to lose), and a frame that
// starts with '[' is the array form, rejected whole on a syntax error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventDecoder } from '../../../host/codec/decoder.js';
import { KeyDictionary } from '../../../host/codec/key_dictionary.js';
import { RecordBatch } from '../../../host/codec/record_batch.js';
import { TRADE } from '../../../host/schema/event_types.js';

const enc = new TextEncoder();
const NOW = 1_700_000_000_000_000_000n;

let state = 0x2545f491;
function rand(): number {
  state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
  return (state >>> 0) / 0x1_0000_0000;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const int = (n: number) => Math.floor(rand() * n);

let serial = 0;
function validLine(): string {
  serial++;
  const forms = [
    () => JSON.stringify({ ts: 1700000000000 + serial, instrument: `S${serial % 17}`, price: 100 + (serial % 50) / 4, qty: serial, side: serial % 2 ? 'buy' : 'sell' }),
    () => `{ "timestamp" : "${1_700_000_000_000_000_000n + BigInt(serial)}", "symbol":"X\\u00e9${serial % 5}", "px": "12.5", "quantity": ${serial}, "meta": {"a": [1, {"b": null}], "s": "}{]["} }`,
    () => `{"ts":"2026-01-05T14:30:00.${String(serial % 1000).padStart(3, '0')}Z","instrument":"ünï${serial % 3}","price":1.5e2,"qty":${serial}}\r`,
  ];
  return pick(forms)();
}

/** A damaged line: bytes that must become exactly one dead letter. */
function damagedLine(): Uint8Array {
  const v = enc.encode(validLine().replace(/\r$/, ''));
  switch (int(7)) {
    case 0: return v.subarray(0, 1 + int(v.length - 1)); // truncated object (any strict prefix)
    case 1: return enc.encode(pick(['}', ']', '[', '{', '}}', '{]', '[{', '{"ts":1}}', ']{"ts":1,"instrument":"A"}']));
    case 2: return enc.encode(`{"ts":1700000000000,"instrument":"UNBAL${pick(['', ',"qty":1}', '\\"}', '\\'])}`); // string never closed
    case 3: { // invalid UTF-8 inside a string
      const at = new TextDecoder().decode(v).indexOf('"', 2) + 1;
      return Uint8Array.from([...v.subarray(0, at), pick([0xff, 0xc0, 0xed, 0x80]), ...v.subarray(at)]);
    }
    case 4: return enc.encode(`{"ts":1700000000000,"instrument":"H","price":${pick(['1e999', '-1e400', '9'.repeat(400)])},"qty":1}`);
    case 5: return enc.encode(`{"ts":${pick(['99999999999999999999999', '-99999999999999999999999', '1e40'])},"instrument":"T","qty":1}`);
    default: return enc.encode(`{"ts":1700000000000,"instrument":"G","qty":1${pick([',', ' "x":1}', ',,"a":2}', ':3}', '} trailing'])}`);
  }
}

test('random frames: accepted = valid lines exactly, one dead letter per damaged line with its own bytes', () => {
  const dictionary = new KeyDictionary();
  const decoder = new EventDecoder({ type: TRADE, dictionary, now: () => NOW });
  const batch = new RecordBatch(TRADE.stride, 64);
  let lines = 0;
  for (let round = 0; round < 3000; round++) {
    const n = 1 + int(12);
    const parts: { bytes: Uint8Array; valid: boolean }[] = [];
    for (let k = 0; k < n; k++) {
      const valid = rand() < 0.5;
      let bytes = valid ? enc.encode(validLine()) : damagedLine();
      // A frame whose first byte is '[' is the array form (rejected whole on a syntax error), not NDJSON.
      while (k === 0 && bytes[0] === 0x5b) bytes = damagedLine();
      parts.push({ bytes, valid });
    }
    if (!parts.some((p) => p.valid)) parts[int(n)] = { bytes: enc.encode(validLine()), valid: true };
    const chunks: Uint8Array[] = [];
    for (const p of parts) { chunks.push(p.bytes); chunks.push(enc.encode(pick(['\n', '\n', '\r\n', '\n\n', '\n  ']))); }
    if (rand() < 0.5) chunks.pop(); // with or without a final newline
    const frame = Buffer.concat(chunks);
    batch.reset();
    const r = decoder.decode(frame, false, batch);
    const want = parts.filter((p) => !p.valid).map((p) => Buffer.from(p.bytes).toString('hex'));
    const context = `round ${round}: ${JSON.stringify(frame.toString('latin1'))}`;
    assert.is(r.accepted, parts.length - want.length, context);
    assert.equal(r.rejects.map((x) => Buffer.from(x.raw).toString("hex")), want, context);
    assert.ok(r.rejects.every((x) => x.index >= 0), context);
    lines += n;
  }
  assert.ok(lines > 15_000);
});

test.run();
