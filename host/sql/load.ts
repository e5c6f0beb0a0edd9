// A `.sql` job script → a validated PipelineConfig, the same object a YAML
// pipeline file gives: parse (parser.ts), translate (translate.ts), then the
// very checks a YAML file goes through (the zod schema and the semantic checks, stream_semantic.ts), with
// each problem placed at the SQL that produced the config value.
import { ConfigError, didYouMean, pathString, type ConfigIssue } from '../config/errors.js';
import { keysAt } from '../config/load.js';
import { descriptorOf } from '../operators/index.js';
import * as S from '../config/schema.js';
import { pipelineIssues } from '../config/stream_semantic.js';
import type { PipelineConfig } from '../config/types.js';
import type { z } from 'zod';
import type { Pos } from '../expr/parse.js';
import { SqlError, sqlIssue, sqlIssues } from './errors.js';
import { parseScriptPartly } from './parser.js';
import { translateScript, type Translation } from './translate.js';

export function isSqlFile(file: string): boolean {
  return /\.sql$/i.test(file);
}

/** Parses and translates a script; throws ConfigError with every problem (file:line:col, the line, a caret). */
export function translateSql(text: string, file: string): Translation {
  try {
    const parsed = parseScriptPartly(text);
    return translateScript(parsed.statements, file, parsed.unparsed, parsed.problems);
  } catch (e) {
    if (e instanceof SqlError) throw new ConfigError(sqlIssues(text, file, e.problems));
    throw e;
  }
}

/** The SQL place of a config path: the path itself or its nearest parent that came from the script. */
export function placeOf(t: Translation, path: ReadonlyArray<PropertyKey>): Pos {
  for (let n = path.length; n >= 0; n--) {
    const p = t.at.get(pathString(path.slice(0, n)));
    if (p) return p;
  }
  return { offset: 0, end: 0 };
}

function issueAt(text: string, file: string, t: Translation, path: ReadonlyArray<PropertyKey>, message: string, found?: string): ConfigIssue {
  const where = path.length ? ` (${describePath(t, path)})` : '';
  return sqlIssue(text, file, { message: `${message}${found !== undefined ? `, found ${found}` : ''}${where}`, pos: placeOf(t, path) });
}

/** `operators[1].slide` → `view acct_1m: slide`, so a config message reads in the script's terms. */
function describePath(t: Translation, path: ReadonlyArray<PropertyKey>): string {
  const [head, i, ...rest] = path;
  if (head === 'operators' && typeof i === 'number') {
    const ops = t.data.operators as Array<{ name?: string }> | undefined;
    return `view ${ops?.[i]?.name ?? i}${rest.length ? `: ${pathString(rest)}` : ''}`;
  }
  if (head === 'sinks' && typeof i === 'number') {
    const sinks = t.data.sinks as Array<{ name?: string }> | undefined;
    return `sink table ${sinks?.[i]?.name ?? i}${rest.length ? `: ${pathString(rest)}` : ''}`;
  }
  if (head === 'sources') return `source table${rest.length ? `: ${pathString(rest)}` : ''}`;
  return pathString(path);
}

function valueAt(data: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v = data;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** A zod issue in the words the YAML loader uses ("expected ..., found ..."), with "did you mean" for a near-miss value. */
function zodMessage(i: z.core.$ZodIssue, value: unknown): string {
  const found = value === undefined ? '' : `, found ${typeof value === 'string' ? `'${value}'` : String(value)}`;
  switch (i.code) {
    case 'invalid_value': {
      const values = i.values.map(String);
      const hint = typeof value === 'string' ? didYouMean(value, values) : '';
      return `expected ${values.length === 1 ? `'${values[0]}'` : `one of ${values.map((v) => `'${v}'`).join(', ')}`}${found}${hint}`;
    }
    case 'too_big': case 'too_small': {
      if (i.message.startsWith('expected')) return `${i.message}${found}`;
      const op = i.code === 'too_small' ? (i.inclusive ? 'at least' : 'more than') : i.inclusive ? 'at most' : 'less than';
      return `expected ${i.origin === 'array' ? `${op} ${i.code === 'too_small' ? i.minimum : i.maximum} items` : `a number ${op} ${i.code === 'too_small' ? i.minimum : i.maximum}`}${found}`;
    }
    case 'invalid_type': return i.message.startsWith('expected') ? `${i.message}${found}` : `expected ${i.expected}${found}`;
    default: return i.message;
  }
}

export interface SqlLoadOptions { baseDir?: string; schemaOnly?: boolean }

/** Validates a SQL script into a pipeline config; throws ConfigError listing every problem. */
export function parseSqlPipeline(text: string, file: string, options: SqlLoadOptions = {}): PipelineConfig {
  const t = translateSql(text, file);
  const parsed = S.pipeline.safeParse(t.data);
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap((i) => {
      const path = i.path as PropertyKey[];
      if (i.code !== 'unrecognized_keys') return [issueAt(text, file, t, path, zodMessage(i, valueAt(t.data, path)))];
      const allowed = keysAt(path, t.data) ?? [];
      return i.keys.map((k) => issueAt(text, file, t, [...path, k], `unknown setting "${k}"${didYouMean(k, allowed)}${allowed.length ? `; settings here: ${allowed.filter((a) => a !== 'type' && a !== 'name').join(', ')}` : ''}`));
    });
    throw new ConfigError(issues.sort((a, b) => a.line - b.line || a.column - b.column));
  }
  const config = parsed.data;
  const baseDir = options.baseDir ?? process.cwd();
  if (!options.schemaOnly) {
    const problems = pipelineIssues(config, baseDir).map((p) => issueAt(text, file, t, p.path, p.message, p.found));
    if (problems.length > 0) throw new ConfigError(problems.sort((a, b) => a.line - b.line || a.column - b.column));
    for (const op of config.operators) descriptorOf(op.type).resolvePaths?.(op, baseDir);
  }
  return config;
}

/** Problems found at config paths by the runtime's own checks (preflight), placed in the script. */
export function sqlIssuesAt(text: string, file: string, problems: ReadonlyArray<{ path: (string | number)[]; message: string; found?: string }>): ConfigIssue[] {
  let t: Translation;
  try { t = translateSql(text, file); } catch { return problems.map((p) => ({ file, line: 0, column: 0, path: pathString(p.path), message: p.message, found: p.found })); }
  return problems.map((p) => issueAt(text, file, t, p.path, p.message, p.found));
}
