/**
 * Found by the second audit of issue 10: fecebc2 gave every webhook outbox entry its customer's id, but kept the old
 * test "the body contains the JSON of an erased id" for every entry, those with a customerId too
 * (infra/embedded/engine.ts, `outbox.forget`). Ids are often plain numbers-as-strings; erasing customer
 * "1001" then forgets another, live customer's webhook whose body names "1001" anywhere (a referrer, an order
 * id, a complaint id): the engine loses the record of a message it sent to someone else.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { eventually } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-audit2-outbox-other-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('erasure and another customer’s webhook that mentions the erased id', () => {
  it('keeps the other customer’s outbox entry', async () => {
    for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
    writeFileSync(
      path.join(dir, 'journeys', 'crm-sync.yaml'),
      ['id: crm-sync', 'name: CRM sync', 'version: 1', 'trigger: { event: Signed Up }', 'entry: { reentry: always }', 'steps:', '  - id: post-crm', '    webhook: { target: support, template: crm-contact }', ''].join('\n'),
    );
    writeFileSync(path.join(dir, 'templates', 'crm-contact.webhook.liquid'), '{ "customer": {{ customer.id | json }}, "referredBy": {{ profile.traits.referredBy | default: "" | json }} }');
    const engine = await startTestEngine({ journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sweepEveryMs: 0, logLevel: 'SILENT' });
    try {
      const api = client(engine);
      await api.sendAndSettle([
        { type: 'identify', userId: '1001', traits: { email: 'ref.1001@example.org' } },
        { type: 'identify', userId: '1002', traits: { email: 'bob.1002@example.org', referredBy: '1001' } },
        { type: 'track', userId: '1002', event: 'Signed Up' },
      ]);
      const bobs = () => engine.outbox.entries.filter((m) => m.channel === 'webhook' && m.body.includes('"1002"'));
      await eventually(() => bobs().length > 0, 'Bob’s CRM webhook recorded');

      expect((await api.del('/v1/customers/1001')).status).toBe(200);
      await engine.settle();

      expect(bobs()).toHaveLength(1);
    } finally {
      await engine.stop();
    }
  }, 90_000);
});
