/**
 * Audit 7 (issue 10, "running journeys are stopped"; the sixth audit's 3af0261, `erasesVisitor`).
 *
 * Promise (issue 10 "What to build": "Running journeys are stopped"; README "Privacy: erasure": erasure stops the
 * customer's journeys, "a visitor's run (a sign-up before logging in) is the customer's as much as their own"
 * (functions/profile/api.ts)); the sixth audit's fix erases the visitor a dropped identify of the erased customer
 * links.
 *
 * How it breaks: visitor V signs up before having an account (identify with the email, `Signed Up`): the welcome
 * journey runs under `anon:V`. The account's identify `{userId: X, anonymousId: V}` is accepted, not applied yet;
 * DELETE X; the identify is dropped and the consumer erases V (`store.erase(anon:V)`) — without the erasure's
 * `between` hook that stops journeys. V's welcome run keeps running (its execution, input naming `anon:V`, in the
 * engine's journal; in AWS its Step Functions execution) for the journey's days.
 *
 * Cause: functions/profile/consumer.ts `erasesVisitor`: `store.erase(visitor, clock)` with no `between` (the API's
 * erase passes `onErase` -> `journeys.runtime.stopAll`).
 *
 * Suggested fix: give the consumer the same "stop their runs" hook (stopAll for the visitor id) and pass it to
 * `store.erase` as `between`.
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
