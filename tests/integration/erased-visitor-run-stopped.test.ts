/**
 * Issue 10 ("Running journeys are stopped" on erasure; found by the seventh audit). Visitor V signs up before having
 * an account and the welcome journey runs under `anon:V`; the account's `identify {X, V}` is accepted, not applied;
 * DELETE X; the identify is then dropped and the consumer erases V. Proves that the consumer's erasure of V stops V's
 * running journeys between its tombstone and its deletes (`onErase`, the journeys' `stopAll`), as DELETE does.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { holdConsumer, useTestEngine } from '../helpers/engine';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });

describe('a visitor erased by the consumer (the dropped identify of an erased customer)', () => {
  it('has no journey run left running', async () => {
    const id = 'a7-visitor-run-1';
    const visitor = 'a7-visitor-run-device-1';
    await t.api.send([
      { type: 'identify', anonymousId: visitor, messageId: 'a7-vrun-newsletter', traits: { email: 'a7.visitor.run@example.org' } },
      { type: 'track', anonymousId: visitor, messageId: 'a7-vrun-signup', event: 'Signed Up', properties: {} },
    ]);
    await clock.idle();
    const running = () => [...t.engine.journeys.sfn.executions.values()].filter((e) => e.status === 'RUNNING' && JSON.stringify(e.input).includes(visitor));
    expect(running().length, 'the visitor\'s welcome run').toBeGreaterThan(0);

    const late = holdConsumer(t.engine, (d) => d.userId === id);
    await t.api.send({ type: 'identify', userId: id, anonymousId: visitor, messageId: 'a7-vrun-account', traits: { email: 'a7.visitor.run@example.org' } });
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await late.release();
    await clock.idle();

    expect((await fetch(`${t.engine.url}/v1/customers/anon:${visitor}`)).status, 'the visitor was erased').toBe(404);
    expect(running().map((e) => e.name), 'runs of the erased visitor still running').toEqual([]);
  }, 30_000);
});
