// Decodes a drained batch of 128-byte output records (an OutputBatch's bytes).
import { OUT_BYTES, readOutput, type OutputRecord } from '../records.js';

export function decodeOutputs(bytes: Uint8Array, count: number): OutputRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: count }, (_, i) => readOutput(view, i * OUT_BYTES));
}
