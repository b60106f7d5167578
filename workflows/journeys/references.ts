/**
 * Trigger references: `"{{ trigger.complaintId }}"` in a step's config stands
 * for a property of the event that started the run. The compiler leaves them
 * as they are; the step Lambda substitutes them from the execution's trigger.
 */
import type { PathSegment } from './errors';

export const TRIGGER_REFERENCE = /^\{\{\s*trigger\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;
/** `trigger.x` anywhere in a Liquid template. */
const TEMPLATE_TRIGGER_REFERENCE = /\btrigger\.([A-Za-z_][A-Za-z0-9_]*)/g;

export interface ValueProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
  /** Point at the key rather than the value. */
  readonly key?: boolean;
}

/** Property names referenced as `"{{ trigger.x }}"` anywhere in `value`. */
export function triggerReferences(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    const match = TRIGGER_REFERENCE.exec(value);
    if (match) out.add(match[1]!);
  } else if (Array.isArray(value)) {
    for (const item of value) triggerReferences(item, out);
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) triggerReferences(item, out);
  }
  return out;
}

/** Property names a Liquid template reads as `trigger.x`. */
export function templateTriggerReferences(source: string): Set<string> {
  return new Set(Array.from(source.matchAll(TEMPLATE_TRIGGER_REFERENCE), (m) => m[1]!));
}

/**
 * Problems with the strings and keys in `value`: a `{{` that is not exactly one
 * trigger reference (or any reference, where references are not allowed), and
 * keys ending in `.$`, which Step Functions would read as a JSONPath.
 */
export function valueProblems(value: unknown, path: readonly PathSegment[], referencesAllowed: boolean): ValueProblem[] {
  const problems: ValueProblem[] = [];
  const walk = (v: unknown, at: readonly PathSegment[]): void => {
    if (typeof v === 'string') {
      if (!v.includes('{{')) return;
      if (!referencesAllowed) {
        problems.push({ path: at, message: 'trigger references ("{{ trigger.x }}") are only allowed in wait_for.where and update.value; here expected a literal value' });
      } else if (!TRIGGER_REFERENCE.test(v)) {
        problems.push({ path: at, message: `expected a literal value or exactly one trigger reference such as "{{ trigger.complaintId }}", got ${JSON.stringify(v)}` });
      }
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, [...at, i]));
    } else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        if (key.endsWith('.$')) {
          problems.push({ path: [...at, key], key: true, message: `a property name may not end in ".$" (Step Functions would read the value as a path): ${JSON.stringify(key)}` });
        }
        walk(item, [...at, key]);
      }
    }
  };
  walk(value, path);
  return problems;
}

/** `tag[0]`, `$or[1].source` (pattern-validator paths) -> path segments. */
export function parsePatternPath(path: string): PathSegment[] {
  if (path === '(root)' || path === '') return [];
  return Array.from(path.matchAll(/\[(\d+)\]|([^.[\]]+)/g), (m) => (m[1] !== undefined ? Number(m[1]) : m[2]!));
}
