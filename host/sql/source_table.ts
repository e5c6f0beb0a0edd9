// A source table's CREATE TABLE → the stream's parts of the config: the
// source (connector and options), the schema (a built-in type when the
// columns hold all of its fields), event time (the WATERMARK) and the
// validation rules (NOT NULL, CHECK, VARCHAR(n)).
import type { Expr, Pos } from '../expr/parse.js';
import { didYouMean } from '../config/errors.js';
import { BUILTIN_TYPE_NAMES, builtinType } from '../config/builtin.js';
import type { Column, CreateTable } from './ast.js';
import { fail, ISSUE, notYet } from './problem.js';
import { coerce, durationText, lower, norm, SOURCE_OPTIONS, STREAM_OPTIONS } from './vocabulary.js';

/** Where translated config goes: the object, and each path's place in the script. */
export interface ConfigOut {
  data: Record<string, unknown>;
  at: Map<string, Pos>;
  /** Sets `path` (dotted) in the config and remembers where it came from. */
  put(path: string, value: unknown, pos: Pos): void;
}

export type ColumnKind = 'number' | 'string' | 'time';

export interface SourceTable {
  stmt: CreateTable;
  columns: Map<string, { col: Column; kind: ColumnKind }>;
  time: string;
  /** The built-in trade side column, declared STRING ('buy'/'sell') but ±1 inside (expressions compare it as such). */
  side?: string;
}

/** A computed column `a * b` of two plain columns: computed on ingest (`schema.derived`); any other expression by a derive operator. */
export function ingestProduct(e: Expr): e is Extract<Expr, { k: 'binary' }> & { left: Extract<Expr, { k: 'ref' }>; right: Extract<Expr, { k: 'ref' }> } {
  return e.k === 'binary' && e.op === '*' && e.left.k === 'ref' && e.right.k === 'ref' && !e.left.qualifier && !e.right.qualifier;
}

export function describeSource(t: CreateTable): SourceTable {
  const columns = new Map<string, { col: Column; kind: ColumnKind }>();
  let time = t.watermark?.column.v;
  if (t.watermark && !t.columns.some((c) => c.name.v === time)) {
    fail(`WATERMARK FOR ${time}: no column ${time}${didYouMean(time!, t.columns.map((c) => c.name.v))}`, t.watermark.column.pos);
  }
  for (const c of t.columns) {
    if (columns.has(c.name.v)) fail(`column ${c.name.v} is declared twice`, c.name.pos);
    if (c.computed) { columns.set(c.name.v, { col: c, kind: 'number' }); continue; }
    const ty = c.type!;
    let kind: ColumnKind;
    if (['TIMESTAMP', 'TIMESTAMP_LTZ', 'DATETIME'].includes(ty.name)) kind = 'time';
    else if (['STRING', 'VARCHAR', 'CHAR', 'TEXT'].includes(ty.name)) kind = 'string';
    else if (['DOUBLE', 'FLOAT', 'REAL', 'DECIMAL', 'NUMERIC', 'DEC', 'INT', 'INTEGER', 'BIGINT', 'SMALLINT', 'TINYINT'].includes(ty.name)) kind = c.name.v === time ? 'time' : 'number';
    else if (['BOOLEAN', 'BOOL'].includes(ty.name)) return fail(`column ${c.name.v}: BOOLEAN columns are not supported yet; use a number (0/1) ${ISSUE}`, ty.pos);
    else if (['DATE', 'TIME', 'BYTES', 'BINARY', 'VARBINARY', 'ARRAY', 'MAP', 'ROW', 'MULTISET'].includes(ty.name)) return fail(`column ${c.name.v}: ${ty.name} columns are not supported; columns are numbers (DOUBLE, BIGINT, ...), strings (STRING, VARCHAR(n)) or the event time (TIMESTAMP(3))`, ty.pos);
    else return fail(`column ${c.name.v}: unknown type ${ty.name}${didYouMean(ty.name, ['STRING', 'VARCHAR', 'DOUBLE', 'BIGINT', 'INT', 'DECIMAL', 'TIMESTAMP', 'TIMESTAMP_LTZ'])}`, ty.pos);
    if (kind === 'time') {
      if (time === undefined) time = c.name.v;
      else if (time !== c.name.v) {
        if (t.watermark) kind = 'number';
        if (!t.watermark || ['TIMESTAMP', 'TIMESTAMP_LTZ', 'DATETIME'].includes(ty.name)) fail(`column ${c.name.v}: a second timestamp column; a stream has one event time (${time}), other times are not supported yet ${ISSUE}`, ty.pos);
      }
    }
    columns.set(c.name.v, { col: c, kind });
  }
  if (time === undefined) fail(`source table ${t.name.v} has no event time: add WATERMARK FOR <ts column> AS <ts column> - INTERVAL '...' SECOND (ganglion computes in event time only)`, t.name.pos);
  return { stmt: t, columns, time: time!, side: sideColumn(t, columns, time!) };
}

