/**
 * What a change to the journeys does, before it ships (`rapport plan`): journeys added, removed and changed,
 * and for a changed one its steps added, removed and changed, the other settings that changed (trigger, goals,
 * exits, audience, entry, send policy, attribution) and the templates whose files changed. Pure: the command
 * reads both sides and the engine.
 */
import { templatesOfJourney, type Journey, type Step } from '../../workflows/journeys';

/** The journey settings besides its steps that a plan names when they change. */
export const PLANNED_SETTINGS = ['trigger', 'audience', 'entry', 'send_policy', 'goals', 'exits', 'attribution'] as const;

export interface JourneyPlan {
  id: string;
  change: 'added' | 'removed' | 'changed';
  from?: number;
  to?: number;
  steps: { added: string[]; removed: string[]; changed: string[] };
  settings: string[];
  templates: string[];
  /** Its steps changed but its version did not: running customers could not be told apart from new ones by version. */
  versionNotBumped: boolean;
}

/** JSON with keys sorted at every level: equal values give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A step as it behaves: its definition and, where it names no next step, the step after it (where it goes on to). */
const stepShape = (steps: readonly Step[], i: number) => canonical({ step: steps[i], after: steps[i + 1]?.id ?? null });

/**
 * The plan from `base` to `head` (journeys by id), in id order; only journeys with a change. `templateChanged`
 * says whether a template's files (every channel and locale) differ between the two sides.
 */
export function planJourneys(base: ReadonlyMap<string, Journey>, head: ReadonlyMap<string, Journey>, templateChanged: (name: string) => boolean): JourneyPlan[] {
  const plans: JourneyPlan[] = [];
  for (const id of [...new Set([...base.keys(), ...head.keys()])].sort()) {
    const before = base.get(id);
    const after = head.get(id);
    const none = { added: [], removed: [], changed: [] };
    if (!before && after) {
      plans.push({ id, change: 'added', to: after.version, steps: { ...none, added: after.steps.map((s) => s.id) }, settings: [], templates: [], versionNotBumped: false });
      continue;
    }
    if (before && !after) {
      plans.push({ id, change: 'removed', from: before.version, steps: { ...none, removed: before.steps.map((s) => s.id) }, settings: [], templates: [], versionNotBumped: false });
      continue;
    }
    if (!before || !after) continue;
    const beforeSteps = new Map(before.steps.map((s, i) => [s.id, stepShape(before.steps, i)]));
    const afterSteps = new Map(after.steps.map((s, i) => [s.id, stepShape(after.steps, i)]));
    const steps = {
      added: after.steps.map((s) => s.id).filter((s) => !beforeSteps.has(s)),
      removed: before.steps.map((s) => s.id).filter((s) => !afterSteps.has(s)),
      changed: after.steps.map((s) => s.id).filter((s) => beforeSteps.has(s) && beforeSteps.get(s) !== afterSteps.get(s)),
    };
    const settings = PLANNED_SETTINGS.filter((key) => canonical(before[key]) !== canonical(after[key]));
    const templates = templatesOfJourney(after).filter((name) => templatesOfJourney(before).includes(name) && templateChanged(name));
    const stepsChanged = steps.added.length + steps.removed.length + steps.changed.length > 0;
    if (!stepsChanged && settings.length === 0 && templates.length === 0 && before.version === after.version) continue;
    plans.push({ id, change: 'changed', from: before.version, to: after.version, steps, settings: [...settings], templates, versionNotBumped: stepsChanged && before.version === after.version });
  }
  return plans;
}
