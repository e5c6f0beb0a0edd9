// The parsed form of a SQL job script. Expressions are host/expr's `Expr`
// (the same nodes YAML filters and MATCH_RECOGNIZE conditions compile), with
// the SQL-only parts of a call (DISTINCT, OVER, `*`) carried on the call node.
import type { Expr, Pos } from '../expr/parse.js';

export interface Name { v: string; pos: Pos }

export interface FrameBound { kind: 'unbounded' | 'current' | 'preceding' | 'following'; value?: Expr; pos: Pos }

export interface OverSpec {
  partitionBy: Expr[];
  orderBy: Array<{ expr: Expr; desc: boolean }>;
  frame?: { unit: 'rows' | 'range'; start: FrameBound; end: FrameBound; pos: Pos };
  pos: Pos;
}

export type CallExpr = Extract<Expr, { k: 'call' }> & { distinct?: boolean; over?: OverSpec; namePos?: Pos };

export interface Column {
  name: Name;
  /** Upper-cased type name (`DOUBLE`, `VARCHAR`, `TIMESTAMP`, …) and its parameters (`VARCHAR(16)` → [16]). */
  type?: { name: string; params: number[]; pos: Pos };
  notNull?: Pos;
  /** `name AS expr`: a computed column. */
  computed?: Expr;
  checks: Expr[];
}

export interface CreateTable {
  kind: 'create_table';
  name: Name;
  columns: Column[];
  watermark?: { column: Name; expr: Expr; pos: Pos };
  primaryKey?: { columns: Name[]; pos: Pos };
  checks: Expr[];
  options: Options;
  pos: Pos;
}

export interface Options { entries: Array<{ key: string; value: string; keyPos: Pos; valuePos: Pos }>; pos: Pos }

export interface CreateView { kind: 'create_view'; name: Name; query: Query; pos: Pos }
export interface CreateModel { kind: 'create_model'; name: Name; options: Options; pos: Pos }
export interface Insert { kind: 'insert'; target: Name; query: Query; pos: Pos }
export interface SetStatement { kind: 'set'; key: string; value: string; keyPos: Pos; valuePos: Pos; pos: Pos }

export type Statement = CreateTable | CreateView | CreateModel | Insert | SetStatement;

export interface SelectItem { expr: Expr | { k: 'star'; qualifier?: string; pos: Pos }; alias?: Name; pos: Pos }

/** `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL …))` and its kin. */
export interface WindowTvf { k: 'tvf'; fn: string; fnPos: Pos; table: Name; partitionBy: Name[]; timeCol: Name; args: Expr[]; alias?: Name; pos: Pos }
export type FromItem = { k: 'table'; name: Name; alias?: Name; pos: Pos } | WindowTvf | { k: 'subquery'; query: Query; alias?: Name; pos: Pos };

export interface Query {
  distinct?: Pos;
  items: SelectItem[];
  from: FromItem;
  where?: Expr;
  groupBy: Expr[];
  having?: Expr;
  /** `... UNION ALL SELECT ...`: the further queries. */
  unionAll?: Query[];
  pos: Pos;
}
