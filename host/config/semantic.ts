// Checks that need the whole pipeline: names referenced by operators, rules and
// sinks must exist; a feature like `vol_1m.sum` must name an earlier window
// operator that computes `sum`. What an operator reads and its own checks (a
// model file that must exist and take as many features as listed, a window's
// capacity for the keys a synthetic source feeds) come from its descriptor
// (host/operators/<op>/descriptor.ts). Each problem carries the document path
// it is about, so the loader can point at the exact line.
import { builtinType } from './builtin.js';
import { didYouMean } from './errors.js';
import { bindProblem } from '../server/request_guard.js';
import type { PipelineConfig } from './types.js';
import { eventFields, parseRef } from './types.js';
import { descriptorOf } from '../operators/index.js';
import { operatorInputs, streamFields } from './streams.js';
import { fieldsSeen } from './derived.js';
import { exprFields, filterLiterals } from '../operators/filter/descriptor.js';
import { ExprError } from '../expr/parse.js';
import { syntheticCardinality } from '../sources/synthetic_feed.js';

export interface SemanticIssue {
  path: (string | number)[];
  message: string;
  found?: string;
}

/**
 * A synthetic source says how many keys the pipeline sees (window operators
 * size their state from it): the count and a sentence saying where it comes from.
 */
function syntheticKeys(config: PipelineConfig, key: string[]): { count: number; from: string; partitions: number } | undefined {
  if (config.schema.type === 'custom') return undefined;
  const kind = config.schema.type;
  let keys = 0, from = '';
  for (const s of config.sources) {
    if (!s || s.type !== 'synthetic') continue;
    let n = 1;
    for (const k of key) n *= syntheticCardinality(kind, s.instruments, k) ?? NaN;
    if (Number.isNaN(n)) return undefined; // a key the feed does not set as an id: unknown
    if (n > keys) { keys = n; from = `the synthetic source${s.name ? ` "${s.name}"` : ''} feeds ${n} keys (${key.join(', ')})`; }
  }
  if (keys === 0) return undefined;
  return { count: keys, from, partitions: typeof config.partitions === 'number' ? config.partitions : 1 };
}

/**
 * `unparsed`: names of operators that failed the schema (the loader checks
 * the rest of a file that has schema problems too): references to them are
 * not reported again as unknown. Sources, operators and sinks may have holes.
 */
