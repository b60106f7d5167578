import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DeleteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll } from 'vitest';
import { PROFILE_TABLE, type EngineOptions } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import type { DynamoHook, dynamoHooks } from './dynamo-hooks';
import { holdConsumer, laterOn, profileItems, useTestEngine } from './engine';
import { messagesOf, outboxFor, runToEnd } from './journeys';

type Channel = 'email' | 'sms' | 'whatsapp';

export interface AccountUnsubscribedOptions {
  /** The channel unsubscribed (and the address's kind: `email`, or a `phone` number); the scenario's by default. */
  readonly channel?: Channel;
  /** X: `<person>@example.com` by default for email; a number (E.164) must be named for sms and whatsapp. */
  readonly address?: string;
  /** The guest `guest-<person>` has this other address (of the same kind) already, identified first; no guest by default. */
  readonly guestHas?: string;
  /** The guest `guest-<person>` is identified with this address (X as it writes it) in the account's request, after it. */
  readonly guestAlongside?: string;
  /** What is let pass after the unsubscribe; a minute by default. */
  readonly wait?: number;
}

export interface OfferScenarioOptions {
  /** The temp folder's name: `rapport-<name>-XXXXXX` under the OS's temp folder. */
  readonly name: string;
  /** The virtual clock's start; 2026-03-02T10:00:00Z (a Monday morning) by default. */
  readonly start?: string;
  /** The offer journey's channel; email by default (the phone number's: `sms`, `whatsapp`). */
  readonly channel?: Channel;
  /** The offer journey's topic (`topic: <topic>` in offer.yaml); none by default. */
  readonly topic?: string;
  /** Merged over the defaults (the folder's journeys and templates, no quiet hours, no sweep, logs silent). */
  readonly engine?: Partial<EngineOptions>;
}

const OFFER_TEMPLATES = {
  email: 'Subject: 20% off\n\nOffers for you.',
  sms: '20% off today. Reply STOP to opt out.',
  whatsapp: 'Template: offer\nLanguage: en_US\n\n20%\n',
} as const;

/** The sha256 of an address as written: the key of its items (`AH#<hash>`) and of its pointers (`AP#<hash>`). */
export const addressHash = (address: string) => createHash('sha256').update(address).digest('hex');

/**
 * The prelude of the address scenarios, called at a test file's top level: a temp folder (removed afterAll) with an
 * `offer` journey (`trigger: Offer Due`, `reentry: always`, one marketing step `send-offer` on `channel`) and its template,
 * an engine on a `VirtualClock` (`useTestEngine`), and the helpers the scenarios share. Read `t.engine` and `t.api`
 * inside tests and hooks, as with `useTestEngine`.
 */

