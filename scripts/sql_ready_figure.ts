// Start-to-ready of the SQL front end for examples/*.sql: in a fresh Node
// process, the time to import the loader and turn each script into a
// validated PipelineConfig (parse, translate, schema and semantic checks),
// first call and the median of 50 warm calls; the first SQL parse+translate
// alone, and the YAML version's load for comparison. Prints one line per example.
//
//   node scripts/sql_ready_figure.ts        (after npm run build: runs dist/)
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const probe = (file: string) => `
const t0 = performance.now();
const { loadPipeline } = await import(${JSON.stringify(join(root, 'dist/host/config/load.js'))});
const { translateSql } = await import(${JSON.stringify(join(root, 'dist/host/sql/load.js'))});
const text = (await import('node:fs')).readFileSync(${JSON.stringify(file)}, 'utf8');
const t1 = performance.now();
translateSql(text, ${JSON.stringify(file)});
const sqlFirstMs = performance.now() - t1;
const t1b = performance.now();
loadPipeline(${JSON.stringify(file)});
const t2 = performance.now();
const t3 = performance.now();
loadPipeline(${JSON.stringify(file.replace(/\.sql$/, '.yaml'))});
const yamlMs = performance.now() - t3;
const warm = [];
for (let i = 0; i < 50; i++) { const a = performance.now(); loadPipeline(${JSON.stringify(file)}); warm.push(performance.now() - a); }
warm.sort((a, b) => a - b);
console.log(JSON.stringify({ importMs: t1 - t0, sqlFirstMs, firstMs: t2 - t1b, yamlMs, warmMedianMs: warm[25], processMs: t2 + performance.timeOrigin - Number(process.env.T_START) }));
`;

for (const f of readdirSync(join(root, 'examples')).filter((x) => x.endsWith('.sql')).sort()) {
  const file = join(root, 'examples', f);
  const start = Date.now();
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe(file)], { env: { ...process.env, T_START: String(start) }, encoding: 'utf8' });
  const r = JSON.parse(out) as { importMs: number; sqlFirstMs: number; firstMs: number; yamlMs: number; warmMedianMs: number; processMs: number };
  process.stdout.write(`${f}: process start → config ready ${r.processMs.toFixed(0)} ms (loader import ${r.importMs.toFixed(1)} ms; first SQL parse+translate ${r.sqlFirstMs.toFixed(1)} ms; then the whole load with schema and semantic checks ${r.firstMs.toFixed(1)} ms, warm median ${r.warmMedianMs.toFixed(2)} ms; the YAML version after it ${r.yamlMs.toFixed(1)} ms)\n`);
}
