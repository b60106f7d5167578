/**
 * One-click unsubscribe keys rotate in the embedded engine as in AWS: a list, the
 * first signs new links, every one verifies, so a link already in an inbox keeps
 * working after the key changes; a link signed with a key not in the list does not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeUrl, verifyUnsubscribe } from '../../functions/journeys/unsubscribe';
import { emailAddressHash } from '../../shared';
import { configFromEnv, type Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

let engine: Engine;
let api: ReturnType<typeof client>;
const clock = new VirtualClock('2026-03-02T10:00:00Z');
beforeAll(async () => {
  // Rotated: k-new signs, k-old (which signed the links sent before) still verifies.
  engine = await startTestEngine({ unsubscribeKeys: ['k-new', 'k-old'], clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
  api = client(engine);
  await api.sendAndSettle(['rot-old', 'rot-new', 'rot-forged'].map((id) => ({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } })));
});
afterAll(() => engine.stop());

describe('unsubscribe key rotation (embedded engine)', () => {
  it('a link signed with the old key still unsubscribes after rotation', async () => {
    const res = await fetch(unsubscribeUrl(engine.url, 'k-old', 'rot-old', 'email'), { method: 'POST' });
    expect(res.status).toBe(200);
    await engine.settle();
    expect((await api.customer('rot-old')).consent.email.status).toBe('denied');
  });

  it('a link signed with a key not in the list is refused and changes nothing', async () => {
    const res = await fetch(unsubscribeUrl(engine.url, 'k-unknown', 'rot-forged', 'email'), { method: 'POST' });
    expect(res.status).toBe(400);
    await engine.settle();
    expect((await api.customer('rot-forged')).consent.email.status).not.toBe('denied');
  });

  it('new messages carry links signed with the first key, and they work', async () => {
    await api.send({ type: 'track', userId: 'rot-new', event: 'Signed Up' });
    await clock.idle();
    const mail = outboxFor(engine, 'rot-new').find((m) => m.channel === 'email');
    if (mail?.channel !== 'email') throw new Error('expected an email');
    const link = /<(.+)>/.exec(mail.headers['List-Unsubscribe']!)![1]!;
    const params = new URL(link).searchParams;
    // The link names the address the mail went to (hashed), signed with the rest.
    expect(verifyUnsubscribe('k-new', params)).toEqual({ customerId: 'rot-new', channel: 'email', addressHash: emailAddressHash(mail.to) });
    expect(verifyUnsubscribe('k-old', params)).toBeUndefined();
    expect((await fetch(link, { method: 'POST' })).status).toBe(200);
  });

  it('npm start reads a key list from RAPPORT_UNSUBSCRIBE_SECRET (a JSON list, newest first) or one key', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'rapport-unsub-'));
    try {
      expect(configFromEnv({ RAPPORT_DATA_DIR: dataDir, RAPPORT_UNSUBSCRIBE_SECRET: '["k-new", "k-old"]' }).unsubscribeKeys).toEqual(['k-new', 'k-old']);
      expect(configFromEnv({ RAPPORT_DATA_DIR: dataDir, RAPPORT_UNSUBSCRIBE_SECRET: 'k-single' }).unsubscribeKeys).toEqual(['k-single']);
      expect(() => configFromEnv({ RAPPORT_DATA_DIR: dataDir, RAPPORT_UNSUBSCRIBE_SECRET: '[1]' })).toThrow(/RAPPORT_UNSUBSCRIBE_SECRET must be a JSON list of one or more non-empty strings/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
