/**
 * Audit (issue 10, broadcasts vs erasure): a customer who came back after erasure (a new life: a new profile
 * from events dated and received after the erasure completed) is deferred by quiet hours for a broadcast.
 * `deferUnlessErased` (functions/broadcasts/service.ts) takes back every deferral of a customer who has a
 * tombstone, without asking whether the profile is a new life (the gateway's `undoneIfErased` does:
 * `tombstone.erasedAt === profile.rebornAfter`). The returning customer's deferral is deleted at once, the
 * broadcast completes counting them `deferred`, and they never get the message nor a record saying why.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { broadcastAtRest } from '../helpers/journeys';
import { startTestEngine } from '../helpers/engine';

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

describe('broadcast deferral of a customer back after erasure', () => {
  let engine: Engine;
  afterAll(() => engine?.stop());

  it('keeps the quiet-hours deferral of a returning customer and does not complete without them', async () => {
    // Prepare: quiet hours around now (UTC); the customer is erased, then comes back.
    const now = Date.now();
    engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: { start: hhmm(now - 3_600_000), end: hhmm(now + 3 * 3_600_000) }, defaultTimeZone: 'UTC' } });
    const api = client(engine);
    const id = 'bx-reborn-7771';
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email: 'bx.reborn.7771@example.org', tags: ['crm-gold'] }, timestamp: new Date(now - 60_000).toISOString() }]);
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-new`, traits: { email: 'bx.reborn.7771@example.org', tags: ['crm-gold'] } }]);
    expect((await api.get(`/v1/customers/${id}`)).status).toBe(200);

    // Act
    const res = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'bx-reborn', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' } }) });
    expect(res.status).toBe(201);
    const view = async () => (await api.get('/v1/broadcasts/bx-reborn')).json as unknown as { status: string; recipients: number; deferred: number };
    // Its page has returned: the broadcast has ended, or waits (for the deferral's due time).
    await broadcastAtRest(engine, 'bx-reborn');

    // Assess: deferred until the quiet hours end, and kept under the broadcast for then.
    expect(await view()).toMatchObject({ status: 'running', recipients: 1, deferred: 1 });
    const page = await engine.dynamo.client.send(new ScanCommand({ TableName: PROFILE_TABLE, ConsistentRead: true }));
    const deferral = (page.Items ?? []).filter((item) => item.PK?.S === 'B#bx-reborn' && item.SK?.S === `D#${id}`);
    expect(deferral, 'the returning customer\'s deferral under the broadcast').toHaveLength(1);
  }, 60_000);
});
