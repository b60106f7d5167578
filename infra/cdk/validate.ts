import * as fs from 'node:fs';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { RemovalPolicy, Token } from 'aws-cdk-lib';
import type { Duration } from 'aws-cdk-lib';
import { parseBroadcastRates, type BroadcastRates } from '../../shared/broadcasts/rates';
import { loadTopics, loadTrackingPlan, NO_TOPICS, ONE_CLICK_SOURCE_ID, TOPICS_FILE, topicsOf, TRACKING_PLAN_FILE, type ConsentMode, type Topics } from '../../shared';
import { formatProblem, loadSegmentationConfig, loadSegments, loadTagRules, SEGMENTATION_FILES, SEGMENTS_FILE } from '../../shared/segmentation';
import { JOURNEYS, MAX_SOURCES, PROFILE, REDELIVERY_DAYS, requiredTombstoneDays, SOURCE_ID_MAX_LENGTH, SOURCE_ID_PATTERN, STAGE_NAME_PATTERN, WEBHOOK_NAME_PATTERN } from './defaults';
import type { RapportEmail, RapportOutboundWebhook, RapportSendPolicy, RapportSms, RapportSource, RapportThrottle } from './rapport';

/** The props of `Rapport` after defaults are applied. */
export interface ResolvedRapportProps {
  readonly stageName: string;
  readonly sources: readonly RapportSource[];
  readonly eventArchiveRetention: Duration;
  readonly erasureTombstoneRetention: Duration;
  readonly removalPolicy: RemovalPolicy;
  readonly apiThrottle: RapportThrottle;
  readonly timelineRetention: Duration;
  readonly consentMode: ConsentMode;
  readonly configDir: string;
  readonly email: RapportEmail;
  readonly sms?: RapportSms;
  readonly outboundWebhooks: Readonly<Record<string, RapportOutboundWebhook>>;
  readonly sendPolicy: Required<RapportSendPolicy>;
  readonly alarmEmail?: string;
  readonly broadcastRates?: BroadcastRates;
  readonly journeyStacks: number;
}

/** Every reason the props cannot describe a working deployment; empty when they can. */
export function findPropProblems(props: ResolvedRapportProps): string[] {
  return [
    ...stageNameProblems(props.stageName),
    ...sourceProblems(props.sources),
    ...archiveRetentionProblems(props.eventArchiveRetention),
    ...tombstoneProblems(props.erasureTombstoneRetention, props.eventArchiveRetention),
    ...removalPolicyProblems(props.removalPolicy),
    ...throttleProblems(props.apiThrottle),
    ...timelineRetentionProblems(props.timelineRetention),
    ...consentModeProblems(props.consentMode),
    ...emailProblems(props.email),
    ...smsProblems(props.sms),
    ...outboundWebhookProblems(props.outboundWebhooks),
    ...sendPolicyProblems(props.sendPolicy),
    ...alarmEmailProblems(props.alarmEmail),
    ...broadcastRateProblems(props.broadcastRates),
    ...journeyStacksProblems(props.journeyStacks),
    ...validateSegmentationFiles(props.configDir),
  ];
}

/** `journeyStacks`: a whole number of stacks, 1 (every journey in the parent) to `JOURNEYS.maxJourneyStacks`. */
export function journeyStacksProblems(journeyStacks: unknown): string[] {
  if (typeof journeyStacks === 'number' && Number.isInteger(journeyStacks) && journeyStacks >= 1 && journeyStacks <= JOURNEYS.maxJourneyStacks) return [];
  return [
    `journeyStacks ${JSON.stringify(journeyStacks)} must be a whole number from 1 (every journey in the stack itself) to ${JOURNEYS.maxJourneyStacks} (nested stacks holding the journeys' own resources)`,
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

/** Bytes of RAPPORT_SOURCES per source without lists (id and secret ARN), and what the variable may take in all. */
const SOURCE_ENV_BYTES = 150;
const SOURCES_ENV_MAX_BYTES = 3_000;

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
    if (id === ONE_CLICK_SOURCE_ID) {
      problems.push(`sources[${index}].id "${id}" is reserved: it is the source of Rapport's own one-click unsubscribe link and preference page; choose another id`);
    }
    seen.add(id);
    for (const field of ['events', 'traits'] as const) {
      const list: unknown = source[field];
      if (list !== undefined && (!Array.isArray(list) || !list.every((name) => typeof name === 'string' && name.length > 0))) {
        problems.push(`sources[${index}].${field} must be a list of non-empty names (absent: everything is allowed)`);
      }
    }
  });
  // The lists share the ingest function's 4 KB of environment variables with the secrets' ARNs (~150 bytes each).
  const listBytes = sources.reduce((sum, { events, traits }) => sum + (events !== undefined || traits !== undefined ? Buffer.byteLength(JSON.stringify({ events, traits })) : 0), 0);
  if (listBytes > 0 && sources.length * SOURCE_ENV_BYTES + listBytes > SOURCES_ENV_MAX_BYTES + SOURCE_ENV_BYTES) {
    problems.push(
      `sources' events and traits lists take ${listBytes} bytes; with the secrets' ARNs they must fit ${SOURCES_ENV_MAX_BYTES} bytes of the ingest function's 4 KB of environment variables`,
    );
  }
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

