/**
 * Who is where, on the embedded engine and virtual time: `GET /v1/journeys/{id}/runs?step=` lists the running
 * runs at a step now (paged), following each run as it moves (a send done puts it at the wait after it; a
 * wait_for resumed by its event puts it at its on_event step) and dropping it when it ends or is erased.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const HOUR = 3_600_000;
const START = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();

interface Page {
  runs?: Array<{ customerId: string; executionName: string; since: string }>;
  next?: string;
  error?: string;
  message?: string;
}

describe('who is where', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });

  const runsAt = async (journey: string, query: string) => {
    const res = await fetch(`${world.engine.url}/v1/journeys/${journey}/runs?${query}`);
    return { status: res.status, json: (await res.json()) as Page };
  };
  const customersAt = async (journey: string, step: string) => ((await runsAt(journey, `step=${step}&limit=1000`)).json.runs ?? []).map((r) => r.customerId).sort();
  const signUp = (id: string, t: number) => [{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up', messageId: `${id}-signup`, timestamp: at(t) }];

  it('lists the runs waiting at a step, a page at a time, and follows them as they move on or end', async () => {
    // Prepare: three sign-ups; each gets the welcome email, then waits a day.
    const t0 = clock.now().getTime();
    await world.api.sendAndSettle([...signUp('ww-1', t0), ...signUp('ww-2', t0), ...signUp('ww-3', t0)]);
    await clock.run(t0 + HOUR);

    // Act + Assess: all three wait a day.
    expect(await customersAt('welcome', 'wait-a-day')).toEqual(['ww-1', 'ww-2', 'ww-3']);
    expect(await customersAt('welcome', 'send-welcome')).toEqual([]);
    const first = await runsAt('welcome', 'step=wait-a-day&limit=2');
    const second = await runsAt('welcome', `step=wait-a-day&limit=2&cursor=${encodeURIComponent(first.json.next ?? '')}`);
    expect(first.json.runs).toHaveLength(2);
    expect([...first.json.runs!, ...second.json.runs!].map((r) => r.customerId).sort()).toEqual(['ww-1', 'ww-2', 'ww-3']);
    expect(second.json.next).toBeUndefined();
    expect(first.json.runs![0]).toEqual({ customerId: expect.any(String) as string, executionName: expect.any(String) as string, since: expect.stringMatching(/^2026-03-02T10:00/) as string });

    // ww-1 orders (the welcome goal: the run ends); ww-2 is erased; ww-3 goes on to wait two days after the second email.
    await world.api.sendAndSettle({ type: 'track', userId: 'ww-1', event: 'Order Completed', messageId: 'ww-1-order', timestamp: at(t0 + 2 * HOUR), properties: { orderId: 'o-1', revenue: 10 } });
    expect((await fetch(`${world.engine.url}/v1/customers/ww-2`, { method: 'DELETE' })).status).toBe(200);
    await world.engine.settle();
    expect(await customersAt('welcome', 'wait-a-day')).toEqual(['ww-3']);
    await clock.run(t0 + 25 * HOUR);
    expect(await customersAt('welcome', 'wait-a-day')).toEqual([]);
    expect(await customersAt('welcome', 'wait-two-days')).toEqual(['ww-3']);
  });

  it('shows a run at its wait_for until the event comes, then at its on_event step', async () => {
    // Prepare
    const t0 = clock.now().getTime();
    await world.api.sendAndSettle([{ type: 'identify', userId: 'ww-c', traits: { email: 'ww-c@example.com' } }, { type: 'track', userId: 'ww-c', event: 'Complaint Filed', messageId: 'ww-c-complaint', timestamp: at(t0), properties: { complaintId: 'C-1', category: 'delivery' } }]);
    await clock.run(t0 + 10 * 60_000);
    expect(await customersAt('complaint-follow-up', 'await-resolution')).toEqual(['ww-c']);

    // Act
    await world.api.sendAndSettle({ type: 'track', userId: 'ww-c', event: 'Complaint Resolved', messageId: 'ww-c-resolved', timestamp: at(t0 + 20 * 60_000), properties: { complaintId: 'C-1' } });
    await clock.run(t0 + 30 * 60_000);

    // Assess
    expect(await customersAt('complaint-follow-up', 'await-resolution')).toEqual([]);
    expect(await customersAt('complaint-follow-up', 'wait-after-resolution')).toEqual(['ww-c']);
  });

  it('names what is wrong with the request', async () => {
    const unknownStep = await runsAt('welcome', 'step=nope');
    expect([unknownStep.status, unknownStep.json.error]).toEqual([400, 'invalid_step']);
    expect(unknownStep.json.message).toContain('send-welcome, wait-a-day');
    expect((await runsAt('welcome', '')).json.error).toBe('invalid_step');
    expect((await runsAt('welcome', 'step=wait-a-day&status=completed')).json.error).toBe('invalid_status');
    expect((await runsAt('welcome', 'step=wait-a-day&limit=0')).json.error).toBe('invalid_limit');
    expect((await runsAt('welcome', 'step=wait-a-day&cursor=abc')).json.error).toBe('invalid_cursor');
    expect((await runsAt('nope', 'step=wait-a-day')).status).toBe(404);
  });
});
