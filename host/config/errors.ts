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

/** Edit distance counting a swap of two neighbours as one edit ("feild" is one edit from "field"). */
export function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
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
