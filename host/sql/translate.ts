// SQL statements → the pipeline config object the YAML front end produces
// (host/config/schema.ts, before defaults: durations as text, sizes as text),
// plus where each config path came from in the script, so the config checks
// that run afterwards (zod schema, semantic.ts, preflight) report at the SQL's
// line and column.
//
// What maps (docs/design/sql.md has the full table):
//   CREATE TABLE ... WITH ('connector' = synthetic|file|websocket|mqtt)  → sources + schema + event_time + validation
//   CREATE TABLE ... WITH ('connector' = jsonl|stdout|websocket|mqtt)    → sinks (routed by INSERT INTO)
//   GROUP BY key, TUMBLE/HOP/SESSION(ts, ...), FROM TABLE(TUMBLE/HOP/CUMULATE/SESSION(...))  → window operators
//   ... HAVING <condition over the aggregates>                          → the window's `having`
//   WHERE <condition> on a window view                                  → that window's own `where` (the other views see every event)
//   SELECT *, <expr> AS c FROM t (a view)                                → derive operator; later queries FROM it read c
//   SUM(<expr>), ZSCORE(<expr>), x > a over an expression                → a derive operator in front (`<view>_derive`)
//   WHERE [ABS(]ZSCORE(x, ...)[)] >= t                                   → zscore operator
//   WHERE x > a / x < b, CROSSES_ABOVE(x, a) / CROSSES_BELOW(x, b)       → limit operator
//   WHERE PREDICT('model', f1, ...) >= t                                 → model operator
//   view.column in a per-event query                                     → the window's running value (`<op>.<aggregate>`)
// Everything else is refused at its place with what is missing, never
// translated into something that computes a different thing.
import { ExprError, type Expr, type Pos } from '../expr/parse.js';
import { typeExpr, typeOf, type ExprField } from '../expr/check.js';
import { exprText } from '../expr/print.js';
import { havingEnv } from '../operators/window/having.js';
import { AGGREGATE_NAMES } from '../records.js';
import { didYouMean } from '../config/errors.js';
import type { CallExpr, Column, CreateModel, CreateTable, Name, OverSpec, Query, SetStatement, Statement, WindowTvf } from './ast.js';
import { SqlError, type SqlProblem } from './errors.js';
import { collectCalls, collectRefs, sameArgs, sameCall } from './expr_walk.js';
import { fail, notYet, Problem, Silent } from './problem.js';
import { describeSource, ingestProduct, schemaConfig, sourceConfig, type ColumnKind, type ConfigOut, type SourceTable } from './source_table.js';
import {
  AGGREGATES, AGGREGATES_NOT_YET, coerce, CONNECTOR_ALIASES, durationText, KNOWN_FUNCTIONS, lower, norm, OTHER_CONNECTORS, ROW_FUNCTIONS_NOT_SUPPORTED,
  OUTPUT_KINDS_BY_TYPE, SET_KEYS, SET_REFUSED, SINK_CONNECTORS, SINK_OPTIONS, SOURCE_CONNECTORS, WINDOW_BOUNDS,
} from './vocabulary.js';

export interface Translation {
  /** The pipeline as the YAML front end would read it from a file (before defaults). */
  data: Record<string, unknown>;
  /** Config path (`operators[1].slide`) → the place in the script it came from. */
  at: Map<string, Pos>;
}


interface WindowView { kind: 'window'; op: number; name: string; key: string[]; keyPos: Pos; aggregates: Map<string, string> }
interface EventView { kind: 'event'; op: number; name: string }
/** `SELECT * FROM a UNION ALL SELECT * FROM b`: one input stream fed by several source tables (the config's `sources`). */
interface StreamView { kind: 'stream'; name: string; tables: CreateTable[]; pos: Pos }
/** `SELECT *, price * qty AS notional FROM t`: a derive operator; a query FROM it reads its columns (the source's and the computed ones). */
interface DeriveView { kind: 'derive'; op: number; name: string; from: Name; columns: SourceTable['columns']; where?: string }
type View = WindowView | EventView | StreamView | DeriveView;


/**
 * Translates parsed statements; throws SqlError with every problem found.
 * `unparsed`: names declared by statements that did not parse (their problems
 * are reported already): references to them are not reported again, and
 * neither are the script-wide checks a missing statement would upset.
 */
export function translateScript(statements: Statement[], file: string, unparsed: ReadonlySet<string> = new Set(), earlier: readonly SqlProblem[] = []): Translation {
  return new Translator(file, unparsed, earlier).run(statements);
}

class Translator implements ConfigOut {
  readonly problems: SqlProblem[] = [];
  readonly at = new Map<string, Pos>();
  readonly data: Record<string, unknown> = {};
  readonly tables = new Map<string, CreateTable>();
  readonly models = new Map<string, CreateModel>();
  readonly views = new Map<string, View>();
  /** View and model names, for "did you mean" and duplicate checks. */
  readonly names = new Map<string, Pos>();
  readonly operators: Record<string, unknown>[] = [];
  readonly operatorSettings: SetStatement[] = [];
  source?: SourceTable;
  /** The table or UNION ALL view the source was read as (every query must read the same). */
  sourceName?: string;
  /** The FROM name of the query being translated (a qualifier naming it is the source). */
  from?: string;
  /** The pipeline key and where it was first decided. */
  key?: { columns: string[]; pos: Pos; from: string };
  readonly sinkRoutes = new Map<string, { operators: string[]; pos: Pos }>();
  readonly sourceUses = new Map<string, Pos>();
  readonly usedModels = new Set<string>();
  /** Source tables whose declaration failed (reported once, not again at each use). */
  readonly broken = new Set<string>();
  /** Views whose query was refused (reported once, not again at each use). */
  readonly failed = new Set<string>();

  constructor(readonly file: string, readonly unparsed: ReadonlySet<string>, readonly earlier: readonly SqlProblem[]) {
    this.problems.push(...earlier);
  }

  /** Stops quietly when `name` was declared by a statement that did not parse. */
  skipUnparsed(name: string): void {
    if (this.unparsed.has(lower(name)) || this.failed.has(lower(name))) throw new Silent();
  }

  run(statements: Statement[]): Translation {
    const base = this.file.replace(/^.*[\\/]/, '').replace(/\.sql$/i, '').replace(/[^A-Za-z0-9_]/g, '_');
    this.data.name = /^[A-Za-z_]/.test(base) ? base : `job_${base}`;
    for (const s of statements) this.guard(() => this.statement(s));
    if (this.earlier.length === 0) this.guard(() => this.finish(statements));
    if (this.problems.length > 0) throw new SqlError(this.problems);
    return { data: this.data, at: this.at };
  }

  guard(f: () => void): void {
    try { f(); } catch (e) {
      if (e instanceof Silent) return;
      if (e instanceof Problem) this.problems.push(e.problem);
      else if (e instanceof SqlError) this.problems.push(...e.problems);
      else throw e;
    }
  }

  /** Sets `path` (dotted, with [i]) in the config and remembers where it came from. */
  put(path: string, value: unknown, pos: Pos): void {
    const parts = path.split('.');
    let o = this.data as Record<string, unknown>;
    for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[parts[parts.length - 1]] = value;
    this.at.set(path, pos);
  }

  declare(name: Name, what: string): void {
    const k = lower(name.v);
    if (this.tables.has(k) || this.names.has(k)) fail(`${what} "${name.v}" is already declared (names are case-insensitive)`, name.pos);
  }

  statement(s: Statement): void {
    switch (s.kind) {
      case 'create_table': this.declare(s.name, 'a table'); this.tables.set(lower(s.name.v), s); return;
      case 'create_model': this.declare(s.name, 'a model'); this.names.set(lower(s.name.v), s.name.pos); this.models.set(lower(s.name.v), s); return;
      case 'create_view': {
        this.declare(s.name, 'a view');
        this.names.set(lower(s.name.v), s.name.pos);
        try {
          this.views.set(lower(s.name.v), s.query.unionAll?.length ? this.streamView(s.query, s.name) : this.query(s.query, s.name.v, s.name.pos));
        } catch (e) {
          // Reported here; its uses would only repeat it.
          this.failed.add(lower(s.name.v));
          throw e;
        }
        return;
      }
      case 'insert': return this.insert(s.target, s.query);
      case 'set': return this.set(s);
    }
  }

  // ── SET ──────────────────────────────────────────────────────────────────

  set(s: SetStatement): void {
    const key = s.key;
    if (/^operator\./i.test(key)) { this.operatorSettings.push(s); return; }
    if (SET_REFUSED[key]) fail(`${SET_REFUSED[key]}`, s.keyPos);
    const known = SET_KEYS[key] ?? SET_KEYS[norm(key)];
    if (!known) {
      fail(`unknown setting '${key}'${didYouMean(key, Object.keys(SET_KEYS))}; settings are Flink's where Flink has one (${Object.keys(SET_KEYS).filter((k) => k.includes('-') || k.startsWith('execution') || k.startsWith('pipeline') || k.startsWith('parallelism')).join(', ')}), ganglion's pipeline-file paths (delivery.mode, event_time.allowed_lateness, memory, ...) and 'operator.<view>.<setting>'`, s.keyPos);
    }
    const [path, type] = known!;
    let value: unknown = coerce(s.value, type, s.valuePos, key);
    if (path === 'delivery.mode') value = String(value).toLowerCase();
    if (path === 'partitions' && /^\d+$/.test(String(value))) value = Number(value);
    // Flink durations may be plain numbers of milliseconds.
    if (type === 'duration' && /^\d+$/.test(s.value.trim())) value = `${s.value.trim()}ms`;
    this.put(path, value, s.valuePos);
  }

  // ── tables ───────────────────────────────────────────────────────────────

  connector(t: CreateTable): { name: string; pos: Pos } {
    const e = t.options.entries.find((o) => lower(o.key) === 'connector');
    if (!e) fail(`table ${t.name.v} has no connector: add WITH ('connector' = ...) (sources: ${SOURCE_CONNECTORS.join(', ')}; sinks: ${SINK_CONNECTORS.join(', ')})`, t.name.pos);
    const v = lower(e!.value);
    if (OTHER_CONNECTORS[v]) fail(OTHER_CONNECTORS[v], e!.valuePos);
    const name = CONNECTOR_ALIASES[v] ?? v;
    if (![...SOURCE_CONNECTORS, ...SINK_CONNECTORS].includes(name)) {
      fail(`unknown connector '${e!.value}'${didYouMean(e!.value, [...new Set([...SOURCE_CONNECTORS, ...SINK_CONNECTORS])])} (sources: ${SOURCE_CONNECTORS.join(', ')}; sinks: ${SINK_CONNECTORS.join(', ')})`, e!.valuePos);
    }
    return { name, pos: e!.valuePos };
  }

