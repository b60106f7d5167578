import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG, draftJourneys, ndjson } from './fixtures';
import { SIMULATION_TIMEOUT, cli, lines } from './helpers';

/**
 * `rapport simulate` (a child process) on the embedded engine: the funnel of a
 * new journey file from a folder outside workflows/ (--journeys) over six
 * customers' histories, on virtual time: every event at its timestamp, every
 * wait to the second, whatever the machine's load.
 */
const tmp = mkdtempSync(join(tmpdir(), 'rapport-simulate-funnel-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const DRAFTS = draftJourneys(tmp);

const T0 = Date.parse('2026-03-02T09:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** Six customers sign up 10 minutes apart; n2 and n5 order 6 hours later (during the pause), n3 unsubscribes then. */
const CUSTOMERS = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
const BUYERS = ['n2', 'n5'];
const UNSUBSCRIBER = 'n3';
const nudgeEvents = CUSTOMERS.flatMap((id, i) => {
  const signUp = T0 + i * 10 * MINUTE;
  return [
    { type: 'identify', userId: id, traits: { email: `${id}@example.com`, name: id }, timestamp: at(signUp) },
    { type: 'track', userId: id, event: 'Signed Up', properties: { method: 'email' }, timestamp: at(signUp) },
    ...(BUYERS.includes(id) ? [{ type: 'track', userId: id, event: 'Order Completed', properties: { orderId: `o-${id}`, revenue: 30, currency: 'EUR' }, timestamp: at(signUp + 6 * HOUR) }] : []),
    ...(id === UNSUBSCRIBER ? [{ type: 'track', userId: id, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: at(signUp + 6 * HOUR) }] : []),
  ];
});

describe('rapport simulate: the funnel', { timeout: SIMULATION_TIMEOUT }, () => {
  it('replays the histories and prints per step who reached it, what was sent and skipped (why), and the goal conversion', async () => {
    // Latest first on purpose: replayed in time order (events at the same time keep their order: identify, then Signed Up).
    const file = ndjson(tmp, 'nudge.ndjson', [...nudgeEvents].sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp)));
    const result = await cli(['simulate', 'nudge', '--events', file, '--journeys', DRAFTS, '--config', CONFIG, '--quiet-hours', 'off'], { cwd: tmp });
    expect(result.code, result.stderr).toBe(0);
    const out = lines(result.stdout);
    expect(out.slice(0, 2)).toEqual(['Simulation of journey "nudge" v1 (Nudge)', `  events       ${nudgeEvents.length} from nudge.ndjson, 2026-03-02T09:00:00Z to 2026-03-02T15:40:00Z`]);
    // The last run (n6, signed up at 09:50) ends when its 12 h pause does, to the second: the simulation stops there.
    expect(out[2]).toBe('  simulated    2026-03-02T09:00:00Z to 2026-03-02T21:50:00Z (12h50m) on virtual time: every event at its timestamp');
    expect(out[3]).toBe('  quiet hours  off');

    const row = (step: string) => out.find((l) => l.startsWith(`  ${step} `))?.trim().split(/\s{2,}/);
    expect(out[4]!.trim().split(/\s+/)).toEqual(['step', 'action', 'reached', 'sent', 'skipped', 'deferred']);
    expect(row('hello')).toEqual(['hello', 'send email welcome', '6', '6']);
    expect(row('pause')).toEqual(['pause', 'wait 12h', '6']);
    // The buyers converted during the pause: only the other four reach the offer, and the unsubscriber gets none.
    expect(row('offer')).toEqual(['offer', 'send email first-order-offer', '4', '3', '1 unsubscribed']);
    expect(out.slice(out.indexOf('runs'))).toEqual(['runs', '  entered    6', '  goal       2  (33.3% of entered)', '  exited     0', '  completed  4', '  failed     0',
      // Both buyers ordered (30.00 each) 6 hours after the hello email: it earned them.
      'attribution (last touch: Order Completed within 5d of a message; value: order amount (revenue, else total, else value))',
      '  total      2 conversions, 60.00 revenue',
      '  step     hello: 2 conversions, 60.00 revenue  (100.0%)',
      '  channel  email: 2 conversions, 60.00 revenue  (100.0%)',
    ]);

    // Progress on stderr: the plan, a line per 10% of the events, the wait for the journey's remaining time.
    const progress = lines(result.stderr);
    expect(progress[0]).toBe(`simulate: ${nudgeEvents.length} events from nudge.ndjson, 2026-03-02T09:00:00Z to 2026-03-02T15:40:00Z, on virtual time`);
    const tenths = progress.filter((l) => /^simulate: \d+% of events sent/.test(l)).map((l) => Number(/(\d+)%/.exec(l)![1]));
    expect(tenths.at(-1)).toBe(100);
    expect(tenths).toEqual([...tenths].sort((a, b) => a - b));
    expect(progress).toContain("simulate: all events sent; simulated until 2026-03-02T21:50:00Z (the journey's longest path waits 12h)");
    expect(progress.at(-1)).toMatch(/^simulate: done in \d+\.\d s \(\d+ events\/s\)$/);
  });
});
