/**
 * Consent is law, whatever a sender's timestamps say (ARCHITECTURE decision 8),
 * end to end on the embedded engine through its HTTP API: a Subscribed dated
 * into the future (ingest accepts up to 24 h) no longer outlives a one-click
 * unsubscribe or an Unsubscribed received after it, and no marketing email
 * goes out once a denial has been answered for, even before the profile
 * consumer applied it.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaledClock, type NormalisedEvent } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { ended, eventually, messagesOf, outboxFor } from '../helpers/journeys';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function engineAt(scale: number) {
  const clock = new ScaledClock(scale);
  const engine = await startTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
  return { engine, clock, api: client(engine) };
}
type T = Awaited<ReturnType<typeof engineAt>>;

const identify = (userId: string, traits: Record<string, unknown> = {}) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com`, ...traits } });
const track = (userId: string, event: string, properties: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ type: 'track', userId, event, properties, ...extra });
const future = (t: T, ms: number) => new Date(t.clock.now().getTime() + ms).toISOString();

/** The one-click link of the customer's first marketing email, from its List-Unsubscribe header. */
async function oneClickLink(t: T, customerId: string): Promise<string> {
  const email = await eventually(() => outboxFor(t.engine, customerId).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']), `a marketing email to ${customerId}`);
  return /^<(.+)>$/.exec((email as { headers: Record<string, string> }).headers['List-Unsubscribe']!)![1]!;
}
const postOneClick = (link: string) => fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });

describe('the reproductions of issue 10 (3 simulated hours per second)', () => {
  let t: T;
  beforeAll(async () => {
    t = await engineAt(3 * 3_600);
  });
  afterAll(() => t.engine.stop());

  it('a one-click unsubscribe after a Subscribed dated 23 h ahead denies, and the journey sends no more marketing', async () => {
    const id = 'co-oneclick';
    await t.api.sendAndSettle([identify(id), track(id, 'Subscribed', { channel: 'email' }, { timestamp: future(t, 23 * HOUR) })]);
    expect((await t.api.customer(id)).consent.email.status).toBe('granted');
    await t.api.send(track(id, 'Signed Up'));
    const link = await oneClickLink(t, id);

    const res = await postOneClick(link);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('You are unsubscribed');
    const unsubscribedAt = t.clock.now().toISOString();
    const subscribed = t.engine.bus.log.find((e) => (e.detail as NormalisedEvent).userId === id && e['detail-type'] === 'Subscribed')!.detail as NormalisedEvent;
    expect(unsubscribedAt < subscribed.timestamp).toBe(true); // the scenario: the unsubscribe is older than the grant's timestamp
    await t.engine.settle();
    expect((await t.api.customer(id)).consent.email).toMatchObject({ status: 'denied', source: 'Unsubscribed' });

    // A day later the journey's next email is skipped, not sent.
    const skipped = await eventually(async () => (await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-getting-started'), 'the getting-started step');
    expect(skipped).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    expect(outboxFor(t.engine, id).map((m) => m.step)).toEqual(['send-welcome']);
  });

  it('an Unsubscribed received after a Subscribed dated 23 h ahead denies (whatever its own timestamp)', async () => {
    const id = 'co-unsub';
    await t.api.sendAndSettle([identify(id), track(id, 'Subscribed', { channel: 'email' }, { timestamp: future(t, 23 * HOUR) })]);
    await t.api.sendAndSettle(track(id, 'Unsubscribed', { channel: 'email' }));
    expect((await t.api.customer(id)).consent.email).toMatchObject({ status: 'denied', source: 'Unsubscribed' });
    // Also when the two arrive in one batch, the denial after the grant.
    const both = 'co-unsub-batch';
    await t.api.sendAndSettle([identify(both), track(both, 'Subscribed', { channel: 'email' }, { timestamp: future(t, 23 * HOUR) }), track(both, 'Unsubscribed', { channel: 'all' })]);
    expect((await t.api.customer(both)).consent.email.status).toBe('denied');
  });
});

// --- the property ----------------------------------------------------------------------------------

type Kind = 'subscribed' | 'identify-grant' | 'unsubscribed' | 'unsubscribed-all' | 'identify-deny' | 'one-click';
const DENIALS: ReadonlySet<Kind> = new Set(['unsubscribed', 'unsubscribed-all', 'identify-deny', 'one-click']);
interface Change {
  kind: Kind;
  /** When the test sends it, in simulated minutes after the welcome email (the journey runs 3 more days). */
  atMin: number;
  /** The sender's timestamp relative to now, in minutes: past, now, or up to 24 h ahead. */
  skewMin: number;
}
const futureSkew = fc.integer({ min: 1, max: 24 * 60 });
const pastSkew = fc.integer({ min: -48 * 60, max: -1 });
const changeArb: fc.Arbitrary<Change> = fc
  .record({
    kind: fc.constantFrom<Kind>('subscribed', 'identify-grant', 'unsubscribed', 'unsubscribed-all', 'identify-deny', 'one-click'),
    atMin: fc.integer({ min: 0, max: Math.round((3.3 * DAY) / 60_000) }),
  })
  .chain((c) =>
    // Grants are biased to the dangerous case, dated into the future up to the 24 h ingest accepts.
    fc.oneof({ arbitrary: futureSkew, weight: DENIALS.has(c.kind) ? 1 : 4 }, { arbitrary: fc.constant(0), weight: 1 }, { arbitrary: pastSkew, weight: 1 }).map((skewMin) => ({ ...c, skewMin })),
  );

/** A consent change as Rapport received it (from the bus log) and when its sender was answered. */
interface Received {
  deny: boolean;
  timestamp: number;
  receivedAt: number;
  answeredAt: number;
}

/** The rule, in its own words: denied iff some denial reached Rapport no earlier than every grant took effect (the earlier of its timestamp and receipt). */
function oracle(changes: readonly Pick<Received, 'deny' | 'timestamp' | 'receivedAt'>[]): 'granted' | 'denied' | 'unknown' {
  const denials = changes.filter((c) => c.deny);
  const grants = changes.filter((c) => !c.deny);
  if (denials.length === 0) return grants.length === 0 ? 'unknown' : 'granted';
  const lastDenial = Math.max(...denials.map((c) => c.receivedAt));
  const lastGrant = Math.max(-Infinity, ...grants.map((c) => Math.min(c.timestamp, c.receivedAt)));
  return lastDenial >= lastGrant ? 'denied' : 'granted';
}

describe('consent order through the engine (property: random interleavings on a running welcome journey, 2 simulated days per second)', () => {
  let t: T;
  beforeAll(async () => {
    t = await engineAt(2 * 86_400);
  });
  afterAll(() => t.engine.stop());

  it('the final consent is the rule’s, and no marketing email goes out after a denial was answered for (unless a later grant beat it)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(changeArb, { minLength: 1, maxLength: 6 }), async (changes) => {
        const id = `co-prop-${++run}`;
        await t.api.send([identify(id), track(id, 'Signed Up')]);
        // The welcome email goes out first (nobody has said anything yet): its link is the one-click link.
        const link = await oneClickLink(t, id);
        const start = t.clock.now().getTime();
        const sent: Array<{ kind: Kind; messageId?: string; answeredAt: number }> = [];
        for (const c of [...changes].sort((a, b) => a.atMin - b.atMin)) {
          const wait = start + c.atMin * 60_000 - t.clock.now().getTime();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait / t.clock.scale));
          const timestamp = new Date(t.clock.now().getTime() + c.skewMin * 60_000).toISOString();
          if (c.kind === 'one-click') {
            const res = await postOneClick(link);
            expect(res.status).toBe(200);
            sent.push({ kind: c.kind, answeredAt: t.clock.now().getTime() });
            continue;
          }
          const event = {
            subscribed: track(id, 'Subscribed', { channel: 'email' }, { timestamp }),
            'identify-grant': identify(id, { consent: { email: true } }),
            unsubscribed: track(id, 'Unsubscribed', { channel: 'email' }, { timestamp }),
            'unsubscribed-all': track(id, 'Unsubscribed', { channel: 'all' }, { timestamp }),
            'identify-deny': identify(id, { consent: { email: false } }),
          }[c.kind];
          const { accepted } = await t.api.send({ ...event, ...(c.kind.startsWith('identify') && { timestamp }) });
          sent.push({ kind: c.kind, messageId: accepted[0]!, answeredAt: t.clock.now().getTime() });
        }
        await ended(t.engine, id, 'welcome');
        await t.engine.settle();

        // What Rapport received, as the bus carried it: the sender's timestamp and ingest's receipt.
        const onBus = t.engine.bus.log.map((e) => e.detail as NormalisedEvent).filter((d) => d.userId === id);
        const oneClicks = onBus.filter((d) => d.sourceId === 'unsubscribe');
        let nextOneClick = 0;
        const received: Received[] = sent.map((s) => {
          const d = s.messageId !== undefined ? onBus.find((e) => e.messageId === s.messageId)! : oneClicks[nextOneClick++]!;
          return { deny: DENIALS.has(s.kind), timestamp: Date.parse(d.timestamp), receivedAt: Date.parse(d.receivedAt), answeredAt: s.answeredAt };
        });

        expect((await t.api.customer(id)).consent.email.status).toBe(oracle(received));
        // Each marketing email sent: decided at `at` (the step's start). Denials answered for before then hold,
        // unless a grant received before then beats them.
        const sends = (await messagesOf(t.engine, id)).filter((m) => m.status === 'sent') as unknown as Array<{ stepId: string; at: string }>;
        expect(sends.length).toBeGreaterThan(0);
        for (const m of sends) {
          const s = Date.parse(m.at);
          const known = received.filter((r) => (r.deny ? r.answeredAt <= s : r.receivedAt <= s));
          expect(oracle(known), `${m.stepId} at ${m.at}`).not.toBe('denied');
        }
      }),
      { numRuns: 8 },
    );
  }, 120_000);
});