  table(name: Name, role: 'source' | 'sink'): CreateTable {
    const t = this.tables.get(lower(name.v));
    if (!t) {
      this.skipUnparsed(name.v);
      const v = this.views.get(lower(name.v));
      if (v && role === 'sink') fail(`"${name.v}" is a view; INSERT INTO writes to a sink table (CREATE TABLE ${name.v}_out WITH ('connector' = 'jsonl', ...))`, name.pos);
      const pool = [...this.tables.values()].map((x) => x.name.v).concat(role === 'source' ? [...this.views.values()].map((x) => x.name) : []);
      fail(`unknown ${role === 'sink' ? 'sink table' : 'table or view'} "${name.v}"${didYouMean(name.v, pool)}${pool.length ? ` (declared: ${pool.join(', ')})` : ' (declare it with CREATE TABLE first)'}`, name.pos);
    }
    return t!;
  }

  /** The job's one input stream: sources, schema, event time and validation from its CREATE TABLE. */
  sourceTable(name: Name): SourceTable {
    const derived = this.views.get(lower(name.v));
    if (derived?.kind === 'derive') {
      // The view's rows: the source's events with the columns it computes (and only the columns it selects).
      const base = this.sourceTable(derived.from);
      this.from = lower(name.v);
      // The view's WHERE (which holds those of the views it reads) applies to every query that reads it.
      this.readViews.add(lower(name.v));
      this.inheritedWhere = derived.where;
      return { ...base, columns: derived.columns };
    }
    const stream = this.views.get(lower(name.v));
    const tables = stream?.kind === 'stream' ? stream.tables : [this.table(name, 'source')];
    const t = tables[0];
    this.from = lower(name.v);
    if (this.source) {
      if (this.sourceName !== lower(name.v)) {
        notYet(`reading ${name.v} when this job already reads ${this.sourceName}: one job reads one input stream (merge several source tables with CREATE VIEW v AS SELECT * FROM a UNION ALL SELECT * FROM b)`, name.pos);
      }
      return this.source;
    }
    if (tables.some((x) => this.broken.has(lower(x.name.v)))) throw new Silent();
    for (const x of tables) {
      if (this.sinkRoutes.has(lower(x.name.v))) fail(`${x.name.v} is written by INSERT INTO; a table is either a source or a sink (declare another table for the source)`, name.pos);
      this.sourceUses.set(lower(x.name.v), name.pos);
    }
    let src: SourceTable;
    try {
      for (const x of tables) {
        const declared = x.options.entries.find((o) => lower(o.key) === 'connector')?.value.toLowerCase();
        const connector = CONNECTOR_ALIASES[declared ?? ''] ?? declared ?? 'synthetic';
        if (SINK_CONNECTORS.includes(connector) && !SOURCE_CONNECTORS.includes(connector)) fail(`table ${x.name.v} is a sink (connector '${connector}'): a query reads from a source table (connector ${SOURCE_CONNECTORS.join(', ')})`, stream ? x.name.pos : name.pos);
        if (x.columns.length === 0) fail(`source table ${x.name.v} needs its columns: (ts TIMESTAMP(3), instrument STRING, price DOUBLE, ..., WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)`, x.name.pos);
      }
      src = describeSource(t);
    } catch (e) {
      // Reported once; the queries over it are still checked when its columns are known.
      for (const x of tables) this.broken.add(lower(x.name.v));
      throw e;
    }
    this.source = src;
    this.sourceName = lower(name.v);
    // Option problems are the table's own: reported, and the queries go on.
    tables.forEach((x, i) => this.guard(() => sourceConfig(x, this.connector(x).name, this, i)));
    this.computedColumns(src);
    return src;
  }

  /** `CREATE VIEW v AS SELECT * FROM a UNION ALL SELECT * FROM b ...`: source tables with the same columns and watermark, merged. */
  streamView(q: Query, name: Name): StreamView {
    const parts = [q, ...(q.unionAll ?? [])];
    const tables: CreateTable[] = [];
    for (const part of parts) {
      const simple = part.items.length === 1 && part.items[0].expr.k === 'star' && !part.where && part.groupBy.length === 0 && !part.having && part.from.k === 'table';
      if (!simple) notYet('UNION ALL of anything but whole source tables (SELECT * FROM a UNION ALL SELECT * FROM b)', part.pos);
      const from = (part.from as { name: Name }).name;
      const t = this.table(from, 'source');
      if (this.views.get(lower(from.v))) notYet(`UNION ALL over view ${from.v}`, from.pos);
      if (tables.includes(t)) fail(`${t.name.v} appears twice in the UNION ALL: its events would be counted twice`, from.pos);
      tables.push(t);
    }
    const shape = (t: CreateTable) => JSON.stringify({ c: t.columns, w: t.watermark, k: t.primaryKey, x: t.checks }, (k, v) => (k === 'pos' || k === 'namePos' ? undefined : typeof v === 'bigint' ? String(v) : v));
    for (const t of tables.slice(1)) {
      if (shape(t) !== shape(tables[0])) fail(`the tables of a UNION ALL feed one stream: ${t.name.v} must declare the same columns, constraints and watermark as ${tables[0].name.v}`, t.name.pos);
    }
    return { kind: 'stream', name: name.v, tables, pos: name.pos };
  }

  // ── queries → operators ──────────────────────────────────────────────────

  /** Translates a query into one operator named `name`; returns what later queries can read from it. */
  query(q: Query, name: string, namePos: Pos): View {
    this.pendingDerive = undefined;
    this.eventView = undefined;
    this.inheritedWhere = undefined;
    if (q.distinct) notYet('SELECT DISTINCT (deduplication)', q.distinct);
    if (q.unionAll?.length) notYet('UNION ALL inside a query; merge the source tables in a view of their own (CREATE VIEW v AS SELECT * FROM a UNION ALL SELECT * FROM b)', q.unionAll[0].pos);
    if (q.from.k === 'subquery') return notYet('subqueries in FROM; declare the inner query as a CREATE VIEW', q.from.pos);
    if (q.from.k === 'tvf') return this.windowQuery(q, name, namePos);
    const fromName = q.from.name;
    this.skipUnparsed(fromName.v);
    const view = this.views.get(lower(fromName.v));
    if (view && view.kind !== 'stream' && view.kind !== 'derive') {
      if (view.kind === 'window') {
        if (q.groupBy.length > 0) notYet(`aggregating the results of window view ${view.name} (a window over windows)`, q.groupBy[0].pos);
        if (q.where) notYet(`filtering the results of window view ${view.name}: WHERE on window results (HAVING)`, q.where.pos);
      } else if (q.where || q.groupBy.length) {
        const limit = this.operators[view.op]?.type === 'limit';
        notYet(`a query over the outputs of ${view.name}${limit ? ` (a view whose WHERE compares a value with a number, x > a, is a limit check that alerts on each breaching event; to read only some events, put the comparison in the WHERE of the reading query)` : ''}`, (q.where ?? q.groupBy[0]).pos);
      }
      notYet(`a view over view ${view.name} (only INSERT INTO <sink> SELECT * FROM ${view.name} reads a view)`, q.pos);
    }
    const src = this.sourceTable(fromName);
    if (q.groupBy.length > 0) return this.windowQuery(q, name, namePos);
    return this.eventQuery(q, src, name, namePos);
  }

  addOperator(op: Record<string, unknown>, pos: Pos, parts: Record<string, Pos>): number {
    if (this.operators.some((o) => o.name === op.name)) fail(`a second operator named ${String(op.name)}`, pos);
    const pending = this.pendingDerive;
    if (pending) {
      // The expressions this view aggregates or checks, computed into fields just in front of it.
      this.pendingDerive = undefined;
      const fieldParts: Record<string, Pos> = {};
      for (const [n, f] of pending.fields) fieldParts[`fields.${n}`] = f.pos;
      this.addOperator({ name: `${String(op.name)}_derive`, type: 'derive', fields: Object.fromEntries([...pending.fields].map(([n, f]) => [n, f.text])) }, pos, { fields: pending.pos, ...fieldParts });
    }
    const i = this.operators.length;
    this.operators.push(op);
    this.at.set(`operators[${i}]`, pos);
    this.at.set(`operators[${i}].name`, pos);
    for (const [k, p] of Object.entries(parts)) this.at.set(`operators[${i}].${k}`, p);
    return i;
  }

  /**
   * `CREATE TABLE t (..., notional AS price * qty * fx)`: computed columns other
   * than a product of two columns (computed on ingest) are a derive operator
   * `<table>_computed`, the job's first, so every query sees them. Each is
   * computed from the table's own columns (Flink: a computed column refers
   * to physical columns).
   */
  computedColumns(src: SourceTable): void {
    const cols = src.stmt.columns.filter((c) => c.computed && !ingestProduct(c.computed));
    if (cols.length === 0) return;
    const physical: SourceTable = { ...src, columns: new Map([...src.columns].filter(([, c]) => !c.col.computed || ingestProduct(c.col.computed))) };
    const fields: Record<string, string> = {};
    const parts: Record<string, Pos> = {};
    for (const c of cols) {
      const e = c.computed!;
      for (const call of collectCalls(e)) {
        if (AGGREGATES[call.name] || call.over) fail(`computed column ${c.name.v}: ${call.name} is an aggregate; a computed column is an expression of the row`, call.pos);
        if (ROW_FUNCTIONS_NOT_SUPPORTED[call.name]) fail(ROW_FUNCTIONS_NOT_SUPPORTED[call.name], call.namePos ?? call.pos);
      }
      const type = this.typeCheck(e, physical);
      if (type === 'timestamp' || type === 'interval') notYet(`a computed ${type} column (fields are doubles and string ids); compare it in a WHERE instead`, e.pos);
      fields[c.name.v] = exprText(this.unqualified(e, physical));
      parts[`fields.${c.name.v}`] = e.pos;
      src.columns.set(c.name.v, { col: c, kind: type === 'string' ? 'string' : 'number' });
      this.derivedColumns.add(c.name.v);
    }
    this.addOperator({ name: `${src.stmt.name.v}_computed`, type: 'derive', fields }, cols[0].name.pos, { fields: cols[0].name.pos, ...parts });
  }

  /** Expressions the query being translated aggregates or checks: a derive operator in front of its operator. */
  pendingDerive: { fields: Map<string, { text: string; pos: Pos }>; pos: Pos } | undefined;
  /** Columns that derive operators compute (not read at ingest, so not keys). */
  readonly derivedColumns = new Set<string>();

  /**
   * A value computed by an expression (`SUM(price * qty)`, `ZSCORE(a - b)`,
   * `price * qty > 1e6`): a field of the derive operator in front of the
   * view's operator, `<view>_expr<n>` (one per distinct expression).
   */
  deriveField(e: Expr, src: SourceTable, view: string): string {
    this.typeCheck(e, src, 'double');
    const text = exprText(this.unqualified(e, src));
    const p = (this.pendingDerive ??= { fields: new Map(), pos: e.pos });
    for (const [n, f] of p.fields) if (f.text === text) return n;
    let n = `${view}_expr${p.fields.size + 1}`;
    while (src.columns.has(n)) n += '_';
    p.fields.set(n, { text, pos: e.pos });
    return n;
  }

