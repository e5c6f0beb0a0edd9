// A recursive-descent parser for ganglion's SQL job scripts: `;`-separated
// CREATE TABLE / CREATE VIEW / CREATE MODEL / INSERT INTO / SET statements
// (docs/design/sql.md says why it is hand-written rather than dt-sql-parser).
// A statement that does not parse is reported and skipped to its `;`, so one
// run reports a problem in every statement. Expressions parse into host/expr
// nodes with the same precedence as host/expr/parse.ts:
//
//   OR < AND < NOT < comparison, IS [NOT] NULL, [NOT] BETWEEN, [NOT] IN
//      < + - < * / % < unary - + < primary
//
// plus the SQL-only call forms: COUNT(*), f(DISTINCT x), f(...) OVER (...).
import type { BinaryOp, Expr, Pos } from '../expr/parse.js';
import type { CallExpr, Column, CreateTable, FrameBound, FromItem, Name, Options, OverSpec, Query, SelectItem, Statement } from './ast.js';
import { didYouMean } from '../config/errors.js';
import { SqlError, type SqlProblem } from './errors.js';
import { describe, tokenize, type Token } from './lexer.js';

const UNITS: Record<string, bigint> = {
  nanosecond: 1n, microsecond: 1_000n, millisecond: 1_000_000n, second: 1_000_000_000n,
  minute: 60_000_000_000n, hour: 3_600_000_000_000n, day: 86_400_000_000_000n,
};

/** Words that end an expression or a select item (so `SELECT a FROM t` does not read FROM as an alias). */
const CLAUSE = new Set(['from', 'where', 'group', 'having', 'order', 'limit', 'union', 'intersect', 'except', 'on', 'join', 'inner', 'left', 'right',
  'full', 'cross', 'window', 'as', 'and', 'or', 'not', 'is', 'in', 'between', 'like', 'when', 'then', 'else', 'end', 'over', 'partition', 'rows', 'range',
  'preceding', 'following', 'current', 'asc', 'desc', 'with', 'select', 'match_recognize', 'qualify', 'for', 'lateral', 'natural', 'using']);

/** Clause keywords a misspelling of which must not silently become an alias. */
const ALIAS_LOOKALIKES = ['FROM', 'WHERE', 'GROUP', 'HAVING', 'ORDER', 'JOIN', 'UNION', 'WINDOW', 'SELECT'];

/** Statements people write that a ganglion job has no use for, with what to do instead. */
const UNSUPPORTED_STATEMENTS: Record<string, string> = {
  drop: 'DROP is not supported: a job script declares its tables afresh each run',
  alter: 'ALTER is not supported: change the CREATE statement instead',
  update: 'UPDATE is not supported: a stream is append-only',
  delete: 'DELETE is not supported: a stream is append-only',
  use: 'USE is not supported: a job script has one catalog',
  explain: 'EXPLAIN is not a statement here; run `ganglion explain job.sql`',
  show: 'SHOW is not supported; run `ganglion explain job.sql`',
  describe: 'DESCRIBE is not supported; run `ganglion explain job.sql`',
  execute: 'EXECUTE is not supported (EXECUTE STATEMENT SET BEGIN ... END is: every INSERT in the script runs as one job anyway)',
  begin: 'BEGIN is not supported (BEGIN STATEMENT SET; ... END; is: every INSERT in the script runs as one job anyway)',
  reset: 'RESET is not supported: SET each key once',
  load: 'LOAD MODULE is not supported',
};

export interface ParsedScript {
  statements: Statement[];
  /** A problem for every statement that did not parse (each skipped to its ";"). */
  problems: SqlProblem[];
  /** Names the statements that did not parse were declaring, so references to them are not reported again. */
  unparsed: Set<string>;
}

/** Parses a whole script; throws SqlError with a problem for every statement that does not parse. */
export function parseScript(src: string): Statement[] {
  const r = parseScriptPartly(src);
  if (r.problems.length > 0) throw new SqlError(r.problems);
  return r.statements;
}