function tombstoneProblems(tombstone: Duration, archive: Duration): string[] {
  const required = requiredTombstoneDays(archive);
  if (tombstone.toDays({ integral: false }) < required) {
    return [
      `erasureTombstoneRetention is ${tombstone.toHumanString()}; it must be at least eventArchiveRetention (${archive.toHumanString()}) + ${REDELIVERY_DAYS} days of redelivery (EventBridge 24 h, Lambda async 6 h, dead-letter queue 14 days, plus a day) = ${required} days, or a replayed or redelivered event re-creates an erased customer`,
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

/** A plain address (no display name): SES identity ARNs and the `ses:FromAddress` condition are built from it. */
const EMAIL_ADDRESS = /^[^\s@<>"]+@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$/i;
const CONFIGURATION_SET_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const ORIGINATION_IDENTITY_ARN = /^arn:aws[a-z-]*:sms-voice:[a-z0-9-]+:\d{12}:(?:phone-number|pool|sender-id)\/\S+$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+-[A-Za-z0-9]{6}$/;
const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;
/** Each outbound webhook adds about 200 bytes (name, URL, secret ARN) to the step function's 4 KB of environment variables. */
export const MAX_OUTBOUND_WEBHOOKS = 10;

const literal = (value: unknown): value is string => typeof value === 'string' && !Token.isUnresolved(value);

function emailProblems(email: RapportEmail | undefined): string[] {
  if (email === undefined || email === null) return ['email is required: journeys send email through SES from email.fromAddress'];
  const problems: string[] = [];
  if (!literal(email.fromAddress) || !EMAIL_ADDRESS.test(email.fromAddress)) {
    problems.push(
      `email.fromAddress ${JSON.stringify(email.fromAddress)} must be a plain email address (no display name), such as news@shop.example; it or its domain must be a verified SES identity`,
    );
  }
  if (email.configurationSet !== undefined && (!literal(email.configurationSet) || !CONFIGURATION_SET_NAME.test(email.configurationSet))) {
    problems.push(`email.configurationSet ${JSON.stringify(email.configurationSet)} must be an SES configuration set name: 1-64 letters, digits, '_' or '-'`);
  }
  return problems;
}

function broadcastRateProblems(rates: unknown): string[] {
  if (rates === undefined) return [];
  try {
    parseBroadcastRates(rates, 'broadcastRates');
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

function alarmEmailProblems(alarmEmail: unknown): string[] {
  if (alarmEmail === undefined) return [];
  if (literal(alarmEmail) && EMAIL_ADDRESS.test(alarmEmail)) return [];
  return [`alarmEmail ${JSON.stringify(alarmEmail)} must be a plain email address, such as oncall@shop.example (SNS e-mails the alarms there)`];
}

function smsProblems(sms: RapportSms | undefined): string[] {
  if (sms === undefined) return [];
  const identity: unknown = sms.originationIdentity;
  if (typeof identity === 'string' && (Token.isUnresolved(identity) || ORIGINATION_IDENTITY_ARN.test(identity))) return [];
  return [
    `sms.originationIdentity ${JSON.stringify(identity)} must be the ARN of an End User Messaging phone number, pool or sender id (arn:aws:sms-voice:<region>:<account>:phone-number/...), so the step function may send from it alone`,
  ];
}

function outboundWebhookProblems(webhooks: Readonly<Record<string, RapportOutboundWebhook>>): string[] {
  const entries = Object.entries(webhooks ?? {});
  const problems: string[] = [];
  if (entries.length > MAX_OUTBOUND_WEBHOOKS) {
    problems.push(`outboundWebhooks has ${entries.length} entries, at most ${MAX_OUTBOUND_WEBHOOKS} fit in the step function's 4 KB of environment variables`);
  }
  for (const [name, webhook] of entries) {
    if (!WEBHOOK_NAME_PATTERN.test(name)) {
      problems.push(`outboundWebhooks "${name}": names are kebab-case (lower-case letters, digits, single hyphens), as journeys refer to them (webhook.target)`);
    }
    const url: unknown = webhook?.url;
    if (!(typeof url === 'string' && (Token.isUnresolved(url) || isHttpsUrl(url)))) {
      problems.push(`outboundWebhooks "${name}".url ${JSON.stringify(url)} must be an https:// URL: the posts carry customer data`);
    }
    const secretArn: unknown = webhook?.secretArn;
    if (secretArn !== undefined && !(typeof secretArn === 'string' && (Token.isUnresolved(secretArn) || SECRET_ARN.test(secretArn)))) {
      problems.push(
        `outboundWebhooks "${name}".secretArn ${JSON.stringify(secretArn)} must be the complete ARN of a Secrets Manager secret (ending in its 6-character suffix), or be left out to have one generated`,
      );
    }
  }
  return problems;
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

function sendPolicyProblems(policy: Required<RapportSendPolicy>): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(policy.frequencyCap) || policy.frequencyCap < 0) {
    problems.push(`sendPolicy.frequencyCap ${policy.frequencyCap} must be a whole number of marketing messages, 0 or more`);
  }
  if (!Number.isInteger(policy.frequencyWindowDays) || policy.frequencyWindowDays < 1 || policy.frequencyWindowDays > 365) {
    problems.push(`sendPolicy.frequencyWindowDays ${policy.frequencyWindowDays} must be a whole number of days from 1 to 365`);
  }
  if (!Number.isInteger(policy.frequencyCapMaxDelayDays) || policy.frequencyCapMaxDelayDays < 0 || policy.frequencyCapMaxDelayDays > 30) {
    problems.push(`sendPolicy.frequencyCapMaxDelayDays ${policy.frequencyCapMaxDelayDays} must be a whole number of days from 0 to 30`);
  }
  const quiet = policy.quietHours;
  if (quiet !== false) {
    if (!CLOCK.test(String(quiet?.start)) || !CLOCK.test(String(quiet?.end))) {
      problems.push(`sendPolicy.quietHours ${JSON.stringify(quiet)} must be { start, end } with times of day like "21:00" and "08:00", or false for none`);
    } else if (quiet.start === quiet.end) {
      problems.push(`sendPolicy.quietHours starts and ends at ${quiet.start}; use false for no quiet hours`);
    }
  }
  if (!isTimeZone(policy.defaultTimeZone)) {
    problems.push(`sendPolicy.defaultTimeZone ${JSON.stringify(policy.defaultTimeZone)} must be an IANA time zone, such as Europe/Berlin or UTC`);
  }
  return problems;
}

function isTimeZone(value: unknown): boolean {
  if (typeof value !== 'string' || value === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
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
  // The ingest's tracking plan, when there is one (without it the default plan applies).
  const planFile = path.join(configDir, TRACKING_PLAN_FILE);
  const plan = isFile(planFile) ? loadTrackingPlan(fs.readFileSync(planFile, 'utf8'), planFile) : undefined;
  // Named segments, when there are: a broken file never deploys either.
  const segmentsFile = path.join(configDir, SEGMENTS_FILE);
  const segments = isFile(segmentsFile) ? loadSegments(fs.readFileSync(segmentsFile, 'utf8'), segmentsFile) : undefined;
  // Subscription topics, when declared: journeys are checked against them (knownTopics), the ingest's preference page lists them.
  const topicsFile = path.join(configDir, TOPICS_FILE);
  const topics = isFile(topicsFile) ? loadTopics(fs.readFileSync(topicsFile, 'utf8'), topicsFile) : undefined;
  return [
    ...(tags.ok ? [] : tags.errors),
    ...(config.ok ? [] : config.errors),
    ...(plan === undefined || plan.ok ? [] : plan.errors),
    ...(segments === undefined || segments.ok ? [] : segments.errors),
    ...(topics === undefined || topics.ok ? [] : topics.errors),
  ].map(formatProblem);
}

/**
 * The tags journeys may read besides those they add, from `configDir`'s tags.yaml as
 * the profile functions load it: the rules' names and the declared manual tags.
 * Undefined when the file is missing or broken (`validateSegmentationFiles` reports that).
 */
export function knownTags(configDir: string): { rules: string[]; manual: string[] } | undefined {
  const tagsFile = path.join(configDir, SEGMENTATION_FILES.tags);
  if (!isFile(tagsFile)) return undefined;
  const tags = loadTagRules(fs.readFileSync(tagsFile, 'utf8'), tagsFile);
  return tags.ok ? { rules: tags.rules.map((r) => r.name), manual: tags.manualTags.map((m) => m.name) } : undefined;
}

/**
 * The declared subscription topics, from `configDir`'s topics.yaml: none when it is absent (every `topic:` then
 * fails synth), undefined when it is broken (`validateSegmentationFiles` reports that).
 */
export function knownTopics(configDir: string): Topics | undefined {
  const file = path.join(configDir, TOPICS_FILE);
  if (!isFile(file)) return NO_TOPICS;
  const result = loadTopics(fs.readFileSync(file, 'utf8'), file);
  return result.ok ? topicsOf(result.topics) : undefined;
}

function isDirectory(candidate: string): boolean {
  return statSync(candidate, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function isFile(candidate: string): boolean {
  return statSync(candidate, { throwIfNoEntry: false })?.isFile() ?? false;
}
