/**
 * A goal and a wait_for on the same event: the wait_for wins while it waits (its on_event runs), so "bought
 * after our nudge" is the journey's own branch; a goal event before the run reaches the wait_for (or after it
 * timed out) still converts the run; an exit on the event stops a waiting run. On virtual time.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { outboxFor, runsOf, runToEnd } from '../helpers/journeys';

const HOUR = 3_600_000;
const START = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();
const dir = mkdtempSync(join(tmpdir(), 'rapport-goal-wait-'));

const JOURNEY = `id: nudge
name: Nudge
version: 1
trigger: { event: Signed Up }
goals:
  - event: Order Completed
exits:
  - event: Account Closed
steps:
  - id: send-welcome
    send: { channel: email, template: welcome }
  - id: wait-a-day
    wait: 1d
  - id: await-order
    wait_for: { event: Order Completed, timeout: 3d }
    on_event: thank-you
    on_timeout: await-close
  - id: thank-you
    send: { channel: email, template: we-value-you, kind: transactional }
  - id: await-close
    wait_for: { event: Account Closed, timeout: 3d }
    on_event: end
    on_timeout: end
`;

/** Ends on its send: nothing waits after it (attribution window: the default 5d). */
const HELLO = `id: hello
name: Hello
version: 1
trigger: { event: Account Opened }
goals:
  - event: Order Completed
steps:
  - id: send-hello
    send: { channel: email, template: welcome }
`;

describe('a goal and a wait_for on the same event', () => {
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    mkdirSync(join(dir, 'journeys'));
    cpSync('workflows/templates', join(dir, 'templates'), { recursive: true });
    writeFileSync(join(dir, 'journeys', 'nudge.yaml'), JOURNEY);
    writeFileSync(join(dir, 'journeys', 'hello.yaml'), HELLO);
    clock = new VirtualClock(START);
    engine = await startTestEngine({ clock, journeysDir: join(dir, 'journeys'), templatesDir: join(dir, 'templates'), sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });
    api = client(engine);
  });
  afterAll(async () => {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const signUp = (id: string, t: number) => [
    { type: 'identify', userId: id, messageId: `${id}-id`, timestamp: at(t), traits: { email: `${id}@example.com` } },
    { type: 'track', userId: id, messageId: `${id}-signup`, timestamp: at(t), event: 'Signed Up', properties: {} },
  ];
  const order = (id: string, t: number) => ({ type: 'track', userId: id, messageId: `${id}-order-${t}`, timestamp: at(t), event: 'Order Completed', properties: { orderId: `${id}-o`, revenue: 40, currency: 'EUR' } });
  const stats = async () => ((await api.get('/v1/journeys/nudge/stats')).json as unknown as { counters: Record<string, number> }).counters;

  it('while the run waits for it, the order resumes the wait_for: on_event runs and the run is not converted', async () => {
    // Prepare
    const id = 'gw-1';
    await api.send(signUp(id, START));
    await clock.run(START + 30 * HOUR);

    // Act: the order comes while the run waits at await-order.
    await api.send(order(id, START + 30 * HOUR));
    const run = await runToEnd(clock, engine, id, 'nudge');

    // Assess
    expect(outboxFor(engine, id).map((m) => [m.step, m.at])).toEqual([
      ['send-welcome', at(START)],
      ['thank-you', at(START + 30 * HOUR)],
    ]);
    expect(run.status).toBe('completed');
  });

  it('before the run reaches the wait_for, the order is the goal: the run converts', async () => {
    // Prepare
    const t0 = clock.now().getTime();
    const id = 'gw-2';
    await api.send(signUp(id, t0));
    await clock.run(t0 + HOUR);
    const goalsBefore = Number((await stats()).goal ?? 0);

    // Act: the order comes during the one-day wait.
    await api.send(order(id, t0 + HOUR));
    const run = await runToEnd(clock, engine, id, 'nudge');

    // Assess
    expect(run.status).toBe('converted');
    expect(outboxFor(engine, id).map((m) => m.step)).toEqual(['send-welcome']);
    expect(Number((await stats()).goal ?? 0)).toBe(goalsBefore + 1);
  });

  it('an exit on the event a run waits for stops it: on_event does not run', async () => {
    // Prepare: the run passes the order wait (timed out) and waits for Account Closed, which is also an exit.
    const t0 = clock.now().getTime();
    const id = 'gw-3';
    await api.send(signUp(id, t0));
    await clock.run(t0 + 5 * 24 * HOUR);

    // Act
    await api.send({ type: 'track', userId: id, messageId: `${id}-closed`, timestamp: at(clock.now().getTime()), event: 'Account Closed', properties: {} });
    const run = await runToEnd(clock, engine, id, 'nudge');

    // Assess
    expect(run.status).toBe('exited');
  });

  it('a goal after the run completed on its last send counts within the attribution window, once', async () => {
    // Prepare: two customers' runs end on their send at once.
    const t0 = clock.now().getTime();
    const open = (id: string) => [
      { type: 'identify', userId: id, messageId: `${id}-id`, timestamp: at(t0), traits: { email: `${id}@example.com` } },
      { type: 'track', userId: id, messageId: `${id}-open`, timestamp: at(t0), event: 'Account Opened', properties: {} },
    ];
    await api.send([...open('gw-4'), ...open('gw-5')]);
    expect((await runToEnd(clock, engine, 'gw-4', 'hello')).status).toBe('completed');
    await runToEnd(clock, engine, 'gw-5', 'hello');
    const counters = async () => ((await api.get('/v1/journeys/hello/stats')).json as unknown as { counters: Record<string, number> }).counters;

    // Act: gw-4 orders two hours later (and the order is redelivered), gw-5 six days later.
    await clock.run(t0 + 2 * HOUR);
    await api.send(order('gw-4', t0 + 2 * HOUR));
    await api.send(order('gw-4', t0 + 2 * HOUR));
    await clock.run(t0 + 6 * 24 * HOUR);
    await api.send(order('gw-5', t0 + 6 * 24 * HOUR));
    await clock.run(clock.now().getTime() + HOUR);

    // Assess
    expect(await counters()).toMatchObject({ entered: 2, completed: 1, goal: 1, 'completed.goal': 1 });
    expect((await runsOf(engine, 'gw-4')).find((r) => r.journeyId === 'hello')?.status).toBe('converted');
  });
});
