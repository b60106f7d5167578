/**
 * The router reads a customer's runs and waits only for an event some journey could act on: a goal, an exit,
 * an alias, or an event a wait_for step waits for. Every other event (page views, most tracks) costs it no
 * DynamoDB call, in both homes (the same runtime). Counted on the real stores through the in-process
 * transport's diagnostics channel, the cost meter's source.
 */
import dc from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { IN_PROCESS_CHANNELS } from '../../infra/embedded/in-process';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';
import { outboxFor, runToEnd } from '../helpers/journeys';

const START = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();

/** The DynamoDB requests made while `work` runs, as `<operation> <first key prefix>` (e.g. `Query W#`). */
async function requestsDuring(work: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (message: unknown) => {
    const { request } = message as { request: { headers: Record<string, string>; body?: unknown } };
    const target = request.headers['x-amz-target'] ?? '';
    if (!target.startsWith('DynamoDB')) return;
    const body = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body as Uint8Array);
    const prefix = /":p":\{"S":"([^"]*)"/.exec(body)?.[1] ?? '';
    seen.push(`${target.replace('DynamoDB_20120810.', '')} ${prefix}`.trim());
  };
  dc.subscribe(IN_PROCESS_CHANNELS.start, listener);
  try {
    await work();
  } finally {
    dc.unsubscribe(IN_PROCESS_CHANNELS.start, listener);
  }
  return seen;
}

describe('router reads', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });

  it('the compiled journeys name the events their wait_for steps wait for', () => {
    const complaint = world.engine.journeys.compiled.find((j) => j.id === 'complaint-follow-up')!;
    expect(complaint.awaitedEvents).toEqual(['Complaint Resolved', 'Order Completed']);
    expect(world.engine.journeys.compiled.find((j) => j.id === 'welcome')!.awaitedEvents).toEqual([]);
  });

  it('an event no journey waits for, ends or exits on reads no runs nor waits', async () => {
    await world.api.send({ type: 'identify', userId: 'rr-1', traits: { email: 'rr-1@example.com' } });
    await world.engine.settle();
    const requests = await requestsDuring(async () => {
      await world.api.send({ type: 'track', userId: 'rr-1', event: 'Product Viewed', timestamp: at(START), properties: { productId: 'p-1' } });
      await world.engine.settle();
    });
    expect(requests.filter((r) => r.startsWith('Query W#') || r.startsWith('Query R#'))).toEqual([]);
    expect(requests.length).toBeGreaterThan(0);
  });

  it('an awaited event still finds its waiting run and resumes it (the control)', async () => {
    const id = 'rr-2';
    await world.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
    await world.api.send({ type: 'track', userId: id, event: 'Complaint Filed', timestamp: at(clock.now().getTime()), properties: { complaintId: `${id}-c`, category: 'delivery' } });
    await world.engine.settle();
    const requests = await requestsDuring(async () => {
      await world.api.send({ type: 'track', userId: id, event: 'Complaint Resolved', timestamp: at(clock.now().getTime()), properties: { complaintId: `${id}-c`, resolution: 'refund' } });
      await world.engine.settle();
    });
    expect(requests).toContain('Query W#Complaint Resolved#');
    const run = await runToEnd(clock, world.engine, id, 'complaint-follow-up');
    expect(run.status).toBe('completed');
    expect(outboxFor(world.engine, id).map((m) => m.step)).not.toContain('escalate');
  });
});