  /** Views of events (derive views) some query reads. */
  readonly readViews = new Set<string>();
  /** The WHERE of the views the query reads (a filtered view): ANDed into the query's own. */
  inheritedWhere: string | undefined;

  /** The query's WHERE text with what the views it reads filter (undefined: no condition). */
  whereText(w: Expr | undefined, src: SourceTable): string | undefined {
    const own = w ? exprText(this.unqualified(w, src)) : undefined;
    if (own && this.inheritedWhere) return `(${this.inheritedWhere}) AND ${own}`;
    return own ?? this.inheritedWhere;
  }

  /**
   * `CREATE VIEW v AS SELECT *, price * qty AS notional FROM t [WHERE c]`: a
   * derive operator for the computed columns; queries FROM v read its columns,
   * and its WHERE becomes part of theirs (each reading operator's own where:
   * the job's other views still see every event).
   */
  deriveView(q: Query, src: SourceTable, name: string, namePos: Pos): DeriveView {
    if (q.where) this.typeCheck(q.where, src, 'bool');
    const where = this.whereText(q.where, src);
    const columns: SourceTable['columns'] = new Map();
    const fields: Record<string, string> = {};
    const parts: Record<string, Pos> = {};
    // The event time is always there (windows and lateness need it).
    columns.set(src.time, src.columns.get(src.time)!);
    for (const item of q.items) {
      const e = item.expr;
      if (e.k === 'star') {
        if (e.qualifier && !this.namesSource(e.qualifier, src)) fail(`unknown table "${e.qualifier}"${didYouMean(e.qualifier, [src.stmt.name.v])}`, e.pos);
        for (const [k, v] of src.columns) columns.set(k, v);
        continue;
      }
      if (e.k === 'ref' && !(item.alias && item.alias.v !== e.name)) {
        const c = this.column(src, e, 'selecting');
        columns.set(c.name, src.columns.get(c.name)!);
        continue;
      }
      if (!item.alias) fail('a computed column needs a name: <expression> AS name', e.pos);
      const alias = item.alias!.v;
      if (columns.has(alias) || src.columns.has(alias) || fields[alias] !== undefined) fail(`column ${alias} already exists here: give the computed column a new name`, item.alias!.pos);
      for (const c of collectCalls(e)) {
        if (AGGREGATES[c.name] || c.over) fail(`${c.name} is an aggregate: group by a window (GROUP BY key, TUMBLE(${src.time}, INTERVAL ...)) or give it an OVER (...) window`, c.pos);
        if (ROW_FUNCTIONS_NOT_SUPPORTED[c.name]) fail(ROW_FUNCTIONS_NOT_SUPPORTED[c.name], c.namePos ?? c.pos);
      }
      const type = this.typeCheck(e, src);
      if (type === 'timestamp' || type === 'interval') notYet(`a computed ${type} column (fields are doubles and string ids); compare it in a WHERE instead`, e.pos);
      fields[alias] = exprText(this.unqualified(e, src));
      parts[`fields.${alias}`] = e.pos;
      const col: Column = { name: { v: alias, pos: item.alias!.pos }, checks: [] };
      columns.set(alias, { col, kind: type === 'string' ? 'string' : 'number' });
      this.derivedColumns.add(alias);
    }
    if (Object.keys(fields).length === 0 && !where) notYet('a view that only selects columns of its source (no computed column, no WHERE): read the source itself', q.pos);
    const i = Object.keys(fields).length ? this.addOperator({ name, type: 'derive', fields }, namePos, { fields: q.items[0].pos, ...parts }) : -1;
    return { kind: 'derive', op: i, name, from: (q.from as { name: Name }).name, columns, ...(where ? { where } : {}) };
  }

  /** The expression without the qualifiers that name the source (t.price → price). */
  unqualified(x: Expr, src: SourceTable): Expr {
    const copy: Expr = JSON.parse(JSON.stringify(x, (k, v) => (typeof v === 'bigint' ? { $big: String(v) } : k === 'qualifier' && this.namesSource(String(v), src) ? undefined : v)), (_k, v) => (v && typeof v === 'object' && '$big' in v ? BigInt(v.$big) : v));
    return src.side ? sideAsNumber(copy, src.side) : copy;
  }

  useKey(columns: string[], pos: Pos, from: string): void {
    if (!this.key) { this.key = { columns, pos, from }; return; }
    const same = this.key.columns.length === columns.length && this.key.columns.every((c, i) => c === columns[i]);
    if (!same) notYet(`keying by (${columns.join(', ')}) when ${this.key.from} keys by (${this.key.columns.join(', ')}): one job has one key, in one column order`, pos);
  }

  column(src: SourceTable, ref: Expr, what: string): { name: string; kind: ColumnKind } {
    if (ref.k !== 'ref') return notYet(`${what} of an expression (expressions are not wired into operators yet)`, ref.pos);
    if (ref.qualifier && !this.namesSource(ref.qualifier, src)) {
      return fail(`unknown table "${ref.qualifier}"${didYouMean(ref.qualifier, [src.stmt.name.v])}`, ref.pos);
    }
    const c = src.columns.get(ref.name) ?? [...src.columns.entries()].find(([k]) => lower(k) === lower(ref.name))?.[1];
    if (!c) fail(`unknown column ${ref.name}${didYouMean(ref.name, [...src.columns.keys()])} (columns of ${src.stmt.name.v}: ${[...src.columns.keys()].join(', ')})`, ref.pos);
    return { name: c!.col.name.v, kind: c!.kind };
  }

  aliases = new Set<string>();
  /** Whether a column qualifier names the source: its table, the UNION ALL view it was read as, or the FROM alias. */
  namesSource(q: string, src: SourceTable): boolean {
    const l = lower(q);
    return this.aliases.has(l) || l === lower(src.stmt.name.v) || l === this.from;
  }

