// The issue-14 figure at full size: ~200k realistic trades (Zipf-skewed
// instruments, prices that never repeat, out-of-order and late events)
// through `ganglion replay` (1 and 3 partitions) and `ganglion run` with a
// file source, compared with DuckDB over the same file: tumbling, hopping and
// session windows, late outputs. Exits 1 on the first difference.
//
//   node --import tsx scripts/replay_sql_figure.ts [lines] [seed]
import { DuckDBInstance } from '@duckdb/node-api';
import { tempDir } from '../test/helpers/tmp.js';
import { tradesLines } from '../test/helpers/trades_file.js';
import { checkAgainstDuckDb } from '../test/helpers/sql_reference.js';

const lines = Number(process.argv[2] ?? 200_000);
const seed = Number(process.argv[3] ?? 14);
const dir = tempDir('ganglion-figure-');
const started = performance.now();
try {
  const input = tradesLines({ seed, lines, instruments: 200, startMs: 1_767_623_400_000, rate: 150, outOfOrder: 0.05, maxDelayMs: 1400, late: 0.002, lateByMs: 3000 });
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const r = await checkAgainstDuckDb(db, dir.path, 'figure', input, 1);
  const outputs = r.outs.filter((o) => o.kind !== 'dead_letter').length;
  console.log(`${lines} lines (seed ${seed}), ${r.keys} keys: replay (1 partition) = replay (3 partitions) = run (file source, exactly_once) = DuckDB`);
  console.log(`  outputs ${outputs}; final windows equal: tumbling ${r.windows.tum}, hopping ${r.windows.hop}, sessions ${r.windows.ses} (of ${r.sessionKeys} keys SQL can define)`);
  console.log(`  late outputs equal to SQL: tumbling ${r.late.tum}, hopping ${r.late.hop}; sessions ${r.late.ses} (within SQL's bounds); state_evicted 0`);
  console.log(`  ${((performance.now() - started) / 1000).toFixed(1)} s`);
} finally {
  dir.remove();
}
