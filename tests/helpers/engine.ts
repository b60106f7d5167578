import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PROFILE_TABLE, startEngine, type Engine, type EngineOptions } from '../../infra/embedded/engine';
import type { VirtualClock } from '../../infra/embedded/virtual-time';
import { afterAll, beforeAll } from 'vitest';
import type { BusEvent } from '../../infra/embedded/event-bus';
import { PROFILE_CONSUMER_RULE } from '../../infra/topology';
import type { BusEntry, NormalisedEvent } from '../../shared';
import { client } from './client';
import { twinAuthorizer } from '../twin/engine';

export const TEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const TEST_WRITE_KEY = 'wk_test_0123456789';
export const OTHER_SECRET = 'whsec_c2Vjb25kLXNvdXJjZS1zZWNyZXQtMTIzNDU2Nzg=';

/**
 * An embedded engine in memory on a free port, with two sources. In the twin project (`npm run test:twin`)
 * every AWS call its functions make is authorised by their roles in the synthesized template.
 */
export async function startTestEngine(overrides: Partial<EngineOptions> = {}): Promise<Engine> {
  const authorize = await twinAuthorizer();
  return startEngine({
    ...(authorize && { authorize }),
    port: 0,
    dataDir: null,
    sources: [
      { id: 'default', webhookSecrets: [TEST_SECRET], writeKeys: [TEST_WRITE_KEY] },
      { id: 'shop', webhookSecrets: [OTHER_SECRET], writeKeys: [] },
    ],
    publish: { maxAttempts: 4, baseDelayMs: 1 },
    ...overrides,
  });
}

/**
 * Put the ingested event with this messageId on the bus again, as an EventBridge redelivery or an
 * archive replay does (same detail and time), and wait until its targets have handled it.
 */
export async function redeliverIngested(engine: Engine, messageId: string, sourceId?: string): Promise<void> {
  const original = engine.bus.log.find((e) => {
    const detail = e.detail as { messageId: string; sourceId: string };
    return e.source === 'rapport.ingest' && detail.messageId === messageId && (sourceId === undefined || detail.sourceId === sourceId);
  });
  if (!original) throw new Error(`no ingested event ${messageId} on the bus log`);
  engine.bus.putEvents([{ Source: original.source, DetailType: original['detail-type'], Detail: JSON.stringify(original.detail), Time: new Date(original.time) } satisfies BusEntry]);
  await engine.settle();
}

/**
 * An engine for the file's tests: started in `beforeAll` (`startTestEngine(options)`), stopped in
 * `afterAll`. Read `engine` and `api` (a client of its HTTP API) inside tests and hooks.
 */
export function useTestEngine(options: Partial<EngineOptions> = {}): { readonly engine: Engine; readonly api: ReturnType<typeof client> } {
  let engine: Engine | undefined;
  let api: ReturnType<typeof client> | undefined;
  beforeAll(async () => {
    engine = await startTestEngine(options);
    api = client(engine);
  });
  afterAll(() => engine?.stop());
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useTestEngine: the engine is started in beforeAll; read it inside a test or a hook');
    return value;
  };
  return {
    get engine() {
      return started(engine);
    },
    get api() {
      return started(api);
    },
  };
}

/**
 * `later(ms)`: virtual time moves `ms` on, every timer due meanwhile runs (each in turn, the engine idle between), and
 * the engine settles. For a file's scenario on `useTestEngine` with a `VirtualClock`.
 */
export function laterOn(clock: VirtualClock, world: { readonly engine: Engine }): (ms: number) => Promise<void> {
  return async (ms) => {
    const at = clock.now().getTime() + ms;
    while (clock.advance(at)) await clock.idle();
    await world.engine.settle();
  };
}

/**
 * EventBridge late to the profile consumer: its deliveries of events matching `match` are kept (the target
 * answers at once, as a delivery not made yet) until `release` hands them to the consumer and waits for it.
 * The window between ingest's answer and the consumer applying the event stays open as long as the test likes.
 */
export function holdConsumer(engine: Engine, match: (detail: NormalisedEvent) => boolean) {
  const rule = engine.bus.rules.find((r) => r.name === PROFILE_CONSUMER_RULE.engineName);
  if (!rule) throw new Error('holdConsumer: the engine has no profile consumer rule');
  const deliver = rule.target;
  const held: Array<{ event: BusEvent; delivery: { rule: string } }> = [];
  rule.target = (event, delivery) => {
    if (!match(event.detail as NormalisedEvent)) return deliver(event, delivery);
    held.push({ event, delivery });
  };
  return {
    held,
    async release() {
      rule.target = deliver;
      for (const { event, delivery } of held.splice(0)) await deliver(event, delivery);
      await engine.settle();
    },
  };
}

/**
 * EventBridge late to the profile consumer with the events named `messageIds`, each kept until released and then
 * delivered in the order asked (`release(...ids)`; with none, every one kept, in arrival order, and deliveries go
 * straight on from then); `restore()` lets later ones through. Each release waits for the consumer's handling.
 */
export function lateDeliveries(engine: Engine, messageIds: readonly string[]) {
  const rule = engine.bus.rules.find((r) => r.name === PROFILE_CONSUMER_RULE.engineName);
  if (!rule) throw new Error('lateDeliveries: the engine has no profile consumer rule');
  const deliver = rule.target;
  const held: Array<{ event: BusEvent; delivery: { rule: string }; id: string }> = [];
  rule.target = (event, delivery) => {
    const id = (event.detail as NormalisedEvent).messageId;
    if (!messageIds.includes(id)) return deliver(event, delivery);
    held.push({ event, delivery, id });
  };
  const restore = () => void (rule.target = deliver);
  return {
    async release(...ids: string[]) {
      if (ids.length === 0) restore();
      const entries =
        ids.length === 0
          ? held.splice(0)
          : ids.map((id) => {
              const at = held.findIndex((h) => h.id === id);
              if (at < 0) throw new Error(`lateDeliveries: no delivery of ${id} is kept`);
              return held.splice(at, 1)[0]!;
            });
      for (const { event, delivery } of entries) await deliver(event, delivery);
    },
    restore,
  };
}

/**
 * Every item of the engine's profile table as JSON text (all pages, strongly consistent), or those `keep`
 * selects: what the erasure tests look through for anything left naming a customer.
 */
export function profileItems(engine: Engine, keep: (text: string) => boolean = () => true): Promise<string[]> {
  return profileItemsOf(engine.dynamo.client, PROFILE_TABLE, keep);
}

/** A table's items (as JSON text) that `keep` accepts, scanned with the given client. */
export async function profileItemsOf(client: DynamoDBClient, table: string, keep: (text: string) => boolean = () => true): Promise<string[]> {
  const out: string[] = [];
  let start: Record<string, never> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start && { ExclusiveStartKey: start }) }));
    for (const item of page.Items ?? []) {
      const text = JSON.stringify(item);
      if (keep(text)) out.push(text);
    }
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
  return out;
}

/** The profile table's items (as JSON text) that contain any of `needles`. */
export const profileItemsNaming = (engine: Engine, needles: readonly string[]) => profileItems(engine, (text) => needles.some((n) => text.includes(n)));
