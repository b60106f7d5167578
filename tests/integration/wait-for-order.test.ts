/**
 * A wait_for the run reaches at its trigger's time (nothing pauses before it) sees the event it waits for even
 * when that event was handled first: EventBridge keeps no order, and the AWS twin (tests/twin) found complaint
 * runs escalated although the resolution had come. On virtual time, so every wait ends exactly on time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { compileJourney, loadJourneysFromDir } from '../../workflows/journeys';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { outboxFor, runToEnd } from '../helpers/journeys';

const HOUR = 3_600_000;
const START = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();
const filed = (id: string, t: number) => ({ type: 'track', userId: id, messageId: `${id}-filed`, timestamp: at(t), event: 'Complaint Filed', properties: { complaintId: `${id}-c`, category: 'delivery' } });
const resolved = (id: string, t: number, complaintId = `${id}-c`) => ({ type: 'track', userId: id, messageId: `${id}-resolved-${t}`, timestamp: at(t), event: 'Complaint Resolved', properties: { complaintId, resolution: 'refund' } });

describe('wait_for and an event handled before the run reached it', () => {
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    clock = new VirtualClock(START);
    engine = await startTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });
    api = client(engine);
  });
  afterAll(() => engine.stop());

  it('the compiler marks only the wait_for reached at the trigger time', () => {
    const { journeys, catalog } = loadJourneysFromDir('workflows/journeys.d', 'workflows/templates', { webhookTargets: ['support', 'supervisor'], tags: { rules: [], manual: ['churned'] } });
    const complaint = journeys.find((j) => j.journey.id === 'complaint-follow-up')!.journey;
    const states = compileJourney(complaint, { stepFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:steps', ...catalog, webhookTargets: ['support', 'supervisor'] }).definition.States as Record<string, { Parameters?: { Payload?: { config?: { sinceTrigger?: boolean } } } }>;
    const since = (id: string) => states[id]?.Parameters?.Payload?.config?.sinceTrigger ?? false;
    expect([since('await-resolution'), since('await-escalated-resolution'), since('await-next-order')]).toEqual([true, false, false]);
  });

  it('a resolution handled before its complaint resumes the run at once: no escalation, the survey an hour later', async () => {
    const id = 'wfo-1';
    // The resolution (dated 10 s after the complaint) reaches the engine first.
    await api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, resolved(id, START + 10_000)]);
    await api.send(filed(id, START));
    const run = await runToEnd(clock, engine, id, 'complaint-follow-up');
    const steps = outboxFor(engine, id).map((m) => [m.step, m.at]);
    expect(steps.slice(0, 3)).toEqual([
      ['acknowledge', at(START)],
      ['open-ticket', at(START)],
      ['send-survey', at(START + HOUR)],
    ]);
    expect(steps.map(([s]) => s)).not.toContain('escalate');
    expect(run.status).toBe('completed');
  });

  it('a resolution dated before the complaint does not count: the run escalates after 24 hours', async () => {
    const id = 'wfo-2';
    const t0 = clock.now().getTime();
    await api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, resolved(id, t0 - HOUR)]);
    await api.send(filed(id, t0));
    await clock.run(t0 + 25 * HOUR);
    expect(outboxFor(engine, id).map((m) => [m.step, m.at])).toEqual([
      ['acknowledge', at(t0)],
      ['open-ticket', at(t0)],
      ['escalate', at(t0 + 24 * HOUR)],
    ]);
  });
});
