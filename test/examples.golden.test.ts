// Golden end-to-end fixtures: every example pipeline replayed over its pinned
// input must write exactly the checked-in outputs, byte for byte. A behaviour
// change shows up here as a diff to review; regenerate deliberately with
// `npx tsx scripts/golden.ts` (which says how the inputs are made).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { goldenExamples, goldenPaths, replayGolden } from '../scripts/golden.js';
import { tempDir } from './helpers/tmp.js';

for (const example of goldenExamples()) {
  test(`golden: ${basename(example)} replays to its checked-in outputs`, () => {
    const { input, expected } = goldenPaths(example);
    assert.ok(existsSync(input) && existsSync(expected), `no golden fixture for ${basename(example)}: run npx tsx scripts/golden.ts`);
    const dir = tempDir('ganglion-golden-');
    try {
      const out = join(dir.path, 'out.jsonl');
      replayGolden(example, out);
      const got = readFileSync(out, 'utf8'), want = readFileSync(expected, 'utf8');
      assert.ok(want.length > 0, `${expected} is empty: the fixture does not exercise the pipeline`);
      if (got !== want) {
        const g = got.split('\n'), w = want.split('\n');
        const i = g.findIndex((l, k) => l !== w[k]);
        assert.unreachable(`${basename(example)}: output differs from ${expected} at line ${i + 1} (${g.length - 1} lines, expected ${w.length - 1}):\n  got      ${g[i]}\n  expected ${w[i]}`);
      }
    } finally {
      dir.remove();
    }
  });
}

test.run();
