import { TextDecoder } from 'node:util';
import {
  BatchEnvelopeSchema,
  normaliseEvent,
  toBusEntry,
  busEntrySize,
  PUT_EVENTS_MAX_BYTES,
  PRECEDED_BY_MAX,
  toProblems,
  systemClock,
  type Clock,
  type EventProblem,
  type EventType,
  type NormalisedEvent,
  type SenderTagPolicy,
  type TrackingPlan,
} from '../../shared';
import { aliasProblems, type IdentityResolver } from './aliases';
import { recordHolds, type ConsentHolds } from './consent';
import { ingestClaimKey, type EventDeduplicator } from './dedupe';
import { EVENTS, mapLimit, publishEntries, type ConsentMode, type PutEvents, type Topics } from '../../shared';
import { verifyWebhook, WebhookVerificationError } from './signature';
import { permissionProblems } from './permissions';
import type { SourceCredentials, SourceProvider } from './sources';
import { PREFERENCES_PATH, UNSUBSCRIBE_PATH, type UnsubscribeKeyProvider } from '../journeys/unsubscribe';
import { handlePreferences, type PreferenceProfiles } from './preferences';
import { handleUnsubscribe } from './unsubscribe';
import type { ViolationLog, ViolationRecord } from './violations';

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A request as the ingest service sees it: lower-case header names, the raw body bytes. */
export interface IngestRequest {
  method: string;
  path: string;
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
}

export interface IngestResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** What the ingest path counts, for metrics. */
export interface IngestObserver {
  accepted(count: number, sourceId: string): void;
  duplicates(count: number, sourceId: string): void;
  rejected(count: number, reason: string): void;
  putEventsCalls(count: number): void;
  publishFailed(count: number): void;
  /** Accepted events that broke the tracking plan of a `flag` source. */
  violations(count: number, sourceId: string): void;
  /** The violations could not be recorded (the events were accepted). */
  violationsNotRecorded(count: number, error: unknown): void;
  /** A source disabled by its configuration, with the reason: once per load of the sources that finds it so. */
  sourceDisabled(sourceId: string, reason: string): void;
  /** A request refused because its source (or, for a write key no source claims, maybe this one) is disabled: once per such request. */
  sourceMisconfigured(sourceId: string, reason: string): void;
}

export interface IngestDeps {
  sources: SourceProvider;
  dedupe: EventDeduplicator;
  putEvents: PutEvents;
  /** Which tags an identify's `traits.tags` may hold (tags.yaml's `manualTags`); any other is refused with a 400. */
  senderTags: SenderTagPolicy;
  /** The engine's clock: receipt times (and so default event times). */
  clock: Clock;
  /** Wall-clock time for signature freshness, whatever the journey clock's scale. @default systemClock */
  signatureClock?: Clock;
  eventBusName?: string;
  observer?: IngestObserver;
  /** How long a claim stays locked if this process dies mid-request. @default 30000 */
  claimLockMs?: number;
  /** Retries of PutEvents per entry. */
  publish?: { maxAttempts?: number; baseDelayMs?: number };
  /** Keys that verify one-click unsubscribe links (any of them; see journeys/unsubscribe.ts); without them `/v1/unsubscribe` answers 404. */
  unsubscribeKeys?: UnsubscribeKeyProvider;
  /**
   * Where consent denials are recorded before the answer (the profile table), so
   * the send step honours them from the instant the sender (or the customer on the
   * one-click page) is told they took effect. Without it, denials wait for the profile consumer.
   */
  consentHolds?: ConsentHolds;
  /**
   * The preference page (`/v1/preferences`, signed with `unsubscribeKeys`): the declared topics it lists, the consent
   * mode their defaults are read in, and the profiles it reads the customer's state from. Without it (or without the
   * keys) the path answers 404.
   */
  preferences?: { topics: Topics; consentMode: ConsentMode; profiles: PreferenceProfiles };
  /** What known events should carry, and each source's mode (flag or block). @default the default plan */
  trackingPlan?: TrackingPlan;
  /** Where the violations of flagged events are recorded, for `GET /v1/tracking-plan/violations`. */
  violations?: ViolationLog;
  /**
   * The joins of earlier aliases (the profile table's forwarding records): an alias that would close a
   * cycle is refused (400, naming `previousId`). Without it only an id aliased to itself is refused.
   */
  identities?: IdentityResolver;
}

