import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultTrackingPlan, loadTrackingPlan, TRACKING_PLAN_FILE, TrackingPlanError, type TrackingPlan } from '../../shared';

/**
 * Load `<dir>/tracking-plan.yaml` once (cold start; bundled under ./config in AWS).
 * Without the file, the default plan (nothing required, every source `flag`).
 * A broken file throws with every problem as `file:line:col  message`.
 */
export function loadTrackingPlanFile(dir: string): TrackingPlan {
  const file = join(dir, TRACKING_PLAN_FILE);
  if (!existsSync(file)) return defaultTrackingPlan();
  const result = loadTrackingPlan(readFileSync(file, 'utf8'), file);
  if (!result.ok) throw new TrackingPlanError(file, result.errors);
  return result.plan;
}