/** Parses every statement that parses; the others become problems. A lexical error ends the script there. */
export function parseScriptPartly(src: string): ParsedScript {
  let toks: Token[];
  try { toks = tokenize(src); } catch (e) {
    if (e instanceof SqlError) return { statements: [], problems: e.problems, unparsed: new Set() };
    throw e;
  }
  const problems: SqlProblem[] = [];
  const statements: Statement[] = [];
  const unparsed = new Set<string>();
  let p = 0;
  while (toks[p].t !== 'end') {
    if (isOp(toks[p], ';')) { p++; continue; }
    // Flink's statement sets (EXECUTE STATEMENT SET BEGIN ... END; or BEGIN
    // STATEMENT SET; ... END;) only group INSERTs into one job, which every
    // ganglion script is: the wrapper words are read and dropped.
    if (isKw(toks[p], 'execute') && isKw(toks[p + 1], 'statement') && isKw(toks[p + 2], 'set') && isKw(toks[p + 3], 'begin')) { p += 4; continue; }
    if (isKw(toks[p], 'begin') && isKw(toks[p + 1], 'statement') && isKw(toks[p + 2], 'set')) { p += 3; continue; }
    if (isKw(toks[p], 'end') && (isOp(toks[p + 1], ';') || toks[p + 1].t === 'end')) { p++; continue; }
    const start = p;
    try {
      const parser = new StatementParser(toks, p);
      statements.push(parser.statement());
      p = parser.p;
      if (!isOp(toks[p], ';') && toks[p].t !== 'end') throw parser.error(`expected ";" to end the statement, found ${describe(toks[p])}`);
    } catch (e) {
      if (!(e instanceof SqlError)) throw e;
      problems.push(...e.problems);
      // CREATE [TEMPORARY] TABLE|VIEW|MODEL [IF NOT EXISTS] name
      let q = start;
      if (isKw(toks[q], 'create')) {
        q++;
        if (isKw(toks[q], 'temporary')) q++;
        if (['table', 'view', 'model'].some((w) => isKw(toks[q], w))) q++;
        if (isKw(toks[q], 'if')) q += 3;
        const n = toks[q];
        if (n && n.t === 'name') unparsed.add(n.v.toLowerCase());
      }
      // Skip to the end of this statement (a ";" outside parentheses) and go on.
      let depth = 0;
      for (p = start; toks[p].t !== 'end'; p++) {
        if (isOp(toks[p], '(')) depth++;
        else if (isOp(toks[p], ')')) depth = Math.max(0, depth - 1);
        else if (isOp(toks[p], ';') && depth === 0) break;
      }
    }
  }
  return { statements, problems, unparsed };
}

/** Parses one expression on its own (tests compare its trees with host/expr's). */
export function parseSqlExpr(src: string): Expr {
  const toks = tokenize(src);
  const parser = new StatementParser(toks, 0);
  const e = parser.expr();
  if (toks[parser.p].t !== 'end') throw parser.error(`expected an operator or the end of the expression, found ${describe(toks[parser.p])}`);
  return e;
}

function isOp(t: Token, v: string): boolean { return t.t === 'op' && t.v === v; }
function isKw(t: Token, kw: string): boolean { return t.t === 'name' && !t.quoted && t.v.toLowerCase() === kw; }
const span = (a: Pos, b: Pos): Pos => ({ offset: a.offset, end: b.end });

class StatementParser {
  constructor(readonly toks: Token[], public p: number) {}

  peek(n = 0): Token { return this.toks[Math.min(this.p + n, this.toks.length - 1)]; }
  prev(): Token { return this.toks[this.p - 1]; }
  error(message: string, pos: Pos = this.peek().pos): SqlError { return new SqlError([{ message, pos }]); }
  kw(w: string): boolean { if (isKw(this.peek(), w)) { this.p++; return true; } return false; }
  op(v: string): boolean { if (isOp(this.peek(), v)) { this.p++; return true; } return false; }
  expectKw(w: string, why: string): Token {
    const t = this.peek();
    if (!this.kw(w)) throw this.error(`expected ${w.toUpperCase()} ${why}, found ${describe(t)}`);
    return t;
  }
  expectOp(v: string, why: string): Token {
    const t = this.peek();
    if (!this.op(v)) throw this.error(`expected "${v}" ${why}, found ${describe(t)}`);
    return t;
  }
  name(what: string): Name {
    const t = this.peek();
    if (t.t !== 'name') throw this.error(`expected ${what}, found ${describe(t)}`);
    this.p++;
    return { v: t.v, pos: t.pos };
  }
  /** A name, possibly qualified by a catalog and database (`cat.db.t`): only the last part counts. */
  tableName(what: string): Name {
    let n = this.name(what);
    while (isOp(this.peek(), '.') && this.peek(1).t === 'name') { this.p++; n = this.name(what); }
    return n;
  }
  string(what: string): { v: string; pos: Pos } {
    const t = this.peek();
    if (t.t !== 'str') throw this.error(`expected ${what} in single quotes, found ${describe(t)}`);
    this.p++;
    return { v: t.v, pos: t.pos };
  }

  statement(): Statement {
    const t = this.peek();
    if (isKw(t, 'create')) return this.create();
    if (isKw(t, 'insert')) return this.insert();
    if (isKw(t, 'set')) return this.set();
    if (isKw(t, 'select') || isKw(t, 'with')) {
      throw this.error('a query on its own has nowhere to send its results: write INSERT INTO <sink table> SELECT ... or CREATE VIEW <name> AS SELECT ...');
    }
    const w = t.t === 'name' ? t.v.toLowerCase() : '';
    if (UNSUPPORTED_STATEMENTS[w]) throw this.error(UNSUPPORTED_STATEMENTS[w]);
    throw this.error(`expected a statement (CREATE TABLE, CREATE VIEW, CREATE MODEL, INSERT INTO, SET), found ${describe(t)}${t.t === 'name' ? didYouMean(t.v.toUpperCase(), ['CREATE', 'INSERT', 'SET']) : ''}`);
  }

