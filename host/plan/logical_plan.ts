// The logical plan: what a pipeline computes, as a small typed graph that any
// front end produces (the YAML loader today; SQL next) and that `ganglion
// explain` prints. Nodes are input streams, operators and sinks; edges carry
// either records (with the fields that flow along them and their types) or
// outputs (with the output kinds that flow).
//
//   stream trades ──records{ts,instrument,price,…}──► op vwap_1s ──records{…, vwap_1s.sum}──► op vol_z
//                                                        │ outputs{window,revision,late}        │ outputs{anomaly}
//                                                        ▼                                      ▼
//                                                     sink alerts (jsonl)  ◄─────────────────────┘
//
// Records pass through the operators in pipeline order: each operator sees
// the stream's fields plus the fields a derive before it computes and the
// enrichment slots the windows before it write (`<window>.<aggregate>`, the
// key's current window including the event).
// The physical layout (record stride, slots, partitions) stays in
// host/pipeline/plan.ts; this is the view a user reasons about.
import { formatDuration } from '../config/units.js';
import type { PipelineConfig, SinkConfig, SourceConfig } from '../config/types.js';
import type { PipelinePlan } from '../pipeline/plan.js';
import { descriptorOf } from '../operators/index.js';
import { OUTPUT_KINDS } from '../operators/outputs.js';
import { operatorInputs, sourceStream, streamsOf } from '../config/streams.js';

export type FieldType = 'timestamp' | 'f64' | 'string' | 'side';

export interface PlanField {
  name: string;
  type: FieldType;
  /** Where it comes from when it is not an input field: `derived` (computed on ingest) or the operator that writes it (a derive, a window). */
  from?: string;
}

export interface StreamNode {
  id: string;
  kind: 'stream';
  name: string;
  /** The event type (built-in name or `custom`). */
  schema: string;
  fields: PlanField[];
  key: string[];
  eventTime: { field: string; unit: string; outOfOrderness: string; allowedLateness: string; idleTimeout: string };
  sources: Array<{ name: string; type: string; detail: string }>;
}

export interface OperatorNode {
  id: string;
  kind: 'operator';
  name: string;
  type: string;
  /** One line of what it computes, in the config's own terms. */
  summary: string;
  /** The record fields it reads. */
  reads: string[];
  /** Fields it writes into the records for later operators: derived fields, enrichment slots. */
  writes: PlanField[];
  /** Keyed state: what it keeps per key, and what bounds it. */
  state: string;
  outputs: string[];
}

export interface SinkNode {
  id: string;
  kind: 'sink';
  name: string;
  type: string;
  target: string;
  kinds: string[];
  operators: string[];
}

export interface PlanEdge {
  from: string;
  to: string;
  carries: 'records' | 'outputs';
  /** records: the fields on this edge. */
  fields?: PlanField[];
  /** outputs: the kinds on this edge. */
  kinds?: string[];
}

export interface LogicalPlan {
  pipeline: string;
  delivery: string;
  partitions: string;
  streams: StreamNode[];
  operators: OperatorNode[];
  sinks: SinkNode[];
  edges: PlanEdge[];
}

const d = (ns: bigint) => formatDuration(ns);

