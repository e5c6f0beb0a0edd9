// Problems in a SQL script. Each is a message and a place (byte offsets into
// the script); `sqlIssues` turns them into the loader's ConfigIssue (file,
// line, column) with the source line and a caret under the place appended to
// the message, so `ganglion validate job.sql` prints
//
//   job.sql:4:19 expected FROM after the select list, found WHERE
//     SELECT price, qty WHERE qty > 0
//                       ^^^^^
import type { Pos } from '../expr/parse.js';
import type { ConfigIssue } from '../config/errors.js';

export interface SqlProblem { message: string; pos: Pos }

/** One or more problems; the parser and the translator collect several before throwing. */
export class SqlError extends Error {
  constructor(readonly problems: SqlProblem[]) {
    super(problems.map((p) => p.message).join('\n'));
    this.name = 'SqlError';
  }
}

/** 1-based line and column of `offset` in `src`. */
export function lineCol(src: string, offset: number): { line: number; column: number; lineStart: number } {
  let line = 1, lineStart = 0;
  for (let i = 0; i < offset && i < src.length; i++) if (src.charCodeAt(i) === 10) { line++; lineStart = i + 1; }
  return { line, column: offset - lineStart + 1, lineStart };
}

/** The source line holding `pos` and a caret line under it (indented two spaces). */
export function caret(src: string, pos: Pos): string {
  const { lineStart } = lineCol(src, pos.offset);
  const nl = src.indexOf('\n', lineStart);
  const text = src.slice(lineStart, nl < 0 ? src.length : nl).replace(/\r$/, '').replace(/\t/g, ' ');
  const col = pos.offset - lineStart;
  const width = Math.max(1, Math.min(pos.end, lineStart + text.length) - pos.offset);
  return `  ${text}\n  ${' '.repeat(col)}${'^'.repeat(width)}`;
}

export function sqlIssue(src: string, file: string, p: SqlProblem): ConfigIssue {
  const { line, column } = lineCol(src, p.pos.offset);
  return { file, line, column, path: '', message: `${p.message}\n${caret(src, p.pos)}` };
}

export function sqlIssues(src: string, file: string, problems: readonly SqlProblem[]): ConfigIssue[] {
  return [...problems].sort((a, b) => a.pos.offset - b.pos.offset).map((p) => sqlIssue(src, file, p));
}