/** The built-in type a table is (its columns hold all of the type's fields), if any. */
function builtinBase(plain: Column[]): (typeof BUILTIN_TYPE_NAMES)[number] | undefined {
  return BUILTIN_TYPE_NAMES.find((n) => builtinType(n).fields.every((f) => plain.some((c) => c.name.v === f.name)));
}

function sideColumn(t: CreateTable, columns: SourceTable['columns'], time: string): string | undefined {
  const base = builtinBase(t.columns.filter((c) => !c.computed && c.name.v !== time));
  const side = base ? builtinType(base).fields.find((f) => f.kind === 'side') : undefined;
  return side && columns.get(side.name)?.kind === 'string' ? side.name : undefined;
}

/** The table's connector and options as `sources[index]`, and the stream settings among its options. */
export function sourceConfig(t: CreateTable, connector: string, out: ConfigOut, index = 0): void {
  const src: Record<string, unknown> = { type: connector === 'websocket' ? 'ws' : connector, name: t.name.v };
  const at = (k: string, pos: Pos) => out.at.set(`sources[${index}]${k ? '.' + k : ''}`, pos);
  at('', t.name.pos);
  const table = SOURCE_OPTIONS[connector];
  let format: { v: string; pos: Pos } | undefined;
  for (const o of t.options.entries) {
    const k = norm(o.key);
    if (k === 'connector') continue;
    if (k === 'format' || k === 'value.format') { format = { v: lower(o.value), pos: o.valuePos }; continue; }
    if (k === 'name') { src.name = o.value; at('name', o.valuePos); continue; }
    const stream = STREAM_OPTIONS[k];
    if (stream) { out.put(stream[0], coerce(o.value, stream[1], o.valuePos, o.key), o.valuePos); continue; }
    if (k.startsWith('mapping.')) {
      const col = o.key.slice('mapping.'.length);
      out.put(`schema.mapping.${col}`, o.value, o.valuePos);
      continue;
    }
    const known = table[k];
    if (!known) {
      const keys = ['connector', 'format', 'name', ...Object.keys(table), ...Object.keys(STREAM_OPTIONS), 'mapping.<column>'];
      fail(`unknown option '${o.key}' for a ${connector} source${didYouMean(k, keys)} (options: ${keys.join(', ')})`, o.keyPos);
    }
    const [path, type] = known!;
    const value = coerce(o.value, type, o.valuePos, o.key);
    const parts = path.split('.');
    let obj = src;
    for (const p of parts.slice(0, -1)) obj = (obj[p] ??= {}) as Record<string, unknown>;
    obj[parts[parts.length - 1]] = value;
    at(path, o.valuePos);
  }
  if (format) {
    const f = format.v;
    if (!['json', 'flatbuffers', 'csv', 'jsonl'].includes(f)) fail(`unknown format '${f}'${didYouMean(f, ['json', 'flatbuffers', 'csv'])} (json, flatbuffers${connector === 'file' ? ', csv' : ''})`, format.pos);
    if (connector === 'file') { src.format = f === 'json' ? 'jsonl' : f; at('format', format.pos); }
    else if (connector === 'mqtt') { if (f !== 'json' && f !== 'flatbuffers') fail(`an mqtt source reads json or flatbuffers, found '${f}'`, format.pos); }
    else if (connector === 'websocket') { if (f !== 'json' && f !== 'flatbuffers') fail(`a websocket source reads json (text frames) and flatbuffers (binary frames), found '${f}'`, format.pos); }
    else if (connector === 'synthetic') fail(`a synthetic source generates events itself: 'format' does not apply`, format.pos);
  }
  if (connector === 'mqtt' && Array.isArray(src.topics)) {
    src.topics = (src.topics as string[]).map((topic) => ({ topic, format: format?.v === 'flatbuffers' ? 'flatbuffers' : 'json', ...(src.qos !== undefined ? { qos: src.qos } : {}) }));
    delete src.qos;
  }
  const sources = (out.data.sources ??= []) as unknown[];
  sources[index] = src;
}

