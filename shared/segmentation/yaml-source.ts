import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import type { SourceProblem } from './errors';
import { describeValue, formatPath, type PathSegment } from './text';

/** Where a problem points: the node's value (default) or, for an unknown key, the key itself. */
export type Anchor = 'value' | 'key';

/** Pass as a custom zod issue's `params` to place the problem at the key rather than its value. */
export const AT_KEY: Readonly<Record<string, unknown>> = Object.freeze({ anchor: 'key' });

/** A parsed YAML file that can place a problem at the line and column of any path in it. */
export interface YamlSource {
  readonly file: string;
  /** The document as plain data: null for an empty file, undefined when it has syntax errors. */
  readonly value: unknown;
  /** YAML syntax errors (bad indentation, duplicate keys, ...); when any, `value` is undefined. */
  readonly syntaxErrors: readonly SourceProblem[];
  /**
   * A problem at `path`. A path the file does not contain (a missing key) points at
   * its nearest existing parent.
   */
  problem(path: readonly PathSegment[], message: string, anchor?: Anchor): SourceProblem;
}

const MAX_ALIAS_COUNT = 100;

export function readYaml(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: true, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number, path: string, message: string): SourceProblem => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col, path, message };
  };

  const syntaxErrors = doc.errors.map((error) => at(error.pos[0], '(yaml)', error.message));
  let value: unknown;
  if (syntaxErrors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
    } catch (error) {
      syntaxErrors.push(at(0, '(yaml)', error instanceof Error ? error.message : String(error)));
    }
  }

  return {
    file,
    value,
    syntaxErrors,
    problem: (path, message, anchor = 'value') => at(offsetOf(doc, path, anchor), formatPath(path), message),
  };
}

function rangeStart(node: unknown): number | undefined {
  return isNode(node) && node.range ? node.range[0] : undefined;
}

/** An empty value (`when:` with nothing after it) has no useful position of its own. */
function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && (node.range === undefined || node.range === null || node.range[0] === node.range[1]);
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/** Offset of the node at `path`, or of its nearest existing ancestor. */
function offsetOf(doc: Document, path: readonly PathSegment[], anchor: Anchor): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const [index, segment] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(segment));
      if (pair === undefined) break;
      const keyOffset = rangeStart(pair.key);
      if ((last && anchor === 'key') || isEmptyScalar(pair.value) || pair.value === null) return keyOffset ?? offset;
      node = pair.value;
      offset = rangeStart(node) ?? keyOffset ?? offset;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (item === undefined) break;
      node = item;
      offset = rangeStart(item) ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

/**
 * Zod issues as problems in the file. Messages in the schemas say what was
 * expected; this adds what was found (`, got "30 days"`), names missing keys, and
 * gives each unknown key its own problem at the key.
 */
export function zodProblems(
  source: YamlSource,
  issues: readonly z.core.$ZodIssue[],
  base: readonly PathSegment[] = [],
): SourceProblem[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment))];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => source.problem([...path, key], `unknown key "${key}"; ${issue.message}`, 'key'));
    }
    const anchor: Anchor = issue.code === 'custom' && issue.params?.anchor === 'key' ? 'key' : 'value';
    return [source.problem(path, issueMessage(issue), anchor)];
  });
}

function issueMessage(issue: z.core.$ZodIssue): string {
  const { message } = issue;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `missing; ${message}`;
  if (issue.code === 'custom' || !message.startsWith('expected') || message.includes(', got ')) return message;
  return `${message}, got ${describeValue(issue.input)}`;
}
