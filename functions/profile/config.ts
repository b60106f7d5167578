import { ENV, type ConsentMode } from '../../shared';
import type { Segmenter } from './consumer';

export interface ProfileConfig {
  segmenter: Segmenter;
  consentMode: ConsentMode;
  timelineRetentionDays: number;
}

/** PENDING: replaced by the workflows/segmentation loader. */
export function loadProfileConfig(_dir: string, env: NodeJS.ProcessEnv = process.env): ProfileConfig {
  const mode = env[ENV.CONSENT_MODE] ?? 'opt-out';
  if (mode !== 'opt-out' && mode !== 'opt-in') throw new Error(`${ENV.CONSENT_MODE} must be opt-out or opt-in, got ${JSON.stringify(mode)}`);
  const days = Number(env[ENV.TIMELINE_RETENTION_DAYS] ?? 365);
  if (!Number.isInteger(days) || days < 1) throw new Error(`${ENV.TIMELINE_RETENTION_DAYS} must be a whole number of days >= 1`);
  return { segmenter: (p) => ({ lifecycleStage: p.lifecycleStage, rfm: p.rfm, computedTags: p.computedTags }), consentMode: mode, timelineRetentionDays: days };
}
