import { PROFILE_TABLE_LAYOUT, profileTags, type Clock, type Profile } from '../../shared';
import { inSegments, knownSegments, parseSegmentId, segmentsOf } from '../../shared/segmentation/membership';
import { PROFILE_JSON_MAX_BYTES, ProfileTooLargeError } from './item';
import { InvalidCursorError } from './segment-store';
import { idsOfProfile, type ProfileStore, type StoredProfile } from './store';

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
}
export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** The profile as the API shows it: the 360° view, without bookkeeping fields. */
export function profileView(p: Profile) {
  return {
    id: p.id,
    anonymousIds: p.anonymousIds,
    mergedIds: p.mergedIds ?? [],
    traits: p.traits,
    consent: p.consent,
    // The topics the customer chose, per channel (the others stand at their topics.yaml default).
    topicConsent: p.topicConsent ?? {},
    suppression: p.suppression,
    firstSeenAt: p.firstSeenAt,
    lastSeenAt: p.lastSeenAt,
    stats: p.stats,
    lifecycleStage: p.lifecycleStage,
    rfm: p.rfm,
    tags: [...profileTags(p)].sort(),
    segments: inSegments(p.id) ? segmentsOf(p) : [],
    computedTags: p.computedTags,
    manualTags: p.manualTags,
    journeyTags: p.journeyTags ?? [],
  };
}

