// How a translation problem travels: thrown where it is found (with its
// place), caught per statement by the translator, which goes on with the next.
import type { Pos } from '../expr/parse.js';
import type { SqlProblem } from './errors.js';

/** Raised inside the translation of one statement; collected, and the next statement goes on. */
export class Problem extends Error {
  constructor(readonly problem: SqlProblem) { super(problem.message); }
}
export const fail = (message: string, pos: Pos): never => { throw new Problem({ message, pos }); };
export const ISSUE = '(issue 17)';
export const notYet = (what: string, pos: Pos): never => fail(`not supported yet: ${what} ${ISSUE}`, pos);

/** A reference to something whose statement did not parse: already reported there. */
export class Silent extends Error {}