export function semanticIssues(config: PipelineConfig, baseDir: string, unparsed: ReadonlySet<string> = new Set()): SemanticIssue[] {
  const issues: SemanticIssue[] = [];
  const add = (path: (string | number)[], message: string, found?: string) => issues.push({ path, message, found });
  const f = eventFields(config);
  const numeric = new Set(f.numbers);
  const strings = new Set(f.strings);
  const all = new Set([...f.all, f.time]);
  const list = (s: Iterable<string>) => [...s].join(', ');
  const unknown = (path: (string | number)[], field: string, pool: Set<string>, what: string) =>
    add(path, `expected ${what} (one of: ${list(pool)})${didYouMean(field, pool)}`, JSON.stringify(field));

  // Schema: every field name once; mappings and derived fields refer to known fields.
  const seen = new Set<string>();
  if (config.schema.type !== 'custom') for (const fd of builtinType(config.schema.type).fields) seen.add(fd.name);
  seen.add(f.time);
  (['fields', 'strings'] as const).forEach((section) =>
    config.schema[section].forEach((n, i) => {
      if (seen.has(n)) add(['schema', section, i], `expected a new field name: "${n}" is already a field of this schema`, JSON.stringify(n));
      seen.add(n);
    }),
  );
  if (config.schema.type === 'custom' && config.schema.fields.length === 0 && config.schema.derived.length === 0) {
    add(['schema', 'fields'], 'expected at least one numeric field for a custom schema', 'an empty list');
  }
  config.schema.derived.forEach((d, i) => {
    if (seen.has(d.name)) add(['schema', 'derived', i, 'name'], `expected a new field name: "${d.name}" is already a field of this schema`, JSON.stringify(d.name));
    seen.add(d.name);
    d.multiply.forEach((m, j) => {
      const earlier = new Set(f.numbers.slice(0, f.numbers.indexOf(d.name)));
      if (!earlier.has(m)) unknown(['schema', 'derived', i, 'multiply', j], m, earlier, 'a numeric field');
    });
  });
  for (const k of Object.keys(config.schema.mapping)) {
    if (!all.has(k)) unknown(['schema', 'mapping', k], k, all, 'a schema field to map');
  }

  // Key and event time.
  f.key.forEach((k, i) => {
    if (!all.has(k) || k === f.time) unknown(config.key && config.key.length > 1 ? ['key', i] : ['key'], k, new Set(f.all), 'a key field');
  });

  // Validation rules.
  const v = config.validation;
  v.required.forEach((n, i) => { if (!all.has(n)) unknown(['validation', 'required', i], n, all, 'a field'); });
  for (const n of Object.keys(v.ranges)) if (!numeric.has(n)) unknown(['validation', 'ranges', n], n, numeric, 'a numeric field');
  for (const n of Object.keys(v.allowed)) if (!all.has(n)) unknown(['validation', 'allowed', n], n, all, 'a field');
  for (const n of Object.keys(v.max_length)) if (!strings.has(n)) unknown(['validation', 'max_length', n], n, strings, 'an id (string) field');

  // Operators: unique names; refs point at fields or at earlier window operators' aggregates.
  const windows = new Map<string, Set<string>>();
  /** Windows with their own `where`: what they write into records stays in their copy (host/operators/scope.ts). */
  const scopedWindows = new Set<string>();
  const opNames = new Set<string>();
  // What each operator sees: the schema fields and the fields derive operators before it compute.
  const seenBy = fieldsSeen(config).perOperator;
  let numericHere = numeric;
  const checkRef = (path: (string | number)[], ref: string) => {
    const r = parseRef(ref);
    if ('field' in r) {
      if (!numericHere.has(r.field)) unknown(path, r.field, numericHere, 'a numeric field or <window operator>.<aggregate>');
      return;
    }
    if (scopedWindows.has(r.op)) {
      add(path, `expected a window without its own where: "${r.op}" sees only the events its where holds for, so it cannot enrich the others; read a window without a where, or derive the value`, JSON.stringify(ref));
      return;
    }
    const aggs = windows.get(r.op);
    if (!aggs && unparsed.has(r.op)) return;
    if (!aggs) {
      const later = config.operators.some((o) => o?.name === r.op);
      if (later) add(path, `expected a window operator declared before this one ("${r.op}" is declared later or is not a window)`, JSON.stringify(ref));
      else add(path, `expected <window operator>.<aggregate>, and there is no window operator "${r.op}"${didYouMean(r.op, windows.keys())}`, JSON.stringify(ref));
      return;
    }
    if (!aggs.has(r.aggregate)) add(path, `expected one of the aggregates window "${r.op}" computes (${list(aggs)})${didYouMean(r.aggregate, aggs)}`, JSON.stringify(ref));
  };
  const keys = syntheticKeys(config, f.key);
  config.operators.forEach((op, i) => {
    if (opNames.has(op.name)) add(['operators', i, 'name'], `expected a unique operator name: "${op.name}" is used twice`, JSON.stringify(op.name));
    opNames.add(op.name);
    const d = descriptorOf(op.type);
    const here = seenBy[i];
    numericHere = new Set(here.numbers);
    const stringsHere = new Set(here.strings);
    for (const r of d.reads(op)) {
      const path = ['operators', i, ...r.path];
      if (r.accepts === 'number_or_enrichment') checkRef(path, r.ref);
      else if (r.accepts === 'number') { if (!numericHere.has(r.ref)) unknown(path, r.ref, numericHere, 'a numeric field'); }
      else if (!(numericHere.has(r.ref) || stringsHere.has(r.ref))) unknown(path, r.ref, new Set([...here.numbers, ...here.strings]), 'a field (a number or a string id)');
    }
    const where = (op as { where?: unknown }).where;
    if (op.type !== 'filter' && typeof where === 'string') {
      try {
        filterLiterals(where, exprFields(here));
      } catch (e) {
        if (!(e instanceof ExprError)) throw e;
        add(['operators', i, 'where'], `${e.message} (at column ${e.pos.offset + 1} of the condition)\n  ${where}\n  ${' '.repeat(e.pos.offset)}${'^'.repeat(Math.max(1, Math.min(e.pos.end, where.length) - e.pos.offset))}`);
      }
      if (d.enrichment?.(op)) scopedWindows.add(op.name);
    }
    const offered = d.enrichment?.(op);
    if (offered) windows.set(op.name, new Set(offered));
    d.check?.(op, {
      index: i, eventTime: config.event_time, baseDir, keys,
      fields: here,
      add: (path, message, found) => add(['operators', i, ...path], message, found),
    });
  });

  // Sources and sinks.
  const sourceNames = new Set<string>();
  config.sources.forEach((s, i) => {
    if (s.name !== undefined) {
      if (sourceNames.has(s.name)) add(['sources', i, 'name'], `expected a unique source name: "${s.name}" is used twice`, JSON.stringify(s.name));
      sourceNames.add(s.name);
    }
    if (s.type === 'synthetic' && config.schema.type === 'custom') add(['sources', i, 'type'], 'expected a built-in schema type (trades, quotes, payments) with a synthetic source', '"custom" schema');
    if (s.type === 'ws' && config.server && s.port === config.server.port && s.port !== 0) add(['sources', i, 'port'], `expected a port other than the server's (${config.server.port})`, String(s.port));
    if (s.type === 'ws') {
      const bad = bindProblem(s.host, s.auth_token);
      // The token itself is never echoed back (it may have come from the environment).
      if (bad) add(['sources', i, bad.field === 'host' ? 'host' : 'auth_token'], bad.message, bad.field === 'host' ? JSON.stringify(s.host) : undefined);
    }
  });
  const sinkNames = new Set<string>();
  config.sinks.forEach((s, i) => {
    if (s.name !== undefined) {
      if (sinkNames.has(s.name)) add(['sinks', i, 'name'], `expected a unique sink name: "${s.name}" is used twice`, JSON.stringify(s.name));
      sinkNames.add(s.name);
    }
    s.operators?.forEach((n, j) => { if (!opNames.has(n) && !unparsed.has(n)) unknown(['sinks', i, 'operators', j], n, new Set([...opNames, ...unparsed]), 'an operator name'); });
    if (s.type === 'ws' && !config.server) add(['sinks', i, 'type'], 'expected a server section: a ws sink is served on the server port (add `server: { port: 9464 }`)', '"ws" without server');
  });
  return issues;
}
