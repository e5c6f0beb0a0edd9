// Tokens of a `.sql` job script, each with its byte offsets in the script so
// every later problem (parse, translation, the config checks after it) can
// point at the exact place: `job.sql:4:19`, the source line and a caret.
// Comments (`-- …` to the end of the line, `/* … */`) are skipped. Keywords
// are not reserved here: the parser decides by position, so a column may be
// called `count` or `window`.
import type { Pos } from '../expr/parse.js';
import { SqlError } from './errors.js';

export type Token =
  | { t: 'num'; text: string; v: number; pos: Pos }
  | { t: 'str'; v: string; pos: Pos }
  /** A name or keyword; `quoted` for "…" and `…` names, which are never keywords. */
  | { t: 'name'; v: string; quoted: boolean; pos: Pos }
  | { t: 'op'; v: string; pos: Pos }
  | { t: 'end'; pos: Pos };

const TWO = ['<=', '>=', '<>', '!=', '==', '||', '=>', '::'];
const ONE = '+-*/%(),.;=<>[]';

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (message: string, at: number, end = at + 1): never => { throw new SqlError([{ message, pos: { offset: at, end } }]); };
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') { i++; continue; }
    if (c === '-' && src[i + 1] === '-') { while (i < src.length && src[i] !== '\n') i++; continue; }
    if (c === '/' && src[i + 1] === '*') {
      const close = src.indexOf('*/', i + 2);
      if (close < 0) fail('unterminated comment: expected */ to close the /* comment', i, i + 2);
      i = close + 2;
      continue;
    }
    const start = i;
    if ((c >= '0' && c <= '9') || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i, i + 64))!;
      i += m[0].length;
      if (/[A-Za-z_]/.test(src[i] ?? '')) fail(`expected a space or an operator after the number ${m[0]}`, i);
      out.push({ t: 'num', text: m[0], v: Number(m[0]), pos: { offset: start, end: i } });
      continue;
    }
    if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= src.length) fail("unterminated string: expected a closing '", start, Math.min(src.length, start + 1));
        if (src[i] === "'") { if (src[i + 1] === "'") { v += "'"; i += 2; continue; } i++; break; }
        v += src[i++];
      }
      out.push({ t: 'str', v, pos: { offset: start, end: i } });
      continue;
    }
    if (c === '"' || c === '`') {
      const close = src.indexOf(c, i + 1);
      if (close < 0) fail(`unterminated quoted name: expected a closing ${c}`, start);
      out.push({ t: 'name', v: src.slice(i + 1, close), quoted: true, pos: { offset: start, end: close + 1 } });
      i = close + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_$]/.test(src[j])) j++;
      out.push({ t: 'name', v: src.slice(i, j), quoted: false, pos: { offset: start, end: j } });
      i = j;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (TWO.includes(two)) {
      out.push({ t: 'op', v: two === '!=' ? '<>' : two === '==' ? '=' : two, pos: { offset: i, end: i + 2 } });
      i += 2;
      continue;
    }
    if (ONE.includes(c)) { out.push({ t: 'op', v: c, pos: { offset: i, end: i + 1 } }); i++; continue; }
    fail(`unexpected character ${JSON.stringify(c)}`, i);
  }
  out.push({ t: 'end', pos: { offset: src.length, end: src.length } });
  return out;
}

/** How a token reads in "found …" messages. */
export function describe(tok: Token): string {
  switch (tok.t) {
    case 'end': return 'the end of the script';
    case 'str': return `'${tok.v}'`;
    case 'num': return tok.text;
    case 'name': return tok.quoted ? `"${tok.v}"` : tok.v;
    case 'op': return tok.v === ';' ? '";" (the end of the statement)' : `"${tok.v}"`;
  }
}
