import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { summarize, threadCpuUs } from '../../bench/service.js';

const idle = { p50: 0, p95: 0, p99: 0, p999: 0, max: 0, count: 0 };
const snap = (time: number, eventsInTotal: number) => ({ time, eventsInTotal, latency: idle });

test('summarize without latency: a pipeline that emits nothing still gets its rate', () => {
  const snaps = [snap(0, 0), snap(1000, 0), snap(2000, 300), snap(3000, 1300), snap(4000, 2300), snap(5000, 2400)];
  assert.equal(summarize(snaps, 4000, 0, { latency: false }), { eventsPerSec: 1000, seconds: 2 });
  // The default still insists on outputs: latency figures from nothing would be made up.
  assert.throws(() => summarize(snaps, 4000, 0), /no outputs \(so no latency\)/);
});

test('threadCpuUs: the main thread\'s CPU time grows with work; unknown threads give undefined', () => {
  const before = threadCpuUs(process.pid);
  if (before === undefined) {
    assert.unreachable('/proc is expected on the Linux machines this project runs on');
    return;
  }
  // Burn until the process has used 150 ms of CPU (not of wall time: on a
  // loaded machine the thread may get a fraction of the clock), then /proc's
  // figure for the main thread, which did all of it, must show most of that.
  const start = process.cpuUsage();
  let x = 0;
  while (process.cpuUsage(start).user < 150_000) for (let i = 0; i < 1e5; i++) x += Math.sqrt(x + 1);
  const after = threadCpuUs(process.pid)!;
  assert.ok(after - before >= 100_000, `burned 150 ms of CPU, /proc says ${after - before} µs for the main thread (x=${x > 0})`);
  assert.is(threadCpuUs(process.pid, 2 ** 22 + 1), undefined);
});

test.run();
