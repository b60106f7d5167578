import * as fs from 'node:fs';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { RemovalPolicy, Token } from 'aws-cdk-lib';
import type { Duration } from 'aws-cdk-lib';
import type { ConsentMode } from '../../shared';
import { formatProblem, loadSegmentationConfig, loadTagRules, SEGMENTATION_FILES } from '../../shared/segmentation';
import { MAX_SOURCES, PROFILE, SOURCE_ID_MAX_LENGTH, SOURCE_ID_PATTERN, STAGE_NAME_PATTERN } from './defaults';
import type { RapportSource, RapportThrottle } from './rapport';

/** The props of `Rapport` after defaults are applied. */
export interface ResolvedRapportProps {
  readonly stageName: string;
  readonly sources: readonly RapportSource[];
  readonly eventArchiveRetention: Duration;
  readonly removalPolicy: RemovalPolicy;
  readonly apiThrottle: RapportThrottle;
  readonly timelineRetention: Duration;
  readonly consentMode: ConsentMode;
  readonly configDir: string;
}

/** Every reason the props cannot describe a working deployment; empty when they can. */
export function findPropProblems(props: ResolvedRapportProps): string[] {
  return [
    ...stageNameProblems(props.stageName),
    ...sourceProblems(props.sources),
    ...archiveRetentionProblems(props.eventArchiveRetention),
    ...removalPolicyProblems(props.removalPolicy),
    ...throttleProblems(props.apiThrottle),
    ...timelineRetentionProblems(props.timelineRetention),
    ...consentModeProblems(props.consentMode),
    ...validateSegmentationFiles(props.configDir),
  ];
}

/** Also used by the app, to check `-c stage=...` before it becomes part of a stack name. */
export function stageNameProblems(stageName: unknown): string[] {
  if (typeof stageName !== 'string' || Token.isUnresolved(stageName) || !STAGE_NAME_PATTERN.test(stageName)) {
    return [
      `stageName ${JSON.stringify(stageName)} must be 1-32 lower-case letters, digits or hyphens, starting with a letter (it goes into stack, API and tag names)`,
    ];
  }
  return [];
}

function sourceProblems(sources: readonly RapportSource[]): string[] {
  if (!Array.isArray(sources) || sources.length === 0) {
    return ['sources must name at least one source; the ingest function rejects every request without one'];
  }
  const problems: string[] = [];
  if (sources.length > MAX_SOURCES) {
    problems.push(
      `sources has ${sources.length} entries, at most ${MAX_SOURCES} fit in the ingest function's 4 KB of environment variables`,
    );
  }
  const seen = new Set<string>();
  sources.forEach((source, index) => {
    const id: unknown = source?.id;
    if (typeof id !== 'string' || !SOURCE_ID_PATTERN.test(id) || id.length > SOURCE_ID_MAX_LENGTH) {
      problems.push(
        `sources[${index}].id ${JSON.stringify(id)} must be 1-${SOURCE_ID_MAX_LENGTH} characters of a-z, 0-9 and '-'`,
      );
      return;
    }
    if (seen.has(id)) {
      problems.push(`sources[${index}].id "${id}" is used twice; source ids must be unique`);
    }
    seen.add(id);
  });
  return problems;
}

function archiveRetentionProblems(retention: Duration): string[] {
  const days = retention.toDays({ integral: false });
  if (!Number.isInteger(days) || days < 1) {
    return [
      `eventArchiveRetention is ${retention.toHumanString()}; it must be a whole number of days, at least 1 (EventBridge would read 0 as "keep forever")`,
    ];
  }
  return [];
}

function removalPolicyProblems(policy: RemovalPolicy): string[] {
  const allowed = [RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, RemovalPolicy.DESTROY];
  if (!allowed.includes(policy)) {
    return [`removalPolicy ${String(policy)} is not supported; use RETAIN, RETAIN_ON_UPDATE_OR_DELETE or DESTROY`];
  }
  return [];
}

function throttleProblems(throttle: RapportThrottle): string[] {
  const problems: string[] = [];
  if (!(Number.isFinite(throttle.rateLimit) && throttle.rateLimit > 0)) {
    problems.push(`apiThrottle.rateLimit ${throttle.rateLimit} must be a positive number of requests per second`);
  }
  if (!(Number.isInteger(throttle.burstLimit) && throttle.burstLimit > 0)) {
    problems.push(`apiThrottle.burstLimit ${throttle.burstLimit} must be a positive whole number of requests`);
  }
  return problems;
}

function timelineRetentionProblems(retention: Duration): string[] {
  const days = retention.toDays({ integral: false });
  if (!Number.isInteger(days) || days < 1) {
    return [
      `timelineRetention is ${retention.toHumanString()}; it must be a whole number of days, at least 1 (timeline events expire by DynamoDB TTL)`,
    ];
  }
  return [];
}

function consentModeProblems(mode: unknown): string[] {
  const allowed: readonly ConsentMode[] = ['opt-out', 'opt-in'];
  if (!allowed.includes(mode as ConsentMode)) {
    return [`consentMode ${JSON.stringify(mode)} must be 'opt-out' or 'opt-in'`];
  }
  return [];
}

/**
 * The profile functions load their tag rules and segmentation settings from
 * `configDir` (copied into their bundles), so a deployment without them would
 * fail on every event. Checks that each file exists; it does not parse them yet:
 * `workflows/segmentation` has no loader to parse them with. When it has one,
 * this is the place to run it and report its errors (file:line:col message),
 * so a broken tag file never deploys.
 */
export function validateSegmentationFiles(configDir: string): string[] {
  if (!isDirectory(configDir)) {
    return [
      `configDir ${configDir} is not a folder; it must hold ${PROFILE.configFiles.join(' and ')} (the tag rules and segmentation settings the profile functions load)`,
    ];
  }
  const missing = PROFILE.configFiles
    .filter((file) => !isFile(path.join(configDir, file)))
    .map(
      (file) =>
        `configDir ${configDir} has no ${file}; the profile functions load it at start, so it must exist before a deploy (create it, or point configDir at the folder that holds it)`,
    );
  if (missing.length > 0) return missing;
  // Parse both files as the functions will at cold start: a broken tag file never deploys.
  const tagsFile = path.join(configDir, SEGMENTATION_FILES.tags);
  const configFile = path.join(configDir, SEGMENTATION_FILES.config);
  const tags = loadTagRules(fs.readFileSync(tagsFile, 'utf8'), tagsFile);
  const config = loadSegmentationConfig(fs.readFileSync(configFile, 'utf8'), configFile);
  return [...(tags.ok ? [] : tags.errors), ...(config.ok ? [] : config.errors)].map(formatProblem);
}

function isDirectory(candidate: string): boolean {
  return statSync(candidate, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function isFile(candidate: string): boolean {
  return statSync(candidate, { throwIfNoEntry: false })?.isFile() ?? false;
}
