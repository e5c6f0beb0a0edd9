// Reads a pipeline file (YAML or JSON), validates it against schema.ts and
// semantic.ts, and reports every problem at its line and column. JSON is
// parsed by the YAML parser too (JSON is YAML 1.2), which keeps each node's
// source range, so a zod path maps back to the exact place in either format;
// JSON.parse runs first only so JSON files get strict JSON syntax errors.
import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError, didYouMean, pathString, type ConfigIssue } from './errors.js';
import * as S from './schema.js';
import { pipelineIssues } from './stream_semantic.js';
import type { PipelineConfig } from './types.js';
import { descriptorOf } from '../operators/index.js';
import { isSqlFile, parseSqlPipeline, sqlIssuesAt } from '../sql/load.js';

export { ConfigError, formatIssue, type ConfigIssue } from './errors.js';

export interface LoadOptions {
  /** Directory that relative model paths resolve against (default: the file's directory). */
  baseDir?: string;
  /** Skip the semantic checks (tests of the schema alone). */
  schemaOnly?: boolean;
}

/** Loads and validates a pipeline file; throws ConfigError listing every problem. */
export function loadPipeline(file: string, options: LoadOptions = {}): PipelineConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'file not found' : err.code === 'EISDIR' ? 'is a directory, expected a pipeline file' : err.message;
    throw new ConfigError([{ file, line: 0, column: 0, path: '', message: `cannot read pipeline: ${why}` }]);
  }
  return parsePipeline(text, file, { baseDir: dirname(resolve(file)), ...options });
}

/** Validates pipeline text; `file` is used in messages and picks JSON for a .json name, SQL for a .sql one. */
export function parsePipeline(text: string, file: string, options: LoadOptions = {}): PipelineConfig {
  if (isSqlFile(file)) return parseSqlPipeline(text, file, options);
  const lines = new LineCounter();
  const at = (offset: number) => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const issue = (offset: number, path: string, message: string, found?: string): ConfigIssue => ({ file, ...at(offset), path, message, found });

  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (extname(file).toLowerCase() === '.json') {
    const bad = jsonErrorOffset(text);
    if (bad !== undefined) {
      const what = bad >= text.length ? 'unexpected end of file' : `unexpected ${JSON.stringify(text[bad])}`;
      throw new ConfigError([issue(bad, '', `invalid JSON: ${what}`)]);
    }
  }
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => issue(e.pos[0], '', `invalid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${e.message.split('\n')[0]}`)));
  }
  const data = doc.toJS({ maxAliasCount: 100 });
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([issue(0, '', 'expected a mapping of pipeline settings (name, sources, schema, operators, ...)', describeValue(data))]);
  }

  const parsed = S.pipeline.safeParse(data);
  const baseDir = options.baseDir ?? process.cwd();
  const semantic = (config: PipelineConfig, skip?: ReadonlySet<string>) => pipelineIssues(config, baseDir, skip).map((p) => {
    const loc = locate(doc, p.path);
    return issue(loc.offset, pathString(p.path), p.message, p.found);
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((i) => zodIssue(doc, i, issue, data));
    // Every problem in one pass: the parts that are valid on their own are
    // still checked against each other (a bad aggregate must not hide a bad
    // field reference elsewhere).
    const partial = options.schemaOnly ? undefined : partialConfig(data as Record<string, unknown>);
    if (partial) problems.push(...semantic(partial.config, partial.unparsed));
    throw new ConfigError(dedupe(problems).sort(byPosition));
  }

  const config = parsed.data;
  if (!options.schemaOnly) {
    const problems = semantic(config);
    if (problems.length > 0) throw new ConfigError(problems.sort(byPosition));
    for (const op of config.operators) descriptorOf(op.type).resolvePaths?.(op, baseDir);
  }
  return config;
}

/** Problems found at a config path (by the runtime's own checks, host/pipeline/preflight.ts), placed at their line and column. */
export function issuesAt(file: string, problems: ReadonlyArray<{ path: (string | number)[]; message: string; found?: string }>): ConfigIssue[] {
  let text = '';
  try { text = readFileSync(file, 'utf8'); } catch { /* reported without a position */ }
  if (isSqlFile(file)) return sqlIssuesAt(text, file, problems);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  return problems.map((p) => {
    const loc = p.path.length ? locate(doc, p.path) : { offset: -1 };
    const pos = loc.offset >= 0 ? lines.linePos(loc.offset) : { line: 0, col: 0 };
    return { file, line: pos.line, column: pos.col, path: pathString(p.path), message: p.message, found: p.found };
  });
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => { const k = `${i.line}:${i.column}:${i.path}:${i.message}`; return !seen.has(k) && !!seen.add(k); });
}

const LISTS = { sources: S.source, operators: S.operator, sinks: S.sink } as const;

/**
 * The config as far as it is valid: each top-level section parsed alone
 * (defaults where it is invalid), each source, operator and sink alone (an
 * invalid one leaves a hole, so indexes still match the file, and its name in
 * `unparsed`, so references to it are not reported as unknown). Undefined
 * when the schema section itself is invalid: without fields nothing else can
 * be checked.
 */