  create(): Statement {
    const start = this.peek();
    this.p++;
    this.kw('temporary');
    if (isKw(this.peek(), 'or')) throw this.error('CREATE OR REPLACE is not supported: a job script declares each name once');
    if (this.kw('table')) return this.createTable(start.pos);
    if (this.kw('view')) {
      this.ifNotExists();
      const name = this.tableName('the view name');
      if (isOp(this.peek(), '(')) throw this.error('a column list after the view name is not supported; name the columns with AS in the SELECT');
      this.expectKw('as', 'before the view\'s query');
      const query = this.query();
      return { kind: 'create_view', name, query, pos: span(start.pos, this.prev().pos) };
    }
    if (this.kw('model')) {
      this.ifNotExists();
      const name = this.tableName('the model name');
      if (isKw(this.peek(), 'input') || isKw(this.peek(), 'output')) throw this.error('INPUT/OUTPUT column lists are not needed: PREDICT passes the features in the model\'s order');
      const options = this.options('the model (\'path\' = ...)');
      return { kind: 'create_model', name, options, pos: span(start.pos, this.prev().pos) };
    }
    const what = this.peek();
    if (isKw(what, 'function') || isKw(what, 'catalog') || isKw(what, 'database')) throw this.error(`CREATE ${what.t === 'name' ? what.v.toUpperCase() : ''} is not supported: a job script declares tables, views and models`);
    throw this.error(`expected TABLE, VIEW or MODEL after CREATE, found ${describe(what)}${what.t === 'name' ? didYouMean(what.v.toUpperCase(), ['TABLE', 'VIEW', 'MODEL']) : ''}`);
  }

  ifNotExists(): void {
    if (this.kw('if')) { this.expectKw('not', 'in IF NOT EXISTS'); this.expectKw('exists', 'in IF NOT EXISTS'); }
  }

  createTable(startPos: Pos): CreateTable {
    this.ifNotExists();
    const name = this.tableName('the table name');
    const table: CreateTable = { kind: 'create_table', name, columns: [], checks: [], options: { entries: [], pos: name.pos }, pos: startPos };
    if (isKw(this.peek(), 'as') || isKw(this.peek(), 'like')) throw this.error(`CREATE TABLE ... ${this.peek().t === 'name' ? (this.peek() as { v: string }).v.toUpperCase() : ''} is not supported: list the columns`);
    // A sink table may leave out its columns: it receives the outputs whole (docs/OUTPUTS.md).
    if (isKw(this.peek(), 'with')) { table.options = this.options('the table\'s connector (\'connector\' = ...)'); table.pos = span(startPos, this.prev().pos); return table; }
    this.expectOp('(', 'to open the column list');
    do {
      const t = this.peek();
      if (isKw(t, 'watermark')) {
        this.p++;
        this.expectKw('for', 'after WATERMARK');
        const column = this.name('the event-time column after WATERMARK FOR');
        this.expectKw('as', 'before the watermark expression (e.g. ts - INTERVAL \'200\' MILLISECOND)');
        const expr = this.expr();
        table.watermark = { column, expr, pos: span(t.pos, expr.pos) };
      } else if (isKw(t, 'primary') || (isKw(t, 'constraint') && isKw(this.peek(2), 'primary'))) {
        if (this.kw('constraint')) this.name('the constraint name');
        this.p++;
        this.expectKw('key', 'after PRIMARY');
        this.expectOp('(', 'to open the key columns');
        const columns: Name[] = [];
        do columns.push(this.name('a key column')); while (this.op(','));
        this.expectOp(')', 'to close the key columns');
        if (this.kw('not')) this.expectKw('enforced', 'after NOT');
        table.primaryKey = { columns, pos: span(t.pos, this.prev().pos) };
      } else if (isKw(t, 'check') || (isKw(t, 'constraint') && isKw(this.peek(2), 'check'))) {
        if (this.kw('constraint')) this.name('the constraint name');
        this.p++;
        table.checks.push(this.checkBody());
      } else {
        table.columns.push(this.column());
      }
    } while (this.op(','));
    this.expectOp(')', 'to close the column list (or "," before the next column)');
    if (isKw(this.peek(), 'partitioned')) throw this.error('PARTITIONED BY is not supported: a stream is keyed by its GROUP BY / PARTITION BY (or PRIMARY KEY)');
    if (isKw(this.peek(), 'with')) table.options = this.options('the table\'s connector (\'connector\' = ...)');
    table.pos = span(startPos, this.prev().pos);
    return table;
  }

  checkBody(): Expr {
    this.expectOp('(', 'after CHECK');
    const e = this.expr();
    this.expectOp(')', 'to close CHECK');
    if (this.kw('not')) this.expectKw('enforced', 'after NOT');
    return e;
  }