/**
 * A consent change for a topic workflows/topics.yaml does not declare is refused (400 naming `properties.topic`):
 * no message is ever sent on such a topic, and a profile keeps consent for at most TOPIC_CONSENT_MAX topics a
 * channel, so undeclared ones would only take the places of the customer's real choices.
 */
function undeclaredTopic(topics: Topics | undefined, event: NormalisedEvent, index: number): EventProblem[] {
  const topic = event.properties.topic;
  if (topics === undefined || event.type !== 'track' || (event.event !== EVENTS.SUBSCRIBED && event.event !== EVENTS.UNSUBSCRIBED) || typeof topic !== 'string') return [];
  if (topics.get(topic) !== undefined) return [];
  const declared = topics.list.map((t) => t.id);
  return [{ index, path: '$.properties.topic', message: `unknown topic ${JSON.stringify(topic)}; workflows/topics.yaml declares ${declared.length > 0 ? declared.join(', ') : 'none'}` }];
}

/** `/v1/<type>` endpoints of the Segment HTTP Tracking API and the event type each implies. */
const SEGMENT_SINGLE: Readonly<Record<string, EventType>> = {
  '/v1/track': 'track',
  '/v1/identify': 'identify',
  '/v1/page': 'page',
  '/v1/screen': 'screen',
  '/v1/group': 'group',
  '/v1/alias': 'alias',
};
export const WEBHOOK_PATH = '/v1/events';
export const SEGMENT_BATCH_PATH = '/v1/batch';
export const INGEST_PATHS = [WEBHOOK_PATH, SEGMENT_BATCH_PATH, ...Object.keys(SEGMENT_SINGLE), UNSUBSCRIBE_PATH, PREFERENCES_PATH] as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const noop = () => undefined;
const silentObserver: IngestObserver = {
  accepted: noop,
  duplicates: noop,
  rejected: noop,
  putEventsCalls: noop,
  publishFailed: noop,
  violations: noop,
  violationsNotRecorded: noop,
  sourceDisabled: noop,
  sourceMisconfigured: noop,
};

/** A valid event of the request, with the tracking plan violations it was accepted with. */
/**
 * Name on each event the same customer's earlier events of this request (`precededBy`), so the journey enrolment
 * waits for them (an identify sent with its Signed Up): EventBridge delivers the entries in no order. Left off an
 * event the list would push over the bus entry limit.
 */
function stampPrecededBy(items: ValidItem[], eventBusName: string | undefined): void {
  const earlier = new Map<string, string[]>();
  // `items` are in request order (validated in order; refused aliases only filtered out).
  for (const item of items) {
    const { userId } = item.event;
    if (userId === undefined) continue;
    const before = earlier.get(userId) ?? [];
    if (before.length > 0) {
      const stamped = { ...item.event, precededBy: before.slice(-PRECEDED_BY_MAX) };
      if (busEntrySize(toBusEntry(stamped, eventBusName)) <= PUT_EVENTS_MAX_BYTES) item.event = stamped;
    }
    earlier.set(userId, [...before, item.event.messageId]);
  }
}

interface ValidItem {
  index: number;
  event: NormalisedEvent;
  violations: ViolationRecord['violations'];
}

interface Authenticated {
  sourceId: string;
  deliveryId?: string;
}

/**
 * The ingest service: authenticate on the raw body, parse, validate each event,
 * drop duplicates, publish the rest, and answer what happened to every event.
 * Bad input is always a 4xx naming the problem; a 5xx only means "retry, nothing
 * you sent was wrong" and names the events that could not be published.
 */
