// `ganglion explain pipeline.yaml [--format text|json|dot]`: the logical plan
// (host/plan/logical_plan.ts) of a pipeline file: its input streams with
// their fields and event-time settings, each operator with what it reads,
// writes, keeps and emits, and which outputs reach which sink. `dot` renders
// with graphviz (`ganglion explain p.yaml --format dot | dot -Tsvg > p.svg`).
import type { PipelineConfig } from '../config/types.js';
import { loadPipeline } from '../config/load.js';
import { baseDirOf, planPipeline, PlanError } from '../pipeline/plan.js';
import { logicalPlan, planDot, planText } from '../plan/logical_plan.js';
import { pipelineFileFailed } from './config_error.js';

export interface ExplainOptions {
  file: string;
  format?: string;
  out?: (text: string) => void;
}

export async function explainCommand(opts: ExplainOptions): Promise<number> {
  const out = opts.out ?? ((t: string) => process.stdout.write(t));
  const format = opts.format ?? 'text';
  if (!['text', 'json', 'dot'].includes(format)) {
    process.stderr.write(`--format: expected text, json or dot, found "${format}"\n`);
    return (process.exitCode = 1);
  }
  let config: PipelineConfig;
  try {
    config = loadPipeline(opts.file);
  } catch (e) {
    return pipelineFileFailed(e);
  }
  let plan;
  try {
    plan = logicalPlan(config, planPipeline(config, baseDirOf(opts.file)));
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    process.stderr.write(`${opts.file}: ${e.message}\n`);
    return (process.exitCode = 1);
  }
  out(format === 'json' ? JSON.stringify(plan, null, 2) + '\n' : format === 'dot' ? planDot(plan) : planText(plan));
  return (process.exitCode = 0);
}
