// The pipeline file's view of event types. Built-in types come from
// host/schema/event_types.ts (the one description every codec follows); a
// pipeline may extend one (extra fields, mapping aliases, derived fields) or
// declare a custom type, and gets back a full EventType either way, so the
// codecs never see the difference.
import { inputStride } from '../records.js';
import { EVENT_TYPES, type EventType, type FieldDef, type TableSlot } from '../schema/event_types.js';

export const BUILTIN_TYPE_NAMES = ['trades', 'quotes', 'payments'] as const;
export type BuiltinTypeName = (typeof BUILTIN_TYPE_NAMES)[number];

export function builtinType(name: BuiltinTypeName): EventType {
  return EVENT_TYPES[name];
}

/** Fields an operator can aggregate: plain numbers and the trade side (±1). Ids hold interned keys. */
export function isNumeric(f: FieldDef): boolean {
  return f.kind === 'number' || f.kind === 'side';
}

export interface TypeExtension {
  /** Extra numeric fields, then extra string (id) fields, appended in that order. */
  numbers: readonly string[];
  strings: readonly string[];
  /** schema field → another name it arrives under. */
  mapping: Readonly<Record<string, string>>;
  /** Numeric fields computed on ingest, appended last (the codecs leave them absent, the runtime fills them). */
  derived: readonly string[];
}

/**
 * A built-in type with the pipeline's additions, or (base undefined) a custom
 * type made only of them. Extra fields get table slots after the base type's,
 * so the FlatBuffers table form of an extended type is a compatible superset.
 */
export function extendType(base: EventType | undefined, name: string, ext: TypeExtension): EventType {
  const fields: FieldDef[] = (base?.fields ?? []).map((f) => {
    const alias = ext.mapping[f.name];
    return alias === undefined || alias === f.name ? f : { ...f, aliases: [...(f.aliases ?? []), alias] };
  });
  const slots: TableSlot[] = [...(base?.tableSlots ?? [])];
  const add = (n: string, kind: FieldDef['kind'], slot: boolean) => {
    const alias = ext.mapping[n];
    fields.push(alias === undefined || alias === n ? { name: n, kind } : { name: n, kind, aliases: [alias] });
    if (slot) slots.push(kind === 'id' ? { type: 'string', field: fields.length - 1 } : { type: 'f64', field: fields.length - 1 });
  };
  ext.numbers.forEach((n) => add(n, 'number', true));
  ext.strings.forEach((n) => add(n, 'id', true));
  ext.derived.forEach((n) => add(n, 'number', false));
  if (base && fields.length === base.fields.length && ext.derived.length === 0 && Object.keys(ext.mapping).length === 0) return base;
  return Object.freeze({
    name,
    fields,
    defaultKey: base?.defaultKey ?? [],
    structIdentifier: base?.structIdentifier ?? 'GCSR',
    tableIdentifier: base?.tableIdentifier ?? 'GCST',
    tableSlots: slots,
    jsonVectors: base?.jsonVectors,
    stride: inputStride(fields.length),
  });
}
