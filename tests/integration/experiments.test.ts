/**
 * An experiment through the engine, on virtual time: a send step with two variants sends each customer one
 * (by weight, recorded on the message), and the journey's stats give per variant what was sent and what the
 * conversions credited to it (last touch) earned, with the p-value against the control.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { twoProportionPValue, type ExperimentView } from '../../functions/journeys';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { messagesOf } from '../helpers/journeys';

const START = Date.parse('2026-03-02T10:00:00Z');
const HOUR = 3_600_000;
const at = (ms: number) => new Date(ms).toISOString();
const JOURNEY = `id: offer-test
name: Offer test
version: 1
trigger: { event: Signed Up }
steps:
  - id: offer
    send:
      channel: email
      template: first-order-offer
      variants:
        - { id: control, weight: 50 }
        - { id: warm, template: we-value-you, weight: 50 }
`;

describe('experiments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-experiment-'));
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    writeFileSync(join(dir, 'offer-test.yaml'), JOURNEY);
    clock = new VirtualClock(START);
    engine = await startTestEngine({ clock, journeysDir: dir, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });
    api = client(engine);
  });
  afterAll(async () => {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // 40 customers through one engine: about 25 s of CPU on a loaded 2-core machine (a guard, not a wait: virtual time).
  it('sends each customer one variant and reports sends and credited orders per variant', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `ex-${i}`);
    await api.sendAndSettle(ids.flatMap((id) => [{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up', messageId: `${id}-s`, timestamp: at(START) }]));
    const variantOf = new Map<string, string>();
    for (const id of ids) {
      const [message] = (await messagesOf(engine, id)) as Array<{ status: string; template: string; variant?: string }>;
      expect(message).toMatchObject({ status: 'sent' });
      expect(message!.template).toBe(message!.variant === 'warm' ? 'we-value-you' : 'first-order-offer');
      variantOf.set(id, message!.variant!);
    }
    const sent = { control: ids.filter((id) => variantOf.get(id) === 'control').length, warm: ids.filter((id) => variantOf.get(id) === 'warm').length };
    expect(sent.control + sent.warm).toBe(40);
    expect(Math.min(sent.control, sent.warm)).toBeGreaterThan(5);

    // Every third customer orders 2 hours later: credited to the variant they got.
    await clock.run(START + 2 * HOUR);
    const buyers = ids.filter((_, i) => i % 3 === 0);
    await api.sendAndSettle(buyers.map((id) => ({ type: 'track', userId: id, event: 'Order Completed', messageId: `${id}-o`, timestamp: at(START + 2 * HOUR), properties: { orderId: `${id}-o`, revenue: 25 } })));
    const won = { control: buyers.filter((id) => variantOf.get(id) === 'control').length, warm: buyers.filter((id) => variantOf.get(id) === 'warm').length };
    // They order again an hour later: two conversions of one message, one success of its trial (hostile audit F8).
    await clock.run(START + 3 * HOUR);
    await api.sendAndSettle(buyers.map((id) => ({ type: 'track', userId: id, event: 'Order Completed', messageId: `${id}-o2`, timestamp: at(START + 3 * HOUR), properties: { orderId: `${id}-o2`, revenue: 25 } })));

    const stats = (await api.get('/v1/journeys/offer-test/stats')).json as unknown as { experiments: Record<string, ExperimentView> };
    const [control, warm] = stats.experiments.offer!.variants;
    expect(control).toMatchObject({ id: 'control', control: true, sent: sent.control, converted: won.control, conversions: 2 * won.control, revenue: 50 * won.control, conversionRate: won.control / sent.control, pValue: null });
    expect(warm).toMatchObject({ id: 'warm', control: false, sent: sent.warm, converted: won.warm, conversions: 2 * won.warm, revenue: 50 * won.warm, conversionRate: won.warm / sent.warm });
    expect(warm!.pValue).toBe(twoProportionPValue(won.control, sent.control, won.warm, sent.warm));
  }, 90_000);
});