function partialConfig(data: Record<string, unknown>): { config: PipelineConfig; unparsed: Set<string> } | undefined {
  const out: Record<string, unknown> = {};
  const unparsed = new Set<string>();
  for (const [k, schema] of Object.entries(S.pipelineObject.shape) as Array<[string, z.ZodType]>) {
    const raw = data[k];
    if (k in LISTS) {
      const element = LISTS[k as keyof typeof LISTS] as z.ZodType;
      if (!Array.isArray(raw)) { const d = schema.safeParse(undefined); out[k] = d.success ? d.data : []; continue; }
      const list: unknown[] = new Array(raw.length);
      raw.forEach((x, i) => {
        const r = element.safeParse(x);
        if (r.success) list[i] = r.data;
        else if (x && typeof (x as { name?: unknown }).name === 'string') unparsed.add((x as { name: string }).name);
      });
      out[k] = list;
      continue;
    }
    const r = schema.safeParse(raw);
    if (r.success) { out[k] = r.data; continue; }
    if (k === 'schema' || k === 'streams') return undefined;
    const d = schema.safeParse(undefined);
    out[k] = d.success ? d.data : k === 'name' ? 'pipeline' : undefined;
  }
  if (out.schema === undefined && out.streams === undefined) return undefined;
  return { config: S.withStreams(out as z.output<typeof S.pipelineObject>), unparsed };
}

/**
 * Offset of the first character that makes `text` invalid JSON, or undefined
 * when it parses. Node's JSON.parse messages do not always carry a position,
 * so this finds it: the longest prefix that is still a valid *beginning* of a
 * JSON text (its parse fails only with "end of input") ends right before it.
 */
