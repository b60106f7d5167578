/**
 * The broadcast examples of the README and of the journeys reference, run: each YAML example
 * (`# workflows/broadcasts.d/<id>.yaml`) loads as that file and names a template that exists, and runs on
 * the embedded engine from a broadcasts.d folder (scheduled until its `at`, then completed); the README's
 * curl example, posted to the engine over seven members like the README's, answers what the README shows.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { loadBroadcastFile } from '../../shared/broadcasts';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';

const ROOT = join(import.meta.dirname, '..', '..');
const DOCS = [join(ROOT, 'README.md'), join(ROOT, 'workflows', 'journeys', 'README.md')];
const templates = new Set(readdirSync(join(ROOT, 'workflows', 'templates')));
const examples = DOCS.flatMap((doc) =>
  [...readFileSync(doc, 'utf8').matchAll(/```yaml\n(# workflows\/broadcasts\.d\/([a-z0-9_-]+)\.yaml\n[\s\S]*?)```/g)].map((m) => ({ doc, id: m[2]!, text: m[1]! })),
);
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const curlBody = /-d '(\{"id":"[^']*)'/.exec(readme.slice(readme.indexOf('### Broadcasts')))?.[1];
const curlOutput = /# (\{"id":[^\n]*)/.exec(readme.slice(readme.indexOf('### Broadcasts')))?.[1];

describe('the broadcast examples of the docs', () => {
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapport-broadcast-docs-'));
    for (const example of examples) writeFileSync(join(dir, `${example.id}.yaml`), example.text);
    clock = new VirtualClock(Date.parse('2027-02-28T10:00:00Z'));
    engine = await startTestEngine({ clock, sweepEveryMs: 0, logLevel: 'SILENT', broadcastsDir: dir });
    api = client(engine);
  });
  afterAll(() => engine.stop());

  it('has a YAML example in the README and in the journeys reference, and a curl example in the README', () => {
    expect(examples.map((e) => e.doc).sort()).toEqual([...DOCS].sort());
    expect(curlBody).toBeDefined();
    expect(curlOutput).toBeDefined();
  });

  it.each(examples.map((e) => [e.id, e] as const))('%s loads as its file and names a template that exists', (_id, example) => {
    const result = loadBroadcastFile(example.text, `${example.id}.yaml`, example.id);
    expect(result.ok ? 'ok' : result.errors).toBe('ok');
    if (!result.ok) return;
    expect(templates.has(`${result.broadcast.send.template}.${result.broadcast.send.channel}.liquid`)).toBe(true);
  });

  it('runs the examples: the files wait for their time, the curl example answers what the README shows', async () => {
    // Prepare: seven members of tag:crm-gold, as the README's output counts them.
    await api.sendAndSettle([
      ...['d-1', 'd-2', 'd-3', 'd-4'].map((id) => ({ type: 'identify', userId: id, traits: { email: `${id}@example.com`, tags: ['crm-gold'] } })),
      { type: 'identify', userId: 'd-5', traits: { tags: ['crm-gold'] } },
      { type: 'identify', userId: 'd-6', traits: { email: 'd-6@example.com', tags: ['crm-gold'] } },
      { type: 'identify', userId: 'd-7', traits: { email: 'd-7@example.com', tags: ['crm-gold'] } },
      { type: 'track', userId: 'd-6', event: 'Unsubscribed', properties: { channel: 'email' } },
      { type: 'track', userId: 'd-7', event: 'Message Bounced', properties: { channel: 'email', bounceType: 'hard' } },
    ]);
    for (const example of examples) expect(((await api.get(`/v1/broadcasts/${example.id}`)).json as unknown as { status: string }).status, example.id).toBe('scheduled');

    // Act
    const posted = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: curlBody! });
    await clock.run(Date.parse('2027-02-28T11:00:00Z'));
    const shown = (await api.get(`/v1/broadcasts/${(JSON.parse(curlBody!) as { id: string }).id}`)).json;
    await clock.run();

    // Assess
    expect(posted.status).toBe(201);
    expect(shown).toMatchObject(JSON.parse(`{${curlOutput!.slice(curlOutput!.indexOf('"status"'))}`) as Record<string, unknown>);
    for (const example of examples) expect(((await api.get(`/v1/broadcasts/${example.id}`)).json as unknown as { status: string }).status, example.id).toBe('completed');
  });
});
