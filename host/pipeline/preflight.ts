// What `ganglion run` would refuse at start-up, checked without running:
// `ganglion validate` calls this after the file itself is valid, so "ok"
// means run starts. Each check is the runtime's own code, not a copy of its
// rules: the plan (planPipeline), one partition built inline with the
// configured memory (PartitionSet.start, as run builds every partition), the
// WebSocket sources constructed (not started), and the data directory
// (the same check Pipeline.start makes before creating it).
import { planPipeline } from './plan.js';
import { wsSourceOptions } from '../sources/open_sources.js';
import { dataDirProblem } from '../config/data_dir.js';
import type { PipelineConfig } from '../config/types.js';

export interface PreflightProblem {
  /** Config path ([] for what is not in the file, like the data dir). */
  path: (string | number)[];
  message: string;
  found?: string;
}

export async function preflight(config: PipelineConfig, options: { baseDir: string; dataDir: string }): Promise<PreflightProblem[]> {
  const problems: PreflightProblem[] = [];
  let plan: ReturnType<typeof planPipeline> | undefined;
  try {
    plan = planPipeline(config, options.baseDir);
  } catch (e) {
    problems.push({ path: ['operators'], message: (e as Error).message });
  }
  if (plan) {
    const { PartitionSet } = await import('../partition/partition_set.js');
    try {
      const set = await PartitionSet.start({
        partitions: 1, inline: true, memoryBytes: config.memory,
        program: { fieldCount: plan.fieldCount, operators: plan.operators, engine: 'wasm', maxBatch: 1024, checkpoints: config.delivery.mode !== 'at_most_once' },
      });
      await set.terminate();
    } catch (e) {
      const msg = (e as Error).message;
      const need = /memory exhausted: need (\d+) bytes/.exec(msg);
      if (need) problems.push({ path: ['memory'], message: `expected at least ${mib(Number(need[1]))} per partition: these operators, their capacities and the rings need ${need[1]} bytes`, found: `${mib(config.memory)}` });
      else problems.push({ path: ['operators'], message: `the partition cannot be built: ${msg}` });
    }
  }
  const { WsSource } = await import('../sources/ws_source.js');
  config.sources.forEach((s, i) => {
    if (s.type !== 'ws') return;
    try { new WsSource(wsSourceOptions(s, i)); } catch (e) { problems.push({ path: ['sources', i], message: (e as Error).message }); }
  });
  if (config.delivery.mode !== 'at_most_once') {
    const bad = dataDirProblem(options.dataDir);
    if (bad) problems.push({ path: [], message: bad });
  }
  return problems;
}

function mib(bytes: number): string {
  return bytes >= 1 << 20 ? `${+(bytes / (1 << 20)).toFixed(1)} MiB` : `${bytes} byte${bytes === 1 ? "" : "s"}`;
}
