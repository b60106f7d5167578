import { createHash, randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { EVENT_TYPES, IncomingEventSchema, MAX_NESTING_DEPTH, type EventType, type IncomingEvent, type NormalisedEvent } from './events';
import { CONTRACT_EVENT_PROPERTIES, EVENTS, RESERVED_EVENT_NAMES, isContractEvent } from './known-events';
import { defaultTrackingPlan, type PlanViolation, type TrackingPlan } from './tracking-plan';
import { checkTraits, type SenderTagPolicy } from './limits';

/** One thing wrong with one event: which event, where in it (JSONPath), and what was expected. */
export interface EventProblem {
  /** Position of the event in the request (0 for a single event). */
  index: number;
  /** JSONPath inside the event, e.g. `$.properties.revenue`. */
  path: string;
  message: string;
}

export interface NormaliseOptions {
  /** The ingest source that sent it (webhook sender or write key). */
  sourceId: string;
  /** When Rapport received the request. */
  receivedAt: Date;
  /**
   * Delivery id of the request (Standard Webhooks `webhook-id`). With it, an event
   * without messageId gets one derived from (source, delivery, index), so a
   * redelivered webhook produces the same ids and is published once.
   */
  deliveryId?: string;
  /** Type assumed when the event has none (the Segment endpoints `/v1/track` etc. imply it). */
  defaultType?: EventType;
  /** Batch-level context (Segment `/v1/batch`) merged under each event's own context. */
  envelopeContext?: Record<string, unknown>;
  /** Batch-level `sentAt`, for clock-skew correction. */
  envelopeSentAt?: string;
  /** Refuse events stamped further in the future than this (default 24 h). */
  maxFutureMs?: number;
  /** The tags an identify's `traits.tags` may hold (declared manual tags). @default none: any tag is refused */
  senderTags?: SenderTagPolicy;
  /** What known events should carry, and whether the source's violations are flagged or refused. @default the default plan (nothing required) */
  trackingPlan?: TrackingPlan;
}

const NO_SENDER_TAGS: SenderTagPolicy = { manual: new Set(), computed: new Set() };

/** An accepted event breaking the tracking plan of a `flag` source: it is published as sent, and these are recorded. */
/**
 * `anyChannel`: an `Unsubscribed` sent without a channel, written as `all`. Its sender named no channel, so
 * source permissions ask only that it may set some consent (a denial of more channels harms no customer).
 */
export type NormaliseResult = { ok: true; event: NormalisedEvent; violations: PlanViolation[]; anyChannel?: true } | { ok: false; problems: EventProblem[] };

const DAY_MS = 24 * 60 * 60 * 1000;
let fallbackPlan: TrackingPlan | undefined;

/** Validate one incoming event against the contract and turn it into the normalised form. */
export function normaliseEvent(raw: unknown, index: number, options: NormaliseOptions): NormaliseResult {
  const problem = (path: string, message: string): NormaliseResult => ({ ok: false, problems: [{ index, path, message }] });

  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return problem('$', `expected an event object, received ${describe(raw)}`);
  }
  const depthPath = findTooDeep(raw, MAX_NESTING_DEPTH);
  if (depthPath !== undefined) {
    return problem(depthPath, `nested deeper than ${MAX_NESTING_DEPTH} levels`);
  }
  // A batch's context is merged into every event's context: it must fit the same limit there.
  const envelopePath = options.envelopeContext === undefined ? undefined : findTooDeep({ context: options.envelopeContext }, MAX_NESTING_DEPTH);
  if (envelopePath !== undefined) {
    return problem(envelopePath, `nested deeper than ${MAX_NESTING_DEPTH} levels (in the batch's context, which every event of the batch takes on)`);
  }
  const input: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  if (input.type === undefined && options.defaultType !== undefined) input.type = options.defaultType;
  if (input.type === undefined) {
    return problem('$.type', `required: one of ${EVENT_TYPES.join(', ')}`);
  }

  const parsed = IncomingEventSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: toProblems(parsed.error, index, '$') };
  const e = parsed.data;

  let properties: Record<string, unknown> = (e as { properties?: Record<string, unknown> }).properties ?? {};
  const violations: PlanViolation[] = [];
  let anyChannel = false;
  if (e.type === 'track') {
    if (RESERVED_EVENT_NAMES.has(e.event)) {
      return problem('$.event', `"${e.event}" is reserved for events Rapport derives itself and cannot be sent`);
    }
    if (isContractEvent(e.event)) {
      const checked = CONTRACT_EVENT_PROPERTIES[e.event].safeParse(properties, { reportInput: true });
      if (!checked.success) return { ok: false, problems: toProblems(checked.error, index, '$.properties', `${e.event}: `) };
      properties = checked.data as Record<string, unknown>;
      if (e.event === EVENTS.UNSUBSCRIBED && properties.channel === undefined) {
        properties = { ...properties, channel: 'all' };
        anyChannel = true;
      }
    } else {
      const plan = options.trackingPlan ?? (fallbackPlan ??= defaultTrackingPlan());
      const checked = plan.check(e.event, properties);
      properties = checked.properties;
      if (!checked.ok) {
        if (plan.modeOf(options.sourceId) === 'block') return { ok: false, problems: checked.violations.map((v) => ({ index, ...v })) };
        violations.push(...checked.violations);
      }
    }
  }

  if (e.type === 'identify' && e.traits !== undefined) {
    // The whole event is refused: applying the rest of an identify whose tags or traits were cut would be a silent partial write.
    const traitProblems = checkTraits(e.traits, options.senderTags ?? NO_SENDER_TAGS);
    if (traitProblems.length > 0) return { ok: false, problems: traitProblems.map((p) => ({ index, ...p })) };
  }

  const timestamp = resolveTimestamp(e, options);
  if (timestamp.getTime() - options.receivedAt.getTime() > (options.maxFutureMs ?? DAY_MS)) {
    return problem('$.timestamp', `is more than ${Math.round((options.maxFutureMs ?? DAY_MS) / 3_600_000)} hours in the future`);
  }

  const event: NormalisedEvent = {
    specVersion: 1,
    type: e.type,
    messageId: e.messageId ?? deriveMessageId(options, index),
    ...(e.userId !== undefined && { userId: e.userId }),
    ...(e.anonymousId !== undefined && { anonymousId: e.anonymousId }),
    ...(e.type === 'track' && { event: e.event }),
    ...((e.type === 'page' || e.type === 'screen') && e.name !== undefined && { name: e.name }),
    ...((e.type === 'page' || e.type === 'screen') && e.category !== undefined && { category: e.category }),
    ...(e.type === 'group' && { groupId: e.groupId }),
    ...(e.type === 'alias' && { previousId: e.previousId }),
    properties,
    traits: (e as { traits?: Record<string, unknown> }).traits ?? {},
    context: { ...options.envelopeContext, ...e.context },
    timestamp: timestamp.toISOString(),
    receivedAt: options.receivedAt.toISOString(),
    sourceId: options.sourceId,
  };
  return { ok: true, event, violations, ...(anyChannel && { anyChannel: true as const }) };
}

