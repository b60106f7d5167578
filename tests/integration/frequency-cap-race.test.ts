import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEND_POLICY, JourneyStore, liquidTemplates, readTemplates, staticUnsubscribeKeys } from '../../functions/journeys';
import { createStepRunner, type StepInput, type StepResult } from '../../functions/journeys/steps';
import { documentClient } from '../../functions/profile';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { systemClock } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

/**
 * The frequency cap is a promise about what a customer receives, whatever runs at once: several
 * journeys' marketing sends for one customer at the same instant count against one cap (the check
 * and the count are one conditional write), so no more than the cap go out. The step Lambda's
 * runner on the engine's DynamoDB (dynalite), six sends started together as six executions would.
 */
/** A send step's outcome (the step runner's result for a send). */
const statusOf = (r: StepResult) => ('status' in r ? r.status : undefined);
const JOURNEYS = ['promo-a', 'promo-b', 'promo-c', 'promo-d', 'promo-e', 'promo-f'];

describe('frequency cap under concurrent sends', () => {
  let engine: Engine;
  let records: JourneyStore;
  const sent: string[] = [];
  const runner = (policy: Partial<typeof DEFAULT_SEND_POLICY>) =>
    createStepRunner({
      profiles: engine.profiles,
      journeys: records,
      channels: { email: (m) => (sent.push(m.tags.journey ?? '?'), Promise.resolve({ providerId: `p-${sent.length}` })), sms: () => Promise.reject(new Error('no sms')), webhook: () => Promise.reject(new Error('no webhook')) },
      templates: liquidTemplates(readTemplates('workflows/templates')),
      evaluate: () => false,
      policy: { ...DEFAULT_SEND_POLICY, quietHours: undefined, ...policy },
      clock: systemClock,
      unsubscribe: { baseUrl: engine.url, keys: staticUnsubscribeKeys('k') },
      mutateProfile: () => Promise.resolve(),
        sendTaskSuccess: () => Promise.resolve(false),
    });
  const step = (customerId: string, journeyId: string): StepInput => ({
    journeyId,
    stepId: 'send-promo',
    action: 'send',
    config: { channel: 'email', template: 'welcome' },
    customerId,
    trigger: { messageId: `${customerId}-promo`, event: 'Promo Started', properties: {} },
    execution: `${journeyId}-${customerId}`,
  });
  async function runsFor(customerId: string) {
    await client(engine).sendAndSettle({ type: 'identify', userId: customerId, traits: { email: `${customerId}@example.com`, name: 'Race' } });
    for (const journeyId of JOURNEYS) {
      await records.putRun({ journeyId, executionName: `${journeyId}-${customerId}`, customerId, key: '*', status: 'running', startedAt: new Date().toISOString(), triggerMessageId: `${customerId}-promo` });
    }
  }

  beforeAll(async () => {
    engine = await startTestEngine({ sweepEveryMs: 0, journeysDir: 'workflows/journeys.d' });
    records = new JourneyStore(documentClient(engine.dynamo.client), PROFILE_TABLE);
  }, 60_000);
  afterAll(() => engine.stop());

  it('sends no more than the cap when six journeys send to one customer at the same instant', async () => {
    // Prepare: a cap of 2 a week; over it a send is skipped at once (no deferral), so every outcome is final.
    await runsFor('race-1');
    sent.length = 0;

    // Act
    const results = await Promise.all(JOURNEYS.map((journeyId) => runner({ frequencyCap: 2, frequencyWindowDays: 7, frequencyCapMaxDelayDays: 0 }).run(step('race-1', journeyId))));

    // Assess: two sent, four skipped by the cap; the message records say the same.
    expect(sent).toHaveLength(2);
    expect(results.filter((r) => statusOf(r) === 'sent')).toHaveLength(2);
    expect(results.filter((r) => statusOf(r) === 'skipped')).toEqual(Array.from({ length: 4 }, () => ({ status: 'skipped', reason: 'frequency-cap' })));
    const messages = await records.messages('race-1');
    expect(messages.map((m) => m.status).sort()).toEqual(['sent', 'sent', 'skipped', 'skipped', 'skipped', 'skipped']);
  });

  it('defers the sends over the cap to when the window frees, and the sent step\'s retry sends nothing more', async () => {
    // Prepare
    await runsFor('race-2');
    sent.length = 0;
    const run = runner({ frequencyCap: 1, frequencyWindowDays: 7, frequencyCapMaxDelayDays: 10 });

    // Act: six at once, then the sent one's step again (a Lambda retry) and a seventh journey's send.
    const results = await Promise.all(JOURNEYS.map((journeyId) => run.run(step('race-2', journeyId))));
    const winner = JOURNEYS[results.findIndex((r) => statusOf(r) === 'sent')]!;
    const again = await run.run(step('race-2', winner));

    // Assess: one sent; five deferred to a week after it; the retry answers sent and sends nothing more.
    expect(sent).toEqual([winner]);
    expect(results.filter((r) => statusOf(r) === 'deferred')).toHaveLength(5);
    const until = new Set(results.flatMap((r) => ('status' in r && r.status === 'deferred' ? [r.until] : [])));
    expect(until.size).toBe(1);
    expect(again).toEqual({ status: 'sent' });
  });
});