export function logicalPlan(config: PipelineConfig, physical: PipelinePlan): LogicalPlan {
  const streamConfigs = streamsOf(config);
  // Per stream: its node, the fields flowing at the end of its operator chain so far, and the last node of that chain.
  const chains = physical.streams.map((sp, i) => {
    const f = sp.fields;
    const typeOf = (name: string): FieldType => {
      const def = f.type.fields.find((x) => x.name === name);
      return def?.kind === 'id' ? 'string' : def?.kind === 'side' ? 'side' : 'f64';
    };
    const sc = streamConfigs[i];
    const derived = new Set(sc.schema.derived.map((x) => x.name));
    const inputFields: PlanField[] = [
      { name: f.time, type: 'timestamp' },
      ...f.all.map((n) => ({ name: n, type: typeOf(n), ...(derived.has(n) ? { from: 'derived' } : {}) })),
    ];
    const et = sp.eventTime;
    const stream: StreamNode = {
      id: `stream:${sp.name}`, kind: 'stream', name: sp.name, schema: sc.schema.type, fields: inputFields, key: f.key,
      eventTime: {
        field: et.field, unit: et.unit, outOfOrderness: d(et.out_of_orderness),
        allowedLateness: d(et.allowed_lateness), idleTimeout: d(et.idle_timeout),
      },
      sources: config.sources.flatMap((s, j) => (sourceStream(config, s) === i ? [{ name: s.name ?? `${s.type}${j}`, type: s.type, detail: sourceDetail(s) }] : [])),
    };
    return { stream, fields: inputFields, upstream: stream.id, recordFields: sp.recordFields };
  });

  const edges: PlanEdge[] = [];
  const operators: OperatorNode[] = [];
  config.operators.forEach((o) => {
    const desc = descriptorOf(o.type);
    const inputs = operatorInputs(config, o);
    const chain = chains[inputs[0]];
    const seen = { all: chain.fields.filter((x) => x.type !== 'timestamp').map((x) => x.name), numbers: [], strings: chain.fields.filter((x) => x.type === 'string').map((x) => x.name), time: chain.stream.eventTime.field };
    const writes: PlanField[] = [
      // Derived fields (a derive operator), then enrichment slots later operators read (a window).
      ...(desc.writes?.(o, seen) ?? []).map((w) => ({ name: w.name, type: w.type === 'string' ? 'string' as const : 'f64' as const, from: o.name })),
      ...chain.recordFields.filter((n) => n.startsWith(`${o.name}.`)).map((n) => ({ name: n, type: 'f64' as const, from: o.name })),
    ];
    const where = (o as { where?: unknown }).where;
    const node: OperatorNode = {
      id: `op:${o.name}`, kind: 'operator', name: o.name, type: o.type,
      summary: desc.summary(o) + (o.type !== 'filter' && typeof where === 'string' ? ` — over the events where ${where} (the others pass it by)` : ''), reads: desc.reads(o).map((r) => r.ref), writes, state: desc.state(o, `per ${chain.stream.key.join('|')}`, physical.streams[inputs[0]].eventTime.allowed_lateness),
      outputs: desc.outputs.map((k) => k.kind),
    };
    for (const i of inputs) {
      edges.push({ from: chains[i].upstream, to: node.id, carries: 'records', fields: chains[i].fields });
      chains[i].upstream = node.id;
    }
    chain.fields = [...chain.fields, ...writes];
    operators.push(node);
  });

  const sinks = config.sinks.map((s, i) => sinkNode(s, i));
  for (const s of sinks) {
    for (const o of operators) {
      if (s.operators.length && !s.operators.includes(o.name)) continue;
      const kinds = o.outputs.filter((k) => s.kinds.includes(k));
      if (kinds.length) edges.push({ from: o.id, to: s.id, carries: 'outputs', kinds });
    }
    if (s.kinds.includes('dead_letter')) for (const c of chains) edges.push({ from: c.stream.id, to: s.id, carries: 'outputs', kinds: ['dead_letter'] });
  }

  return {
    pipeline: config.name,
    delivery: config.delivery.mode,
    partitions: String(config.partitions),
    streams: chains.map((c) => c.stream), operators, sinks, edges,
  };
}

function sourceDetail(s: SourceConfig): string {
  switch (s.type) {
    case 'ws': return `ws://${s.host}:${s.port}${s.path}${s.auth_token ? ' (token)' : ''}`;
    case 'mqtt': return `${s.url} ${s.topics.map((t) => `${t.topic} [${t.format}, QoS ${t.qos}]`).join(', ')}`;
    case 'synthetic': return `${s.rate === 0 ? 'flat out' : `${s.rate} events/s`}, ${s.instruments} keys (zipf ${s.zipf})${s.events ? `, ${s.events} events` : ''}`;
    case 'file': return `${s.path}${s.format ? ` (${s.format})` : ''}`;
  }
  return '';
}

function sinkNode(s: SinkConfig, i: number): SinkNode {
  const kinds = s.kinds ? [...s.kinds] : [...OUTPUT_KINDS];
  const target = s.type === 'jsonl' ? s.path : s.type === 'mqtt' ? `${s.url} ${s.topic}` : s.type === 'ws' ? `/topics ${s.topic}` : 'stdout';
  return { id: `sink:${s.name ?? `${s.type}${i}`}`, kind: 'sink', name: s.name ?? `${s.type}${i}`, type: s.type, target, kinds, operators: s.operators ? [...s.operators] : [] };
}

