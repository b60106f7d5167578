import type { LifecycleStage, Profile, Rfm } from '../profile';
import type { SegmentationConfig } from './config';
import { evaluateTags } from './evaluate';
import { evaluateLifecycle } from './lifecycle';
import { evaluateRfm } from './rfm';
import type { TagRule } from './tag-rules';
import { earliest, instant, isoAt } from './time';

/** What segmentation needs, loaded once (cold start): the thresholds and the tag rules. */
export interface SegmentationSetup {
  readonly config: SegmentationConfig;
  readonly rules: readonly TagRule[];
  /** The named segments' conditions (segments.yaml, `segmentRules`): name = segment id. */
  readonly segments?: readonly TagRule[];
}

/** Everything segmentation computes for a profile at an instant. */
export interface Segmentation {
  lifecycleStage: LifecycleStage;
  rfm: Rfm;
  /** Sorted. */
  computedTags: string[];
  /** The named segments whose condition holds. Sorted. */
  namedSegments: string[];
  /** The earliest instant after `now` at which any of the above could change without a new event. */
  nextChangeAt?: string;
}

/** Lifecycle stage, RFM and computed tags of a profile at `now`, in one call. Pure. */
export function segment(profile: Profile, setup: SegmentationSetup, now: Date): Segmentation {
  const lifecycle = evaluateLifecycle(profile, setup.config, now);
  const rfm = evaluateRfm(profile, setup.config, now);
  const tags = evaluateTags(setup.rules, profile, now, setup.config);
  const named = evaluateTags(setup.segments ?? [], profile, now, setup.config);
  const next = earliest(instant(lifecycle.nextChangeAt), instant(rfm.nextChangeAt), instant(tags.nextChangeAt), instant(named.nextChangeAt));
  return {
    lifecycleStage: lifecycle.stage,
    rfm: rfm.rfm,
    computedTags: tags.tags,
    namedSegments: named.tags,
    ...(next !== undefined && { nextChangeAt: isoAt(next) }),
  };
}

/** `segment` bound to a setup: the `(profile, now) => Segmentation` the profile consumer and sweep call. */
export function createSegmenter(setup: SegmentationSetup): (profile: Profile, now: Date) => Segmentation {
  return (profile, now) => segment(profile, setup, now);
}