  column(): Column {
    const name = this.name('a column name, WATERMARK FOR or PRIMARY KEY');
    const col: Column = { name, checks: [] };
    if (this.kw('as')) { col.computed = this.expr(); return col; }
    const t = this.peek();
    if (t.t !== 'name') throw this.error(`expected the type of column ${name.v} (STRING, DOUBLE, BIGINT, TIMESTAMP(3), ...), found ${describe(t)}`);
    this.p++;
    let typeName = t.v.toUpperCase();
    const params: number[] = [];
    if (typeName === 'DOUBLE' && isKw(this.peek(), 'precision')) this.p++;
    if (typeName === 'CHARACTER' && isKw(this.peek(), 'varying')) { this.p++; typeName = 'VARCHAR'; }
    if (this.op('(')) {
      do {
        const n = this.peek();
        if (n.t !== 'num') throw this.error(`expected a number in the type ${typeName}(...), found ${describe(n)}`);
        this.p++;
        params.push(n.v);
      } while (this.op(','));
      this.expectOp(')', `to close ${typeName}(...)`);
    }
    if (this.kw('with') || this.kw('without')) {
      this.kw('local');
      this.expectKw('time', 'in WITH [LOCAL] TIME ZONE');
      this.expectKw('zone', 'in WITH [LOCAL] TIME ZONE');
    }
    if (isOp(this.peek(), '<')) throw this.error(`${typeName}<...> is not supported: columns are numbers, strings or the event time`);
    col.type = { name: typeName, params, pos: span(t.pos, this.prev().pos) };
    for (;;) {
      const c = this.peek();
      if (isKw(c, 'not') && isKw(this.peek(1), 'null')) { this.p += 2; col.notNull = span(c.pos, this.prev().pos); continue; }
      if (isKw(c, 'null')) { this.p++; continue; }
      if (isKw(c, 'check')) { this.p++; col.checks.push(this.checkBody()); continue; }
      if (isKw(c, 'primary')) { this.p++; this.expectKw('key', 'after PRIMARY'); if (this.kw('not')) this.expectKw('enforced', 'after NOT'); throw this.error('declare the key as PRIMARY KEY (col, ...) NOT ENFORCED after the columns', span(c.pos, this.prev().pos)); }
      if (isKw(c, 'metadata')) throw this.error('METADATA columns are not supported');
      if (isKw(c, 'comment')) { this.p++; this.string('the comment'); continue; }
      break;
    }
    return col;
  }

  options(what: string): Options {
    const start = this.expectKw('with', `and the options of ${what}`);
    this.expectOp('(', 'to open the WITH options');
    const entries: Options['entries'] = [];
    if (!isOp(this.peek(), ')')) {
      do {
        const k = this.peek();
        let key: { v: string; pos: Pos };
        if (k.t === 'str') key = this.string('an option name');
        else if (k.t === 'name') { // tolerate unquoted dotted keys: connector = 'x'
          let v = this.name('an option name').v;
          while (this.op('.')) v += '.' + this.name('an option name').v;
          key = { v, pos: span(k.pos, this.prev().pos) };
        } else throw this.error(`expected an option name in single quotes, e.g. 'connector', found ${describe(k)}`);
        this.expectOp('=', `after the option name '${key.v}'`);
        const vt = this.peek();
        let value: string;
        if (vt.t === 'str') value = vt.v;
        else if (vt.t === 'num') value = vt.text;
        else if (vt.t === 'name' && ['true', 'false'].includes(vt.v.toLowerCase())) value = vt.v.toLowerCase();
        else throw this.error(`expected the value of '${key.v}' in single quotes, found ${describe(vt)}`);
        this.p++;
        entries.push({ key: key.v, value, keyPos: key.pos, valuePos: vt.pos });
      } while (this.op(','));
    }
    this.expectOp(')', 'to close the WITH options (or "," before the next one)');
    return { entries, pos: span(start.pos, this.prev().pos) };
  }

  insert(): Statement {
    const start = this.peek();
    this.p++;
    if (isKw(this.peek(), 'overwrite')) throw this.error('INSERT OVERWRITE is not supported: sinks are append-only streams');
    this.expectKw('into', 'after INSERT');
    const target = this.tableName('the sink table name');
    if (isOp(this.peek(), '(')) throw this.error('a column list after the sink name is not supported: a sink receives the outputs whole (docs/OUTPUTS.md)');
    const query = this.query();
    return { kind: 'insert', target, query, pos: span(start.pos, this.prev().pos) };
  }

  set(): Statement {
    const start = this.peek();
    this.p++;
    const k = this.peek();
    let key: string;
    if (k.t === 'str') { this.p++; key = k.v; }
    else if (k.t === 'name') {
      key = this.name('the setting').v;
      while (this.op('.')) key += '.' + this.name('the rest of the setting').v;
    } else throw this.error(`expected the setting in single quotes, e.g. SET 'execution.checkpointing.interval' = '10s', found ${describe(k)}`);
    const keyPos = span(k.pos, this.prev().pos);
    this.expectOp('=', `after '${key}'`);
    const v = this.peek();
    let value: string;
    if (v.t === 'str') value = v.v;
    else if (v.t === 'num') value = v.text;
    else if (v.t === 'name' && !v.quoted) value = v.v;
    else throw this.error(`expected the value of '${key}' in single quotes, found ${describe(v)}`);
    this.p++;
    return { kind: 'set', key, value, keyPos, valuePos: v.pos, pos: span(start.pos, v.pos) };
  }

  // ── queries ──────────────────────────────────────────────────────────────

