/**
 * Validation of EventBridge event patterns, with one specific message per problem
 * (`detail.revenue[0]: numeric operator expects pairs like [">", 0, "<=", 5]`).
 *
 * The rules are Event Ruler's (the library EventBridge compiles patterns with): the
 * pattern is a non-empty object; every key holds a non-empty array of values or a
 * nested non-empty object; values are strings, numbers, booleans, null or an object
 * with exactly one known operator; `$or` holds at least two sub-patterns, inside which
 * operator names may not be used as field names.
 */
import {
  describe,
  isArray,
  isOperatorName,
  isRecord,
  OPERATOR_NAMES,
  operatorArgumentProblem,
  OR_KEY,
  quoteList,
  type EventPattern,
} from './matcher';

export interface PatternProblem {
  /** Where in the pattern, e.g. `detail.revenue[0]` or `$or[1].source`; `(root)` for the pattern itself. */
  readonly path: string;
  readonly message: string;
}

const ROOT = '(root)';

/** Thrown by `assertValidEventPattern`; `problems` lists everything found, not just the first. */
export class InvalidEventPatternError extends Error {
  override readonly name = 'InvalidEventPatternError';
  readonly problems: readonly PatternProblem[];

  constructor(problems: readonly PatternProblem[]) {
    super(formatProblems(problems));
    this.problems = problems;
  }
}

/** All problems found in `pattern`; empty when it is a valid event pattern. */
export function validateEventPattern(pattern: unknown): PatternProblem[] {
  const problems: PatternProblem[] = [];
  if (!isRecord(pattern)) {
    problems.push({ path: ROOT, message: `event pattern must be a JSON object, got ${describe(pattern)}` });
    return problems;
  }
  checkObject(pattern, '', false, problems);
  return problems;
}

/** Throws `InvalidEventPatternError` unless `pattern` is a valid event pattern. */
export function assertValidEventPattern(pattern: unknown): asserts pattern is EventPattern {
  const problems = validateEventPattern(pattern);
  if (problems.length > 0) throw new InvalidEventPatternError(problems);
}

function formatProblems(problems: readonly PatternProblem[]): string {
  const lines = problems.map((problem) => `${problem.path}: ${problem.message}`);
  return lines.length === 1
    ? `Invalid event pattern: ${lines.join('')}`
    : `Invalid event pattern (${lines.length} problems):\n- ${lines.join('\n- ')}`;
}

/**
 * Names Event Ruler refuses as field names inside `$or` (its operators, the numeric
 * comparisons and keywords it reserves), so a misplaced operator is not silently read
 * as a field.
 */
const RESERVED_IN_OR: ReadonlySet<string> = new Set([
  ...OPERATOR_NAMES,
  'exactly',
  'html',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

const fieldPath = (parent: string, key: string): string => (parent === '' ? key : `${parent}.${key}`);
const indexPath = (parent: string, index: number): string => `${parent === '' ? ROOT : parent}[${index}]`;

function checkObject(
  pattern: Readonly<Record<string, unknown>>,
  path: string,
  insideOr: boolean,
  problems: PatternProblem[],
): void {
  const entries = Object.entries(pattern);
  if (entries.length === 0) {
    problems.push({ path: path === '' ? ROOT : path, message: 'empty objects are not allowed' });
    return;
  }
  for (const [key, node] of entries) {
    const path_ = fieldPath(path, key);
    if (key === OR_KEY) {
      checkOr(node, path_, problems);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) {
      problems.push({
        path: path_,
        message: `${JSON.stringify(key)} is an operator name and cannot be a field name inside $or; put operators inside a value array, e.g. [{"prefix": "a"}]`,
      });
      continue;
    }
    if (isArray(node)) {
      checkValueList(node, path_, problems);
    } else if (isRecord(node)) {
      checkObject(node, path_, insideOr, problems);
    } else {
      problems.push({
        path: path_,
        message: `must be an array of values (e.g. ["a"] or [{"prefix": "a"}]) or a nested object, got ${describe(node)}`,
      });
    }
  }
}

function checkOr(node: unknown, path: string, problems: PatternProblem[]): void {
  if (!isArray(node) || node.length < 2) {
    const got = isArray(node) ? `${node.length} sub-pattern${node.length === 1 ? '' : 's'}` : describe(node);
    problems.push({ path, message: `$or expects an array of at least two sub-patterns, got ${got}` });
    if (!isArray(node)) return;
  }
  node.forEach((branch, index) => {
    const branchPath = `${path}[${index}]`;
    if (isRecord(branch)) checkObject(branch, branchPath, true, problems);
    else problems.push({ path: branchPath, message: `each $or entry must be a pattern object, got ${describe(branch)}` });
  });
}

function checkValueList(values: readonly unknown[], path: string, problems: PatternProblem[]): void {
  if (values.length === 0) {
    problems.push({ path, message: 'empty arrays are not allowed; list at least one value to match' });
    return;
  }
  values.forEach((value, index) => {
    const problem = valueProblem(value);
    if (problem !== undefined) problems.push({ path: indexPath(path, index), message: problem });
  });
}

function valueProblem(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `match value ${String(value)} is not a finite number`;
    case 'object':
      if (value === null) return undefined;
      if (isRecord(value)) return operatorProblem(value);
      return 'nested arrays are not allowed; list the values directly in one array';
    default:
      return `match value must be a string, number, boolean, null or an operator object, got ${describe(value)}`;
  }
}

function operatorProblem(value: Readonly<Record<string, unknown>>): string | undefined {
  const entries = Object.entries(value);
  const [entry] = entries;
  if (entries.length !== 1 || entry === undefined) {
    return `an operator object must have exactly one key, got ${entries.length} (${quoteList(Object.keys(value))})`;
  }
  const [name, arg] = entry;
  if (!isOperatorName(name)) {
    return `unknown operator ${JSON.stringify(name)}; supported operators are ${quoteList(OPERATOR_NAMES)}`;
  }
  return operatorArgumentProblem(name, arg);
}
