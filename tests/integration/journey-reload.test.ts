/**
 * Journeys and templates reloaded without a restart (issue 15): `POST /v1/admin/reload` applies the rules of a
 * release. A run waiting in version 1 finishes on version 1's definition and template, a new run takes version 2;
 * the answer lists what changed as `rapport plan` does. A broken file changes nothing (422, every problem at
 * file:line:col) and the journeys go on. A removed journey starts no new run (its bus rule is gone) and an added one
 * starts at once. In memory (no data folder): the replaced version's templates are kept by the engine itself.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { ROOT } from '../cli/helpers';
import { client } from '../helpers/client';
import { startTestEngine, useTestEngine } from '../helpers/engine';
import { startEngineProcess } from '../helpers/engine-process';
import { eventually } from '../helpers/journeys';

const HOUR = 3_600_000;
const START = Date.parse('2026-03-02T10:00:00Z');
const scratch = mkdtempSync(join(tmpdir(), 'rapport-reload-'));
const workflows = join(scratch, 'workflows');
cpSync(join(ROOT, 'workflows'), workflows, { recursive: true });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const journeyFile = (id: string) => join(workflows, 'journeys.d', `${id}.yaml`);
const signUp = (id: string) => [{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up', messageId: `${id}-signup` }];

describe('reloading the journeys of a running engine', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, journeysDir: join(workflows, 'journeys.d'), templatesDir: join(workflows, 'templates'), sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });
  const reload = async () => {
    const res = await fetch(`${world.engine.url}/v1/admin/reload`, { method: 'POST' });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const sent = (customerId: string, step: string) => world.engine.outbox.entries.find((m) => m.channel === 'email' && m.tags.customer === customerId && m.tags.step === step);
  const journeys = async () => ((await (await fetch(`${world.engine.url}/v1/journeys`)).json()) as { journeys: { id: string; version: number }[] }).journeys.map((j) => `${j.id} v${j.version}`);

  it('finishes a waiting run on its version and starts new runs on the reloaded one', async () => {
    await world.api.sendAndSettle(signUp('rr-1'));
    await clock.run(START + HOUR);
    expect(sent('rr-1', 'send-welcome')).toBeDefined();

    // Version 2: two days' wait instead of one, and the second email's subject changed.
    writeFileSync(journeyFile('welcome'), readFileSync(journeyFile('welcome'), 'utf8').replace(/^version: 1$/m, 'version: 2').replace(/wait: 1d\b/, 'wait: 2d'));
    const template = join(workflows, 'templates/getting-started.email.liquid');
    writeFileSync(template, readFileSync(template, 'utf8').replace(/^Subject: .*$/m, 'Subject: Version two, {{ profile.traits.email }}'));
    const answer = await reload();
    expect(answer.status).toBe(200);
    expect(answer.body.changes).toEqual([
      { id: 'welcome', change: 'changed', from: 1, to: 2, steps: { added: [], removed: [], changed: ['wait-a-day'] }, settings: [], templates: ['getting-started'], versionNotBumped: false },
    ]);
    expect(await journeys()).toContain('welcome v2');

    await world.api.sendAndSettle(signUp('rr-2'));
    await clock.run(START + 4 * 24 * HOUR);
    // rr-1 started on version 1: a day's wait, then version 1's subject; rr-2 on version 2: two days, the new subject.
    const rr1 = sent('rr-1', 'send-getting-started');
    expect(rr1 && 'subject' in rr1 && rr1.subject).toBe('there, three ways to get started');
    expect(rr1?.at.slice(0, 13)).toBe('2026-03-03T10');
    const rr2 = sent('rr-2', 'send-getting-started');
    expect(rr2 && 'subject' in rr2 && rr2.subject).toBe('Version two, rr-2@example.com');
    expect(rr2?.at.slice(0, 13)).toBe('2026-03-04T11');
    const stats = (await (await fetch(`${world.engine.url}/v1/journeys/welcome/stats`)).json()) as { versions: Record<string, Record<string, number>> };
    expect(stats.versions['1']).toMatchObject({ entered: 1, 'send-getting-started.sent': 1 });
    expect(stats.versions['2']).toMatchObject({ entered: 1, 'send-getting-started.sent': 1 });
  }, 60_000);

  it('changes nothing when a file is broken, and says where', async () => {
    const good = readFileSync(journeyFile('welcome'), 'utf8');
    writeFileSync(journeyFile('welcome'), good.replace('template: getting-started', 'template: no-such-template'));
    const answer = await reload();
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ error: 'invalid_journeys' });
    const problems = answer.body.problems as { file: string; line: number; column: number; path: string; message: string }[];
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: journeyFile('welcome'), line: good.split('\n').findIndex((l) => l.includes('template: getting-started')) + 1 });
    expect(problems[0]!.message).toMatch(/no-such-template/);
    // The journeys running are those of the last good reload.
    expect(await journeys()).toContain('welcome v2');
    await world.api.sendAndSettle(signUp('rr-3'));
    expect(sent('rr-3', 'send-welcome')).toBeDefined();
    writeFileSync(journeyFile('welcome'), good);
  }, 60_000);

  it('starts no new run of a removed journey and starts an added one at once', async () => {
    const rules = () => world.engine.bus.rules.map((r) => r.name).filter((name) => name.startsWith('journey-'));
    expect(rules()).toContain('journey-win-back-0');
    rmSync(journeyFile('win-back'));
    writeFileSync(journeyFile('welcome-again'), readFileSync(journeyFile('welcome'), 'utf8').replace(/^id: welcome$/m, 'id: welcome-again').replace(/^version: 2$/m, 'version: 1'));
    const answer = await reload();
    expect(answer.status).toBe(200);
    expect((answer.body.changes as { id: string; change: string }[]).map((c) => `${c.id} ${c.change}`)).toEqual(['welcome-again added', 'win-back removed']);
    expect(rules()).not.toContain('journey-win-back-0');
    expect(await journeys()).not.toContain('win-back v1');

    await world.api.sendAndSettle(signUp('rr-4'));
    const welcomes = world.engine.outbox.entries.filter((m) => m.channel === 'email' && m.tags.customer === 'rr-4' && m.tags.step === 'send-welcome');
    expect(welcomes.map((m) => m.channel === 'email' && m.tags.journey).sort()).toEqual(['welcome', 'welcome-again']);
  }, 60_000);
});

describe('npm start and a saved journey file', () => {
  it('reloads the journeys when a file changes, and reports a broken one without stopping', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'rapport-watch-'));
    cpSync(join(ROOT, 'workflows'), join(folder, 'workflows'), { recursive: true });
    const engine = await startEngineProcess(join(folder, '.rapport'), {}, { cwd: folder });
    try {
      const file = join(folder, 'workflows/journeys.d/welcome.yaml');
      const version = async () => ((await (await fetch(`${engine.url}/v1/journeys`)).json()) as { journeys: { id: string; version: number }[] }).journeys.find((j) => j.id === 'welcome')?.version;
      expect(await version()).toBe(1);
      writeFileSync(file, readFileSync(file, 'utf8').replace(/^version: 1$/m, 'version: 3'));
      await eventually(async () => (await version()) === 3, 'the engine to reload welcome v3', 20_000);
      expect(engine.stdout()).toMatch(/journeys reloaded: welcome changed \(v3\)/);
      writeFileSync(file, 'id: welcome\nversion: [\n');
      await eventually(() => /journeys not reloaded \(the running ones are unchanged\):\n.*welcome\.yaml:\d+:\d+/.test(engine.stderr()), 'the broken file reported', 20_000);
      expect(await version()).toBe(3);
    } finally {
      await engine.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('runs in flight after a reload end by their own version', () => {
  const folder = mkdtempSync(join(tmpdir(), 'rapport-reload-goals-'));
  cpSync(join(ROOT, 'workflows'), join(folder, 'workflows'), { recursive: true });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  const file = (id: string) => join(folder, 'workflows/journeys.d', `${id}.yaml`);
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, journeysDir: join(folder, 'workflows/journeys.d'), templatesDir: join(folder, 'workflows/templates'), sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });
  const reload = async () => (await fetch(`${world.engine.url}/v1/admin/reload`, { method: 'POST' })).status;
  const runsOf = async (customerId: string) => ((await world.api.get(`/v1/customers/${customerId}/journeys`)).json as unknown as { runs: { journeyId: string; status: string; version?: number }[] }).runs;

  it("converts a version 1 run by version 1's goal after version 2 changed it", async () => {
    await world.api.sendAndSettle(signUp('rg-1'));
    writeFileSync(file('welcome'), readFileSync(file('welcome'), 'utf8').replace(/^version: 1$/m, 'version: 2').replace(/^goals:\n {2}- event: Order Completed$/m, 'goals:\n  - event: Trial Started'));
    expect(await reload()).toBe(200);
    await clock.run(START + HOUR);
    await world.api.sendAndSettle([{ type: 'track', userId: 'rg-1', event: 'Order Completed', messageId: 'rg-1-order', properties: { orderId: 'o-rg-1', revenue: 20, currency: 'EUR' } }]);
    expect((await runsOf('rg-1')).find((r) => r.journeyId === 'welcome')).toMatchObject({ status: 'converted', version: 1 });
    // A version 2 run is not converted by the order: its goal is another event now.
    await world.api.sendAndSettle(signUp('rg-2'));
    await world.api.sendAndSettle([{ type: 'track', userId: 'rg-2', event: 'Order Completed', messageId: 'rg-2-order', properties: { orderId: 'o-rg-2', revenue: 20, currency: 'EUR' } }]);
    expect((await runsOf('rg-2')).find((r) => r.journeyId === 'welcome')).toMatchObject({ status: 'running', version: 2 });
  }, 60_000);

  it('resumes the wait_for of a removed journey on its event', async () => {
    const filed = { type: 'track', userId: 'rg-3', event: 'Complaint Filed', messageId: 'rg-3-complaint', properties: { complaintId: 'c-rg-3', category: 'delivery' } };
    await world.api.sendAndSettle([{ type: 'identify', userId: 'rg-3', traits: { email: 'rg-3@example.com' } }, filed]);
    rmSync(file('complaint-follow-up'));
    expect(await reload()).toBe(200);
    await world.api.sendAndSettle([{ type: 'track', userId: 'rg-3', event: 'Complaint Resolved', messageId: 'rg-3-resolved', properties: { complaintId: 'c-rg-3', resolution: 'refund' } }]);
    await clock.run(clock.now().getTime() + 2 * HOUR);
    // Resolved, not escalated: an hour later the survey, rendered from the templates the run started with.
    const survey = world.engine.outbox.entries.find((m) => m.channel === 'email' && m.tags.customer === 'rg-3' && m.tags.step === 'send-survey');
    expect(survey).toBeDefined();
    expect(world.engine.outbox.entries.some((m) => m.channel === 'webhook' && m.customerId === 'rg-3' && m.target === 'supervisor')).toBe(false);
  }, 60_000);
});

describe('a journey removed while its runs wait, and the engine restarted', () => {
  it('resumes their wait_for on its event, by the version kept in the data folder', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'rapport-restart-removed-'));
    cpSync(join(ROOT, 'workflows'), join(folder, 'workflows'), { recursive: true });
    const options = (clock: VirtualClock) => ({ clock, dataDir: join(folder, 'data'), journeysDir: join(folder, 'workflows/journeys.d'), templatesDir: join(folder, 'workflows/templates'), sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' as const });
    const first = await startTestEngine(options(new VirtualClock(START)));
    try {
      await client(first).sendAndSettle([{ type: 'identify', userId: 'rs-1', traits: { email: 'rs-1@example.com' } }, { type: 'track', userId: 'rs-1', event: 'Complaint Filed', messageId: 'rs-1-complaint', properties: { complaintId: 'c-rs-1', category: 'delivery' } }]);
    } finally {
      await first.stop();
    }
    rmSync(join(folder, 'workflows/journeys.d/complaint-follow-up.yaml'));
    const clock = new VirtualClock(START + 60_000);
    const second = await startTestEngine(options(clock));
    try {
      await client(second).sendAndSettle([{ type: 'track', userId: 'rs-1', event: 'Complaint Resolved', messageId: 'rs-1-resolved', properties: { complaintId: 'c-rs-1', resolution: 'refund' } }]);
      await clock.run(START + 3 * HOUR);
      expect(second.outbox.entries.some((m) => m.channel === 'email' && m.tags.customer === 'rs-1' && m.tags.step === 'send-survey')).toBe(true);
    } finally {
      await second.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('a reload reads topics.yaml again', () => {
  const folder = mkdtempSync(join(tmpdir(), 'rapport-reload-topics-'));
  cpSync(join(ROOT, 'workflows'), join(folder, 'workflows'), { recursive: true });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  const topicsFile = join(folder, 'workflows/topics.yaml');
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, configDir: join(folder, 'workflows'), journeysDir: join(folder, 'workflows/journeys.d'), templatesDir: join(folder, 'workflows/templates'), sweepEveryMs: 0, logLevel: 'SILENT' });
  const reload = async () => {
    const res = await fetch(`${world.engine.url}/v1/admin/reload`, { method: 'POST' });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const broadcast = (id: string, topic: string) =>
    fetch(`${world.engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, topic, at: '2027-01-01T00:00:00Z' }) });

  it('takes a topic added to the file, and changes nothing for a broken one', async () => {
    expect((await broadcast('rt-before', 'vip-news')).status).toBe(400);
    writeFileSync(topicsFile, `${readFileSync(topicsFile, 'utf8')}  - id: vip-news\n    name: VIP news\n    description: First looks for our best customers\n    default: { opt-out: subscribed, opt-in: unsubscribed }\n`);
    expect((await reload()).status).toBe(200);
    expect((await broadcast('rt-after', 'vip-news')).status).toBe(201);

    const good = readFileSync(topicsFile, 'utf8');
    writeFileSync(topicsFile, `${good}  - id: Not An Id\n`);
    const broken = await reload();
    expect(broken.status).toBe(422);
    expect(broken.body).toMatchObject({ error: 'invalid_topics' });
    expect((broken.body.problems as { file: string }[])[0]!.file).toBe(topicsFile);
    // The topics in use are the last good file's.
    expect((await broadcast('rt-still', 'vip-news')).status).toBe(201);
    writeFileSync(topicsFile, good);
  }, 60_000);
});