  query(): Query {
    const start = this.peek();
    if (isKw(start, 'with')) throw this.error('WITH (common table expressions) is not supported yet; declare each part as a CREATE VIEW');
    if (isOp(start, '(')) { this.p++; const q = this.query(); this.expectOp(')', 'to close the query'); return q; }
    this.expectKw('select', 'to start the query');
    const q: Partial<Query> & { items: SelectItem[]; groupBy: Expr[] } = { items: [], groupBy: [] };
    if (isKw(this.peek(), 'distinct')) { q.distinct = this.peek().pos; this.p++; } else this.kw('all');
    do q.items.push(this.selectItem()); while (this.op(','));
    const f = this.peek();
    if (!this.kw('from')) throw this.error(`expected FROM after the select list (or "," before another column), found ${describe(f)}`);
    q.from = this.fromItem();
    const j = this.peek();
    if (['join', 'inner', 'left', 'right', 'full', 'cross', 'natural'].some((w) => isKw(j, w)) || isOp(j, ',')) {
      throw this.error('joins are not supported yet (issue 17): a query reads one table or view');
    }
    if (isKw(j, 'match_recognize')) throw this.error('MATCH_RECOGNIZE is not supported yet (the next issue)');
    if (this.kw('where')) q.where = this.expr();
    if (isKw(this.peek(), 'group')) {
      this.p++;
      this.expectKw('by', 'after GROUP');
      do q.groupBy.push(this.expr()); while (this.op(','));
    }
    if (this.kw('having')) q.having = this.expr();
    const t = this.peek();
    if (isKw(t, 'window')) throw this.error('named WINDOW clauses are not supported; write the OVER (...) in place');
    if (isKw(t, 'qualify')) throw this.error('QUALIFY is not supported');
    if (isKw(t, 'order')) throw this.error('ORDER BY on a query is not supported: a stream is emitted in event-time order per key');
    if (isKw(t, 'limit') || isKw(t, 'fetch') || isKw(t, 'offset')) throw this.error(`${(t as { v: string }).v.toUpperCase()} is not supported: a stream has no end to count to`);
    if (isKw(t, 'union') && isKw(this.peek(1), 'all')) {
      const more: Query[] = [];
      while (isKw(this.peek(), 'union') && isKw(this.peek(1), 'all')) { this.p += 2; more.push(this.query()); }
      return { ...q, from: q.from, unionAll: more, pos: span(start.pos, this.prev().pos) } as Query;
    }
    if (isKw(t, 'union')) throw this.error('UNION (without ALL) is not supported: it would deduplicate the stream; UNION ALL merges streams');
    if (isKw(t, 'intersect') || isKw(t, 'except')) throw this.error(`${(t as { v: string }).v.toUpperCase()} is not supported`);
    return { ...q, from: q.from, pos: span(start.pos, this.prev().pos) } as Query;
  }

  selectItem(): SelectItem {
    const t = this.peek();
    if (isOp(t, '*')) { this.p++; return { expr: { k: 'star', pos: t.pos }, pos: t.pos }; }
    if (t.t === 'name' && isOp(this.peek(1), '.') && isOp(this.peek(2), '*')) {
      this.p += 3;
      return { expr: { k: 'star', qualifier: t.v, pos: span(t.pos, this.prev().pos) }, pos: span(t.pos, this.prev().pos) };
    }
    const expr = this.expr();
    let alias: Name | undefined;
    if (this.kw('as')) alias = this.name('a column alias after AS');
    else if (this.peek().t === 'name' && !CLAUSE.has((this.peek() as { v: string }).v.toLowerCase())) alias = this.bareAlias();
    return { expr, ...(alias ? { alias } : {}), pos: span(t.pos, this.prev().pos) };
  }

  alias(): Name | undefined {
    if (this.kw('as')) return this.name('an alias after AS');
    const t = this.peek();
    if (t.t === 'name' && (t.quoted || !CLAUSE.has(t.v.toLowerCase()))) return this.bareAlias();
    return undefined;
  }

  /** An alias written without AS; a misspelt clause keyword (FORM, WHERE → WHRE) would read as one, so it is refused. */
  bareAlias(): Name {
    const t = this.peek() as Extract<Token, { t: 'name' }>;
    if (!t.quoted) {
      const hint = didYouMean(t.v.toUpperCase(), ALIAS_LOOKALIKES);
      if (hint) throw this.error(`"${t.v}" would be read as an alias here${hint}; write AS ${t.v} for an alias`);
    }
    return this.name('an alias');
  }

