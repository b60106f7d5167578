import { SegmentationFileError, sortProblems, type SourceProblem } from '../segmentation/errors';
import { readYaml, zodProblems } from '../segmentation/yaml-source';
import { RESERVED_EVENT_NAMES } from './known-events';
import { compileTrackingPlan, RESERVED_MESSAGE, TrackingPlanFileSchema, type TrackingPlan, type TrackingPlanFile } from './tracking-plan';

export type TrackingPlanResult = { ok: true; file: TrackingPlanFile; plan: TrackingPlan } | { ok: false; errors: SourceProblem[] };

/** Thrown when tracking-plan.yaml does not load; every problem as `file:line:col  path: message`. */
export class TrackingPlanError extends SegmentationFileError {
  constructor(file: string, errors: readonly SourceProblem[]) {
    super('Tracking plan', file, errors);
    this.name = 'TrackingPlanError';
  }
}

/**
 * Reads tracking-plan.yaml text: YAML syntax, then its shape (zod), each problem
 * placed at its line and column. All or nothing: a file with any error yields
 * every error found and no plan. An empty file is the empty plan (nothing checked).
 */
export function loadTrackingPlan(text: string, file: string): TrackingPlanResult {
  const source = readYaml(text, file);
  if (source.syntaxErrors.length > 0) return { ok: false, errors: [...source.syntaxErrors] };
  const parsed = TrackingPlanFileSchema.safeParse(source.value ?? {}, { reportInput: true });
  if (!parsed.success) {
    // The schema checks reserved names only once the rest is valid: name them with the other problems.
    const events = (source.value as { events?: unknown } | null)?.events;
    const reserved = typeof events === 'object' && events !== null ? Object.keys(events).filter((name) => RESERVED_EVENT_NAMES.has(name)) : [];
    const issues = parsed.error.issues.filter((i) => !(i.path[0] === 'events' && reserved.includes(String(i.path[1])) && i.code === 'custom'));
    const named = reserved.map((name) => source.problem(['events', name], RESERVED_MESSAGE, 'key'));
    return { ok: false, errors: sortProblems([...zodProblems(source, issues), ...named]) };
  }
  const errors = parsed.data.events === undefined ? [] : boundsProblems(parsed.data, (path, message) => source.problem(path, message));
  if (errors.length > 0) return { ok: false, errors: sortProblems(errors) };
  return { ok: true, file: parsed.data, plan: compileTrackingPlan(parsed.data) };
}

/** Meaning after shape: bounds that fit the property's type, min <= max. */
function boundsProblems(plan: TrackingPlanFile, problem: (path: Array<string | number>, message: string) => SourceProblem): SourceProblem[] {
  const out: SourceProblem[] = [];
  for (const [event, rule] of Object.entries(plan.events ?? {})) {
    for (const [name, p] of Object.entries(rule.properties ?? {})) {
      const at = ['events', event, 'properties', name];
      const numeric = p.type === 'number' || p.type === 'integer' || p.type === 'money';
      if ((p.min !== undefined || p.max !== undefined) && !numeric) out.push(problem([...at, p.min !== undefined ? 'min' : 'max'], `min and max apply to type number, integer or money, not ${p.type ?? 'an untyped property'}`));
      if (p.min !== undefined && p.max !== undefined && p.min > p.max) out.push(problem([...at, 'max'], `expected max >= min (${p.min}), got ${p.max}`));
      if (p.maxLength !== undefined && p.type !== 'string') out.push(problem([...at, 'maxLength'], `maxLength applies to type string, not ${p.type ?? 'an untyped property'}`));
    }
  }
  return out;
}
