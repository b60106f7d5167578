import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV, type ConsentMode } from '../../shared';
import {
  createSegmenter,
  loadSegmentationConfigOrThrow,
  loadTagRules,
  recentEventsSpec,
  SEGMENTATION_FILES,
  TagRulesError,
  type JourneyRetentionInput,
  type RecentEventsSpec,
  type SegmentationConfig,
  type TagRule,
} from '../../shared/segmentation';
import { loadSegmentsOrThrow, segmentRules, SEGMENTS_FILE, type NamedSegment } from '../../shared/segmentation/segments-file';
import type { Segmenter } from './consumer';

export interface ProfileConfig {
  segmenter: Segmenter;
  consentMode: ConsentMode;
  timelineRetentionDays: number;
  /** Tag names the rules define, for logs and the UI. */
  tagNames: string[];
  /** The lifecycle/RFM thresholds (journey branch conditions evaluate with them too). */
  segmentation: SegmentationConfig;
  /** The tag rules, as loaded. */
  tagRules: readonly TagRule[];
  /** The manual tags tags.yaml declares (`manualTags[].name`): with `tagNames`, the tags journeys may read besides those they add. */
  manualTags: string[];
  /** The named segments of segments.yaml (none without the file). */
  namedSegments: NamedSegment[];
}

/**
 * Load the profile functions' configuration once (cold start): tag rules and
 * segmentation thresholds from `dir` (tags.yaml, segmentation.config.yaml), and
 * consent mode and timeline retention from the environment. A broken file
 * throws with every problem as `file:line:col  message`, so nothing half-applies.
 */
export function loadProfileConfig(dir: string, env: NodeJS.ProcessEnv = process.env): ProfileConfig {
  const mode = env[ENV.CONSENT_MODE] ?? 'opt-out';
  if (mode !== 'opt-out' && mode !== 'opt-in') throw new Error(`${ENV.CONSENT_MODE} must be opt-out or opt-in, got ${JSON.stringify(mode)}`);
  const days = Number(env[ENV.TIMELINE_RETENTION_DAYS] ?? 365);
  if (!Number.isInteger(days) || days < 1) throw new Error(`${ENV.TIMELINE_RETENTION_DAYS} must be a whole number of days >= 1, got ${JSON.stringify(env[ENV.TIMELINE_RETENTION_DAYS])}`);
  const tagsFile = join(dir, SEGMENTATION_FILES.tags);
  const configFile = join(dir, SEGMENTATION_FILES.config);
  const tags = loadTagRules(readFileSync(tagsFile, 'utf8'), tagsFile);
  if (!tags.ok) throw new TagRulesError(tagsFile, tags.errors);
  const rules = tags.rules;
  const config = loadSegmentationConfigOrThrow(readFileSync(configFile, 'utf8'), configFile);
  const namedSegments = loadNamedSegments(dir);
  return {
    segmenter: createSegmenter({ config, rules, segments: segmentRules(namedSegments) }),
    namedSegments,
    consentMode: mode,
    timelineRetentionDays: days,
    tagNames: rules.map((r) => r.name),
    segmentation: config,
    tagRules: rules,
    manualTags: tags.manualTags.map((m) => m.name),
  };
}

/**
 * The named segments of `dir`'s segments.yaml, or none when there is no such file (it is optional: without it
 * there are only the built-in segments: tags, stages, tiers). A broken file throws with every problem.
 */
export function loadNamedSegments(dir: string): NamedSegment[] {
  const file = join(dir, SEGMENTS_FILE);
  return existsSync(file) ? loadSegmentsOrThrow(readFileSync(file, 'utf8'), file) : [];
}

/**
 * The recent events a profile keeps with this configuration and these journeys
 * (their goals and branch conditions): what the tag rules, the branches and the
 * goal-before-start check read. The embedded engine and the AWS profile
 * consumer both take it from here. Undefined (keep everything) when a journey
 * does not say what its branches read.
 */
export function profileRetention(config: Pick<ProfileConfig, 'tagRules' | 'namedSegments'>, journeys: readonly JourneyRetentionInput[]): RecentEventsSpec | undefined {
  return recentEventsSpec([...config.tagRules, ...segmentRules(config.namedSegments)], journeys);
}
