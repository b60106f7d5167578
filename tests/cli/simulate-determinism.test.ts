import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, lines, SIMULATION_TIMEOUT } from './helpers';

/**
 * `rapport simulate` runs on virtual time: the same histories give the same report, byte for byte,
 * whatever else the machine is doing. Before virtual time the README's own sample deferred 2 sends for
 * quiet hours in one run and none in the next, and events went out up to 1h35m late.
 */
const busy: ChildProcess[] = [];
afterAll(() => {
  for (const child of busy) child.kill('SIGKILL');
});

/** A process that keeps one core busy until killed. */
function hogACore(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  busy.push(child);
  return child;
}

const WELCOME = ['simulate', 'welcome', '--events', 'tests/cli/fixtures/welcome.ndjson'];

describe('rapport simulate on virtual time', { timeout: 2 * SIMULATION_TIMEOUT }, () => {
  it('gives the same report twice, the second time with the other core busy (and an obsolete --scale, ignored)', async () => {
    const calm = await cli(WELCOME);
    expect(calm.code, calm.stderr).toBe(0);
    const hog = hogACore();
    const loaded = await cli([...WELCOME, '--scale', '100000']);
    hog.kill('SIGKILL');
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout).toBe(calm.stdout);
    expect(lines(loaded.stderr)[0]).toBe('simulate: --scale is ignored: the simulation runs on virtual time (each event at its timestamp, each wait to the second)');

    // And it is the funnel of the sample histories (README, docs/cli.md): every wait and quiet hour to the second.
    const out = lines(calm.stdout);
    expect(out[2]).toBe('  simulated    2026-03-02T09:00:00Z to 2026-03-05T18:00:00Z (3d9h) on virtual time: every event at its timestamp');
    const row = (step: string) => out.find((l) => l.startsWith(`  ${step} `))?.trim().split(/\s{2,}/);
    expect(row('send-welcome')).toEqual(['send-welcome', 'send email welcome', '20', '20']);
    expect(row('send-getting-started')).toEqual(['send-getting-started', 'send email getting-started', '20', '18', '2 unsubscribed']);
    expect(row('send-first-order-offer')).toEqual(['send-first-order-offer', 'send email first-order-offer', '13', '11', '2 unsubscribed']);
    expect(out.slice(out.indexOf('runs'))).toEqual([
      'runs',
      '  entered    20',
      '  goal       7  (35.0% of entered)',
      '  exited     0',
      '  completed  13',
      '  failed     0',
      // The fixture's 7 orders of 42.50 each come a day and a half after sign-up: after the getting-started email.
      'attribution (last touch: Order Completed within 5d of a message; value: order amount (revenue, else total, else value))',
      '  total      7 conversions, 297.50 revenue',
      '  step     send-getting-started: 7 conversions, 297.50 revenue  (100.0%)',
      '  channel  email: 7 conversions, 297.50 revenue  (100.0%)',
    ]);
  });
});
