// The semantic checks of a pipeline with several input streams. Each stream is
// checked like a one-stream pipeline (semantic.ts) on a view holding its
// schema, key, event time, validation, the sources that feed it and the
// operators that read it; the problems found point back into the file
// (`streams.<name>.schema...`, the operator's own index). What spans streams
// is checked here: every `stream:` and `input:` names a declared stream,
// operator names are unique over the pipeline, sinks select known operators.
import { didYouMean } from './errors.js';
import { operatorRefs } from './operator_refs.js';
import { semanticIssues, type SemanticIssue } from './semantic.js';
import { keyTypeProblem, operatorInputs, sourceStream, streamFields, streamsOf } from './streams.js';
import type { PipelineConfig } from './types.js';

export function pipelineIssues(config: PipelineConfig, baseDir: string, unparsed: ReadonlySet<string> = new Set()): SemanticIssue[] {
  const streams = streamsOf(config);
  if (streams.length === 1 && !streams[0].declared) return semanticIssues(config, baseDir, unparsed);
  const issues: SemanticIssue[] = [];
  const add = (path: (string | number)[], message: string, found?: string) => issues.push({ path, message, found });
  const names = streams.map((s) => s.name);
  const unknownStream = (path: (string | number)[], n: string) =>
    add(path, `expected a stream declared under streams (one of: ${names.join(', ')})${didYouMean(n, names)}`, JSON.stringify(n));

  const sourcesOf: number[][] = streams.map(() => []);
  config.sources.forEach((s, i) => {
    const st = sourceStream(config, s);
    if (st < 0) unknownStream(['sources', i, 'stream'], (s as { stream: string }).stream);
    else sourcesOf[st].push(i);
  });
  const operatorsOf: number[][] = streams.map(() => []);
  const opNames = new Set<string>();
  config.operators.forEach((o, i) => {
    if (opNames.has(o.name)) add(['operators', i, 'name'], `expected a unique operator name: "${o.name}" is used twice`, JSON.stringify(o.name));
    opNames.add(o.name);
    const inputs = operatorInputs(config, o);
    const named = (o as { inputs?: string[] }).inputs;
    const bad = inputs.findIndex((s) => s < 0);
    if (bad >= 0) {
      if (named) unknownStream(['operators', i, 'inputs', bad], named[bad]);
      else unknownStream(['operators', i, 'input'], (o as { input: string }).input);
      return;
    }
    if (inputs.length === 2) {
      const problem = keyTypeProblem({ name: streams[inputs[0]].name, fields: streamFields(config, inputs[0]) }, { name: streams[inputs[1]].name, fields: streamFields(config, inputs[1]) });
      if (problem) add(['operators', i, 'inputs'], `expected two streams keyed alike (both sides of a key meet in one partition): ${problem}`, JSON.stringify(named));
    }
    operatorsOf[inputs[0]].push(i);
  });

  // `<window>.<aggregate>` of a window on another stream: enrichment happens within a stream.
  const windowStream = new Map<string, number>();
  const crossRefs = new Set<string>();
  config.operators.forEach((o, i) => {
    const own = operatorInputs(config, o)[0];
    if (own < 0) return;
    for (const { path, ref } of operatorRefs(o)) {
      const dot = ref.indexOf('.');
      if (dot < 0) continue;
      const w = windowStream.get(ref.slice(0, dot));
      if (w !== undefined && w !== own) {
        add(['operators', i, ...path], `expected a window operator that reads stream ${streams[own].name}: "${ref.slice(0, dot)}" reads ${streams[w].name} (an operator reads the aggregates of earlier windows on its own stream)`, JSON.stringify(ref));
        crossRefs.add(ref.slice(0, dot));
      }
    }
    if (o.type === 'window') windowStream.set(o.name, own);
  });

  streams.forEach((st, si) => {
    const view: PipelineConfig = {
      ...config, name: si === 0 ? config.name : st.name,
      schema: st.schema, key: st.key, event_time: st.event_time, validation: st.validation, streams: [st],
      sources: sourcesOf[si].map((i) => config.sources[i]),
      operators: operatorsOf[si].map((i) => config.operators[i]),
      sinks: [],
    };
    // Operators of the other streams are not this view's: references to them are reported by the plan (enrichment stays within a stream).
    for (const issue of semanticIssues(view, baseDir, new Set([...unparsed, ...crossRefs]))) {
      const [head, ...rest] = issue.path;
      let path = issue.path;
      if (head === 'schema' || head === 'key' || head === 'event_time' || head === 'validation') path = ['streams', st.name, head, ...rest];
      else if (head === 'operators') path = ['operators', operatorsOf[si][rest[0] as number], ...rest.slice(1)];
      else if (head === 'sources') path = ['sources', sourcesOf[si][rest[0] as number], ...rest.slice(1)];
      issues.push({ ...issue, path });
    }
  });

  const sinkNames = new Set<string>();
  config.sinks.forEach((s, i) => {
    if (s.name !== undefined) {
      if (sinkNames.has(s.name)) add(['sinks', i, 'name'], `expected a unique sink name: "${s.name}" is used twice`, JSON.stringify(s.name));
      sinkNames.add(s.name);
    }
    const pool = [...opNames, ...unparsed];
    s.operators?.forEach((n, j) => { if (!opNames.has(n) && !unparsed.has(n)) add(['sinks', i, 'operators', j], `expected an operator name (one of: ${pool.join(', ')})${didYouMean(n, pool)}`, JSON.stringify(n)); });
    if (s.type === 'ws' && !config.server) add(['sinks', i, 'type'], 'expected a server section: a ws sink is served on the server port (add `server: { port: 9464 }`)', '"ws" without server');
  });
  return issues;
}
