/**
 * A one-click unsubscribe link outlives the customer it was sent to: it sits in an inbox. What a
 * click does after the customer was erased (decision 8, README "Privacy: erasure"):
 * - no new life: 200 "you are unsubscribed", and nothing is stored that names them (the consent
 *   hold is undone, the Unsubscribed event dropped and redacted): erasure stays complete;
 * - they came back (a new life under the same id): the click unsubscribes the new life. A click is
 *   the person's will now, and honouring an unsubscribe too widely harms nobody.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unsubscribeUrl } from '../../functions/journeys/unsubscribe';
import { client } from '../helpers/client';
import { allItems, filesNaming } from '../helpers/data-folder';
import { startTestEngine } from '../helpers/engine';

const KEY = 'k-erasure-unsub';
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function engineWithData() {
  const dataDir = mkdtempSync(join(tmpdir(), 'rapport-erasure-unsub-'));
  dirs.push(dataDir);
  const engine = await startTestEngine({ dataDir, unsubscribeKeys: [KEY], sweepEveryMs: 0, logLevel: 'SILENT' });
  return { dataDir, engine, api: client(engine) };
}

describe('a one-click unsubscribe of an erased customer', () => {
  it('answers 200 and stores nothing that names them', async () => {
    const { dataDir, engine, api } = await engineWithData();
    await api.sendAndSettle([{ type: 'identify', userId: 'eu-gone-7731', traits: { email: 'eu.gone.7731@example.org' } }]);
    const link = unsubscribeUrl(engine.url, KEY, 'eu-gone-7731', 'email');
    expect((await api.del('/v1/customers/eu-gone-7731')).status).toBe(200);

    const res = await fetch(link, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/unsubscribed/i);
    await engine.settle();
    expect((await api.get('/v1/customers/eu-gone-7731')).status).toBe(404);
    await engine.stop();
    expect((await allItems(dataDir)).filter(({ item }) => item.includes('eu-gone-7731'))).toEqual([]);
    expect(filesNaming(dataDir, ['eu-gone-7731', 'eu.gone.7731@example.org'])).toEqual([]);
  }, 60_000);

  it('unsubscribes the new life of a customer who came back', async () => {
    const { engine, api } = await engineWithData();
    await api.sendAndSettle([{ type: 'identify', userId: 'eu-back-7732', traits: { email: 'eu.back.7732@example.org' } }]);
    const oldLink = unsubscribeUrl(engine.url, KEY, 'eu-back-7732', 'email');
    expect((await api.del('/v1/customers/eu-back-7732')).status).toBe(200);
    await api.sendAndSettle([{ type: 'identify', userId: 'eu-back-7732', traits: { email: 'eu.back.new@example.org' } }]);
    expect((await api.customer('eu-back-7732')).consent.email.status).toBe('unknown');

    expect((await fetch(oldLink, { method: 'POST' })).status).toBe(200);
    await engine.settle();
    expect((await api.customer('eu-back-7732')).consent.email).toMatchObject({ status: 'denied', source: 'Unsubscribed' });
    await engine.stop();
  }, 60_000);
});
