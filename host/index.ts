// ganglion as a library: the same pipelines in-process, with no native addon.
//
//   import { createPipeline, parsePipeline } from 'ganglion';
//   const p = await createPipeline(parsePipeline(yamlText, 'inline.yaml'));
//   (or a SQL job script: parsePipeline(sqlText, 'job.sql'))
//   p.subscribe((out) => console.log(out));
//   await p.push({ ts: 1732435200000000000n, instrument: 'AAPL', price: 190.1, qty: 100 });
//   await p.finish(); await p.close();
//
// The `ws` package is imported only by modules that serve sockets, and the
// uWebSockets.js addon only by a WebSocket source that is actually started.
import './server/no_native_ws.js';
export { createPipeline, Pipeline, FINAL_WATERMARK, type PipelineOptions, type PipelineStats, type OutputListener } from './pipeline/pipeline.js';
export { planPipeline, type PipelinePlan } from './pipeline/plan.js';
export { loadPipeline, parsePipeline, ConfigError } from './config/load.js';
export type { PipelineConfig, InputEvent } from './config/types.js';
export type { OutputEvent, WindowOutput, AnomalyOutput, ScoreOutput, LateOutput, DeadLetterOutput } from './output/format.js';
export type { Frame, Source, FrameSink, Ack } from './sources/source.js';
export { loadXgboostModel } from './model/xgboost.js';
export { createTreeEnsemble } from './operators/model/tree_ensemble.js';
