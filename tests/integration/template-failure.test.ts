/**
 * A template that cannot render for one customer's data fails that step with
 * an error naming the template and what went wrong: nothing half-rendered is
 * sent, the failure is recorded, and customers whose data renders are served.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-template-'));
let engine: Engine;
let api: ReturnType<typeof client>;
const clock = new VirtualClock('2026-03-02T10:00:00Z');
beforeAll(async () => {
  for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
  writeFileSync(
    path.join(dir, 'journeys', 'note-to-crm.yaml'),
    [
      'id: note-to-crm',
      'name: Note to the CRM',
      'version: 1',
      'trigger: { event: Note Added }',
      'entry: { reentry: always }',
      'steps:',
      '  - id: post-note',
      '    webhook: { target: support, template: crm-note }',
      '  - id: thank',
      '    send: { channel: email, template: thanks, kind: transactional }',
      '',
    ].join('\n'),
  );
  // Every output of a webhook body is JSON-escaped, `| json` writes JSON: only `| raw` (the author's promise that
  // the value is JSON) can break the body, and only for the data that reaches it (validate renders sample data).
  writeFileSync(
    path.join(dir, 'templates', 'crm-note.webhook.liquid'),
    '{ "customerId": {{ profile.id | json }}, "count": {% if trigger.count == "many" %}{{ trigger.count | raw }}{% else %}{{ trigger.count | json }}{% endif %} }',
  );
  writeFileSync(path.join(dir, 'templates', 'thanks.email.liquid'), 'Subject: Thanks\n\nThanks for your note.');
  engine = await startTestEngine({
    journeysDir: path.join(dir, 'journeys'),
    templatesDir: path.join(dir, 'templates'),
    clock,
    sendPolicy: { quietHours: undefined },
    sweepEveryMs: 0,
    logLevel: 'SILENT',
  });
  api = client(engine);
});
afterAll(async () => {
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
});

const note = (id: string, count: unknown) => [
  { type: 'identify', userId: id, traits: { email: `${id}@example.com` } },
  { type: 'track', userId: id, event: 'Note Added', properties: { count } },
];
const webhooksFor = (id: string) => engine.outbox.entries.flatMap((m) => (m.channel === 'webhook' && m.body.includes(`"${id}"`) ? [m] : []));

describe('a template that fails to render', () => {
  it('fails the step with the template and the reason, sends nothing of it and nothing after it', async () => {
    await api.send(note('tpl-bad', 'many'));
    const run = await runToEnd(clock, engine, 'tpl-bad', 'note-to-crm');
    expect(run.status).toBe('failed');
    expect(webhooksFor('tpl-bad')).toEqual([]);
    expect(engine.outbox.entries.filter((m) => m.channel === 'email' && m.to === 'tpl-bad@example.com')).toEqual([]);
    expect(await messagesOf(engine, 'tpl-bad')).toEqual([
      expect.objectContaining({ stepId: 'post-note', channel: 'webhook:support', status: 'failed', reason: expect.stringMatching(/^TemplateRenderError: template "crm-note" \(webhook\) did not render to JSON: /) }),
    ]);
  });

  it('serves a customer whose data renders, with the same journey', async () => {
    await api.send(note('tpl-good', 3));
    const run = await runToEnd(clock, engine, 'tpl-good', 'note-to-crm');
    expect(run.status).toBe('completed');
    expect(webhooksFor('tpl-good').map((m) => JSON.parse(m.body) as unknown)).toEqual([{ customerId: 'tpl-good', count: 3 }]);
    expect((await messagesOf(engine, 'tpl-good')).map((m) => [m.stepId, m.status])).toEqual(expect.arrayContaining([['post-note', 'sent'], ['thank', 'sent']]));
  });
});
