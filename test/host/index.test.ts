import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';

// Runs in a fresh process so nothing imported by the test runner counts.
const probe = `
const g = await import('./host/index.ts');
const p = await g.createPipeline(g.parsePipeline(\`
name: lib
sources: []
schema: { type: trades }
operators: [{ name: vol, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }]
sinks: []
delivery: { mode: at_most_once }
\`, 'inline.yaml'), { noSources: true });
const outs = [];
p.subscribe((o) => outs.push(o));
await p.push({ ts: 1767623400000000000n, instrument: 'AAPL', price: 190.1, qty: 100, side: 'buy' });
await p.push({ ts: 1767623400500000000n, instrument: 'AAPL', price: 190.2, qty: 50, side: 'sell' });
await p.finish();
await p.close();
const natives = process.report.getReport().sharedObjects.filter((s) => s.endsWith('.node'));
console.log(JSON.stringify({ outs, natives }));
`;

test('the library runs the README example and loads no native addon', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8' });
  const { outs, natives } = JSON.parse(out.trim().split('\n').at(-1)!);
  assert.equal(natives, [], `native addons loaded: ${natives.join(', ')}`);
  assert.is(outs.length, 1);
  assert.equal(outs[0].values, { count: 2, sum: 150 });
  assert.is(outs[0].key, 'AAPL');
});

test.run();