export function schemaConfig(src: SourceTable, out: ConfigOut): void {
  const t = src.stmt;
  const cols = t.columns.filter((c) => c.name.v !== src.time);
  const plain = cols.filter((c) => !c.computed);
  const at = (path: string, pos: Pos) => out.at.set(path, pos);
  at('schema', t.name.pos);
  // A built-in type when the columns hold all of its fields (extra columns extend it).
  const base = builtinBase(plain);
  const schema: Record<string, unknown> = { type: base ?? 'custom' };
  const builtinFields = new Map((base ? builtinType(base).fields : []).map((f) => [f.name, f.kind]));
  const numbers: string[] = [], strings: string[] = [];
  for (const c of plain) {
    const kind = src.columns.get(c.name.v)!.kind;
    const bk = builtinFields.get(c.name.v);
    if (bk !== undefined) {
      if (bk === 'id' && kind !== 'string') fail(`column ${c.name.v} is an id in the built-in ${base} type: declare it STRING`, c.type!.pos);
      if (bk === 'number' && kind !== 'number') fail(`column ${c.name.v} is a number in the built-in ${base} type: declare it DOUBLE`, c.type!.pos);
      if (bk === 'side' && kind === 'time') fail(`column ${c.name.v} is the trade side ('buy'/'sell' or ±1): declare it STRING`, c.type!.pos);
      continue;
    }
    if (kind === 'time') continue;
    (kind === 'number' ? numbers : strings).push(c.name.v);
  }
  if (numbers.length) { schema.fields = numbers; at('schema.fields', t.name.pos); }
  if (strings.length) { schema.strings = strings; at('schema.strings', t.name.pos); }
  const derived: Array<{ name: string; multiply: [string, string] }> = [];
  for (const c of cols.filter((x) => x.computed)) {
    const e = c.computed!;
    if (ingestProduct(e)) {
      for (const side of [e.left, e.right]) {
        const sc = src.columns.get(side.name);
        if (!sc || sc.kind !== 'number' || sc.col.computed) fail(`computed column ${c.name.v}: ${side.name} is not a number column of ${t.name.v}${didYouMean(side.name, [...src.columns.keys()])}`, side.pos);
      }
      at(`schema.derived[${derived.length}]`, c.name.pos);
      derived.push({ name: c.name.v, multiply: [e.left.name, e.right.name] });
    }
    // Any other expression: a derive operator in front of the job's operators (host/sql/translate.ts, sourceTable).
  }
  if (derived.length) schema.derived = derived;
  if (out.data.schema && typeof out.data.schema === 'object') Object.assign(schema, { mapping: (out.data.schema as Record<string, unknown>).mapping });
  if (schema.mapping === undefined) delete schema.mapping;
  out.data.schema = schema;

  // Event time.
  const tc = src.columns.get(src.time)!;
  out.put('event_time.field', src.time, tc.col.name.pos);
  if (t.watermark) {
    const w = t.watermark.expr;
    let ooo: bigint | undefined;
    if (w.k === 'ref' && w.name === src.time) ooo = 0n;
    else if (w.k === 'binary' && w.op === '-' && w.left.k === 'ref' && w.left.name === src.time && w.right.k === 'interval') ooo = w.right.ns;
    if (ooo === undefined) fail(`expected the watermark as ${src.time} - INTERVAL '<n>' <unit> (bounded out-of-orderness) or ${src.time}; other watermark expressions are not supported`, w.pos);
    out.put('event_time.out_of_orderness', durationText(ooo!), w.pos);
  }

  // Validation from the column constraints.
  const required: string[] = [], ranges: Record<string, { min?: number; max?: number }> = {}, allowed: Record<string, Array<string | number>> = {}, maxLength: Record<string, number> = {};
  for (const c of plain) {
    if (c.notNull && c.name.v !== src.time) { at(`validation.required[${required.length}]`, c.notNull); required.push(c.name.v); }
    if (c.type && ['VARCHAR', 'CHAR'].includes(c.type.name) && c.type.params.length > 0) {
      maxLength[c.name.v] = c.type.params[0];
      at(`validation.max_length.${c.name.v}`, c.type.pos);
    }
    for (const chk of c.checks) check(chk, src, ranges, allowed, out, c.name.v);
  }
  for (const chk of t.checks) check(chk, src, ranges, allowed, out);
  const v: Record<string, unknown> = (out.data.validation as Record<string, unknown>) ?? {};
  if (required.length) v.required = required;
  if (Object.keys(ranges).length) v.ranges = ranges;
  if (Object.keys(allowed).length) v.allowed = allowed;
  if (Object.keys(maxLength).length) v.max_length = maxLength;
  if (Object.keys(v).length) out.data.validation = v;
}