/** An item's JSON text (DynamoDB's form) without the item a grant replaced (`replaced`). */
const withoutReplaced = (text: string): string => {
  const item = JSON.parse(text) as Record<string, unknown>;
  delete item.replaced;
  return JSON.stringify(item);
};
export function offerScenario(options: OfferScenarioOptions) {
  const dir = mkdtempSync(path.join(tmpdir(), `rapport-${options.name}-`));
  for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
  const channel = options.channel ?? 'email';
  const journey = ['id: offer', 'name: Offer', 'version: 1', ...(options.topic === undefined ? [] : [`topic: ${options.topic}`]), 'trigger: { event: Offer Due }', 'entry: { reentry: always }', 'steps:', '  - id: send-offer', `    send: { channel: ${channel}, template: offer }`, ''];
  writeFileSync(path.join(dir, 'journeys', 'offer.yaml'), journey.join('\n'));
  writeFileSync(path.join(dir, 'templates', `offer.${channel}.liquid`), OFFER_TEMPLATES[channel]);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const clock = new VirtualClock(options.start ?? '2026-03-02T10:00:00Z');
  const t = useTestEngine({
    clock,
    journeysDir: path.join(dir, 'journeys'),
    templatesDir: path.join(dir, 'templates'),
    sendPolicy: { quietHours: undefined },
    sweepEveryMs: 0,
    logLevel: 'SILENT',
    ...options.engine,
  });
  const later = laterOn(clock, t);

  /** `Offer Due` for `id` (message id `<id>-offer-<n>`), and the journey run to its end. */
  const offer = async (id: string, n: number) => {
    await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Offer Due', messageId: `${id}-offer-${n}` });
    await runToEnd(clock, t.engine, id, 'offer');
  };

  /** What became of a customer's latest offer: `sent`, or the reason it was skipped. */
  const latestOffer = async (id: string) => {
    const offers = (await messagesOf(t.engine, id)).filter((m) => m.stepId === 'send-offer') as unknown as Array<{ status: string; reason?: string; at: string }>;
    const record = offers.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).at(-1);
    return record?.status === 'sent' ? 'sent' : record?.reason;
  };

  /**
   * The address's items (`AH#<sha256(address)>`) as JSON text: its holds, without the listings of the records that have it
   * (`H#<sha256(id)>`) unless `listings`; with `having`, those containing it too (e.g. `address-suppression`), not
   * counting the item a grant replaced (`replaced`, kept in the grant: a lifted denial is not a denial).
   */
  const addressItems = (address: string, having?: string, listings = false) =>
    profileItems(t.engine, (text) => text.includes(`"AH#${addressHash(address)}"`) && (listings || !text.includes('"H#')) && (having === undefined || withoutReplaced(text).includes(having)));

  /** X's trait (`email`, or `phone` for sms and whatsapp) and X: `<person>@example.com` by default for email; a number must be named. */
  const addressOf = (person: string, of: Channel, address: string | undefined, helper: string) => {
    const named = address ?? (of === 'email' ? `${person}@example.com` : undefined);
    if (named === undefined) throw new Error(`${helper}: name the ${of} number`);
    return { trait: of === 'email' ? 'email' : 'phone', address: named };
  };

  /**
   * One person's two records with one address X (`<person>@example.com` by default; a number, named, for sms and
   * whatsapp scenarios): the guest checkout `guest-<person>` and the account `u-<person>`, both identified in one
   * request, a minute let pass.
   */
  const guestAndAccount = async (person: string, named?: string) => {
    const { trait, address } = addressOf(person, channel, named, 'guestAndAccount');
    const account = `u-${person}`;
    const guest = `guest-${person}`;
    await t.api.send([
      { type: 'identify', userId: guest, traits: { [trait]: address } },
      { type: 'identify', userId: account, traits: { [trait]: address } },
    ]);
    await later(60_000);
    return { address, account, guest };
  };

  /**
   * The account `u-<person>` has X and unsubscribed (X denied): identified with X (`email`, or `phone` for sms and
   * whatsapp), a minute let pass, then `Unsubscribed {channel}` (message id `<person>-stop`, as a number's STOP is
   * reported), `wait` let pass. With `guestHas`, the guest `guest-<person>` is identified with that address first; with
   * `guestAlongside`, in the account's request (sent, not settled), after the account.
   */
  const accountUnsubscribed = async (person: string, options: AccountUnsubscribedOptions = {}) => {
    const unsubscribed = options.channel ?? channel;
    const { trait, address } = addressOf(person, unsubscribed, options.address, 'accountUnsubscribed');
    const account = `u-${person}`;
    const guest = `guest-${person}`;
    if (options.guestHas !== undefined) await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { [trait]: options.guestHas } });
    if (options.guestAlongside === undefined) await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { [trait]: address } });
    else {
      await t.api.send([
        { type: 'identify', userId: account, traits: { [trait]: address } },
        { type: 'identify', userId: guest, traits: { [trait]: options.guestAlongside } },
      ]);
    }
    await later(60_000);
    await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: unsubscribed } });
    await later(options.wait ?? 60_000);
    return { address, account, guest };
  };

  /**
   * A hook (`dynamoHooks`) erasing `id` before the call `match` goes out (the erasure runs to its answer, the call
   * waiting); its `status` is the erasure's answer once it ran.
   */
  const erasureBefore = (id: string, match: DynamoHook['match']) => {
    const hook: DynamoHook & { status?: number } = {
      match,
      before: async () => void (hook.status = (await t.api.del(`/v1/customers/${id}`)).status),
    };
    return hook;
  };

  /**
   * The guest's `events` land first (one event sent as itself, more as a batch). With `during` (a call `hooks` will
   * see, e.g. an erasure's): as that call waits, sent and awaited until the guest's profile is written (settling would
   * wait for the call's caller). Without (the control): sent and settled now, a minute let pass. Returns `raced`:
   * whether they landed during the call, to read once the call has run.
   */
  const guestLandsFirst = async (hooks: ReturnType<typeof dynamoHooks>, guest: string, events: unknown[], during?: DynamoHook['match']) => {
    let landed = false;
    if (during) {
      hooks.set({
        match: during,
        before: async () => {
          await hooks.untilProfileWritten(guest, () => t.api.send(events));
          landed = true;
        },
      });
    } else {
      await t.api.sendAndSettle(events.length === 1 ? events[0] : events);
      await later(60_000);
    }
    return () => landed;
  };

  /**
   * An erased life's late event: `Page Viewed` of `id` (message id `<person>-late`; none when `late` is false, the
   * control) received and held on its way to the profile consumer (EventBridge delivers late), a minute let pass, then
   * `id` erased, a minute let pass. `release()` delivers it: the consumer drops it (`undoErasedLifeWrites`).
   */
  const lateEventThenErasure = async (person: string, id: string, late = true) => {
    const held = holdConsumer(t.engine, (event) => event.messageId === `${person}-late`);
    if (late) await t.api.send([{ type: 'track', userId: id, event: 'Page Viewed', messageId: `${person}-late` }]);
    await later(60_000);
    const erased = (await t.api.del(`/v1/customers/${id}`)).status;
    if (erased !== 200) throw new Error(`lateEventThenErasure: DELETE /v1/customers/${id} answered ${erased}`);
    await later(60_000);
    return held;
  };

  /**
   * An erased life's write that lands after the erasure and whose check fails once, left for the consumer's retry to drop
   * (`undoErasedLifeWrites`): the consumer holds the event `messageId` that `send` sends; released, it is applied up to
   * the pointer of `id` to `address` (`C#<id>`/`AP#<hash>`, written before an address hold), where `id` is erased (1 ms
   * after the event's receipt: received in the erasure's own millisecond counts as after it); the write lands, and its
   * check after the write (the tombstone read) fails once. Resolves once it failed, the retry waiting; `retried()` lets
   * virtual minutes pass until the retry has run, disarms `hooks` and returns the erasure's answer.
   */
  const failedCheckAfterErasure = async (hooks: ReturnType<typeof dynamoHooks>, o: { id: string; address: string; messageId: string; send: () => Promise<unknown> }) => {
    const held = holdConsumer(t.engine, (event) => event.messageId === o.messageId);
    await o.send();
    const race = eraseThenFailCheck(hooks, { id: o.id, at: (op, input) => op === 'PutItem' && input.includes(`"C#${o.id}"`) && input.includes(`"AP#${addressHash(o.address)}"`) });
    let done = false;
    const released = held.release().then(() => void (done = true));
    for (let i = 0; i < 5000 && !race.failed(); i++) await new Promise((r) => setImmediate(r));
    if (!race.failed()) throw new Error(`failedCheckAfterErasure: the check of ${o.messageId}'s write never ran after the erasure of ${o.id}`);
    return {
      /** Whether the retry has run. */
      done: () => done,
      retried: async () => {
        for (let minute = 0; minute < 10 && !done; minute++) await later(60_000);
        await released;
        hooks.clear();
        await later(60_000);
        return race.erased();
      },
    };
  };

  /**
   * Arm `hooks` for a write racing an erasure: at the first DynamoDB call `at` matches, `id` is erased (DELETE; 1 ms of
   * the clock first unless `advance` is false: received in the erasure's own millisecond counts as after it); then, with
   * `failCheck` (default), the next tombstone read (a writer's check after its write) fails once. `erased()`: DELETE's
   * status once it ran; `failed()`: whether the check failed. The caller clears `hooks`.
   */
  const eraseThenFailCheck = (hooks: ReturnType<typeof dynamoHooks>, o: { id: string; at: (op: string, input: string) => boolean; failCheck?: boolean; advance?: boolean }) => {
    let erased: number | undefined;
    let failed = false;
    hooks.set(
      {
        match: (op, input) => erased === undefined && o.at(op, input),
        before: async () => {
          if (o.advance !== false) clock.advance(clock.now().getTime() + 1);
          erased = (await t.api.del(`/v1/customers/${o.id}`)).status;
        },
      },
      {
        match: (op, input) => o.failCheck !== false && op === 'GetItem' && input.includes('"SK":"X"') && erased !== undefined && !failed,
        before: () => {
          failed = true;
          return Promise.reject(new Error('throttled'));
        },
      },
    );
    return { erased: () => erased, failed: () => failed };
  };

  /** A newcomer `new-<person>` gets `address` (identified with it, a minute let pass) and is offered: what became of its offer. */
  const newcomerOffer = async (person: string, address: string) => {
    const newcomer = `new-${person}`;
    await t.api.sendAndSettle({ type: 'identify', userId: newcomer, traits: { [channel === 'email' ? 'email' : 'phone']: address } });
    await later(60_000);
    await offer(newcomer, 1);
    return latestOffer(newcomer);
  };

  /** The one-click unsubscribe link (RFC 8058 `List-Unsubscribe`) of the first email to `id` that has one. */
  const unsubscribeLink = (id: string) => {
    const mail = outboxFor(t.engine, id).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { headers: Record<string, string> } | undefined;
    return /^<(.+)>$/.exec(mail!.headers['List-Unsubscribe']!)![1]!;
  };

  /** The mail client's one-click POST to the link (RFC 8058): the page's response. */
  const clickOneClick = (link: string) => fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });

  /** AWS's TTL: timeline items past their retention are deleted (dynalite never deletes them). */
  const expireTimelines = async () => {
    const { client } = t.engine.dynamo;
    const now = clock.now().getTime() / 1000;
    let start: Record<string, never> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: PROFILE_TABLE, ConsistentRead: true, ...(start && { ExclusiveStartKey: start }) }));
      for (const item of page.Items ?? []) {
        if (item.SK?.S?.startsWith('E#') && item.itemType?.S === 'event' && item.ttl?.N !== undefined && Number(item.ttl.N) <= now) {
          await client.send(new DeleteItemCommand({ TableName: PROFILE_TABLE, Key: { PK: item.PK!, SK: item.SK } }));
        }
      }
      start = page.LastEvaluatedKey as typeof start;
    } while (start);
  };

  return { dir, clock, t, later, offer, latestOffer, addressItems, guestAndAccount, accountUnsubscribed, erasureBefore, guestLandsFirst, lateEventThenErasure, failedCheckAfterErasure, eraseThenFailCheck, newcomerOffer, unsubscribeLink, clickOneClick, expireTimelines };
}
