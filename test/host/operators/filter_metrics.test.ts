// A filter's drops are counted where an operator sees them: a real `ganglion
// run`, trades over a real WebSocket, and ganglion_dropped_events_total for the
// filter operator (0 for the window behind it) equal to the trades its
// condition refuses, as /metrics reports them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../../bench/free_port.js';
import { tempDir } from '../../helpers/tmp.js';
import { killAll, startRun } from '../../helpers/ganglion.js';
import { producer, scrape } from '../../helpers/ingest_client.js';

const T0 = 1_767_623_400_000; // ms

test('ganglion_dropped_events_total counts what a filter refuses, per operator', async () => {
  const dir = tempDir('ganglion-filter-metrics-');
  try {
    const [wsPort, httpPort] = [await freePort(), await freePort()];
    const file = join(dir.path, 'p.yaml');
    writeFileSync(file, `name: filter_metrics
sources: [{ type: ws, host: 127.0.0.1, port: ${wsPort} }]
schema: { type: trades }
event_time: { unit: ms, out_of_orderness: 0s, idle_timeout: 0s }
operators:
  - { name: big, type: filter, where: "qty > 100" }
  - { name: vol_1s, type: window, window: tumbling, size: 1s, field: qty, aggregates: [count, sum] }
partitions: 2
sinks: []
`);
    const g = await startRun(file, join(dir.path, 'data'), { args: ['--port', String(httpPort)] });
    try {
      const before = await scrape(httpPort);
      assert.is(before('ganglion_dropped_events_total', 'operator="big"'), 0);
      const p = await producer(wsPort);
      let small = 0, sent = 0;
      for (let f = 0; f < 8; f++) {
        const trades = Array.from({ length: 50 }, (_, i) => {
          const qty = 1 + ((f * 50 + i) * 37) % 200;
          if (qty <= 100) small++;
          return { ts: T0 + f * 50 + i, instrument: `I${i % 7}`, price: 10, qty, side: 'buy' };
        });
        sent += trades.length;
        const ack = await p.send(JSON.stringify(trades));
        assert.is(ack.accepted, trades.length);
      }
      p.close();
      assert.ok(small > 0 && small < sent);
      let dropped: number | undefined;
      for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
        dropped = (await scrape(httpPort))('ganglion_dropped_events_total', 'operator="big"');
        if (dropped === small) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.is(dropped, small, `the filter dropped ${small} of ${sent} trades`);
      const after = await scrape(httpPort);
      assert.is(after('ganglion_dropped_events_total', 'operator="vol_1s"'), 0, 'a window drops nothing');
      assert.is(await g.stop(), 0, g.stderr);
    } finally {
      await killAll();
    }
  } finally {
    dir.remove();
  }
});

test.run();
