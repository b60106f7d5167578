/**
 * Customer search by email through the HTTP API (issue 14: "a customer list with search by id, email or tag"):
 * `GET /v1/customers?email=` finds the customers with that address, trimmed and in any case, from an index that
 * holds a hash of the address on the profile item, so it follows a change of address and goes with an erasure.
 */
import { describe, expect, it } from 'vitest';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const START = Date.parse('2026-03-02T10:00:00Z');

interface Found {
  customers?: Array<{ id: string; email: string; lifecycleStage: string }>;
  error?: string;
}

describe('customer search by email', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, sweepEveryMs: 0, logLevel: 'SILENT' });
  const search = async (email: string) => {
    const res = await fetch(`${world.engine.url}/v1/customers?email=${encodeURIComponent(email)}`);
    return { status: res.status, json: (await res.json()) as Found };
  };
  const ids = async (email: string) => ((await search(email)).json.customers ?? []).map((c) => c.id).sort();

  it('finds a customer by their address in any case, follows a change of address, and forgets an erased one', async () => {
    // Prepare
    await world.api.sendAndSettle([
      { type: 'identify', userId: 'cs-ada', traits: { email: 'Ada@Example.com ' } },
      { type: 'identify', userId: 'cs-bob', traits: { email: 'bob@example.com' } },
      { type: 'identify', userId: 'cs-bob-2', traits: { email: 'BOB@example.com' } },
    ]);

    // Act + Assess
    expect((await search(' ada@EXAMPLE.com')).json).toEqual({ customers: [{ id: 'cs-ada', email: 'Ada@Example.com ', lifecycleStage: expect.any(String) as string, lastSeenAt: expect.any(String) as string }] });
    expect(await ids('bob@example.com')).toEqual(['cs-bob', 'cs-bob-2']);
    expect(await ids('nobody@example.com')).toEqual([]);

    await world.api.sendAndSettle({ type: 'identify', userId: 'cs-ada', traits: { email: 'ada@new.example' } });
    expect(await ids('ada@example.com')).toEqual([]);
    expect(await ids('ada@new.example')).toEqual(['cs-ada']);

    expect((await fetch(`${world.engine.url}/v1/customers/cs-bob`, { method: 'DELETE' })).status).toBe(200);
    await world.engine.settle();
    expect(await ids('bob@example.com')).toEqual(['cs-bob-2']);
  });

  it('answers for the joined customer only once an alias joins two', async () => {
    await world.api.sendAndSettle([
      { type: 'identify', userId: 'cs-old', traits: { email: 'carol@example.com' } },
      { type: 'identify', userId: 'cs-new', traits: { email: 'carol@example.com' } },
    ]);
    expect(await ids('carol@example.com')).toEqual(['cs-new', 'cs-old']);
    await world.api.sendAndSettle({ type: 'alias', previousId: 'cs-old', userId: 'cs-new' });
    expect(await ids('carol@example.com')).toEqual(['cs-new']);
  });

  it('finds a profile written before the email index once the one-off backfill has given it its keys', async () => {
    // Prepare: a profile as written before the index (no GSI3 keys).
    await world.api.sendAndSettle({ type: 'identify', userId: 'cs-before', traits: { email: 'before@example.com' } });
    await world.engine.dynamo.client.send(
      new UpdateItemCommand({ TableName: PROFILE_TABLE, Key: { PK: { S: 'C#cs-before' }, SK: { S: 'P' } }, UpdateExpression: 'REMOVE GSI3PK, GSI3SK' }),
    );
    expect(await ids('before@example.com')).toEqual([]);

    // Act
    const indexed = await world.engine.profiles.indexOldEmails();

    // Assess: found; a second run has nothing left to do.
    expect(indexed).toBe(1);
    expect(await ids('before@example.com')).toEqual(['cs-before']);
    expect(await world.engine.profiles.indexOldEmails()).toBe(0);
  });

  it('refuses a search without an address, naming the parameter and the other ways to find customers', async () => {
    const none = await search('');
    expect(none.status).toBe(400);
    expect(none.json.error).toBe('invalid_email');
    expect((await fetch(`${world.engine.url}/v1/customers`)).status).toBe(400);
  });
});
