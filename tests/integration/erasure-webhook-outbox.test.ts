/**
 * Found by the audit of issue 10 ("no file of the data folder (bus log, outbox log) holds the customer's id, email,
 * phone or traits"): a marketer's webhook template that sends the customer's email and name to a CRM,
 * but not their id. The embedded engine records the webhook in its outbox (`<data>/outbox.ndjson`).
 * Erasure forgets a webhook entry only if its body contains the JSON of the customer's id
 * (infra/embedded/engine.ts, `outbox.forget`: `m.body.includes(JSON.stringify(id))`), so this one stays,
 * with the erased customer's email and name, in memory and in the file. Fixed: the step hands the channel
 * the customer's id with the message (not posted), and the outbox forgets an entry by it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client';
import { filesNaming } from '../helpers/data-folder';
import { startTestEngine } from '../helpers/engine';
import { eventually } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-audit-webhook-erasure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ID = 'aud-wh-7741';
const EMAIL = 'aud.wh.7741@example.org';
const NAME = 'Audrey Webhook-7741';

describe('erasure and a webhook that names the customer by email only', () => {
  it('leaves no outbox entry (memory or file) with their email or name', async () => {
    for (const sub of ['journeys', 'templates', 'data']) mkdirSync(path.join(dir, sub));
    writeFileSync(
      path.join(dir, 'journeys', 'crm-sync.yaml'),
      ['id: crm-sync', 'name: CRM sync', 'version: 1', 'trigger: { event: Signed Up }', 'entry: { reentry: always }', 'steps:', '  - id: post-crm', '    webhook: { target: support, template: crm-contact }', ''].join('\n'),
    );
    writeFileSync(path.join(dir, 'templates', 'crm-contact.webhook.liquid'), '{ "email": {{ profile.traits.email | default: "" | json }}, "name": {{ profile.traits.name | default: "" | json }} }');
    const dataDir = path.join(dir, 'data');
    const engine = await startTestEngine({ dataDir, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sweepEveryMs: 0, logLevel: 'SILENT' });
    const api = client(engine);
    await api.sendAndSettle([
      { type: 'identify', userId: ID, traits: { email: EMAIL, name: NAME } },
      { type: 'track', userId: ID, event: 'Signed Up' },
    ]);
    await eventually(() => engine.outbox.entries.some((m) => m.channel === 'webhook' && m.body.includes(EMAIL)), 'the CRM webhook recorded');

    expect((await api.del(`/v1/customers/${ID}`)).status).toBe(200);
    await engine.settle();

    expect(engine.outbox.entries.filter((m) => JSON.stringify(m).includes(EMAIL) || JSON.stringify(m).includes(NAME))).toEqual([]);
    await engine.stop();
    expect(filesNaming(dataDir, [ID, EMAIL, NAME])).toEqual([]);
  }, 90_000);
});