const json = (statusCode: number, body: unknown): ApiResponse => ({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const notFound = (id: string, mergedInto?: string) =>
  mergedInto === undefined
    ? json(404, { error: 'customer_not_found', message: `no customer with id ${JSON.stringify(id)}` })
    : json(404, { error: 'customer_merged', mergedInto, message: `visitor ${JSON.stringify(id)} was merged into customer ${JSON.stringify(mergedInto)} when they were identified; use that id` });

/**
 * The most an export page's JSON takes as a Lambda answer carries it: a synchronous Lambda answer is at most 6 MB
 * (6,291,456 bytes), and the body travels as a JSON string inside it (`{statusCode, headers, body}`), each `"` and `\`
 * of the page escaped once more (`answerBytes`); the headers and the rest fit in what is left. A customer's items
 * beyond it (a timeline of large events) come in further pages: the answer's `next`, passed back as `?after=`.
 */
export const EXPORT_PAGE_BYTES = 5 * 1024 * 1024;
/** The bytes `value`'s JSON takes inside a Lambda answer's `body` string (escaped once more). */
export const answerBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(JSON.stringify(value))) - 2;

/** An item's key: partition, sort key. */
const keyOf = (item: Record<string, unknown>): [string, string] => [String(item[PROFILE_TABLE_LAYOUT.partitionKey]), String(item[PROFILE_TABLE_LAYOUT.sortKey])];
/** The key an export page ended at, as `next` carries it (opaque: base64url of `[pk, sk]`). */
const exportCursor = (item: Record<string, unknown>): string => Buffer.from(JSON.stringify(keyOf(item))).toString('base64url');
/** The key of an `after`, or null when it is not one `exportCursor` made. */
function exportCursorOf(after: string): [string, string] | null {
  try {
    const key: unknown = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
    return Array.isArray(key) && key.length === 2 && key.every((part) => typeof part === 'string') ? (key as [string, string]) : null;
  } catch {
    return null;
  }
}
const keyOrder = (a: readonly [string, string], b: readonly [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);

/**
 * One page of a customer's items in key order (partition, then sort key), after `from`: as many as `bytes` of a Lambda
 * answer hold (`answerBytes`), and at least one (an item is at most DynamoDB's 400 KB), with the cursor of the next page when any are left.
 * Items written meanwhile after the cursor come in a later page, as a DynamoDB query's pages do.
 */
export function exportPage(items: ReadonlyArray<Record<string, unknown>>, from: [string, string] | undefined, bytes: number): { items: Array<Record<string, unknown>>; next?: string } {
  const left = items.filter((item) => from === undefined || keyOrder(keyOf(item), from) > 0).sort((a, b) => keyOrder(keyOf(a), keyOf(b)));
  const page: Array<Record<string, unknown>> = [];
  let used = 0;
  for (const item of left) {
    const size = answerBytes(item) + 1;
    if (page.length > 0 && used + size > bytes) return { items: page, next: exportCursor(page[page.length - 1]!) };
    page.push(item);
    used += size;
  }
  return { items: page };
}

/**
 * The customer API (embedded engine; IAM-authorised admin API in AWS):
 * GET /v1/customers/{id}, GET .../events, GET .../export, DELETE /v1/customers/{id}.
 */
export interface CustomerJourneyRecords {
  messages(customerId: string): Promise<unknown[]>;
  runs(customerId: string): Promise<unknown[]>;
  /** Why the customer's latest trigger of each journey started nothing (absent: not shown). */
  skips?(customerId: string): Promise<unknown[]>;
}

/** A message or run record as the API shows it: without the table's keys and bookkeeping (the export keeps those). */
function recordView(record: unknown): Record<string, unknown> {
  const L = PROFILE_TABLE_LAYOUT;
  // A running run's index keys (the reconciling sweep's list) are bookkeeping too.
  const { [L.partitionKey]: _pk, [L.sortKey]: _sk, [L.ttlAttribute]: _ttl, [L.dueIndex.partitionKey]: _gpk, [L.dueIndex.sortKey]: _gsk, itemType: _type, ...view } = record as Record<string, unknown>;
  return view;
}

/** Port: the tracking plan violations ingest recorded (functions/ingest/violations.ts). */
export interface TrackingPlanViolations {
  recent(options: { limit: number; days: number }): Promise<unknown[]>;
}

/** `GET /v1/tracking-plan/violations` on the admin API: the most recent flagged events first. */
export const VIOLATIONS_PATH = '/v1/tracking-plan/violations';

export interface CustomerApiDeps {
  store: ProfileStore;
  clock: Clock;
  /** Runs after the tombstone is written and before the items are deleted: stops the customer's journeys. */
  onErase?: (customerId: string) => Promise<void>;
  /**
   * Runs once the items are deleted and before the erasure is marked complete, with every id erased (the
   * customer's and their visitor ids): the embedded engine redacts its logs here. A failure leaves the
   * erasure incomplete; a retried DELETE resumes it.
   */
  afterErase?: (ids: string[]) => Promise<void>;
  journeys?: CustomerJourneyRecords;
  /** Lists the tracking plan violations of flagged events; without it the route answers 404. */
  violations?: TrackingPlanViolations;
  /** How long the tombstone lives: it must outlive every way an old event can come back (see infra/cdk). @default DEFAULT_TOMBSTONE_DAYS */
  tombstoneDays?: number;
  /** The named segments (segments.yaml): listed even before anyone is in them, with their names. */
  namedSegments?: ReadonlyArray<{ id: string; name: string; description?: string }>;
}

/** `GET /v1/customers?email=`: the customers with an email address. */
export const CUSTOMERS_PATH = '/v1/customers';
/** Customers one email search answers at most (an address shared by more is a data problem, not a segment). */
const SEARCH_LIMIT = 100;

/** `GET /v1/segments`, `GET /v1/segments/{id}`, `GET /v1/segments/{id}/customers` */
export const SEGMENTS_PATH = '/v1/segments';

/** The customer's own id and the known ids joined into it: the partitions that hold their journey records. */
const knownIds = (p: Profile) => [p.id, ...(p.mergedIds ?? [])];

export function createCustomerApi(deps: CustomerApiDeps) {
  const { store, clock } = deps;

  /** The live profile an id answers for: its own, or (a known id joined by alias) the joined customer's. */
  async function customerOf(id: string): Promise<{ stored?: StoredProfile; mergedInto?: string }> {
    const own = await store.get(id);
    if (own?.mergedInto === undefined) return own ? { stored: own } : {};
    if (id.startsWith('anon:')) return { mergedInto: own.mergedInto };
    const resolved = await store.resolve(id);
    return resolved.stored && !resolved.cycle ? { stored: resolved.stored } : { mergedInto: own.mergedInto };
  }

  /**
   * `GET /v1/customers?email=<address>`: the customers with that email address (trimmed, any case), from the email
   * index, each as `{ id, email, lifecycleStage, lastSeenAt }`; a profile whose address changed since the index was
   * written is left out. By id: `GET /v1/customers/{id}`; by tag or stage: `GET /v1/segments/{id}/customers`.
   */
  async function search(req: ApiRequest): Promise<ApiResponse> {
    if (req.method.toUpperCase() !== 'GET') return json(405, { error: 'method_not_allowed', message: `${req.method} is not allowed on ${CUSTOMERS_PATH}` });
    const email = req.query.get('email');
    if (email === null || email.trim() === '' || email.length > 320) {
      return json(400, { error: 'invalid_email', message: 'email must be the address to look for (at most 320 characters), like ?email=ada%40example.com; by id: GET /v1/customers/{id}; by tag: GET /v1/segments/tag:<name>/customers' });
    }
    const wanted = email.trim().toLowerCase();
    let ids: string[];
    try {
      ids = await store.customersWithEmail(email, SEARCH_LIMIT);
    } catch (error) {
      // A table made before the email index (an embedded data folder: dynalite cannot add an index to a table).
      if ((error as Error).name === 'ValidationException' && /index/i.test((error as Error).message)) {
        return json(503, { error: 'email_index_missing', message: `this profile table has no email index (${PROFILE_TABLE_LAYOUT.emailIndex.name}): it was made before customer search existed; deploy the stack again (AWS adds it), or start the embedded engine on a new data folder` });
      }
      throw error;
    }
    const found = await Promise.all(ids.map((id) => store.get(id)));
    const customers = found.flatMap((stored) => {
      const p = stored?.mergedInto === undefined ? stored?.profile : undefined;
      if (!p || typeof p.traits.email !== 'string' || p.traits.email.trim().toLowerCase() !== wanted) return [];
      return [{ id: p.id, email: p.traits.email, lifecycleStage: p.lifecycleStage, lastSeenAt: p.lastSeenAt }];
    });
    return json(200, { customers });
  }

  async function handle(req: ApiRequest): Promise<ApiResponse> {
    if (req.path.replace(/\/$/, '') === VIOLATIONS_PATH && deps.violations) {
      if (req.method.toUpperCase() !== 'GET') return json(405, { error: 'method_not_allowed', message: `${req.method} is not allowed on ${req.path}` });
      const limit = wholeParam(req.query, 'limit', 100, 1000);
      const days = wholeParam(req.query, 'days', 7, 30);
      if (limit === undefined) return json(400, { error: 'invalid_limit', message: 'limit must be a whole number from 1 to 1000' });
      if (days === undefined) return json(400, { error: 'invalid_days', message: 'days must be a whole number from 1 to 30' });
      const violations = await deps.violations.recent({ limit, days });
      return json(200, { count: violations.length, violations });
    }
    if (req.path.replace(/\/$/, '') === CUSTOMERS_PATH) return search(req);
    const segmentRoute = /^\/v1\/segments(?:\/([^/]+)(\/customers)?)?\/?$/.exec(req.path);
    if (segmentRoute) return segments(req, segmentRoute[1], segmentRoute[2] !== undefined);
    const match = /^\/v1\/customers\/([^/]+)(\/events|\/export|\/messages|\/journeys)?\/?$/.exec(req.path);
    if (!match) return json(404, { error: 'not_found', message: `no route ${req.method} ${req.path}` });
    let id: string;
    try {
      id = decodeURIComponent(match[1]!);
    } catch {
      return json(400, { error: 'invalid_id', message: 'the customer id in the path is not valid percent-encoding' });
    }
    const sub = match[2];
    const method = req.method.toUpperCase();

    // A known id joined into another by alias answers for the joined customer (the view's `id` is theirs,
    // `mergedIds` lists this one); a visitor id, once identified, answers 404 customer_merged.
    let found: Awaited<ReturnType<typeof customerOf>>;
    try {
      found = await customerOf(id);
    } catch (error) {
      if (!(error instanceof ProfileTooLargeError)) throw error;
      // A profile stored before the limits, too large to unpack: it can still be erased, not shown.
      if (method === 'DELETE' && sub === undefined) return erase(id, await store.idsToErase(id));
      return json(422, {
        error: 'profile_too_large',
        message: `the profile of ${JSON.stringify(id)} was stored before the profile limits and unpacks to more than ${PROFILE_JSON_MAX_BYTES / 1024 / 1024} MiB: it cannot be read, shown or exported; DELETE /v1/customers/{id} still erases it`,
      });
    }
    if (method === 'GET' && sub === undefined) {
      return found.stored ? json(200, profileView(found.stored.profile)) : notFound(id, found.mergedInto);
    }
    if (method === 'GET' && sub === '/events') {
      const { stored } = found;
      if (!stored) return notFound(id, found.mergedInto);
      const limitParam = req.query.get('limit');
      const limit = limitParam === null ? 100 : Number(limitParam);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return json(400, { error: 'invalid_limit', message: 'limit must be a whole number from 1 to 1000' });
      return json(200, { customerId: stored.profile.id, events: await store.listEvents(idsOfProfile(stored.profile), clock.now(), limit) });
    }
    if (method === 'GET' && (sub === '/messages' || sub === '/journeys') && deps.journeys) {
      const { stored } = found;
      if (!stored) return notFound(id, found.mergedInto);
      const ids = knownIds(stored.profile);
      if (sub === '/messages') {
        const messages = (await Promise.all(ids.map((x) => deps.journeys!.messages(x)))).flat() as Array<{ at?: string }>;
        return json(200, { customerId: stored.profile.id, messages: messages.sort((a, b) => ((a.at ?? '') < (b.at ?? '') ? 1 : -1)).map(recordView) });
      }
      const skips = deps.journeys.skips ? (await Promise.all(ids.map((x) => deps.journeys!.skips!(x)))).flat().map(recordView) : [];
      return json(200, { customerId: stored.profile.id, runs: (await Promise.all(ids.map((x) => deps.journeys!.runs(x)))).flat().map(recordView), skipped: skips });
    }
    if (method === 'GET' && sub === '/export') {
      const { stored } = found;
      if (!stored) return notFound(id, found.mergedInto);
      const after = req.query.get('after');
      const from = after === null ? undefined : exportCursorOf(after);
      if (from === null) return json(400, { error: 'invalid_cursor', message: 'after must be the `next` of an earlier page of this export' });
      const customer = profileView(stored.profile);
      const page = exportPage(await store.allItems(stored.profile.id), from, EXPORT_PAGE_BYTES - answerBytes(customer));
      return json(200, { exportedAt: clock.now().toISOString(), customer, items: page.items, ...(page.next !== undefined && { next: page.next }) });
    }
    if (method === 'DELETE' && sub === undefined) {
      const { stored } = found;
      // An erasure interrupted (a 5xx, a timeout, a crash) left its tombstones incomplete: a retry under any id
      // it had reached resumes it, from its start and every id it had reached, whatever its deletes left.
      const tombstone = await store.tombstone(id, clock.now());
      const resumeFrom = tombstone !== undefined && tombstone.completedAt === undefined ? tombstone.erasedAt : undefined;
      if (resumeFrom !== undefined) return erase(stored?.profile.id ?? id, stored ? idsOfProfile(stored.profile) : [id], id, resumeFrom);
      // A visitor identified since is erased as the customer it became: that is the id to erase.
      if (!stored && found.mergedInto !== undefined) return notFound(id, found.mergedInto);
      // No profile (yet): events accepted and not applied, holds written, or nothing. Erased all the same: the
      // tombstone drops the events still in flight when they arrive, and whatever the id's partition holds goes.
      // An id erased before and not back since (a DSAR tool's retry): the new tombstone keeps when it was first
      // erased (`erasedSince`), so an unsubscribe received in between and not applied yet is still kept for them.
      if (!stored) return erase(id, [id], id, undefined, tombstone?.completedAt !== undefined ? (tombstone.erasedSince ?? tombstone.completedAt) : undefined);
      // From the id asked for: a known id whose record is frozen into the customer (an alias, maybe still
      // being applied) is erased with it, whether or not the customer's profile lists it yet.
      return erase(stored.profile.id, idsOfProfile(stored.profile), id);
    }
    return json(405, { error: 'method_not_allowed', message: `${method} is not allowed on ${req.path}` });
  }

  /** A segment as the API shows it. */
  const named = new Map((deps.namedSegments ?? []).map((s) => [`segment:${s.id}`, s]));
  const segmentView = (id: string, count: number) => {
    const parsed = parseSegmentId(id);
    const config = named.get(id);
    return { id, ...('kind' in parsed ? { kind: parsed.kind, name: config?.name ?? parsed.value } : {}), ...(config?.description !== undefined && { description: config.description }), count };
  };

  /** The segments' counts (one read each, maintained as members come and go) and their members, paged. */
  async function segments(req: ApiRequest, rawId: string | undefined, customers: boolean): Promise<ApiResponse> {
    if (req.method.toUpperCase() !== 'GET') return json(405, { error: 'method_not_allowed', message: `${req.method} is not allowed on ${req.path}` });
    if (rawId === undefined) {
      const counted = new Map((await store.segments.counts()).map((c) => [c.segment, c.count]));
      const ids = [...new Set([...knownSegments((deps.namedSegments ?? []).map((s) => s.id)), ...counted.keys()])].sort();
      return json(200, { segments: ids.map((id) => segmentView(id, counted.get(id) ?? 0)) });
    }
    let id: string;
    try {
      id = decodeURIComponent(rawId);
    } catch {
      return json(400, { error: 'invalid_segment', message: 'the segment id in the path is not valid percent-encoding' });
    }
    const parsed = parseSegmentId(id);
    if ('error' in parsed) return json(400, { error: 'invalid_segment', message: parsed.error });
    // A named segment the config does not name (any more) and nobody is in does not exist.
    if (parsed.kind === 'segment' && !named.has(id) && (await store.segments.count(id)) === 0) {
      return json(404, { error: 'segment_not_found', message: `no segment ${JSON.stringify(id)}: workflows/segments.yaml names ${[...named.keys()].join(', ') || 'none'}` });
    }
    if (!customers) return json(200, segmentView(id, await store.segments.count(id)));
    const limit = wholeParam(req.query, 'limit', 100, 1000);
    if (limit === undefined) return json(400, { error: 'invalid_limit', message: 'limit must be a whole number from 1 to 1000' });
    const cursor = req.query.get('cursor') ?? undefined;
    try {
      const page = await store.segments.members(id, limit, cursor);
      return json(200, { segment: id, customers: page.customers.map((customerId) => ({ id: customerId })), next: page.next ?? null });
    } catch (error) {
      if (error instanceof InvalidCursorError) return json(400, { error: 'invalid_cursor', message: `cursor: ${error.message}` });
      throw error;
    }
  }

  /** DELETE: the ingest records of their recent events, then `ProfileStore.erase` (from the id asked for), `afterErase` before it completes. */
  async function erase(customerId: string, profileIds: string[], requestedId = customerId, resumeFrom?: string, erasedSince?: string): Promise<ApiResponse> {
    const { deleted } = await store.erase(requestedId, clock, {
      ...(deps.tombstoneDays !== undefined && { tombstoneDays: deps.tombstoneDays }),
      ...(deps.onErase && {
        between: async (erased: string[]) => {
          // Visitor ids too: a visitor's run (a sign-up before logging in) is the customer's as much as their own.
          for (const x of erased) await deps.onErase!(x);
        },
      }),
      ...(deps.afterErase && { beforeComplete: deps.afterErase }),
      ...(resumeFrom !== undefined && { resumeFrom }),
      ...(erasedSince !== undefined && { erasedSince }),
    });
    return json(200, { erased: customerId, itemsDeleted: deleted, ...(resumeFrom !== undefined && { resumed: true }) });
  }

  return handle;
}

/** A whole-number query parameter from 1 to `max` (its default when absent); undefined when invalid. */
function wholeParam(query: URLSearchParams, name: string, fallback: number, max: number): number | undefined {
  const raw = query.get(name);
  if (raw === null) return fallback;
  // Digits only: Number() would take "1e2", " 1" and "0x10".
  if (!/^[0-9]{1,7}$/.test(raw)) return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= max ? n : undefined;
}
