// A config problem is a user error: it is reported as `file:line:col path:
// expected ..., found ...` lines, never as a stack trace. Every problem in the
// file is collected, so one run of `ganglion validate` shows them all.

export interface ConfigIssue {
  file: string;
  /** 1-based; 0 when the problem has no position (unreadable file). */
  line: number;
  column: number;
  /** Dotted path into the document, e.g. `operators[1].size`; "" for the whole file. */
  path: string;
  /** What was expected (and why), phrased for the user. */
  message: string;
  /** What the file holds at that place: a quoted value, "a list", "nothing", ... */
  found?: string;
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  const path = i.path ? ` ${i.path}:` : '';
  const found = i.found !== undefined ? `, found ${i.found}` : '';
  return `${where}${path} ${i.message}${found}`;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** `operators[1].size` from ['operators', 1, 'size']. */
export function pathString(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** ` (did you mean "price"?)` when a candidate is close enough to be a typo, else "". */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best = '';
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) { bestD = d; best = c; }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return bestD <= limit && best !== word ? ` (did you mean "${best}"?)` : '';
}
