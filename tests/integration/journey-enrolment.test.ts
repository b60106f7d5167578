import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { redeliverIngested, startTestEngine } from '../helpers/engine';
import { messagesOf, runsOf } from '../helpers/journeys';
import { post } from '../helpers/webhook';

/**
 * A trigger and its profile event in the embedded engine, on virtual time, with the profile consumer
 * held back far longer than any fixed wait: its profile write fails until its retries are spent (the
 * event goes to the dead letters) and the operator redrives it an hour later. The customer must still
 * be enrolled, exactly once, whatever else delivers the trigger again.
 */

const HOUR = 3_600_000;
const START = Date.parse('2026-03-02T10:00:00Z');

describe('enrolment when the profile consumer is late', () => {
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  /** Customers whose profile writes fail (the consumer's invocations fail, then its event is dead-lettered). */
  const unwritable = new Set<string>();

  beforeAll(async () => {
    clock = new VirtualClock(START);
    engine = await startTestEngine({
      clock,
      sweepEveryMs: 0,
      sendPolicy: { quietHours: undefined },
      logLevel: 'SILENT',
      faults: {
        dynamo: (call: DynamoCall) => {
          const key = (call.input.Item ?? call.input.Key) as { PK?: { S?: string }; SK?: { S?: string } } | undefined;
          return call.operation === 'PutItem' && key?.SK?.S === 'P' && unwritable.has(key.PK?.S?.slice(2) ?? '') ? 'InternalServerError' : undefined;
        },
      },
    });
    api = client(engine);
  });
  afterAll(() => engine.stop());

  it("a new customer's Signed Up whose profile write comes an hour late (a dead letter, redriven) still enrols them in welcome, once", async () => {
    // Prepare: the consumer cannot write the new customer's profile.
    const t0 = clock.now().getTime();
    unwritable.add('late-1');
    const { accepted } = await api.send({ type: 'track', userId: 'late-1', event: 'Signed Up', messageId: 'late-1-signup', properties: {}, traits: { email: 'late-1@example.com' } });
    await clock.run(t0 + 10 * 60_000);
    expect(engine.deadLetters.map((l) => l.functionName)).toEqual(['rapport-profile']);
    expect(await runsOf(engine, 'late-1')).toEqual([]);
    const entered = (await engine.journeys.records.stats('welcome')).entered ?? 0;

    // Act: an hour later the table is healthy and the operator redrives the dead letter.
    unwritable.delete('late-1');
    await clock.run(t0 + HOUR);
    const redriven = await post(`${engine.url}/v1/admin/dead-letters/redrive`, { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(redriven.status).toBe(200);
    await clock.run(t0 + HOUR + 10 * 60_000);

    // Assess: enrolled, exactly once, by the consumer that applied the event.
    expect((await runsOf(engine, 'late-1')).map((r) => [r.journeyId, r.status])).toEqual([['welcome', 'running']]);
    expect((await engine.journeys.records.stats('welcome')).entered).toBe(entered + 1);

    // The trigger delivered again (EventBridge, at least once) enrols no one twice.
    await redeliverIngested(engine, accepted[0]!);
    await clock.run(t0 + HOUR + 20 * 60_000);
    expect((await runsOf(engine, 'late-1')).map((r) => [r.journeyId, r.status])).toEqual([['welcome', 'running']]);
    expect((await engine.journeys.records.stats('welcome')).entered).toBe(entered + 1);
    // One run, one welcome step.
    expect((await messagesOf(engine, 'late-1')).map((m) => m.stepId)).toEqual(['send-welcome']);
  });
});