  windowQuery(q: Query, name: string, namePos: Pos): WindowView {
    let src: SourceTable;
    let spec: { window: string; size?: bigint; slide?: bigint; step?: bigint; gap?: bigint; pos: Pos; family: string; parts: Record<string, Pos> } | undefined;
    const keyCols: Array<{ name: string; pos: Pos }> = [];
    let groupCall: Extract<Expr, { k: 'call' }> | undefined;
    const windowColumns = new Set(['window_start', 'window_end', 'window_time']);
    this.aliases = new Set([q.from.alias?.v].filter((x): x is string => !!x).map(lower));
    const interval = (e: Expr | undefined, what: string, at: Pos): bigint => {
      if (!e) return fail(`expected ${what} (an INTERVAL)`, at);
      if (e.k !== 'interval') return fail(`expected ${what} as an INTERVAL, e.g. INTERVAL '1' SECOND`, e.pos);
      if (e.ns <= 0n) fail(`expected ${what} greater than 0`, e.pos);
      return e.ns;
    };
    if (q.from.k === 'tvf') {
      const tvf: WindowTvf = q.from;
      src = this.sourceTable(tvf.table);
      const tc = this.column(src, { k: 'ref', name: tvf.timeCol.v, pos: tvf.timeCol.pos }, 'DESCRIPTOR');
      if (tc.name !== src.time) fail(`windows are over the event time (${src.time}, the WATERMARK column), found DESCRIPTOR(${tc.name})`, tvf.timeCol.pos);
      const a = tvf.args;
      if (tvf.fn === 'TUMBLE') {
        if (a.length > 1) notYet('window offsets (the fourth argument of TUMBLE)', a[1].pos);
        spec = { window: 'tumbling', size: interval(a[0], 'the window size', tvf.pos), pos: tvf.pos, family: 'TUMBLE', parts: { size: a[0]?.pos ?? tvf.pos } };
      } else if (tvf.fn === 'HOP') {
        if (a.length > 2) notYet('window offsets (the fifth argument of HOP)', a[2].pos);
        spec = { window: 'sliding', slide: interval(a[0], 'the slide', tvf.pos), size: interval(a[1], 'the window size', tvf.pos), pos: tvf.pos, family: 'HOP', parts: { slide: a[0]?.pos ?? tvf.pos, size: a[1]?.pos ?? tvf.pos } };
      } else if (tvf.fn === 'SESSION') {
        if (a.length > 1) fail('SESSION takes the table, DESCRIPTOR(ts) and the gap', a[1].pos);
        spec = { window: 'session', gap: interval(a[0], 'the session gap', tvf.pos), pos: tvf.pos, family: 'SESSION', parts: { gap: a[0]?.pos ?? tvf.pos } };
      } else if (tvf.fn === 'CUMULATE') {
        // CUMULATE(TABLE t, DESCRIPTOR(ts), step, size [, offset]).
        if (a.length > 2) notYet('window offsets (the fifth argument of CUMULATE)', a[2].pos);
        spec = { window: 'cumulate', step: interval(a[0], 'the step', tvf.pos), size: interval(a[1], 'the max window size', tvf.pos), pos: tvf.pos, family: 'CUMULATE', parts: { step: a[0]?.pos ?? tvf.pos, size: a[1]?.pos ?? tvf.pos } };
      } else fail(`unknown window function ${tvf.fn}${didYouMean(tvf.fn, ['TUMBLE', 'HOP', 'SESSION', 'CUMULATE'])} (TUMBLE, HOP, SESSION, CUMULATE)`, tvf.fnPos);
      let sawStart = false, sawEnd = false;
      for (const g of q.groupBy) {
        if (g.k === 'ref' && windowColumns.has(lower(g.name))) { if (lower(g.name) === 'window_start') sawStart = true; else if (lower(g.name) === 'window_end') sawEnd = true; continue; }
        if (g.k === 'call' && (g.name === 'TUMBLE' || g.name === 'HOP' || g.name === 'SESSION')) fail(`${g.name}(...) in GROUP BY and FROM TABLE(${tvf.fn}(...)) are two windows: group by window_start, window_end`, g.pos);
        const c = this.column(src, g, 'grouping');
        keyCols.push({ name: c.name, pos: g.pos });
      }
      if (!sawStart || !sawEnd) fail(`a windowing table function is aggregated with GROUP BY <keys>, window_start, window_end${!sawStart && !sawEnd ? '' : `: window_${sawStart ? 'end' : 'start'} is missing`}`, q.groupBy.length ? q.groupBy[q.groupBy.length - 1].pos : q.pos);
      if (tvf.partitionBy.length) {
        const pk = tvf.partitionBy.map((n) => this.column(src, { k: 'ref', name: n.v, pos: n.pos }, 'PARTITION BY').name);
        const gk = keyCols.map((k) => k.name);
        if (pk.join('|') !== gk.join('|')) fail(`PARTITION BY (${pk.join(', ')}) must be the GROUP BY keys (${gk.join(', ')})`, tvf.partitionBy[0].pos);
      }
    } else {
      src = this.sourceTable((q.from as { name: Name }).name);
      if (q.from.alias) this.aliases.add(lower(q.from.alias.v));
      for (const g of q.groupBy) {
        if (g.k === 'call' && ['TUMBLE', 'HOP', 'SESSION', 'CUMULATE'].includes(g.name)) {
          if (spec) fail('a query groups by one window', g.pos);
          groupCall = g;
          const tc = g.args[0];
          if (!tc) fail(`${g.name} needs the time column first: ${g.name}(${src.time}, INTERVAL ...)`, g.pos);
          const c = this.column(src, tc, g.name);
          if (c.name !== src.time) fail(`windows are over the event time (${src.time}, the WATERMARK column), found ${c.name}`, tc.pos);
          if (g.name === 'TUMBLE') {
            if (g.args.length > 2) notYet('window offsets (the third argument of TUMBLE)', g.args[2].pos);
            spec = { window: 'tumbling', size: interval(g.args[1], 'the window size', g.pos), pos: g.pos, family: 'TUMBLE', parts: { size: g.args[1]?.pos ?? g.pos } };
          } else if (g.name === 'HOP') {
            if (g.args.length > 3) notYet('window offsets (the fourth argument of HOP)', g.args[3].pos);
            spec = { window: 'sliding', slide: interval(g.args[1], 'the slide (HOP(ts, slide, size))', g.pos), size: interval(g.args[2], 'the window size (HOP(ts, slide, size))', g.pos), pos: g.pos, family: 'HOP', parts: { slide: g.args[1]?.pos ?? g.pos, size: g.args[2]?.pos ?? g.pos } };
          } else if (g.name === 'SESSION') {
            spec = { window: 'session', gap: interval(g.args[1], 'the session gap', g.pos), pos: g.pos, family: 'SESSION', parts: { gap: g.args[1]?.pos ?? g.pos } };
          } else fail('CUMULATE is a windowing table function only (as in Flink): FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), step, size)) ... GROUP BY key, window_start, window_end', g.pos);
          continue;
        }
        const c = this.column(src, g, 'grouping');
        keyCols.push({ name: c.name, pos: g.pos });
      }
      if (!spec) notYet('GROUP BY without a window (an ever-growing aggregate per key); group by TUMBLE/HOP/SESSION(ts, ...) too', q.groupBy[0].pos);
    }
    if (keyCols.length === 0) notYet('a window over the whole stream (no key in GROUP BY)', spec!.pos);
    for (const k of keyCols) if (src.columns.get(k.name)!.kind !== 'string') notYet(`keying by the number column ${k.name}: keys are string (id) columns`, k.pos);
    for (const k of keyCols) if (this.derivedColumns.has(k.name)) notYet(`keying by the computed column ${k.name}: keys are read when an event arrives, before operators compute anything`, k.pos);
    const key = keyCols.map((k) => k.name);
    this.useKey(key, keyCols[0].pos, `view ${name}`);

    // The select list: keys, window bounds and aggregates over one column.
    let field: { name: string; pos: Pos } | undefined;
    let weight: string | undefined;
    const aggregates: string[] = [];
    const byAlias = new Map<string, string>();
    const aggPos: Pos[] = [];
    const addAgg = (agg: string, alias: string | undefined, pos: Pos) => {
      if (aggregates.includes(agg)) fail(`${agg} is computed twice in this window; the operator keeps each aggregate once`, pos);
      aggregates.push(agg);
      aggPos.push(pos);
      byAlias.set(lower(alias ?? agg), agg);
    };
    const useField = (ref: Expr, what: string) => {
      // An aggregate over an expression: the derive operator in front computes it into a field.
      const c = ref.k === 'ref' ? this.column(src, ref, what) : { name: this.deriveField(ref, src, name), kind: 'number' as const };
      if (c.kind !== 'number') fail(`${what} of ${c.name}: not a number column`, ref.pos);
      if (field && field.name !== c.name) notYet(`aggregates over different columns in one window (${field.name} and ${c.name}); write one view per column`, ref.pos);
      field = { name: c.name, pos: ref.pos };
    };
    for (const item of q.items) {
      const e = item.expr;
      if (e.k === 'star') fail('SELECT * in a window aggregate: list the keys, the window bounds and the aggregates', e.pos);
      const alias = item.alias?.v;
      if (e.k === 'ref') {
        if (windowColumns.has(lower(e.name)) && q.from.k === 'tvf') continue;
        const c = this.column(src, e, 'selecting');
        if (!key.includes(c.name)) fail(`${c.name} is neither a GROUP BY key nor aggregated: aggregate it (e.g. LAST_VALUE(${c.name})) or group by it`, e.pos);
        continue;
      }
      if (e.k === 'call') {
        const call = e as CallExpr;
        const bound = WINDOW_BOUNDS[call.name];
        if (bound) {
          if (q.from.k === 'tvf') fail(`${call.name} belongs to GROUP BY ${bound.family}(...); with FROM TABLE(...) select window_start and window_end`, call.pos);
          if (bound.family !== spec!.family) fail(`${call.name} does not match the window: this query groups by ${spec!.family}(...)${didYouMean(call.name, Object.keys(WINDOW_BOUNDS).filter((k) => k.startsWith(spec!.family)))}`, call.pos);
          if (groupCall && !sameArgs(call.args, groupCall.args)) fail(`${call.name}(...) must repeat the arguments of ${groupCall.name}(...) in GROUP BY`, call.pos);
          continue;
        }
        if (call.over) notYet('OVER windows in a GROUP BY query', call.over.pos);
        if (call.name === 'COUNT' && call.distinct) notYet('COUNT(DISTINCT ...) (it needs a distinct-count operator)', call.pos);
        if (call.distinct) notYet(`${call.name}(DISTINCT ...)`, call.pos);
        const agg = AGGREGATES[call.name];
        if (agg === 'count') {
          const a = call.args[0];
          if (call.args.length !== 1) fail('COUNT takes one argument: COUNT(*)', call.pos);
          if (!(a.k === 'ref' && a.name === '*')) {
            const c = this.column(src, a, 'COUNT');
            const col = src.columns.get(c.name)!.col;
            if (!col.notNull && c.name !== src.time) fail(`COUNT(${c.name}) counts non-NULL values, the window counts events: write COUNT(*), or declare ${c.name} NOT NULL`, a.pos);
          }
          addAgg('count', alias, call.pos);
          continue;
        }
        if (agg) {
          if (call.args.length !== 1) fail(`${call.name} takes one column`, call.pos);
          useField(call.args[0], call.name);
          addAgg(agg, alias, call.pos);
          continue;
        }
        if (AGGREGATES_NOT_YET[call.name]) notYet(AGGREGATES_NOT_YET[call.name], call.namePos ?? call.pos);
        this.unknownFunction(call);
      }
      // SUM(p * q) / SUM(q): the volume-weighted average.
      if (e.k === 'binary' && e.op === '/') {
        const v = this.vwap(e, src);
        if (v) {
          useField({ k: 'ref', name: v.price, pos: v.pricePos }, 'VWAP');
          if (weight && weight !== v.qty) notYet('two VWAPs with different weights in one window', e.pos);
          weight = v.qty;
          addAgg('vwap', alias, e.pos);
          continue;
        }
      }
      notYet('this select item: a window query selects its keys, the window bounds and aggregates (COUNT, SUM, MIN, MAX, AVG, VAR_POP, STDDEV_POP, VAR_SAMP, STDDEV_SAMP, FIRST_VALUE, LAST_VALUE, SUM(p*q)/SUM(q)); arithmetic on aggregates needs expressions', e.pos);
    }
    if (aggregates.length === 0) fail('a window query needs at least one aggregate (COUNT(*), SUM(x), ...)', q.pos);
    // HAVING: the window's `having` condition over its aggregates; an aggregate
    // only HAVING uses is computed (and output) too.
    const having = q.having ? this.havingCondition(q.having, src, key, byAlias, (e) => {
      const call = e as CallExpr;
      if (e.k === 'binary' && e.op === '/') {
        const v = this.vwap(e, src);
        if (!v) return undefined;
        useField({ k: 'ref', name: v.price, pos: v.pricePos }, 'VWAP');
        if (weight && weight !== v.qty) notYet('two VWAPs with different weights in one window', e.pos);
        weight = v.qty;
      } else if (e.k !== 'call' || (!AGGREGATES[call.name] && !AGGREGATES_NOT_YET[call.name])) return undefined;
      else {
        if (call.over) notYet('OVER windows in a GROUP BY query', call.over.pos);
        if (call.distinct) notYet(`${call.name}(DISTINCT ...)`, call.pos);
        if (AGGREGATES_NOT_YET[call.name]) notYet(AGGREGATES_NOT_YET[call.name], call.namePos ?? call.pos);
        if (call.args.length !== 1) fail(`${call.name} takes one ${call.name === 'COUNT' ? 'argument: COUNT(*)' : 'column'}`, call.pos);
        const a = call.args[0];
        if (AGGREGATES[call.name] !== 'count') useField(a, call.name);
        else if (!(a.k === 'ref' && a.name === '*')) {
          const c = this.column(src, a, 'COUNT');
          if (!src.columns.get(c.name)!.col.notNull && c.name !== src.time) fail(`COUNT(${c.name}) counts non-NULL values, the window counts events: write COUNT(*), or declare ${c.name} NOT NULL`, a.pos);
        }
      }
      const agg = e.k === 'binary' ? 'vwap' : AGGREGATES[call.name];
      if (!aggregates.includes(agg)) { aggregates.push(agg); aggPos.push(e.pos); }
      return agg;
    }) : undefined;
    if (spec!.slide !== undefined && spec!.size !== undefined && (spec!.slide > spec!.size || spec!.size % spec!.slide !== 0n)) {
      notYet(`a HOP slide (${durationText(spec!.slide)}) that does not divide the size (${durationText(spec!.size)}) evenly: sliding windows are built from panes of one slide`, spec!.parts.slide);
    }
    if (spec!.step !== undefined && spec!.size !== undefined && (spec!.step > spec!.size || spec!.size % spec!.step !== 0n)) {
      fail(`a CUMULATE max size (${durationText(spec!.size)}) must be a multiple of its step (${durationText(spec!.step)}), as in Flink`, spec!.parts.size);
    }
    const op: Record<string, unknown> = { name, type: 'window', window: spec!.window };
    if (spec!.size !== undefined) op.size = durationText(spec!.size);
    if (spec!.slide !== undefined) op.slide = durationText(spec!.slide);
    if (spec!.gap !== undefined) op.gap = durationText(spec!.gap);
    if (spec!.step !== undefined) op.step = durationText(spec!.step);
    if (field) op.field = field.name;
    if (weight) op.weight = weight;
    op.aggregates = aggregates;
    // WHERE: this window's own condition; the job's other views still see every event.
    if (q.where) this.typeCheck(q.where, src, 'bool');
    const where = this.whereText(q.where, src);
    if (where) op.where = where;
    if (having !== undefined) op.having = having;
    const parts: Record<string, Pos> = { ...spec!.parts, window: spec!.pos, ...(field ? { field: field.pos } : {}), ...(q.where ? { where: q.where.pos } : {}), aggregates: aggPos[0], ...(q.having ? { having: q.having.pos } : {}) };
    aggPos.forEach((p, i) => (parts[`aggregates[${i}]`] = p));
    const i = this.addOperator(op, namePos, parts);
    return { kind: 'window', op: i, name, key, keyPos: keyCols[0].pos, aggregates: byAlias };
  }

