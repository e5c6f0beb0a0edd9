// A session window sized so that no in-order event is ever refused (issue 14
// item 4): a key holds up to (out_of_orderness + allowed_lateness) / gap + 2
// open sessions; beyond what the operator supports, `validate` says so with
// the smallest gap that works, instead of a run that evicts in-order events.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tmp.js';
import { ganglionExit } from '../../helpers/ganglion.js';

function file(dir: string, gap: string): string {
  const p = join(dir, `gap-${gap}.yaml`);
  writeFileSync(p, `name: gap
schema: { type: trades }
event_time: { out_of_orderness: 1s, allowed_lateness: 10s }
operators:
  - { name: s, type: window, window: session, gap: ${gap}, field: price, aggregates: [count], capacity: 1024 }
`);
  return p;
}

test('a gap too small for the lateness is a validation error naming the smallest gap', async () => {
  const dir = tempDir();
  let r = await ganglionExit(['validate', file(dir.path, '100ms')]);
  assert.is(r.code, 1);
  assert.match(r.stderr + '', /operators\[0\]\.gap: expected a gap of at least 175ms .* 112 open sessions .* found 100ms/);
  r = await ganglionExit(['validate', file(dir.path, '175ms')]);
  assert.is(r.code, 0, r.stderr);
  dir.remove();
});

test.run();