  fromItem(): FromItem {
    const t = this.peek();
    if (isKw(t, 'lateral')) throw this.error('LATERAL is not supported');
    if (isOp(t, '(')) {
      this.p++;
      const query = this.query();
      this.expectOp(')', 'to close the subquery');
      const alias = this.alias();
      return { k: 'subquery', query, ...(alias ? { alias } : {}), pos: span(t.pos, this.prev().pos) };
    }
    if (isKw(t, 'table') && isOp(this.peek(1), '(')) {
      this.p += 2;
      const fnTok = this.peek();
      const fn = this.name('a window function (TUMBLE, HOP, CUMULATE or SESSION) inside TABLE(...)');
      this.expectOp('(', `after ${fn.v.toUpperCase()}`);
      if (this.peek(1).t === 'op' && (this.peek(1) as { v: string }).v === '=>') throw this.error('named arguments (DATA => ...) are not supported; pass them in order: TABLE t, DESCRIPTOR(ts), INTERVAL ...');
      this.expectKw('table', `as ${fn.v.toUpperCase()}'s first argument (TABLE <name>)`);
      const table = this.tableName('the table name after TABLE');
      const partitionBy: Name[] = [];
      if (this.kw('partition')) {
        this.expectKw('by', 'after PARTITION');
        do partitionBy.push(this.name('a key column')); while (isOp(this.peek(), ',') && !isKw(this.peek(1), 'descriptor') && this.op(','));
      }
      this.expectOp(',', `after TABLE ${table.v}`);
      this.expectKw('descriptor', 'to name the time column (DESCRIPTOR(ts))');
      this.expectOp('(', 'after DESCRIPTOR');
      const timeCol = this.name('the time column');
      this.expectOp(')', 'to close DESCRIPTOR');
      const args: Expr[] = [];
      while (this.op(',')) args.push(this.expr());
      this.expectOp(')', `to close ${fn.v.toUpperCase()}(...)`);
      this.expectOp(')', 'to close TABLE(...)');
      const alias = this.alias();
      return { k: 'tvf', fn: fn.v.toUpperCase(), fnPos: fnTok.pos, table, partitionBy, timeCol, args, ...(alias ? { alias } : {}), pos: span(t.pos, this.prev().pos) };
    }
    const name = this.tableName('a table or view name after FROM');
    if (isKw(this.peek(), 'for')) throw this.error('FOR SYSTEM_TIME AS OF (temporal joins) is not supported yet');
    const alias = this.alias();
    return { k: 'table', name, ...(alias ? { alias } : {}), pos: span(t.pos, this.prev().pos) };
  }

  // ── expressions ──────────────────────────────────────────────────────────

  expr(): Expr { return this.orExpr(); }

