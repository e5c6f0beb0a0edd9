// `ganglion explain` on every shipped example, as a user runs it: the text
// names every operator and sink, the JSON is the plan's graph (checked against
// the pipeline file itself), and the dot output renders with graphviz.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPipeline } from '../../../host/config/load.js';
import type { LogicalPlan } from '../../../host/plan/logical_plan.js';
import { tempDir } from '../../helpers/tmp.js';
import { BIN, CLI_ENV } from '../../helpers/ganglion.js';

const root = new URL('../../../', import.meta.url).pathname;
const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml')).map((f) => join(root, 'examples', f));
const ganglion = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: root, encoding: 'utf8', env: CLI_ENV });

test('there are examples to explain', () => {
  assert.ok(examples.length >= 3);
});

for (const file of examples) {
  const name = file.split('/').pop()!;
  test(`explain ${name}: text, json and dot agree with the pipeline file`, () => {
    const config = loadPipeline(file);
    const text = ganglion('explain', file);
    assert.is(text.status, 0, text.stderr);
    for (const o of config.operators) assert.match(text.stdout, new RegExp(`^${o.name}  \\[${o.type}\\]`, 'm'));
    assert.match(text.stdout, new RegExp(`^pipeline ${config.name} `, 'm'));

    const json = ganglion('explain', file, '--format', 'json');
    assert.is(json.status, 0, json.stderr);
    const plan = JSON.parse(json.stdout) as LogicalPlan;
    assert.equal(plan.operators.map((o) => o.name), config.operators.map((o) => o.name));
    assert.is(plan.sinks.length, config.sinks.length);
    const ids = new Set([...plan.streams, ...plan.operators, ...plan.sinks].map((n) => n.id));
    for (const e of plan.edges) assert.ok(ids.has(e.from) && ids.has(e.to), `edge ${e.from} → ${e.to} names a missing node`);
    // Records flow in a chain through every operator, each edge wider or as wide as the one before.
    const chain = plan.edges.filter((e) => e.carries === 'records');
    assert.is(chain.length, config.operators.length);
    for (let i = 1; i < chain.length; i++) assert.ok(chain[i].fields!.length >= chain[i - 1].fields!.length);
    // Every field an operator reads flows on its incoming edge.
    for (const o of plan.operators) {
      const into = chain.find((e) => e.to === o.id)!;
      for (const r of o.reads) assert.ok(into.fields!.some((f) => f.name === r), `${o.name} reads ${r}, which is not on its input edge`);
    }

    const dot = ganglion('explain', file, '--format', 'dot');
    assert.is(dot.status, 0, dot.stderr);
    const svg = spawnSync('dot', ['-Tsvg'], { input: dot.stdout, encoding: 'utf8' });
    assert.is(svg.error, undefined, 'graphviz `dot` is not installed (Debian package graphviz)');
    assert.is(svg.status, 0, svg.stderr);
    assert.match(svg.stdout, /<svg/);
    for (const o of config.operators) assert.ok(svg.stdout.includes(o.name), `${o.name} missing from the rendered graph`);
  });
}

test('explain refuses a bad file and a bad format precisely', () => {
  const dir = tempDir('ganglion-explain-');
  const bad = join(dir.path, 'bad.yaml');
  writeFileSync(bad, 'name: x\nsources: []\nschema: { type: trades }\noperators: [{ name: w, type: window, window: tumbling, aggregates: [count] }]\nsinks: []\n');
  const r = ganglion('explain', bad);
  assert.is(r.status, 1);
  assert.match(r.stderr, /bad\.yaml:4:\d+.*size/);
  const f = ganglion('explain', examples[0], '--format', 'svg');
  assert.is(f.status, 1);
  assert.match(f.stderr, /--format: expected text, json or dot, found "svg"/);
  dir.remove();
});

test.run();
