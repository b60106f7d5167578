import { RapportError } from '../../shared';

/** One problem in a journey (or template) file, pointing at the offending node. */
export interface JourneyProblem {
  /** The file as given to the loader (a path, or a name for in-memory text). */
  readonly file: string;
  /** 1-based line and column of the offending node (1:1 when the node is not in the file, e.g. a missing key's parent is the document). */
  readonly line: number;
  readonly column: number;
  /** Where in the journey, e.g. `steps[2].send.template`; `(root)` for the document itself. */
  readonly path: string;
  /** What is wrong and what was expected. */
  readonly message: string;
}

/** A journey (or a folder of them) was refused; `errors` lists every problem found, in every file. */
export class JourneyError extends RapportError {
  readonly retryable = false;
  readonly errors: readonly JourneyProblem[];

  constructor(errors: readonly JourneyProblem[]) {
    super(formatProblems(errors));
    this.errors = errors;
  }
}

/** `file:line:column path: message`, one problem a line: the format editors and CI annotate. */
export function formatProblems(problems: readonly JourneyProblem[]): string {
  return problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n');
}

export type PathSegment = string | number;

/** `['steps', 2, 'send', 'template']` -> `steps[2].send.template`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out === '' ? '(root)' : out;
}