/** The EventBridge `DetailType` of an event: the event name for `track`, else the capitalised type. */
export function detailTypeOf(event: Pick<NormalisedEvent, 'type' | 'event'>): string {
  if (event.type === 'track' && event.event) return event.event;
  return event.type.charAt(0).toUpperCase() + event.type.slice(1);
}

/**
 * Segment's rule: `timestamp` when given; else `originalTimestamp` corrected for
 * the sender's clock skew (receivedAt - (sentAt - originalTimestamp)); else receivedAt.
 */
function resolveTimestamp(e: IncomingEvent, options: NormaliseOptions): Date {
  if (e.timestamp) return new Date(e.timestamp);
  const sentAt = e.sentAt ?? options.envelopeSentAt;
  if (e.originalTimestamp) {
    const original = new Date(e.originalTimestamp).getTime();
    if (!sentAt) return new Date(original);
    return new Date(options.receivedAt.getTime() - (new Date(sentAt).getTime() - original));
  }
  return options.receivedAt;
}

function deriveMessageId(options: NormaliseOptions, index: number): string {
  if (options.deliveryId === undefined) return `rpt-${randomUUID()}`;
  const digest = createHash('sha256').update(`${options.sourceId}\n${options.deliveryId}\n${index}`).digest('hex');
  return `rpt-${digest.slice(0, 40)}`;
}

/** Turn zod issues into problems with JSONPath locations and messages that say what was expected. */
export function toProblems(error: z.ZodError, index: number, root: string, prefix = ''): EventProblem[] {
  return error.issues.map((issue) => ({
    index,
    path: jsonPath(root, issue.path),
    message: prefix + messageOf(issue),
  }));
}

function messageOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `required: expected ${issue.expected}`;
      return `expected ${issue.expected}, received ${describe(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, received ${describe(issue.input)}`;
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        return `expected one of ${EVENT_TYPES.join(', ')}, received ${describe(issue.input)}`;
      }
      return unionMessage(issue);
    default:
      return issue.message;
  }
}

/** A union of scalar types (e.g. an id that may be a string or a number): say which types were expected. */
function unionMessage(issue: z.core.$ZodIssueInvalidUnion): string {
  const expected = [...new Set(issue.errors.flat().flatMap((i) => (i.code === 'invalid_type' ? [i.expected] : [])))];
  if (expected.length === 0) return issue.message;
  const list = expected.join(' or ');
  return issue.input === undefined ? `required: expected ${list}` : `expected ${list}, received ${describe(issue.input)}`;
}

export function jsonPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** Iteratively find the first path nested deeper than `limit` (no recursion, so no stack overflow on hostile input). */
function findTooDeep(root: object, limit: number): string | undefined {
  const stack: Array<{ value: unknown; depth: number; path: PropertyKey[] }> = [{ value: root, depth: 0, path: [] }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > limit) return jsonPath('$', path);
    if (Array.isArray(value)) value.forEach((v, i) => stack.push({ value: v, depth: depth + 1, path: [...path, i] }));
    else for (const [k, v] of Object.entries(value)) stack.push({ value: v, depth: depth + 1, path: [...path, k] });
  }
  return undefined;
}
