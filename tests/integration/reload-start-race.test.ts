/**
 * A reload racing a trigger's enrolment (audit 15): an enrolment under way reads version 1 through the runtime it was
 * called on; a reload landing before its StartExecution registers version 2. The run is recorded as version 1, and the
 * executor starts version 1's definition too (a start names its version, `journeyVersion`, and every version loaded
 * is registered under it): one run, one version (its steps, templates, goals, exits and waits). On virtual time.
 * AWS keeps a window during a deploy: an old starter starts through the alias the deploy already moved (open).
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { ROOT } from '../cli/helpers';
import { useTestEngine } from '../helpers/engine';
import { runToEnd } from '../helpers/journeys';

const START = Date.parse('2026-03-02T10:00:00Z');
const folder = mkdtempSync(join(tmpdir(), 'rapport-audit15-reload-race-'));
cpSync(join(ROOT, 'workflows'), join(folder, 'workflows'), { recursive: true });
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const file = join(folder, 'workflows/journeys.d/race.yaml');
const journey = (version: number) => [`id: race`, 'name: Race', `version: ${version}`, 'trigger: { event: Race Due }', 'entry: { reentry: always }', 'steps:', `  - id: hello-v${version}`, `    send: { channel: email, template: ${version === 1 ? 'welcome' : 'getting-started'} }`, ''].join('\n');
writeFileSync(file, journey(1));

describe('audit 15: a reload while a trigger is enrolling', () => {
  const clock = new VirtualClock(START);
  /** Customers whose StartExecution lands just after a reload to version 2. */
  const racing = new Set<string>();
  const world = useTestEngine({
    clock,
    journeysDir: join(folder, 'workflows/journeys.d'),
    templatesDir: join(folder, 'workflows/templates'),
    sweepEveryMs: 0,
    sendPolicy: { quietHours: undefined },
    logLevel: 'SILENT',
    faults: {
      stepFunctions: (call) => {
        if (call.operation === 'StartExecution' && call.customerId !== undefined && racing.delete(call.customerId)) {
          writeFileSync(file, journey(2));
          world.engine.journeys.reload();
        }
        return undefined;
      },
    },
  });
  const trigger = async (id: string) => {
    await world.api.sendAndSettle([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Race Due', messageId: `${id}-due` }]);
    await runToEnd(clock, world.engine, id, 'race');
    const runs = ((await world.api.get(`/v1/customers/${id}/journeys`)).json as unknown as { runs: { journeyId: string; version?: number }[] }).runs.filter((r) => r.journeyId === 'race');
    const steps = world.engine.outbox.entries.flatMap((m) => (m.channel === 'email' && m.tags.customer === id ? [m.tags.step] : []));
    return { versions: runs.map((r) => r.version), steps };
  };

  it('control: a run started before the reload is version 1 throughout', async () => {
    expect(await trigger('race-0')).toEqual({ versions: [1], steps: ['hello-v1'] });
  });

  it('a run enrolled across a reload is on one version: its record and its steps agree', async () => {
    racing.add('race-1');
    const { versions, steps } = await trigger('race-1');
    expect(versions).toHaveLength(1);
    expect(steps).toEqual([`hello-v${versions[0]}`]);
  });
});