  /**
   * A window query's HAVING as the window's `having` text: each aggregate call
   * (and each select alias of one) becomes a reference to the aggregate by its
   * name (COUNT(*) > 5 → "count" > 5), typed afterwards by the window's check.
   */
  havingCondition(h: Expr, src: SourceTable, key: string[], byAlias: Map<string, string>, aggOf: (e: Expr) => string | undefined): string {
    const rw = (x: Expr): Expr => {
      const agg = aggOf(x);
      if (agg) return { k: 'ref', name: agg, pos: x.pos };
      switch (x.k) {
        case 'ref': {
          const a = x.qualifier ? undefined : byAlias.get(lower(x.name));
          if (a) return { k: 'ref', name: a, pos: x.pos };
          const c = this.column(src, x, 'HAVING');
          if (key.includes(c.name)) notYet(`HAVING on the key column ${c.name}: filter keys in WHERE`, x.pos);
          return fail(`${c.name} in HAVING is neither aggregated nor a GROUP BY key: aggregate it (e.g. MAX(${c.name}) > 10)`, x.pos);
        }
        case 'call': {
          if (WINDOW_BOUNDS[x.name]) notYet(`${x.name} in HAVING (HAVING compares the window's aggregates)`, x.pos);
          return { ...x, args: x.args.map(rw) };
        }
        case 'unary': case 'isnull': return { ...x, arg: rw(x.arg) };
        case 'binary': return { ...x, left: rw(x.left), right: rw(x.right) };
        case 'between': return { ...x, arg: rw(x.arg), low: rw(x.low), high: rw(x.high) };
        case 'in': return { ...x, arg: rw(x.arg), list: x.list.map(rw) };
        case 'case': return { ...x, operand: x.operand && rw(x.operand), whens: x.whens.map((w) => ({ when: rw(w.when), then: rw(w.then) })), otherwise: x.otherwise && rw(x.otherwise) };
        default: return x;
      }
    };
    const cond = rw(h);
    // Typed here, at the script's places, before the window's check sees the text.
    try {
      const t = typeExpr(cond, havingEnv(AGGREGATE_NAMES), '');
      if (typeOf(t) !== 'bool') fail(`expected a condition (TRUE, FALSE or NULL), found a ${typeOf(t)} expression; compare it, e.g. COUNT(*) > 5`, h.pos);
    } catch (err) {
      if (err instanceof ExprError) fail(err.message, err.pos);
      throw err;
    }
    return exprText(cond);
  }

  vwap(e: Extract<Expr, { k: 'binary' }>, src: SourceTable): { price: string; qty: string; pricePos: Pos } | undefined {
    const sumOf = (x: Expr) => (x.k === 'call' && x.name === 'SUM' && x.args.length === 1 && !(x as CallExpr).distinct && !(x as CallExpr).over ? x.args[0] : undefined);
    const num = sumOf(e.left), den = sumOf(e.right);
    if (!num || !den || num.k !== 'binary' || num.op !== '*' || den.k !== 'ref') return undefined;
    const a = num.left, b = num.right;
    if (a.k !== 'ref' || b.k !== 'ref') return undefined;
    const q = this.column(src, den, 'SUM').name;
    const an = this.column(src, a, 'SUM').name, bn = this.column(src, b, 'SUM').name;
    if (bn === q) return { price: an, qty: q, pricePos: a.pos };
    if (an === q) return { price: bn, qty: q, pricePos: b.pos };
    return undefined;
  }

  unknownFunction(call: CallExpr): never {
    const n = call.name;
    if (ROW_FUNCTIONS_NOT_SUPPORTED[n]) fail(ROW_FUNCTIONS_NOT_SUPPORTED[n], call.namePos ?? call.pos);
    if (['ABS', 'FLOOR', 'CEIL', 'CEILING', 'ROUND', 'SQRT', 'LN', 'EXP', 'POWER', 'POW', 'COALESCE', 'LEAST', 'GREATEST'].includes(n)) {
      notYet(`${n}(...) here: row expressions are not wired into the operators yet`, call.pos);
    }
    return fail(`unknown function ${n}${didYouMean(n, KNOWN_FUNCTIONS)}`, call.namePos ?? call.pos);
  }

  /** A per-event query: one check (ZSCORE, a limit, PREDICT) over the source's events. */
  eventQuery(q: Query, src: SourceTable, name: string, namePos: Pos): EventView | DeriveView {
    this.aliases = new Set([q.from.alias?.v].filter((x): x is string => !!x).map(lower));
    if (q.having) fail('HAVING needs GROUP BY', q.having.pos);
    if (q.items.some((item) => item.expr.k !== 'star' && collectCalls(item.expr).some((c) => c.over && AGGREGATES[c.name]))) return this.overQuery(q, src, name, namePos);
    // OVER with an aggregate the OVER operator does not keep, or a non-aggregate function.
    for (const item of q.items) {
      if (item.expr.k === 'star') continue;
      for (const c of collectCalls(item.expr)) {
        if (c.over && c.name !== 'ZSCORE') {
          if (AGGREGATES[c.name] || AGGREGATES_NOT_YET[c.name]) notYet(`${c.name}(...) OVER (...): the OVER operator keeps COUNT, SUM, MIN, MAX and AVG`, c.namePos ?? c.pos);
          this.unknownFunction(c);
        }
        if (AGGREGATES[c.name] && !c.over) fail(`${c.name} is an aggregate: group by a window (GROUP BY key, TUMBLE(${src.time}, INTERVAL ...)) or give it an OVER (...) window`, c.pos);
      }
    }
    // No check anywhere: a view of the events (computed columns, a WHERE) that other queries read.
    const checks = (x: Expr) => collectCalls(x).some((c) => ['ZSCORE', 'PREDICT', 'CROSSES_ABOVE', 'CROSSES_BELOW'].includes(c.name));
    const computed = q.items.filter((i) => i.expr.k !== 'star' && i.expr.k !== 'ref').map((i) => exprText(this.unqualified(i.expr as Expr, src)));
    const limit = q.where ? this.splitWhere(q.where).check : undefined;
    const isLimit = limit !== undefined && this.isLimit(limit);
    // A limit whose value is selected (SELECT price * qty AS n ... WHERE price * qty > 1e6) is a check; other computed columns make a view.
    const limitValue = isLimit && limit!.k === 'binary' ? exprText(this.unqualified(limit!.left.k === 'num' || limit!.left.k === 'unary' ? limit!.right : limit!.left, src)) : undefined;
    const isCheck = q.items.some((i) => i.expr.k !== 'star' && checks(i.expr)) || (q.where !== undefined && checks(q.where))
      || (isLimit && (computed.length === 0 || computed.every((c) => c === limitValue)));
    if (!isCheck && (computed.length > 0 || q.where)) return this.deriveView(q, src, name, namePos);
    let op: Record<string, unknown> | undefined;
    let parts: Record<string, Pos> = {};
    let checkCall: CallExpr | undefined;
    this.eventView = name;
    if (q.where) {
      // `check AND condition AND ...`: the check is the operator, the other conditions its own where.
      const { check, rest } = this.splitWhere(q.where);
      const r = this.checkPredicate(check, src);
      op = { name, ...r.op };
      parts = r.parts;
      checkCall = r.call;
      if (rest.length) {
        const cond = rest.reduce((a, b) => ({ k: 'binary', op: 'and', left: a, right: b, pos: a.pos } as Expr));
        for (const x of rest) this.typeCheck(x, src, 'bool');
        parts.where = cond.pos;
        const where = this.whereText(cond, src);
        if (where) op.where = where;
      }
    }
    // The select list: columns, `*`, and the scoring call itself.
    for (const item of q.items) {
      const e = item.expr;
      if (e.k === 'star') continue;
      if (e.k === 'ref') { this.valueRef(e, src, 'selecting'); continue; }
      if (e.k === 'call' && (e.name === 'ZSCORE' || e.name === 'PREDICT')) {
        if (!op) {
          // No WHERE: every scored event is emitted.
          const r = e.name === 'ZSCORE' ? this.zscore(e as CallExpr, src) : this.predict(e as CallExpr, src);
          op = { name, ...r.op, ...(e.name === 'ZSCORE' ? { emit_all: true } : { emit: 'all' }) };
          parts = r.parts;
          checkCall = e as CallExpr;
        } else if (!checkCall || !sameCall(checkCall, e as CallExpr)) fail(`select the same ${e.name}(...) the WHERE tests (one check per view)`, e.pos);
        continue;
      }
      if (e.k === 'call') {
        if (ROW_FUNCTIONS_NOT_SUPPORTED[e.name]) fail(ROW_FUNCTIONS_NOT_SUPPORTED[e.name], (e as CallExpr).namePos ?? e.pos);
        if (!KNOWN_FUNCTIONS.includes(e.name) && !['FLOOR', 'CEIL', 'CEILING', 'ROUND', 'SQRT', 'LN', 'EXP', 'POWER', 'POW', 'COALESCE', 'LEAST', 'GREATEST'].includes(e.name)) this.unknownFunction(e as CallExpr);
      }
      this.typeCheck(e, src);
      // The value the check tests (SELECT price * qty AS notional ... WHERE price * qty > 1e6): the output carries it as its value.
      const tested = typeof op?.field === 'string' ? this.pendingDerive?.fields.get(op.field) : undefined;
      if (tested && tested.text === exprText(this.unqualified(e, src))) continue;
      notYet(`computed select items next to a check: its outputs have the shapes in docs/OUTPUTS.md; compute the column in a view (CREATE VIEW v AS SELECT *, ${exprText(this.unqualified(e, src))} AS c FROM ${src.stmt.name.v}) and check it in a query FROM v`, e.pos);
    }
    if (!op) {
      notYet(`a query without a window, ZSCORE, PREDICT or limit check (a plain ${q.where ? 'filter' : 'projection'}; expressions are not wired into the runtime yet)`, q.where?.pos ?? q.pos);
    }
    if (op!.where === undefined && this.inheritedWhere) op!.where = this.inheritedWhere;
    const i = this.addOperator(op!, namePos, parts);
    return { kind: 'event', op: i, name };
  }

