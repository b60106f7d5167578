import { RapportError } from '../errors';

/**
 * One problem in a segmentation file, placed where a marketer can find it:
 * `tags.yaml:7:15  tags[1].when.all[0].within: expected a duration like "30d", "12h" or "2w", got "30 days"`.
 */
export interface SourceProblem {
  file: string;
  /** 1-based line of the offending node (its key for an unknown key, its parent for a missing one). */
  line: number;
  /** 1-based column. */
  column: number;
  /** Where in the document, e.g. `tags[1].when.all[0].within`; `(root)` for the document itself. */
  path: string;
  message: string;
}

/** `file:line:col  path: message`, the way compilers print problems (editors link `file:line:col`). */
export function formatProblem(problem: SourceProblem): string {
  return `${problem.file}:${problem.line}:${problem.column}  ${problem.path}: ${problem.message}`;
}

/** Problems in file order (a stable sort, so problems at one node keep their order). */
export function sortProblems(problems: SourceProblem[]): SourceProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Base of the errors thrown for a segmentation file that does not load; never retryable (fix the file). */
export abstract class SegmentationFileError extends RapportError {
  readonly retryable = false;
  readonly file: string;
  /** Every problem found, in file order; the file was not applied at all. */
  readonly errors: readonly SourceProblem[];

  constructor(what: string, file: string, errors: readonly SourceProblem[]) {
    const count = errors.length === 1 ? '1 problem' : `${errors.length} problems`;
    super(`${what} in ${file} not loaded, ${count}:\n${errors.map(formatProblem).join('\n')}`);
    this.file = file;
    this.errors = errors;
  }
}

/** Thrown by `loadTagRulesOrThrow` when tags.yaml has errors. */
export class TagRulesError extends SegmentationFileError {
  constructor(file: string, errors: readonly SourceProblem[]) {
    super('Tag rules', file, errors);
  }
}

/** Thrown when segments.yaml has errors. */
export class SegmentsFileError extends SegmentationFileError {
  constructor(file: string, errors: readonly SourceProblem[]) {
    super('Segments', file, errors);
  }
}

/** Thrown by `loadSegmentationConfigOrThrow` when segmentation.config.yaml has errors. */
export class SegmentationConfigError extends SegmentationFileError {
  constructor(file: string, errors: readonly SourceProblem[]) {
    super('Segmentation config', file, errors);
  }
}