  orExpr(): Expr {
    let left = this.andExpr();
    while (isKw(this.peek(), 'or')) { this.p++; const right = this.andExpr(); left = { k: 'binary', op: 'or', left, right, pos: span(left.pos, right.pos) }; }
    return left;
  }
  andExpr(): Expr {
    let left = this.notExpr();
    while (isKw(this.peek(), 'and')) { this.p++; const right = this.notExpr(); left = { k: 'binary', op: 'and', left, right, pos: span(left.pos, right.pos) }; }
    return left;
  }
  notExpr(): Expr {
    const t = this.peek();
    if (isKw(t, 'not')) { this.p++; const arg = this.notExpr(); return { k: 'unary', op: 'not', arg, pos: span(t.pos, arg.pos) }; }
    return this.predicate();
  }
  predicate(): Expr {
    const left = this.sum();
    const t = this.peek();
    if (t.t === 'op' && ['=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
      this.p++;
      const right = this.sum();
      return { k: 'binary', op: t.v as BinaryOp, left, right, pos: span(left.pos, right.pos) };
    }
    if (isKw(t, 'is')) {
      this.p++;
      const negated = this.kw('not');
      if (!this.kw('null')) throw this.error(`expected NULL after IS${negated ? ' NOT' : ''} (IS TRUE/FALSE/DISTINCT FROM are not supported; compare with = instead), found ${describe(this.peek())}`);
      return { k: 'isnull', arg: left, negated, pos: span(left.pos, this.prev().pos) };
    }
    const negated = isKw(t, 'not') && ['between', 'in', 'like', 'similar'].some((w) => isKw(this.peek(1), w));
    if (negated) this.p++;
    if (isKw(this.peek(), 'like') || isKw(this.peek(), 'similar')) throw this.error('LIKE is not supported: strings are interned ids, compared with = and IN only');
    if (this.kw('between')) {
      if (this.kw('symmetric')) throw this.error('BETWEEN SYMMETRIC is not supported', this.prev().pos);
      this.kw('asymmetric');
      const low = this.sum();
      this.expectKw('and', 'between the bounds of BETWEEN');
      const high = this.sum();
      return { k: 'between', arg: left, low, high, negated, pos: span(left.pos, high.pos) };
    }
    if (this.kw('in')) {
      this.expectOp('(', 'to open the IN list');
      if (isKw(this.peek(), 'select')) throw this.error('IN (SELECT ...) subqueries are not supported');
      const list: Expr[] = [];
      do list.push(this.orExpr()); while (this.op(','));
      const close = this.expectOp(')', 'to close the IN list');
      return { k: 'in', arg: left, list, negated, pos: span(left.pos, close.pos) };
    }
    return left;
  }
  sum(): Expr {
    let left = this.product();
    for (;;) {
      const t = this.peek();
      if (isOp(t, '||')) throw this.error('|| (string concatenation) is not supported: strings are interned ids');
      if (t.t !== 'op' || (t.v !== '+' && t.v !== '-')) return left;
      this.p++;
      const right = this.product();
      left = { k: 'binary', op: t.v, left, right, pos: span(left.pos, right.pos) };
    }
  }
  product(): Expr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.t !== 'op' || (t.v !== '*' && t.v !== '/' && t.v !== '%')) return left;
      this.p++;
      const right = this.unary();
      left = { k: 'binary', op: t.v, left, right, pos: span(left.pos, right.pos) };
    }
  }
  unary(): Expr {
    const t = this.peek();
    if (t.t === 'op' && (t.v === '-' || t.v === '+')) {
      this.p++;
      const arg = this.unary();
      return t.v === '+' ? arg : { k: 'unary', op: '-', arg, pos: span(t.pos, arg.pos) };
    }
    const e = this.primary();
    if (isOp(this.peek(), '::')) throw this.error('::type casts are not supported');
    if (isOp(this.peek(), '[')) throw this.error('[...] indexing is not supported');
    return e;
  }
  primary(): Expr {
    const t = this.peek();
    if (t.t === 'num') { this.p++; return { k: 'num', value: t.v, pos: t.pos }; }
    if (t.t === 'str') { this.p++; return { k: 'str', value: t.v, pos: t.pos }; }
    if (isOp(t, '(')) {
      this.p++;
      if (isKw(this.peek(), 'select')) throw this.error('scalar subqueries are not supported');
      const e = this.orExpr();
      this.expectOp(')', 'to close the parenthesis');
      return e;
    }
    if (t.t !== 'name') throw this.error(`expected a value, a column or a function, found ${describe(t)}`);
    if (!t.quoted) {
      const w = t.v.toLowerCase();
      if (w === 'true' || w === 'false') { this.p++; return { k: 'bool', value: w === 'true', pos: t.pos }; }
      if (w === 'null') { this.p++; return { k: 'null', pos: t.pos }; }
      if (w === 'interval') return this.interval();
      if (w === 'case') return this.caseExpr();
      if (w === 'cast' || w === 'try_cast') {
        throw this.error(`${w.toUpperCase()} is not supported: numbers are doubles and columns keep their declared types`);
      }
      if (w === 'timestamp' && this.peek(1).t === 'str') throw this.error('TIMESTAMP \'...\' literals are not supported yet; compare event times with INTERVALs');
      if (CLAUSE.has(w) && !isOp(this.peek(1), '(')) throw this.error(`expected a value, a column or a function, found the keyword ${t.v.toUpperCase()}`);
    }
    this.p++;
    if (isOp(this.peek(), '(')) return this.call(t as Extract<Token, { t: 'name' }>);
    if (isOp(this.peek(), '.')) {
      this.p++;
      const n = this.peek();
      if (n.t !== 'name') throw this.error(`expected a column name after "${t.v}.", found ${describe(n)}`);
      this.p++;
      return { k: 'ref', qualifier: t.v, name: n.v, pos: span(t.pos, n.pos) };
    }
    return { k: 'ref', name: t.v, pos: t.pos };
  }
  call(t: Extract<Token, { t: 'name' }>): Expr {
    this.p++; // (
    const args: Expr[] = [];
    let distinct = false;
    if (!isOp(this.peek(), ')')) {
      if (isKw(this.peek(), 'distinct')) { this.p++; distinct = true; } else if (isKw(this.peek(), 'all') && !isOp(this.peek(1), ')')) this.p++;
      if (isOp(this.peek(), '*')) { const star = this.peek(); this.p++; args.push({ k: 'ref', name: '*', pos: star.pos }); }
      else do {
        if (isKw(this.peek(), 'table') && this.peek(1).t === 'name') throw this.error(`TABLE ${(this.peek(1) as { v: string }).v} as an argument: window functions over a table go in the FROM clause: FROM TABLE(${t.v.toUpperCase()}(TABLE t, DESCRIPTOR(ts), ...))`);
        args.push(this.orExpr());
      } while (this.op(','));
    }
    const close = this.expectOp(')', `to close the arguments of ${t.v}`);
    const call: CallExpr = { k: 'call', name: t.v.toUpperCase(), args, pos: span(t.pos, close.pos), namePos: t.pos, ...(distinct ? { distinct } : {}) };
    if (isKw(this.peek(), 'filter')) throw this.error('aggregate FILTER (WHERE ...) is not supported yet (issue 17)');
    if (isKw(this.peek(), 'within')) throw this.error('WITHIN GROUP is not supported');
    if (isKw(this.peek(), 'ignore') || isKw(this.peek(), 'respect')) throw this.error('IGNORE/RESPECT NULLS is not supported');
    if (isKw(this.peek(), 'over')) {
      const over = this.over();
      call.over = over;
      call.pos = span(call.pos, over.pos);
    }
    return call;
  }
  over(): OverSpec {
    const start = this.peek();
    this.p++;
    if (this.peek().t === 'name' && !isOp(this.peek(), '(')) throw this.error('named windows (OVER w) are not supported; write OVER (PARTITION BY ...)');
    this.expectOp('(', 'after OVER');
    const spec: OverSpec = { partitionBy: [], orderBy: [], pos: start.pos };
    if (this.kw('partition')) {
      this.expectKw('by', 'after PARTITION');
      do spec.partitionBy.push(this.sum()); while (this.op(','));
    }
    if (isKw(this.peek(), 'order')) {
      this.p++;
      this.expectKw('by', 'after ORDER');
      do {
        const expr = this.sum();
        const desc = this.kw('desc');
        if (!desc) this.kw('asc');
        spec.orderBy.push({ expr, desc });
      } while (this.op(','));
    }
    const f = this.peek();
    if (isKw(f, 'rows') || isKw(f, 'range')) {
      this.p++;
      const unit = isKw(f, 'rows') ? 'rows' : 'range';
      let s: FrameBound, e: FrameBound;
      if (this.kw('between')) {
        s = this.bound();
        this.expectKw('and', 'between the frame bounds');
        e = this.bound();
      } else {
        s = this.bound();
        e = { kind: 'current', pos: s.pos };
      }
      spec.frame = { unit, start: s, end: e, pos: span(f.pos, this.prev().pos) };
    } else if (isKw(f, 'groups')) throw this.error('GROUPS frames are not supported; use ROWS or RANGE');
    const close = this.expectOp(')', 'to close OVER (...)');
    spec.pos = span(start.pos, close.pos);
    return spec;
  }
  bound(): FrameBound {
    const t = this.peek();
    if (this.kw('unbounded')) {
      const d = this.peek();
      if (this.kw('preceding')) return { kind: 'unbounded', pos: span(t.pos, d.pos) };
      if (this.kw('following')) return { kind: 'following', pos: span(t.pos, d.pos) };
      throw this.error(`expected PRECEDING or FOLLOWING after UNBOUNDED, found ${describe(d)}`);
    }
    if (this.kw('current')) { this.expectKw('row', 'after CURRENT'); return { kind: 'current', pos: span(t.pos, this.prev().pos) }; }
    const value = this.sum();
    const d = this.peek();
    if (this.kw('preceding')) return { kind: 'preceding', value, pos: span(t.pos, d.pos) };
    if (this.kw('following')) return { kind: 'following', value, pos: span(t.pos, d.pos) };
    throw this.error(`expected PRECEDING or FOLLOWING after the frame bound, found ${describe(d)}`);
  }
  interval(): Expr {
    const start = this.peek();
    this.p++;
    const v = this.peek();
    if (v.t !== 'str' && v.t !== 'num') throw this.error(`expected the interval's amount, e.g. INTERVAL '5' SECOND, found ${describe(v)}`);
    this.p++;
    const amount = v.t === 'str' ? v.v.trim() : v.text;
    // INTERVAL '5 SECOND' (the unit inside the string, as PostgreSQL and DuckDB write it).
    const inner = /^(\d+(?:\.\d+)?)\s+([A-Za-z]+)$/.exec(amount);
    if (inner && UNITS[inner[2].toLowerCase().replace(/s$/, '')] !== undefined) {
      const [whole, frac = ''] = inner[1].split('.');
      const per = UNITS[inner[2].toLowerCase().replace(/s$/, '')];
      const ns = BigInt(whole) * per + (frac ? (BigInt(frac.padEnd(18, '0').slice(0, 18)) * per) / 10n ** 18n : 0n);
      return { k: 'interval', ns, text: `INTERVAL '${inner[1]}' ${inner[2].toUpperCase().replace(/S$/, '')}`, pos: span(start.pos, v.pos) };
    }
    if (!/^\d+(\.\d+)?$/.test(amount)) throw this.error(`expected a non-negative number of units in the interval, found '${amount}' (INTERVAL 'a:b' X TO Y forms are not supported)`, v.pos);
    const u = this.peek();
    const unit = u.t === 'name' && !u.quoted ? u.v.toLowerCase().replace(/s$/, '') : '';
    const per = UNITS[unit];
    if (per === undefined) {
      const extra = ['month', 'year', 'week'].includes(unit) ? ` (${unit.toUpperCase()} intervals vary in length and are not supported)` : '';
      throw this.error(`expected an interval unit (${Object.keys(UNITS).map((x) => x.toUpperCase()).join(', ')}), found ${describe(u)}${extra}`);
    }
    this.p++;
    if (isOp(this.peek(), '(')) { this.p++; while (this.peek().t === 'num' || isOp(this.peek(), ',')) this.p++; this.expectOp(')', 'to close the interval precision'); }
    if (isKw(this.peek(), 'to')) throw this.error('INTERVAL ... TO ... ranges are not supported; write one unit, e.g. INTERVAL \'90\' MINUTE');
    const [whole, frac = ''] = amount.split('.');
    const ns = BigInt(whole) * per + (frac ? (BigInt(frac.padEnd(18, '0').slice(0, 18)) * per) / 10n ** 18n : 0n);
    return { k: 'interval', ns, text: `INTERVAL '${amount}' ${unit.toUpperCase()}`, pos: span(start.pos, this.prev().pos) };
  }
  caseExpr(): Expr {
    const start = this.peek();
    this.p++;
    const operand = isKw(this.peek(), 'when') ? undefined : this.orExpr();
    const whens: Array<{ when: Expr; then: Expr }> = [];
    while (this.kw('when')) {
      const when = this.orExpr();
      this.expectKw('then', 'after the WHEN condition');
      whens.push({ when, then: this.orExpr() });
    }
    if (whens.length === 0) throw this.error(`expected WHEN in CASE, found ${describe(this.peek())}`);
    const otherwise = this.kw('else') ? this.orExpr() : undefined;
    const end = this.expectKw('end', 'to close CASE');
    return { k: 'case', ...(operand ? { operand } : {}), whens, ...(otherwise ? { otherwise } : {}), pos: span(start.pos, end.pos) };
  }
}