  /**
   * `agg(x) OVER (PARTITION BY key ORDER BY ts RANGE BETWEEN INTERVAL ... PRECEDING AND CURRENT ROW)`
   * (or `ROWS BETWEEN n PRECEDING AND CURRENT ROW`, or the short `RANGE INTERVAL ... PRECEDING`,
   * with or without ORDER BY: event time is the only order): the OVER operator, one output per event.
   */
  overQuery(q: Query, src: SourceTable, name: string, namePos: Pos): EventView {
    let spec: OverSpec | undefined;
    let field: { name: string; pos: Pos } | undefined;
    let countStar: CallExpr | undefined;
    const aggregates: string[] = [];
    const selected: Expr[] = [];
    for (const item of q.items) {
      const e = item.expr;
      if (e.k === 'star') return notYet('SELECT * with OVER (...) aggregates: the OVER output carries the key, the event time and the aggregates (docs/OUTPUTS.md)', e.pos);
      if (e.k === 'ref') { selected.push(e); continue; }
      const call = e as CallExpr;
      if (e.k !== 'call' || !call.over) return notYet('an expression next to OVER (...) aggregates: the OVER output carries the key, the event time and the aggregates', e.pos);
      if (!['COUNT', 'SUM', 'MIN', 'MAX', 'AVG'].includes(call.name)) {
        if (AGGREGATES[call.name] || AGGREGATES_NOT_YET[call.name]) notYet(`${call.name}(...) OVER (...): the OVER operator keeps COUNT, SUM, MIN, MAX and AVG`, call.namePos ?? call.pos);
        this.unknownFunction(call);
      }
      if (call.distinct) notYet(`${call.name}(DISTINCT ...) OVER (...)`, call.pos);
      if (call.args.length !== 1) fail(`${call.name} OVER takes one argument: ${call.name}(col)`, call.pos);
      const o = call.over!;
      if (spec && overText(spec) !== overText(o)) notYet('different OVER (...) windows in one view; write one view per window', o.pos);
      spec = o;
      const agg = AGGREGATES[call.name];
      if (!aggregates.includes(agg)) aggregates.push(agg);
      const arg = call.args[0];
      if (arg.k === 'ref' && arg.name === '*') { countStar = call; continue; }
      const v = this.column(src, arg, `${call.name} OVER`);
      if (v.kind !== 'number') fail(`${call.name} OVER needs a number, ${v.name} is ${v.kind === 'string' ? 'a string' : 'the event time'}`, arg.pos);
      if (field && field.name !== v.name) notYet(`OVER aggregates of different columns in one view (${field.name} and ${v.name}); write one view per column`, arg.pos);
      field = { name: v.name, pos: arg.pos };
    }
    if (countStar) {
      // The operator counts the rows of the frame that have a value of the aggregated column.
      const col = field ? src.columns.get(field.name) : undefined;
      if (!field || !col?.col.notNull) notYet(`COUNT(*) OVER (...) ${field ? `next to ${field.name}, which may be NULL` : 'alone'}: the OVER operator counts the values of its column; write COUNT(col)${field ? `, or declare ${field.name} NOT NULL` : ''}`, countStar.pos);
    }
    const o = spec!;
    for (const ob of o.orderBy) {
      if (ob.expr.k !== 'ref' || this.column(src, ob.expr, 'ORDER BY').name !== src.time || ob.desc) fail(`OVER (...) is in event-time order: ORDER BY ${src.time} (or no ORDER BY)`, ob.expr.pos);
    }
    if (o.orderBy.length > 1) fail(`OVER (...) is in event-time order: ORDER BY ${src.time} alone`, o.orderBy[1].expr.pos);
    if (o.partitionBy.length === 0) notYet('OVER (...) without PARTITION BY (one frame over the whole stream); partition by the key', o.pos);
    const key = o.partitionBy.map((p) => this.column(src, p, 'PARTITION BY').name);
    this.useKey(key, o.partitionBy[0].pos, `view ${name} (OVER PARTITION BY)`);
    for (const e of selected) {
      const c = this.column(src, e, 'selecting');
      if (!key.includes(c.name) && c.name !== src.time) notYet(`selecting ${c.name} next to OVER (...) aggregates: the OVER output carries the key (${key.join(', ')}), the event time and the aggregates (docs/OUTPUTS.md)`, e.pos);
    }
    const f = o.frame;
    if (!f) return notYet('OVER (...) without a frame is RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW: its state grows without bound; give a bounded frame, e.g. RANGE BETWEEN INTERVAL \'1\' DAY PRECEDING AND CURRENT ROW', o.pos);
    if (f.end.kind !== 'current') notYet(`a frame ending ${f.end.kind === 'following' ? 'after' : 'before'} the current row: the OVER operator's frames end at CURRENT ROW`, f.end.pos);
    if (f.start.kind === 'unbounded') notYet('UNBOUNDED PRECEDING: its state grows without bound; give a bounded frame (an INTERVAL or a number of rows)', f.start.pos);
    if (f.start.kind !== 'preceding') notYet('a frame starting at or after the current row', f.start.pos);
    const op: Record<string, unknown> = { name, type: 'over', field: field!.name, aggregates, order_by: src.time };
    const value = f.start.value!;
    if (f.unit === 'range') {
      if (value.k !== 'interval') fail('a RANGE frame over event time takes an INTERVAL: RANGE BETWEEN INTERVAL \'1\' MINUTE PRECEDING AND CURRENT ROW', value.pos);
      op.range = durationText((value as { ns: bigint }).ns);
    } else {
      if (value.k !== 'num' || !Number.isInteger(value.value) || value.value < 0) fail('a ROWS frame takes a number of rows: ROWS BETWEEN 100 PRECEDING AND CURRENT ROW', value.pos);
      op.rows = (value as { value: number }).value;
    }
    // WHERE: the OVER operator's own condition (its frames hold only the rows it keeps); the job's other views see every event.
    if (q.where) this.typeCheck(q.where, src, 'bool');
    const where = this.whereText(q.where, src);
    if (where) op.where = where;
    const i = this.addOperator(op, namePos, { field: field!.pos, [f.unit]: value.pos, aggregates: o.pos, ...(q.where ? { where: q.where.pos } : {}) });
    return { kind: 'event', op: i, name };
  }

  /** A column of the source, or `view.column`: a window view's running aggregate (`<op>.<aggregate>`). */
  valueRef(e: Expr, src: SourceTable, what: string): { ref: string; pos: Pos } {
    if (e.k === 'ref' && e.qualifier && !this.namesSource(e.qualifier, src)) {
      const v = this.views.get(lower(e.qualifier));
      if (!v) this.skipUnparsed(e.qualifier);
      if (!v) fail(`unknown table or view "${e.qualifier}"${didYouMean(e.qualifier, [src.stmt.name.v, ...[...this.views.values()].map((x) => x.name)])}`, e.pos);
      if (v!.kind !== 'window') fail(`${e.qualifier} is not a window view: only a window's aggregates can be read per event`, e.pos);
      const w = v as WindowView;
      const agg = w.aggregates.get(lower(e.name));
      if (!agg) fail(`view ${w.name} has no aggregate ${e.name}${didYouMean(e.name, [...w.aggregates.keys()])} (aggregates: ${[...w.aggregates.keys()].join(', ')})`, e.pos);
      this.useKey(w.key, e.pos, `view ${w.name}`);
      return { ref: `${w.name}.${agg}`, pos: e.pos };
    }
    // A check over an expression (ZSCORE(a - b), price * qty > 1e6): the derive operator in front computes it.
    if (e.k !== 'ref' && what !== 'selecting' && this.eventView) return { ref: this.deriveField(e, src, this.eventView), pos: e.pos };
    const c = this.column(src, e, what);
    if (c.kind !== 'number' && what !== 'selecting') fail(`${what} needs a number, ${c.name} is ${c.kind === 'string' ? 'a string' : 'the event time'}`, e.pos);
    return { ref: c.name, pos: e.pos };
  }

  /** The per-event view being translated (its checks may be over expressions). */
  eventView: string | undefined;

  /**
   * The conjuncts of a WHERE: the one check (ZSCORE, PREDICT, CROSSES_*, else
   * the first `value > limit` / `value < limit`) and the plain conditions.
   * Either conjunct could be the limit: the events emitted are the same.
   */
  /** A whole WHERE that is one limit check (`x > 5`, `x > 5 OR x < 1`). */
  isLimit(w: Expr): boolean {
    const num = (x: Expr) => x.k === 'num' || (x.k === 'unary' && x.op === '-' && x.arg.k === 'num');
    return (w.k === 'binary' && ['>', '<'].includes(w.op) && num(w.left) !== num(w.right))
      || (w.k === 'binary' && w.op === 'or' && this.isLimit(w.left) && this.isLimit(w.right));
  }

  splitWhere(w: Expr): { check: Expr; rest: Expr[] } {
    const conj: Expr[] = [];
    const flat = (x: Expr) => { if (x.k === 'binary' && x.op === 'and') { flat(x.left); flat(x.right); } else conj.push(x); };
    flat(w);
    if (conj.length === 1) return { check: w, rest: [] };
    const named = (x: Expr) => collectCalls(x).some((c) => ['ZSCORE', 'PREDICT', 'CROSSES_ABOVE', 'CROSSES_BELOW'].includes(c.name));
    const num = (x: Expr) => x.k === 'num' || (x.k === 'unary' && x.op === '-' && x.arg.k === 'num');
    const limitShaped = (x: Expr): boolean => (x.k === 'binary' && ['>', '<'].includes(x.op) && num(x.left) !== num(x.right))
      || (x.k === 'binary' && x.op === 'or' && limitShaped(x.left) && limitShaped(x.right));
    let at = conj.findIndex(named);
    if (at < 0) at = conj.findIndex(limitShaped);
    if (at < 0) return { check: w, rest: [] };
    for (const [i, x] of conj.entries()) if (i !== at && named(x)) notYet('two checks in one WHERE: a view holds one check (ZSCORE, PREDICT or a limit); write one view per check', x.pos);
    return { check: conj[at], rest: conj.filter((_, i) => i !== at) };
  }