/** CHECK (x BETWEEN a AND b), (x >= a), (x <= b), (x IN (...)), joined by AND: the validation rules. */
function check(e: Expr, src: SourceTable, ranges: Record<string, { min?: number; max?: number }>, allowed: Record<string, Array<string | number>>, out: ConfigOut, only?: string): void {
  const column = (x: Expr): string => {
    if (x.k !== 'ref' || x.qualifier) return notYet('a CHECK on an expression: checks compare a column with constants', x.pos);
    if (!src.columns.has(x.name)) fail(`unknown column ${x.name} in CHECK${didYouMean(x.name, [...src.columns.keys()])}`, x.pos);
    if (only !== undefined && x.name !== only) fail(`a column CHECK may only test its own column (${only}); put checks of other columns on them, or after the columns`, x.pos);
    return x.name;
  };
  const num = (x: Expr): number => {
    if (x.k === 'num') return x.value;
    if (x.k === 'unary' && x.op === '-' && x.arg.k === 'num') return -x.arg.value;
    return fail('expected a number in this CHECK', x.pos);
  };
  const range = (name: string, pos: Pos) => { out.at.set(`validation.ranges.${name}`, pos); return (ranges[name] ??= {}); };
  if (e.k === 'binary' && e.op === 'and') { check(e.left, src, ranges, allowed, out, only); check(e.right, src, ranges, allowed, out, only); return; }
  if (e.k === 'between' && !e.negated) { const n = column(e.arg); const r = range(n, e.pos); r.min = num(e.low); r.max = num(e.high); return; }
  if (e.k === 'in' && !e.negated) {
    const n = column(e.arg);
    allowed[n] = e.list.map((x) => (x.k === 'str' ? x.value : num(x)));
    out.at.set(`validation.allowed.${n}`, e.pos);
    return;
  }
  if (e.k === 'binary' && ['>=', '<=', '>', '<'].includes(e.op)) {
    const flip = e.left.k !== 'ref';
    const col = flip ? e.right : e.left, lit = flip ? e.left : e.right;
    const op = flip ? ({ '>=': '<=', '<=': '>=', '>': '<', '<': '>' } as Record<string, string>)[e.op] : e.op;
    if (op === '>' || op === '<') fail(`validation ranges are inclusive: write ${op}= (a value at the bound is valid), or BETWEEN`, e.pos);
    const n = column(col);
    const r = range(n, e.pos);
    if (op === '>=') r.min = num(lit); else r.max = num(lit);
    return;
  }
  if (e.k === 'isnull' && e.negated) { column(e.arg); fail('write NOT NULL after the column type for a required column', e.pos); }
  notYet('this CHECK: checks are BETWEEN, >=, <= or IN on one column (joined by AND)', e.pos);
}