// ─────────────────────────────── printing ───────────────────────────────

const fieldList = (fs: PlanField[]) => fs.map((x) => `${x.name}: ${x.type}${x.from ? ` (${x.from})` : ''}`).join(', ');

export function planText(p: LogicalPlan): string {
  const out: string[] = [`pipeline ${p.pipeline}  (delivery ${p.delivery}, partitions ${p.partitions})`, ''];
  for (const s of p.streams) {
    out.push(`stream ${s.name}  schema ${s.schema}, key ${s.key.join('|')}`);
    out.push(`  event time ${s.eventTime.field} (${s.eventTime.unit}): watermark = max − ${s.eventTime.outOfOrderness}, lateness ${s.eventTime.allowedLateness}, idle ${s.eventTime.idleTimeout}`);
    out.push(`  fields ${fieldList(s.fields)}`);
    for (const src of s.sources) out.push(`  ◄ source ${src.name} (${src.type}) ${src.detail}`);
    out.push('');
  }
  for (const o of p.operators) {
    const into = p.edges.filter((e) => e.to === o.id && e.carries === 'records');
    out.push(`${o.name}  [${o.type}] ${o.summary}`);
    out.push(`  ◄ records from ${into.map((e) => e.from.replace(/^\w+:/, '')).join(' and ') || '?'}: reads ${o.reads.join(', ') || (o.type === 'derive' || o.type === 'filter' ? 'the fields its expressions name' : '(key and time only)')}`);
    // Fields computed on the way (derived, enrichment): what the edge carries beyond the stream's own.
    const computed = into.flatMap((e) => (e.fields ?? []).filter((x) => x.from && x.from !== 'derived'));
    if (computed.length) out.push(`    carrying ${fieldList(computed)}`);
    if (o.writes.length) out.push(`  writes ${fieldList(o.writes)}`);
    out.push(`  state ${o.state}`);
    out.push(`  outputs ${o.outputs.join(', ') || (o.writes.length ? 'none (its fields go on with the records)' : 'none (a filter: what it drops is counted, ganglion_dropped_events_total)')}`);
    out.push('');
  }
  for (const s of p.sinks) {
    const from = p.edges.filter((e) => e.to === s.id).map((e) => `${e.from.replace(/^\w+:/, '')}{${e.kinds!.join(',')}}`);
    out.push(`sink ${s.name}  (${s.type}) ${s.target}`);
    out.push(`  ◄ ${from.length ? from.join(', ') : '(nothing: no operator emits what it selects)'}`);
  }
  if (p.sinks.length === 0) out.push('no sinks (outputs reach subscribers and /topics only)');
  return out.join('\n') + '\n';
}

export function planDot(p: LogicalPlan): string {
  const q = (s: string) => JSON.stringify(s);
  const out = ['digraph ganglion {', '  rankdir=LR;', '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];', `  label=${q(`${p.pipeline} (${p.delivery})`)};`];
  for (const s of p.streams) {
    for (const src of s.sources) {
      out.push(`  ${q(`source:${src.name}`)} [shape=cds, label=${q(`${src.name}\n${src.type}`)}];`);
      out.push(`  ${q(`source:${src.name}`)} -> ${q(s.id)};`);
    }
    out.push(`  ${q(s.id)} [shape=box, style=rounded, label=${q(`${s.name}\nschema ${s.schema}, key ${s.key.join('|')}`)}];`);
  }
  for (const o of p.operators) out.push(`  ${q(o.id)} [shape=box, label=${q(`${o.name} [${o.type}]\n${o.summary}`)}];`);
  for (const s of p.sinks) out.push(`  ${q(s.id)} [shape=folder, label=${q(`${s.name} (${s.type})\n${s.target}`)}];`);
  for (const e of p.edges) {
    const label = e.carries === 'records' ? `${e.fields!.length} fields` : e.kinds!.join(', ');
    out.push(`  ${q(e.from)} -> ${q(e.to)} [label=${q(label)}${e.carries === 'outputs' ? ', style=dashed' : ''}];`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}