  checkPredicate(w: Expr, src: SourceTable): { op: Record<string, unknown>; parts: Record<string, Pos>; call?: CallExpr } {
    const num = (x: Expr): number | undefined => (x.k === 'num' ? x.value : x.k === 'unary' && x.op === '-' && x.arg.k === 'num' ? -x.arg.value : undefined);
    const isCall = (x: Expr, n: string): x is CallExpr => x.k === 'call' && x.name === n;
    // Normalise `t <op> f(...)` to `f(...) <op'> t`.
    const norm = (x: Expr): Extract<Expr, { k: 'binary' }> | undefined => {
      if (x.k !== 'binary' || !['>', '>=', '<', '<='].includes(x.op)) return undefined;
      if (num(x.left) !== undefined && num(x.right) === undefined) return { ...x, op: ({ '>': '<', '>=': '<=', '<': '>', '<=': '>=' } as const)[x.op as '>'], left: x.right, right: x.left };
      return x;
    };
    if (w.k === 'binary' && w.op === 'or') {
      const l = this.checkPredicate(w.left, src), r = this.checkPredicate(w.right, src);
      if (l.op.type === 'limit' && r.op.type === 'limit' && l.op.field === r.op.field && l.op.emit === r.op.emit
        && (l.op.above !== undefined) !== (r.op.above !== undefined)) {
        return { op: { ...l.op, ...r.op, ...(l.op.hysteresis !== undefined || r.op.hysteresis !== undefined ? { hysteresis: l.op.hysteresis ?? r.op.hysteresis } : {}) }, parts: { ...l.parts, ...r.parts } };
      }
      notYet('OR between these checks: a view holds one check (an upper and a lower limit of one value may be joined by OR)', w.pos);
    }
    if (isCall(w, 'CROSSES_ABOVE') || isCall(w, 'CROSSES_BELOW')) {
      const above = w.name === 'CROSSES_ABOVE';
      if (w.args.length < 2 || w.args.length > 3) fail(`${w.name}(value, limit [, hysteresis])`, w.pos);
      const v = this.valueRef(w.args[0], src, w.name);
      const lim = num(w.args[1]);
      if (lim === undefined) fail(`${w.name}: the limit must be a number`, w.args[1].pos);
      const h = w.args[2] ? num(w.args[2]) : undefined;
      if (w.args[2] && h === undefined) fail(`${w.name}: the hysteresis must be a number (a fraction in [0, 1))`, w.args[2].pos);
      return {
        op: { type: 'limit', field: v.ref, [above ? 'above' : 'below']: lim, emit: 'crossing', ...(h !== undefined ? { hysteresis: h } : {}) },
        parts: { field: v.pos, [above ? 'above' : 'below']: w.args[1].pos, ...(w.args[2] ? { hysteresis: w.args[2].pos } : {}) },
      };
    }
    const b = norm(w);
    if (b) {
      const t = num(b.right);
      const inner = b.left;
      const isZ = isCall(inner, 'ZSCORE') || (isCall(inner, 'ABS') && inner.args.length === 1 && isCall(inner.args[0], 'ZSCORE'));
      if (isZ) {
        const abs = isCall(inner, 'ABS');
        const z = (abs ? (inner as CallExpr).args[0] : inner) as CallExpr;
        if (t === undefined) fail('the z-score threshold must be a number', b.right.pos);
        let direction: string, threshold: number;
        if (b.op === '>' || b.op === '<') fail(`the z-score operator alerts when |z| reaches the threshold: write ${b.op}= (a z exactly at the threshold alerts)`, b.pos);
        if (abs) {
          if (b.op !== '>=') fail('ABS(ZSCORE(...)) >= threshold: alerts on large deviations either way', b.pos);
          direction = 'both'; threshold = t!;
        } else if (b.op === '>=') { direction = 'above'; threshold = t!; } else { direction = 'below'; threshold = -t!; }
        if (!(threshold > 0)) fail(`the z-score threshold must be ${direction === 'below' ? 'negative (ZSCORE(x) <= -3)' : 'greater than 0'}`, b.right.pos);
        const r = this.zscore(z, src);
        return { op: { ...r.op, threshold, direction }, parts: { ...r.parts, threshold: b.right.pos, direction: b.pos }, call: z };
      }
      if (isCall(inner, 'PREDICT')) {
        if (t === undefined) fail('the score threshold must be a number', b.right.pos);
        if (b.op !== '>=') fail('PREDICT(...) >= threshold: scores at or above the threshold are alerts (the model operator has no other test)', b.pos);
        const r = this.predict(inner, src);
        return { op: { ...r.op, threshold: t, emit: 'alerts' }, parts: { ...r.parts, threshold: b.right.pos }, call: inner };
      }
      if (t !== undefined && !collectCalls(inner).some((c) => c.name === 'ZSCORE' || c.name === 'PREDICT')) {
        if (b.op === '>=' || b.op === '<=') fail(`a limit is breached beyond it (a value at the limit is within it): write ${b.op[0]}`, b.pos);
        const v = this.valueRef(inner, src, 'a limit');
        return { op: { type: 'limit', field: v.ref, [b.op === '>' ? 'above' : 'below']: t, emit: 'every' }, parts: { field: v.pos, [b.op === '>' ? 'above' : 'below']: b.right.pos } };
      }
    }
    for (const c of collectCalls(w)) {
      if (c.name === 'ZSCORE' || c.name === 'PREDICT') notYet(`this use of ${c.name}: write ${c.name === 'ZSCORE' ? 'WHERE ABS(ZSCORE(x)) >= 3, ZSCORE(x) >= 3 or ZSCORE(x) <= -3' : "WHERE PREDICT('model', ...) >= 0.8"}`, w.pos);
      if (ROW_FUNCTIONS_NOT_SUPPORTED[c.name]) fail(ROW_FUNCTIONS_NOT_SUPPORTED[c.name], c.namePos ?? c.pos);
      if (!KNOWN_FUNCTIONS.includes(c.name) && !['FLOOR', 'CEIL', 'CEILING', 'ROUND', 'SQRT', 'LN', 'EXP', 'POWER', 'POW', 'COALESCE', 'LEAST', 'GREATEST'].includes(c.name)) this.unknownFunction(c);
    }
    for (const r of collectRefs(w)) this.valueRef(r, src, 'selecting');
    this.typeCheck(w, src, 'bool');
    return notYet('WHERE filters other than a ZSCORE, PREDICT or limit check (filters are not wired into the runtime yet)', w.pos);
  }

  /**
   * Types an expression the runtime cannot run yet with host/expr's checker,
   * so a type error (a string compared with <, a NOT of a number) is reported
   * at its place now, the way it will be once expressions are wired in.
   */
  typeCheck(e: Expr, src: SourceTable, want?: 'bool' | 'double'): ReturnType<typeof typeOf> {
    const fields: ExprField[] = [...src.columns.entries()].map(([name, c], i) => ({ name, type: c.kind === 'time' ? 'timestamp' : c.kind === 'string' && name !== src.side ? 'string' : 'double', slot: c.kind === 'time' ? -1 : i }));
    const unqualify = (x: Expr): Expr => this.unqualified(x, src);
    try {
      const t = typeExpr(unqualify(e), { fields, intern: () => 0 }, '');
      if (want === 'bool' && typeOf(t) !== 'bool') fail(`expected a condition (TRUE, FALSE or NULL), found a ${typeOf(t)} expression; compare it, e.g. x > 0`, e.pos);
      if (want === 'double' && typeOf(t) !== 'double') fail(`expected a number, found a ${typeOf(t)} expression`, e.pos);
      return typeOf(t);
    } catch (err) {
      if (err instanceof ExprError) fail(err.message, err.pos);
      throw err;
    }
  }

  zscore(call: CallExpr, src: SourceTable): { op: Record<string, unknown>; parts: Record<string, Pos> } {
    const a = call.args;
    if (a.length < 1 || a.length > 3) fail("ZSCORE(x [, 'ewma', alpha]) or ZSCORE(x, 'window', n)", call.pos);
    if (call.distinct) fail('ZSCORE(DISTINCT ...) has no meaning', call.pos);
    const v = this.valueRef(a[0], src, 'ZSCORE');
    const op: Record<string, unknown> = { type: 'zscore', field: v.ref };
    const parts: Record<string, Pos> = { field: v.pos };
    if (a[1]) {
      if (a[1].k !== 'str' || !['ewma', 'window'].includes(a[1].value.toLowerCase())) fail(`expected the mode 'ewma' or 'window' as ZSCORE's second argument`, a[1].pos);
      const mode = (a[1] as { value: string }).value.toLowerCase();
      op.mode = mode;
      parts.mode = a[1].pos;
      if (a[2]) {
        const n = a[2].k === 'num' ? a[2].value : undefined;
        if (n === undefined) fail(`expected ${mode === 'ewma' ? 'alpha (a number in (0, 1])' : 'the window (a number of samples)'}`, a[2].pos);
        op[mode === 'ewma' ? 'alpha' : 'window'] = n;
        parts[mode === 'ewma' ? 'alpha' : 'window'] = a[2].pos;
      }
    }
    if (call.over) {
      const o = call.over;
      if (o.frame) notYet('a frame in ZSCORE(...) OVER (...): the z-score runs over the whole partition (ewma) or its last n samples (\'window\', n)', o.frame.pos);
      for (const ob of o.orderBy) if (ob.expr.k !== 'ref' || ob.expr.name !== src.time || ob.desc) fail(`ZSCORE is over the partition in event-time order: ORDER BY ${src.time}`, ob.expr.pos);
      if (o.partitionBy.length) {
        const cols = o.partitionBy.map((p) => this.column(src, p, 'PARTITION BY').name);
        this.useKey(cols, o.partitionBy[0].pos, 'ZSCORE ... OVER (PARTITION BY ...)');
      }
    }
    return { op, parts };
  }

  predict(call: CallExpr, src: SourceTable): { op: Record<string, unknown>; parts: Record<string, Pos> } {
    const a = call.args;
    if (a.length < 2 || a[0].k !== 'str') fail("PREDICT('model', feature1, feature2, ...): the model named in CREATE MODEL, then its features in order", a[0]?.pos ?? call.pos);
    const mname = (a[0] as { value: string }).value;
    const m = this.models.get(lower(mname));
    this.usedModels.add(lower(mname));
    if (!m) this.skipUnparsed(mname);
    if (!m) fail(`unknown model '${mname}'${didYouMean(mname, [...this.models.values()].map((x) => x.name.v))} (declare it: CREATE MODEL ${mname} WITH ('path' = 'model.json'))`, a[0].pos);
    const op: Record<string, unknown> = { type: 'model' };
    const parts: Record<string, Pos> = { model: a[0].pos };
    for (const o of m!.options.entries) {
      const k = norm(o.key);
      if (k === 'path') { op.model = o.value; parts.model = o.valuePos; } else if (k === 'output' || k === 'engine') { op[k] = o.value.toLowerCase(); parts[k] = o.valuePos; } else if (k === 'type' || k === 'format') {
        if (!['xgboost', 'json'].includes(o.value.toLowerCase())) fail(`models are XGBoost JSON (save_model("m.json")), found '${o.value}'`, o.valuePos);
      } else fail(`unknown model option '${o.key}'${didYouMean(o.key, ['path', 'output', 'engine'])} (path, output, engine)`, o.keyPos);
    }
    if (op.model === undefined) fail(`model ${m!.name.v} has no 'path': CREATE MODEL ${m!.name.v} WITH ('path' = 'model.json')`, m!.name.pos);
    const features = a.slice(1).map((f, i) => { const v = this.valueRef(f, src, 'a model feature'); parts[`features[${i}]`] = v.pos; return v.ref; });
    op.features = features;
    parts.features = a[1].pos;
    return { op, parts };
  }

  // ── INSERT and the end ───────────────────────────────────────────────────