export function jsonErrorOffset(text: string): number | undefined {
  const endOnly = (n: number) => {
    try {
      JSON.parse(text.slice(0, n));
      return true;
    } catch (e) {
      const msg = (e as Error).message;
      const pos = /at position (\d+)/.exec(msg);
      return /end of (JSON )?input|Unterminated string/i.test(msg) || (pos !== null && Number(pos[1]) >= n);
    }
  };
  try {
    JSON.parse(text);
    return undefined;
  } catch {
    // fall through to the search
  }
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (endOnly(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function byPosition(a: ConfigIssue, b: ConfigIssue): number {
  return a.line - b.line || a.column - b.column;
}

/** Where a path lands in the document: the node itself, or the deepest existing parent. */
function locate(doc: Document, path: readonly PropertyKey[]): { offset: number; node?: Node; keyOffset?: number; found: boolean } {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  let keyOffset: number | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) return { offset, node: node as Node, found: false };
      keyOffset = (pair.key as Node | null)?.range?.[0];
      node = pair.value;
      offset = (node as Node | null)?.range?.[0] ?? keyOffset ?? offset;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return { offset, node: node as Node, found: false };
      node = item;
      keyOffset = undefined;
      offset = (item as Node).range?.[0] ?? offset;
    } else {
      return { offset, found: false };
    }
  }
  return { offset, node: node as Node, keyOffset, found: true };
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function describeNode(doc: Document, path: readonly PropertyKey[]): string {
  const loc = locate(doc, path);
  if (!loc.found) return 'nothing';
  const node = loc.node as unknown;
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return describeValue(node.value);
  return describeValue(node);
}

const TYPE_WORDS: Record<string, string> = {
  string: 'text', number: 'a number', int: 'an integer', boolean: 'true or false', array: 'a list', object: 'a mapping', bigint: 'an integer',
};

/** Every key any object in the schema accepts, for "did you mean" on unknown keys. */
const KNOWN_KEYS = (() => {
  const keys = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (s: unknown): void => {
    if (!s || typeof s !== 'object' || seen.has(s)) return;
    seen.add(s);
    const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return;
    if (def.shape) for (const [k, v] of Object.entries(def.shape as Record<string, unknown>)) { keys.add(k); walk(v); }
    for (const k of ['innerType', 'in', 'out', 'element', 'valueType']) walk(def[k]);
    if (Array.isArray(def.options)) def.options.forEach(walk);
    if (Array.isArray(def.items)) def.items.forEach(walk);
  };
  walk(S.pipeline);
  return keys;
})();

type IssueFactory = (offset: number, path: string, message: string, found?: string) => ConfigIssue;

/** The keys the object at `path` accepts (unions resolved by the data's `type`), for a precise "did you mean". */
export function keysAt(path: readonly PropertyKey[], data: unknown): string[] | undefined {
  let schema: unknown = S.pipeline;
  let value: unknown = data;
  const def = (s: unknown) => (s as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
  const unwrap = (s: unknown): unknown => {
    for (let d = def(s); d; d = def(s)) {
      if (Array.isArray(d.options) && d.discriminator) {
        const t = (value as Record<string, unknown> | undefined)?.[d.discriminator as string];
        s = (d.options as unknown[]).find((o) => {
          const lit = def((def(o)?.shape as Record<string, unknown> | undefined)?.[d!.discriminator as string]);
          return Array.isArray(lit?.values) && (lit!.values as unknown[]).includes(t);
        });
        if (!s) return undefined;
      } else if (d.innerType) s = d.innerType;
      else if (d.in && d.type === 'pipe') s = d.in;
      else return s;
    }
    return s;
  };
  schema = unwrap(schema);
  for (const seg of path) {
    const d = def(schema);
    if (!d) return undefined;
    if (d.shape) schema = (d.shape as Record<string, unknown>)[String(seg)];
    else if (d.element) schema = d.element;
    else if (d.valueType) schema = d.valueType;
    else return undefined;
    value = (value as Record<PropertyKey, unknown> | undefined)?.[seg as never];
    schema = unwrap(schema);
  }
  const shape = def(schema)?.shape as Record<string, unknown> | undefined;
  return shape ? Object.keys(shape) : undefined;
}

function zodIssue(doc: Document, i: z.core.$ZodIssue, make: IssueFactory, data?: unknown): ConfigIssue[] {
  const path = i.path as PropertyKey[];
  const loc = locate(doc, path);
  const found = describeNode(doc, path);
  const p = pathString(path);
  switch (i.code) {
    case 'unrecognized_keys':
      return i.keys.map((k) => {
        const kl = locate(doc, [...path, k]);
        const local = keysAt(path, data);
        const hint = didYouMean(k, local ?? KNOWN_KEYS) || (local ? '' : didYouMean(k, KNOWN_KEYS));
        return make(kl.keyOffset ?? kl.offset, pathString([...path, k]), `unknown key "${k}"${hint}${local ? `; ${describeKeys(local)}` : ''}`);
      });
    case 'invalid_type': {
      const what = i.message.startsWith('expected') ? i.message.slice('expected '.length) : (TYPE_WORDS[i.expected] ?? i.expected);
      if (!loc.found) return [make(loc.keyOffset ?? loc.offset, p, `missing required key "${String(path[path.length - 1])}" (expected ${what})`)];
      return [make(loc.offset, p, `expected ${what}`, found)];
    }
    case 'invalid_value': {
      const values = i.values.map((v) => JSON.stringify(v));
      const hint = loc.found && isScalar(loc.node) && typeof loc.node.value === 'string' ? didYouMean(loc.node.value, i.values.map(String)) : '';
      if (!loc.found) return [make(loc.offset, p, `missing required key "${String(path[path.length - 1])}" (expected one of ${values.join(', ')})`)];
      return [make(loc.offset, p, `expected ${values.length === 1 ? values[0] : `one of ${values.join(', ')}`}${hint}`, found)];
    }
    case 'invalid_union': {
      const disc = (i as { discriminator?: string; options?: unknown[] }).discriminator;
      if (disc !== undefined) {
        const options = ((i as { options?: unknown[] }).options ?? []).map(String);
        const hint = loc.found && isScalar(loc.node) ? didYouMean(String(loc.node.value), options) : '';
        if (!loc.found) return [make(loc.offset, p, `missing required key "${disc}" (expected one of ${options.join(', ')})`)];
        return [make(loc.offset, p, `expected one of ${options.join(', ')}${hint}`, found)];
      }
      return [make(loc.offset, p, i.message.startsWith('expected') ? i.message : 'expected a different kind of value', found)];
    }
    case 'too_small':
    case 'too_big': {
      const bound = i.code === 'too_small' ? i.minimum : i.maximum;
      const op = i.code === 'too_small' ? (i.inclusive ? 'at least' : 'more than') : i.inclusive ? 'at most' : 'less than';
      const foundHere = i.origin === 'array' ? `${(loc.node && isSeq(loc.node) ? loc.node.items.length : 0)} items` : found;
      if (i.message.startsWith('expected')) return [make(loc.offset, p, i.message, foundHere)];
      const what = i.origin === 'array' ? `${op} ${bound} item${bound === 1 ? '' : 's'}` : i.origin === 'string' ? `text of ${op} ${bound} characters` : `a number ${op} ${bound}`;
      return [make(loc.offset, p, `expected ${what}`, foundHere)];
    }
    case 'invalid_format':
      if (i.format === 'datetime') return [make(loc.offset, p, 'expected an ISO timestamp like "2026-01-05T14:30:00Z"', found)];
      return [make(loc.offset, p, i.message.startsWith('expected') ? i.message : `expected ${i.format} text`, found)];
    case 'custom': {
      const missing = (i.params as { missing?: boolean } | undefined)?.missing;
      if (missing || !loc.found) return [make(loc.offset, p, i.message.replace(/^expected (\w+) \(/, 'missing required key "$1" ('))];
      return [make(loc.offset, p, i.message, found)];
    }
    default:
      return [make(loc.offset, p, i.message, found)];
  }
}

function describeKeys(keys: string[]): string {
  return keys.length <= 16 ? `allowed here: ${keys.join(', ')}` : `${keys.length} keys are allowed here`;
}
