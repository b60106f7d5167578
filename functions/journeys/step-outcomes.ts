import { FALLBACK_REASONS, FALLBACK_SUFFIX } from './steps';

/** What a send step did for its customers, as a funnel shows it: sent, skipped and deferred by reason. */
export interface StepOutcomes {
  sent: number;
  skipped: Record<string, number>;
  deferred: Record<string, number>;
}

/**
 * A step's outcomes from its journey's counters (`<step>.sent`, `<step>.skipped.<reason>`, `<step>.deferred.<reason>`).
 * A send with a fallback channel counts what the fallback did too (`<step>.fallback.*`): its sends are the step's,
 * a first-channel skip it followed is not an outcome (the fallback's is), and its own skips and deferrals are shown
 * as `<reason> (fallback)`. The one reading of the counters for `rapport simulate` and the demo.
 */
export function stepOutcomes(counters: Readonly<Record<string, number>>, stepId: string, hasFallback = false): StepOutcomes {
  const byPrefix = (prefix: string, keep: (reason: string) => boolean = () => true, label: (reason: string) => string = (r) => r) =>
    Object.fromEntries(Object.entries(counters).flatMap(([k, n]) => (k.startsWith(prefix) && keep(k.slice(prefix.length)) && n !== 0 ? [[label(k.slice(prefix.length)), n]] : [])));
  if (!hasFallback) return { sent: counters[`${stepId}.sent`] ?? 0, skipped: byPrefix(`${stepId}.skipped.`), deferred: byPrefix(`${stepId}.deferred.`) };
  const fallback = `${stepId}${FALLBACK_SUFFIX}`;
  const viaFallback = (reason: string) => `${reason} (fallback)`;
  return {
    sent: (counters[`${stepId}.sent`] ?? 0) + (counters[`${fallback}.sent`] ?? 0),
    skipped: { ...byPrefix(`${stepId}.skipped.`, (r) => !FALLBACK_REASONS.has(r)), ...byPrefix(`${fallback}.skipped.`, undefined, viaFallback) },
    deferred: { ...byPrefix(`${stepId}.deferred.`), ...byPrefix(`${fallback}.deferred.`, undefined, viaFallback) },
  };
}