  insert(target: Name, q: Query): void {
    const t = this.table(target, 'sink');
    if (this.sourceUses.has(lower(t.name.v))) fail(`${t.name.v} is read as a source; a table is either a source or a sink (declare another table for the sink)`, target.pos);
    const c = this.connector(t);
    if (!SINK_CONNECTORS.includes(c.name)) fail(`table ${t.name.v} is a source (connector '${c.name}'): INSERT INTO writes to a sink (connector ${SINK_CONNECTORS.join(', ')})`, target.pos);
    let opName: string;
    if (q.from.k === 'table' && this.views.has(lower(q.from.name.v)) && !q.where && q.groupBy.length === 0 && !q.having) {
      const v = this.views.get(lower(q.from.name.v))!;
      if (v.kind === 'stream' || v.kind === 'derive') return notYet('copying source events to a sink unchanged: a sink receives operator outputs (windows, anomalies, scores, late and dead-letter events)', q.pos);
      for (const item of q.items) if (item.expr.k !== 'star') notYet(`selecting columns of view ${v.name}: a sink receives a view's outputs whole (docs/OUTPUTS.md); write SELECT *`, item.pos);
      opName = v.name;
    } else if (q.from.k === 'table' && this.tables.has(lower(q.from.name.v)) && q.groupBy.length === 0 && !q.where && q.items.every((i) => i.expr.k === 'star' || i.expr.k === 'ref')) {
      return notYet('copying source events to a sink unchanged: a sink receives operator outputs (windows, anomalies, scores, late and dead-letter events)', q.pos);
    } else {
      // An inline query: its operator is named after the sink.
      const n = this.sinkRoutes.get(lower(t.name.v))?.operators.length ?? 0;
      opName = n === 0 ? t.name.v : `${t.name.v}_${n + 1}`;
      this.query(q, opName, target.pos);
    }
    const route = this.sinkRoutes.get(lower(t.name.v)) ?? { operators: [], pos: target.pos };
    if (!route.operators.includes(opName)) route.operators.push(opName);
    this.sinkRoutes.set(lower(t.name.v), route);
  }

  finish(statements: Statement[]): void {
    if (!this.source) {
      if (this.problems.length > 0) return; // a refused query may be the one that read it
      const first = statements.find((s): s is CreateTable => s.kind === 'create_table');
      fail('the script reads no source table: add CREATE VIEW <name> AS SELECT ... FROM <source table> ... (or INSERT INTO <sink> SELECT ...)', first?.name.pos ?? { offset: 0, end: 0 });
    }
    for (const v of this.views.values()) {
      if (v.kind === 'derive' && !this.readViews.has(lower(v.name)) && this.problems.length === 0) {
        this.problems.push({ message: `view ${v.name} is read by no query: a view of events (computed columns, a WHERE) feeds the windows and checks that read FROM ${v.name}; sinks receive their outputs`, pos: this.names.get(lower(v.name))! });
      }
    }
    schemaConfig(this.source!, this);
    if (this.key) this.put('key', this.key.columns, this.key.pos);
    else {
      const pk = this.source!.stmt.primaryKey;
      if (pk) this.put('key', pk.columns.map((c) => this.column(this.source!, { k: 'ref', name: c.v, pos: c.pos }, 'PRIMARY KEY').name), pk.pos);
    }
    if (this.key && this.source!.stmt.primaryKey) {
      const pk = this.source!.stmt.primaryKey.columns.map((c) => c.v);
      if (pk.join('|') !== this.key.columns.join('|')) fail(`PRIMARY KEY (${pk.join(', ')}) is not the key the queries use (${this.key.columns.join(', ')}, from ${this.key.from})`, this.source!.stmt.primaryKey.pos);
    }
    // Operator settings: SET 'operator.<view>.<setting>' = '...'.
    for (const s of this.operatorSettings) {
      const m = /^operator\.([^.]+)\.(.+)$/i.exec(s.key);
      if (!m) { this.problems.push({ message: `expected 'operator.<view>.<setting>', found '${s.key}'`, pos: s.keyPos }); continue; }
      const i = this.operators.findIndex((o) => lower(String(o.name)) === lower(m[1]));
      if (i < 0) { this.problems.push({ message: `no view ${m[1]}${didYouMean(m[1], this.operators.map((o) => String(o.name)))} to apply '${s.key}' to`, pos: s.keyPos }); continue; }
      const v = s.value.trim();
      this.operators[i][norm(m[2])] = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v) ? Number(v) : v === 'true' || v === 'false' ? v === 'true' : v;
      this.at.set(`operators[${i}].${norm(m[2])}`, s.valuePos);
    }
    this.data.operators = this.operators;
    // Sinks, in declaration order.
    const sinks: Record<string, unknown>[] = [];
    for (const t of this.tables.values()) {
      if (this.sourceUses.has(lower(t.name.v))) continue;
      const c = this.guarded(() => this.connector(t));
      if (!c) continue;
      const route = this.sinkRoutes.get(lower(t.name.v));
      const hasKinds = t.options.entries.some((o) => norm(o.key) === 'kinds');
      if (!route && !(hasKinds && SINK_CONNECTORS.includes(c.name))) {
        // A failed view or INSERT elsewhere may be why: report only a script otherwise sound.
        if (this.problems.length > 0) continue;
        if (SINK_CONNECTORS.includes(c.name) && !SOURCE_CONNECTORS.includes(c.name)) this.problems.push({ message: `sink table ${t.name.v} is never written: add INSERT INTO ${t.name.v} SELECT * FROM <view>, or 'kinds' = '...' to receive those kinds from every view (and 'dead_letter' for the dead letters)`, pos: t.name.pos });
        else if (!SINK_CONNECTORS.includes(c.name)) this.problems.push({ message: `source table ${t.name.v} is never read${this.source ? ` (this job reads ${this.source.stmt.name.v}; one job reads one input stream)` : ''}`, pos: t.name.pos });
        else this.problems.push({ message: `table ${t.name.v} is neither read nor written: read it in a FROM (a source) or INSERT INTO it (a sink)`, pos: t.name.pos });
        continue;
      }
      const i = sinks.length;
      const sink: Record<string, unknown> = { type: c.name === 'websocket' ? 'ws' : c.name, name: t.name.v };
      this.at.set(`sinks[${i}]`, t.name.pos);
      const table = SINK_OPTIONS[c.name];
      for (const o of t.options.entries) {
        const k = norm(o.key);
        if (k === 'connector') continue;
        if (k === 'format') {
          if (lower(o.value) !== 'json') this.problems.push({ message: `sinks write JSON (docs/OUTPUTS.md), found '${o.value}'`, pos: o.valuePos });
          continue;
        }
        const known = table[k];
        if (!known) { this.problems.push({ message: `unknown option '${o.key}' for a ${c.name} sink${didYouMean(k, Object.keys(table))} (options: connector, format, ${Object.keys(table).join(', ')})`, pos: o.keyPos }); continue; }
        const value = this.guarded(() => coerce(o.value, known[1], o.valuePos, o.key));
        if (value === undefined) continue;
        const parts = known[0].split('.');
        let obj = sink;
        for (const p of parts.slice(0, -1)) obj = (obj[p] ??= {}) as Record<string, unknown>;
        obj[parts[parts.length - 1]] = value;
        this.at.set(`sinks[${i}].${known[0]}`, o.valuePos);
      }
      if (route) {
        const kinds = sink.kinds as string[] | undefined;
        if (kinds?.includes('dead_letter')) {
          // Dead letters belong to no view, and a sink's `operators` selection
          // passes only outputs of those operators: keep the dead letters by
          // selecting on kinds alone, which is exact when no other view emits
          // the other kinds this sink takes.
          const others = this.operators.filter((o) => !route.operators.includes(String(o.name)) && (OUTPUT_KINDS_BY_TYPE[String(o.type)] ?? []).some((k) => kinds.includes(k)));
          if (others.length > 0) {
            this.problems.push({ message: `not supported yet: dead letters together with the outputs of only some views in one sink (view ${String(others[0].name)} also emits ${kinds.filter((k) => k !== 'dead_letter' && (OUTPUT_KINDS_BY_TYPE[String(others[0].type)] ?? []).includes(k)).join(', ')}); give the dead letters a sink of their own: 'kinds' = 'dead_letter' and no INSERT (issue 17)`, pos: t.name.pos });
          }
        } else {
          sink.operators = route.operators;
          this.at.set(`sinks[${i}].operators`, route.pos);
        }
      }
      sinks.push(sink);
    }
    if (sinks.length > 0) this.data.sinks = sinks;
    for (const m of this.problems.length > 0 ? [] : this.models.values()) {
      if (!this.usedModels.has(lower(m.name.v))) this.problems.push({ message: `model ${m.name.v} is never used: PREDICT('${m.name.v}', ...)`, pos: m.name.pos });
    }
  }

  guarded<T>(f: () => T): T | undefined {
    try { return f(); } catch (e) {
      if (e instanceof Problem) { this.problems.push(e.problem); return undefined; }
      throw e;
    }
  }
}

/** An OVER (...) spec without positions: two calls share a window when these agree. */
function overText(o: OverSpec): string {
  const b = (x: { kind: string; value?: Expr }) => `${x.kind}${x.value ? ` ${x.value.k === 'interval' ? String((x.value as { ns: bigint }).ns) : exprText(x.value)}` : ''}`;
  return [o.partitionBy.map((p) => exprText(p)).join(','), o.orderBy.map((x) => `${exprText(x.expr)}${x.desc ? ' desc' : ''}`).join(','),
    o.frame ? `${o.frame.unit} ${b(o.frame.start)} ${b(o.frame.end)}` : ''].join('|');
}

/**
 * The built-in trade side is declared STRING in SQL ('buy'/'sell', as producers
 * send it) but is ±1 inside, as YAML expressions see it: a comparison or IN of the
 * side with 'buy' or 'sell' compares it with 1 or -1; any other string is refused.
 */
function sideAsNumber(e: Expr, side: string): Expr {
  const isSide = (x: Expr) => x.k === 'ref' && x.name === side && !x.qualifier;
  const literal = (x: Expr): Expr => {
    if (x.k !== 'str') return x;
    const v = x.value.toLowerCase();
    if (v !== 'buy' && v !== 'sell') fail(`${side} is the trade side: compare it with 'buy' or 'sell' (1 or -1), found '${x.value}'`, x.pos);
    return { k: 'num', value: v === 'buy' ? 1 : -1, pos: x.pos };
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object' || typeof v === 'bigint') return v;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = k === 'pos' ? x : walk(x);
    const n = o as Expr;
    if (n.k === 'binary' && ['<', '<=', '>', '>='].includes(n.op) && ((isSide(n.left) && n.right.k === 'str') || (isSide(n.right) && n.left.k === 'str'))) {
      fail(`${side} is the trade side ('buy' or 'sell'): compare it with = or <>, found ${n.op}`, n.pos);
    }
    if (n.k === 'binary' && ['=', '<>'].includes(n.op)) {
      if (isSide(n.left)) return { ...n, right: literal(n.right) };
      if (isSide(n.right)) return { ...n, left: literal(n.left) };
    }
    if (n.k === 'in' && isSide(n.arg)) return { ...n, list: n.list.map(literal) };
    return n;
  };
  return walk(e) as Expr;
}
