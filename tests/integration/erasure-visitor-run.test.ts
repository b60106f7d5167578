/**
 * Found by the third audit of issue 10: erasure stops the journeys of the known ids it reaches only
 * (`between`: `onErase` is skipped for `anon:` ids, functions/profile/api.ts). A visitor signs up before logging in
 * (Signed Up with an anonymousId: the welcome journey starts for `anon:<visitor>`, as visitors' runs do), then
 * identifies; the customer is erased. DELETE answers 200 with the visitor's welcome run still RUNNING in Step
 * Functions, its input naming the visitor: the issue asks "Running journeys are stopped".
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';
import { eventually, runsOf } from '../helpers/journeys';

const ID = 'aud3-vrun-7971';
const VISITOR = 'aud3-vrun-visitor-7971';
const EMAIL = 'aud3.vrun.7971@example.org';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

describe('erasure of a customer whose visitor started a journey', () => {
  it('stops the visitor’s run', async () => {
    await t.api.sendAndSettle({ type: 'identify', anonymousId: VISITOR, traits: { email: EMAIL } });
    await t.api.sendAndSettle({ type: 'track', anonymousId: VISITOR, event: 'Signed Up', properties: {} });
    const run = await eventually(async () => (await runsOf(t.engine, `anon:${VISITOR}`)).find((r) => r.journeyId === 'welcome' && r.status === 'running'), 'the visitor’s welcome run');
    await t.api.sendAndSettle({ type: 'identify', userId: ID, anonymousId: VISITOR, traits: { plan: 'pro' } });
    expect((await t.api.customer(ID)).anonymousIds).toContain(VISITOR);

    expect((await t.api.del(`/v1/customers/${ID}`)).status).toBe(200);
    expect(t.engine.journeys.sfn.executions.get(run.executionName)?.status).toBe('ABORTED');
  }, 60_000);
});
