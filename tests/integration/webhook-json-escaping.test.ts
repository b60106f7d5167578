/**
 * Found by the audit of issue 10 ("HTML parts escape by default; raw output only through an explicit filter"; decision 9:
 * a sender sets only what its source may). The same hole one channel over: a webhook body is JSON, rendered
 * with no escaping at all (functions/journeys/templates.ts, `text`), and `rapport validate` only checks that
 * the sample profile renders to JSON (workflows/journeys/templates.ts, checkTemplate). A marketer's
 * `"note": "Call {{ profile.traits.firstName }}"` passes validation; a sender's trait
 * `Ada", "customerId": "victim-1` then rewrites the body the support system acts on (JSON.parse keeps the
 * last duplicate key): a ticket for another customer, at another priority. Fixed: every output of a JSON
 * body is JSON-escaped (shared/templates/json-body.ts); `| json` and `| raw` write values as they are.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { eventually } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-audit-webhook-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a sender-controlled trait in a webhook body', () => {
  it('cannot add or override keys of the JSON the receiver acts on', async () => {
    for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
    writeFileSync(
      path.join(dir, 'journeys', 'callback.yaml'),
      ['id: callback', 'name: Callback', 'version: 1', 'trigger: { event: Signed Up }', 'entry: { reentry: always }', 'steps:', '  - id: post-callback', '    webhook: { target: support, template: callback-note }', ''].join('\n'),
    );
    writeFileSync(path.join(dir, 'templates', 'callback-note.webhook.liquid'), '{ "customerId": {{ profile.id | json }}, "priority": "low", "note": "Call {{ profile.traits.firstName }}" }');
    const engine = await startTestEngine({ journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sweepEveryMs: 0, logLevel: 'SILENT' });
    try {
      await client(engine).sendAndSettle([
        { type: 'identify', userId: 'aud-inj-1', traits: { firstName: 'Ada", "customerId": "victim-1", "priority": "urgent' } },
        { type: 'track', userId: 'aud-inj-1', event: 'Signed Up' },
      ]);
      const posted = await eventually(() => engine.outbox.entries.find((m) => m.channel === 'webhook' && m.id.startsWith('callback-')), 'the callback webhook');
      const body = JSON.parse((posted as { body: string }).body) as Record<string, unknown>;
      expect(body).toMatchObject({ customerId: 'aud-inj-1', priority: 'low' });
    } finally {
      await engine.stop();
    }
  }, 90_000);
});
