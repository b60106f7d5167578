/**
 * Audit 5 (issue 10, consent under an unlucky clock: Rapport's own).
 *
 * Promise (ARCHITECTURE decision 8; README "Which consent change wins"): "a denial received after a grant happened
 * always wins"; the one-click page says "You are unsubscribed" and "no marketing message goes out after it"
 * (functions/ingest/unsubscribe.ts). The embedded engine is meant to run for good on a small business's own machine
 * (decision 11), on the wall clock (`npm start`).
 *
 * How it breaks: "received after" is decided by comparing wall-clock readings. A grant's key is its receipt (at
 * most), a denial's key is its receipt (`consentKey`, shared/profile/consent.ts:51-53), taken from `clock.now()` at
 * ingest (functions/ingest/unsubscribe.ts:38, functions/ingest/service.ts:266). When the machine's clock steps back
 * (an NTP step correction, a VM resumed from a snapshot, an operator fixing the time) between a `Subscribed` and a
 * later one-click unsubscribe, the denial gets the smaller key: the profile keeps `granted`, the consent hold loses to
 * it in the gateway too (`foldConsent`), and the next marketing email goes out although the customer was told they
 * are unsubscribed. (In AWS the same holds for two ingest instances whose clocks disagree, at a much smaller scale.)
 *
 * Suggested fix: make receipt order monotonic per customer and channel rather than trusting the wall clock: e.g. a
 * denial's key is max(receipt, the greatest key the channel's profile record and hold carry + 1 ms) (read at ingest,
 * where the hold is written, and again by the consumer), so a denial received after a grant is always ordered after
 * it; or keep a hybrid logical clock for receipts in the engine (never less than the last one handed out, persisted).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { unsubscribeUrl } from '../../functions/journeys/unsubscribe';
import type { Clock } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

const KEY = 'k-a5-clock';

describe('a one-click unsubscribe after the engine\'s clock stepped back', () => {
  let engine: Engine | undefined;
  afterAll(() => engine?.stop());

  it('still wins over the grant received before it', async () => {
    // The wall clock, which an NTP step moves back ten minutes during the test.
    let offsetMs = 0;
    const clock: Clock = { now: () => new Date(Date.now() + offsetMs), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
    engine = await startTestEngine({ clock, unsubscribeKeys: [KEY], sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    const api = client(engine);
    const id = 'a5-clock-3301';
    const email = 'a5.clock.3301@example.org';

    await api.sendAndSettle([
      { type: 'identify', userId: id, messageId: `${id}-1`, traits: { email } },
      { type: 'track', userId: id, messageId: `${id}-sub`, event: 'Subscribed', properties: { channel: 'email' } },
    ]);
    expect((await api.customer(id)).consent.email.status).toBe('granted');

    // The clock steps back; then the customer clicks the one-click link.
    offsetMs = -10 * 60_000;
    const res = await fetch(unsubscribeUrl(engine.url, KEY, id, 'email'), { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/You are unsubscribed/);
    await engine.settle();

    expect.soft((await api.customer(id)).consent.email.status, 'consent.email after the unsubscribe').toBe('denied');
    // A marketing email asked for after the unsubscribe was answered (welcome's first step).
    await api.sendAndSettle([{ type: 'track', userId: id, messageId: `${id}-signup`, event: 'Signed Up', properties: {} }]);
    type Messages = { messages: Array<{ stepId: string; status: string; reason?: string }> };
    let messages: Messages = { messages: [] };
    for (let i = 0; i < 100 && !messages.messages.some((m) => m.stepId === 'send-welcome' && m.status !== 'sending'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      await engine.settle();
      messages = (await api.get(`/v1/customers/${id}/messages`)).json as unknown as Messages;
    }
    expect(messages.messages.find((m) => m.stepId === 'send-welcome'), 'the welcome email asked for after the unsubscribe').toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
  }, 60_000);
});