export function createIngestService(deps: IngestDeps) {
  const observer = deps.observer ?? silentObserver;
  const lockMs = deps.claimLockMs ?? 30_000;
  /** The sources as last loaded: a broken one is reported when a load first finds it (`sourceDisabled`). */
  let lastCredentials: SourceCredentials | undefined;

  return async function handle(request: IngestRequest): Promise<IngestResponse> {
    const path = normalisePath(request.path);
    const segmentType = SEGMENT_SINGLE[path];
    const isWebhook = path === WEBHOOK_PATH;
    if (path === UNSUBSCRIBE_PATH && deps.unsubscribeKeys !== undefined) {
      const keys = await deps.unsubscribeKeys.load();
      return handleUnsubscribe(request, {
        keys,
        putEvents: deps.putEvents,
        clock: deps.clock,
        ...(deps.eventBusName !== undefined && { eventBusName: deps.eventBusName }),
        ...(deps.consentHolds !== undefined && { consentHolds: deps.consentHolds }),
      });
    }
    if (path === PREFERENCES_PATH && deps.unsubscribeKeys !== undefined && deps.preferences !== undefined) {
      return handlePreferences(request, {
        keys: await deps.unsubscribeKeys.load(),
        putEvents: deps.putEvents,
        clock: deps.clock,
        ...(deps.eventBusName !== undefined && { eventBusName: deps.eventBusName }),
        ...(deps.consentHolds !== undefined && { consentHolds: deps.consentHolds }),
        ...deps.preferences,
      });
    }
    if (!isWebhook && path !== SEGMENT_BATCH_PATH && segmentType === undefined) {
      return reject(404, 'not_found', `no ingest endpoint at ${request.path}; use POST ${INGEST_PATHS.join(', ')}`);
    }
    if (request.method.toUpperCase() !== 'POST') {
      return reject(405, 'method_not_allowed', `${request.path} accepts POST only`, { allow: 'POST' });
    }
    if (request.body.length > MAX_BODY_BYTES) {
      return reject(413, 'payload_too_large', `body is ${request.body.length} bytes; the limit is ${MAX_BODY_BYTES} bytes (1 MiB)`);
    }
    const contentType = request.headers['content-type'];
    if (!isJsonContentType(contentType)) {
      return reject(415, 'unsupported_media_type', `Content-Type must be application/json, got ${contentType ? JSON.stringify(contentType) : 'none'}`);
    }

    const credentials = await deps.sources.load();
    if (credentials !== lastCredentials) {
      // Said once per (re)load, not per request: the metric counts the requests each broken source refuses.
      lastCredentials = credentials;
      for (const [sourceId, reason] of credentials.broken ?? []) observer.sourceDisabled(sourceId, reason);
    }
    let auth: Authenticated;
    if (isWebhook) {
      try {
        const verified = verifyWebhook({ headers: request.headers, body: request.body, keys: credentials.keys, now: (deps.signatureClock ?? systemClock).now() });
        auth = { sourceId: verified.sourceId, deliveryId: verified.webhookId };
      } catch (error) {
        if (!(error instanceof WebhookVerificationError)) throw error;
        const broken = credentials.broken ?? new Map<string, string>();
        if (broken.size > 0) {
          // A disabled source's secret could not be read or decoded: the signature may be by it. A server-side
          // fault, retryable: a 401 tells the sender its signature is wrong. Counted for each source it may be.
          for (const [id, reason] of broken) observer.sourceMisconfigured(id, reason);
          return reject(503, 'source_misconfigured', `the signature matches none of the sources Rapport could read; ${broken.size} source(s) are disabled by a configuration error (see the ingest log); retry later`, { 'retry-after': '60' });
        }
        return reject(401, 'invalid_signature', error.message);
      }
    } else {
      const writeKey = basicAuthUser(request.headers.authorization);
      if (writeKey === undefined) {
        return reject(401, 'missing_write_key', 'send the write key as the Basic-auth username (Authorization: Basic base64("<writeKey>:"))', {
          'www-authenticate': 'Basic realm="rapport"',
        });
      }
      const sourceId = credentials.writeKeys.get(writeKey);
      const disabled = credentials.disabledWriteKeys?.get(writeKey);
      if (sourceId === undefined && disabled !== undefined) {
        // Nothing the sender did wrong: its source is misconfigured. A 5xx keeps its events coming once it is fixed.
        observer.sourceMisconfigured(disabled, credentials.broken?.get(disabled) ?? 'disabled');
        return reject(503, 'source_misconfigured', `source "${disabled}" is disabled by a configuration error (see the ingest log); retry later`, { 'retry-after': '60' });
      }
      const unreadable = credentials.unreadable ?? new Map<string, string>();
      if (sourceId === undefined && unreadable.size > 0) {
        // Some source's configuration (its write keys) could not be read: this key may be its. A server-side
        // fault, retryable: a 401 would make the SDK drop the events. Counted for each source it may belong to.
        for (const [id, reason] of unreadable) observer.sourceMisconfigured(id, reason);
        return reject(503, 'source_misconfigured', `the write key is not one of the sources Rapport could read; ${unreadable.size} source(s) could not be read (see the ingest log); retry later`, { 'retry-after': '60' });
      }
      if (sourceId === undefined) return reject(401, 'invalid_write_key', 'the write key is not known', { 'www-authenticate': 'Basic realm="rapport"' });
      auth = { sourceId };
    }

    let text: string;
    try {
      text = utf8.decode(request.body);
    } catch {
      return reject(400, 'invalid_utf8', 'body is not valid UTF-8');
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      return reject(400, 'invalid_json', `body is not valid JSON: ${(error as Error).message}`);
    }

    const isBatch = path === SEGMENT_BATCH_PATH || (isWebhook && typeof body === 'object' && body !== null && !Array.isArray(body) && 'batch' in body);
    let rawEvents: unknown[];
    let envelope: { context?: Record<string, unknown>; sentAt?: string } = {};
    if (isBatch) {
      if (Array.isArray((body as { batch?: unknown }).batch) && (body as { batch: unknown[] }).batch.length > 500) {
        return reject(413, 'batch_too_large', `batch holds ${(body as { batch: unknown[] }).batch.length} events; the limit is 500`);
      }
      const parsed = BatchEnvelopeSchema.safeParse(body);
      if (!parsed.success) return invalid([], toProblems(parsed.error, -1, '$').map((p) => ({ ...p, index: -1 })), 0);
      rawEvents = parsed.data.batch;
      envelope = { context: parsed.data.context, sentAt: parsed.data.sentAt };
    } else {
      rawEvents = [body];
    }

    // Validate every event; the good ones go on even when others are rejected.
    const receivedAt = deps.clock.now();
    const problems: EventProblem[] = [];
    const valid: ValidItem[] = [];
    rawEvents.forEach((raw, index) => {
      const result = normaliseEvent(raw, index, {
        sourceId: auth.sourceId,
        receivedAt,
        senderTags: deps.senderTags,
        ...(deps.trackingPlan !== undefined && { trackingPlan: deps.trackingPlan }),
        ...(auth.deliveryId !== undefined && { deliveryId: auth.deliveryId }),
        ...(segmentType !== undefined && { defaultType: segmentType }),
        ...(envelope.context !== undefined && { envelopeContext: envelope.context }),
        ...(envelope.sentAt !== undefined && { envelopeSentAt: envelope.sentAt }),
      });
      const refused = result.ok ? [...permissionProblems(auth.sourceId, credentials.permissions?.get(auth.sourceId), result.event, index, result.anyChannel), ...undeclaredTopic(deps.preferences?.topics, result.event, index)] : [];
      if (!result.ok) problems.push(...result.problems);
      else if (refused.length > 0) problems.push(...refused);
      else {
        const size = busEntrySize(toBusEntry(result.event, deps.eventBusName));
        if (size > PUT_EVENTS_MAX_BYTES) {
          problems.push({ index, path: '$', message: `the event is ${size.toLocaleString('en-US')} bytes on the bus; EventBridge takes at most ${PUT_EVENTS_MAX_BYTES.toLocaleString('en-US')} (256 KB) per event — send large data by reference (e.g. a URL) rather than in properties, traits or context` });
        } else valid.push({ index, event: result.event, violations: result.violations });
      }
    });

    // An alias of an id to itself, or one that would close a cycle of joined customers, is refused.
    const refusedAliases = await aliasProblems(deps.identities, valid);
    if (refusedAliases.length > 0) {
      problems.push(...refusedAliases);
      const refused = new Set(refusedAliases.map((p) => p.index));
      valid.splice(0, valid.length, ...valid.filter((item) => !refused.has(item.index)));
    }

    // Duplicates: within this request first, then against the idempotency store.
    const firstOfId = new Map<string, number>();
    const duplicates: string[] = [];
    const fresh: typeof valid = [];
    for (const item of valid) {
      if (firstOfId.has(item.event.messageId)) duplicates.push(item.event.messageId);
      else {
        firstOfId.set(item.event.messageId, item.index);
        fresh.push(item);
      }
    }
    const claimKey = ingestClaimKey;
    const outcomes = await mapLimit(fresh, 32, (item) => deps.dedupe.claim(claimKey(item.event), lockMs));
    const toPublish: typeof valid = [];
    const inFlight: typeof valid = [];
    fresh.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome === 'new') toPublish.push(item);
      else if (outcome === 'duplicate') duplicates.push(item.event.messageId);
      else inFlight.push(item);
    });

    // Denials and suppressions hold from their receipt: recorded before they are published or answered, for
    // the events this request claimed only. A sender's retry of an event already accepted is a duplicate: it
    // records nothing (its receipt would make a new, later denial of a retry, beating a re-subscribe since).
    // A failure releases the claims and answers 5xx, so the retry records and publishes them.
    try {
      // An address the events name counts only from a source that may set it (`email`, `phone`; ARCHITECTURE decision 9).
      const traits = credentials.permissions?.get(auth.sourceId)?.traits;
      await recordHolds(deps.consentHolds, toPublish.map((item) => item.event), { mayNameAddress: traits === undefined || traits.includes('email'), mayNamePhone: traits === undefined || traits.includes('phone') });
    } catch (error) {
      await mapLimit(toPublish, 32, (item) => deps.dedupe.release(claimKey(item.event)));
      throw error;
    }

    stampPrecededBy(valid, deps.eventBusName);
    const result = await publishEntries(
      deps.putEvents,
      toPublish.map((item) => toBusEntry(item.event, deps.eventBusName)),
      { clock: deps.clock, ...deps.publish },
    );
    observer.putEventsCalls(result.calls);
    const failedPositions = new Set(result.failed.map((f) => f.position));
    const completed = toPublish.filter((_, position) => !failedPositions.has(position)).map((item) => claimKey(item.event));
    await Promise.all([
      mapLimit(toPublish.filter((_, position) => failedPositions.has(position)), 32, (item) => deps.dedupe.release(claimKey(item.event))),
      deps.dedupe.completeAll ? deps.dedupe.completeAll(completed) : mapLimit(completed, 32, (key) => deps.dedupe.complete(key)),
    ]);

    const published = toPublish.filter((_, position) => !failedPositions.has(position));
    const publishedIds = published.map((item) => item.event.messageId);
    await recordViolations(published);
    const acceptedIds = [...publishedIds, ...duplicates];
    observer.accepted(publishedIds.length, auth.sourceId);
    observer.duplicates(duplicates.length, auth.sourceId);

    if (result.failed.length > 0 || inFlight.length > 0) {
      observer.publishFailed(result.failed.length);
      const failed = [
        ...result.failed.map((f) => {
          const item = toPublish[f.position]!;
          return { index: item.index, messageId: item.event.messageId, errorCode: f.errorCode, message: f.errorMessage };
        }),
        ...inFlight.map((item) => ({
          index: item.index,
          messageId: item.event.messageId,
          errorCode: 'InFlight',
          message: 'a concurrent request is publishing this messageId; retry shortly',
        })),
      ].sort((a, b) => a.index - b.index);
      return json(503, {
        error: 'publish_failed',
        message: `${failed.length} event(s) could not be published; retry the request (accepted events will not be published twice)`,
        accepted: acceptedIds,
        ...(duplicates.length > 0 && { duplicates }),
        failed,
        ...(problems.length > 0 && { rejected: groupProblems(problems) }),
      }, { 'retry-after': '1' });
    }
    if (problems.length > 0) return invalid(acceptedIds, problems, rawEvents.length, duplicates);
    return json(202, { accepted: acceptedIds, ...(duplicates.length > 0 && { duplicates }) });
  };

  /**
   * Flagged events are on the bus: their violations are listed and counted. Recording is
   * best effort: the events were accepted, and a failure here must not make a sender retry them.
   */
  async function recordViolations(published: readonly ValidItem[]): Promise<void> {
    const flagged = published.filter((item) => item.violations.length > 0);
    if (flagged.length === 0) return;
    observer.violations(flagged.length, flagged[0]!.event.sourceId);
    const records: ViolationRecord[] = flagged.map(({ event, violations }) => ({
      receivedAt: event.receivedAt,
      sourceId: event.sourceId,
      messageId: event.messageId,
      event: event.event ?? event.type,
      violations,
      mode: 'flag',
    }));
    try {
      await deps.violations?.record(records);
    } catch (error) {
      observer.violationsNotRecorded(records.length, error);
    }
  }

  function invalid(accepted: string[], problems: EventProblem[], total: number, duplicates: string[] = []): IngestResponse {
    const rejected = groupProblems(problems);
    observer.rejected(Math.max(rejected.length, 1), 'invalid_event');
    const count = rejected.filter((r) => r.index >= 0).length;
    const message =
      count === 0
        ? 'the request body is not a valid batch'
        : `${count} of ${total} event(s) rejected${accepted.length > 0 ? `; the other ${accepted.length} were accepted` : ''}`;
    return json(400, { error: 'invalid_events', message, accepted, ...(duplicates.length > 0 && { duplicates }), rejected });
  }

  function reject(statusCode: number, error: string, message: string, headers: Record<string, string> = {}): IngestResponse {
    observer.rejected(1, error);
    return json(statusCode, { error, message }, headers);
  }
}

function groupProblems(problems: EventProblem[]) {
  const byIndex = new Map<number, Array<{ path: string; message: string }>>();
  for (const { index, path, message } of problems) {
    const list = byIndex.get(index) ?? [];
    list.push({ path, message });
    byIndex.set(index, list);
  }
  return [...byIndex.entries()].sort(([a], [b]) => a - b).map(([index, list]) => ({ index, problems: list }));
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): IngestResponse {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

function normalisePath(path: string): string {
  const withoutQuery = path.split('?')[0] ?? '';
  return withoutQuery.length > 1 && withoutQuery.endsWith('/') ? withoutQuery.slice(0, -1) : withoutQuery;
}

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const [type, ...params] = value.toLowerCase().split(';').map((s) => s.trim());
  if (type !== 'application/json' && !/^application\/[\w.+-]+\+json$/.test(type ?? '')) return false;
  const charset = params.find((p) => p.startsWith('charset='));
  return charset === undefined || /^charset="?utf-8"?$/.test(charset);
}

function basicAuthUser(header: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const user = decoded.split(':')[0];
  return user ? user : undefined;
}
