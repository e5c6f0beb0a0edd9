// Checking the options of a keyed one-region operator (z-score, limit check):
// unknown names are refused with the known ones listed, labels a pipeline
// config carries along are let through, and the options every such operator
// takes (op, field, ttlNs, outputCapacity) are read the same way. Each check
// fails through the operator's own `fail`, so errors keep its name and class.

// Labels a pipeline config carries along (the registry's kind, the YAML's type
// and name): accepted and ignored, so a config can be passed through whole.
const LABELS = new Set(['kind', 'type', 'name']);

export class RegionOptions {
  constructor(readonly o: Record<string, unknown>, known: ReadonlySet<string>, readonly fail: (message: string) => never) {
    for (const k of Object.keys(o)) {
      if (!known.has(k) && !LABELS.has(k)) fail(`unknown option "${k}" (known: ${[...known].join(', ')})`);
    }
  }

  int(name: string, lo: number, hi: number, dflt?: number): number {
    const v = this.o[name] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      this.fail(`${name} must be an integer in ${lo}..${hi}, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
    }
    return v as number;
  }

  /** `op` (default 0), then `field`, checked against `fieldCount` when given. */
  opAndField(): { op: number; field: number } {
    const op = this.int('op', 0, 0xffffffff, 0);
    const fieldCount = this.o.fieldCount === undefined ? undefined : this.int('fieldCount', 1, 1 << 16);
    return { op, field: this.int('field', 0, fieldCount === undefined ? 0xffff : fieldCount - 1) };
  }

  ttlNs(): bigint {
    const ttl = this.o.ttlNs ?? 0n;
    if (typeof ttl !== 'bigint' || ttl < 0n || ttl >= 1n << 63n) this.fail(`ttlNs must be a bigint number of nanoseconds ≥ 0 (0 = never), got ${String(ttl)}`);
    return ttl as bigint;
  }

  outputCapacity(): number {
    return this.int('outputCapacity', 1, 1 << 24, 4096);
  }
}
