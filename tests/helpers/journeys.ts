import type { Engine } from '../../infra/embedded/engine';
import type { VirtualClock } from '../../infra/embedded/virtual-time';
import type { OutboxEntry } from '../../infra/embedded/outbox';
import { broadcastExecutionName } from '../../functions/broadcasts/service';

/** Poll until `check` returns a value (not undefined/false), or fail after `timeoutMs` of real time. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Messages in the outbox for one customer, in order: `template` is read from the journey step tag. */
export function outboxFor(engine: Engine, customerId: string): Array<OutboxEntry & { step: string }> {
  return engine.outbox.entries
    .filter((m) => ('tags' in m && m.tags.customer === customerId) || (m.channel === 'webhook' && m.body.includes(JSON.stringify(customerId))))
    .map((m) => ({ ...m, step: 'tags' in m ? (m.tags.step ?? '') : m.id.split(':').pop()! }));
}

/** The customer's runs, as the API shows them. */
export async function runsOf(engine: Engine, customerId: string): Promise<Array<{ journeyId: string; status: string; executionName: string }>> {
  const res = await fetch(`${engine.url}/v1/customers/${encodeURIComponent(customerId)}/journeys`);
  if (res.status !== 200) return [];
  return ((await res.json()) as { runs: Array<{ journeyId: string; status: string; executionName: string }> }).runs;
}

export async function messagesOf(engine: Engine, customerId: string): Promise<Array<{ journeyId: string; stepId: string; status: string; reason?: string; template: string; channel: string }>> {
  const res = await fetch(`${engine.url}/v1/customers/${encodeURIComponent(customerId)}/messages`);
  if (res.status !== 200) return [];
  return ((await res.json()) as { messages: Array<{ journeyId: string; stepId: string; status: string; reason?: string; template: string; channel: string }> }).messages;
}

/** Wait until the customer's run of a journey has ended, and return it. */
export function ended(engine: Engine, customerId: string, journeyId: string, timeoutMs = 20_000) {
  return eventually(async () => (await runsOf(engine, customerId)).find((r) => r.journeyId === journeyId && r.status !== 'running'), `${journeyId} run of ${customerId} to end`, timeoutMs);
}

/** The broadcast state machine's Wait states (workflows/broadcasts/asl.ts): no page runs while its execution is in one. */
const BROADCAST_WAITS = new Set(['Wait for at', 'Wait for due', 'Pace']);

/**
 * Wait until a broadcast's execution (its first generation) is at rest, ended or in a Wait state, then until the
 * engine settles: every page it ran has done what it was going to. Polls the executor (in memory) every 10 ms, so no
 * real time is waited past that moment.
 */
export async function broadcastAtRest(engine: Engine, broadcastId: string, timeoutMs = 20_000): Promise<void> {
  const name = broadcastExecutionName(broadcastId);
  const atRest = () => {
    const execution = engine.broadcasts.sfn.executions.get(name);
    return execution !== undefined && (execution.status !== 'RUNNING' || BROADCAST_WAITS.has(execution.states.at(-1) ?? ''));
  };
  await eventually(atRest, `broadcast ${broadcastId}'s execution to end or wait`, timeoutMs);
  await engine.settle();
}

/**
 * On virtual time: run the clock until the customer's run of a journey has ended (or no timer is left),
 * and return its record. No real time passes waiting: the clock jumps from one wait or retry to the next.
 */
export async function runToEnd(clock: VirtualClock, engine: Engine, customerId: string, journeyId: string) {
  const hasEnded = () => [...engine.journeys.sfn.executions.values()].some((e) => e.journeyId === journeyId && e.input.customerId === customerId && e.status !== 'RUNNING');
  await clock.run(undefined, hasEnded);
  const run = (await runsOf(engine, customerId)).find((r) => r.journeyId === journeyId && r.status !== 'running');
  if (!run) throw new Error(`${customerId}'s ${journeyId} run did not end: no timer was left at ${clock.now().toISOString()}`);
  return run;
}

/**
 * Hold the engine's channel `name` for messages naming `needle` until `release` is called (with an
 * error: the channel then fails with it, as a POST that died); `held` resolves when one is held.
 */
export function holdChannel(engine: Engine, name: 'email' | 'webhook', needle: string) {
  const outbox = engine.outbox as unknown as Record<string, (message: unknown) => Promise<{ providerId: string }>>;
  const send = outbox[name]!.bind(engine.outbox);
  let release!: (error?: Error) => void;
  const gate = new Promise<Error | undefined>((resolve) => (release = resolve));
  let reached!: () => void;
  const held = new Promise<void>((resolve) => (reached = resolve));
  outbox[name] = async (message) => {
    if (JSON.stringify(message).includes(needle)) {
      reached();
      const error = await gate;
      if (error) throw error;
    }
    return send(message);
  };
  return { held, release };
}

/** A journey started by `Ping Requested` (re-entry always): a transactional email, then an hour's wait. */
export const PING_JOURNEY = [
  'id: ping',
  'name: Ping',
  'version: 1',
  'trigger:',
  '  event: Ping Requested',
  'entry:',
  '  reentry: always',
  'steps:',
  '  - id: send-ping',
  '    send: { channel: email, template: welcome, kind: transactional }',
  '  - id: wait-an-hour',
  '    wait: 1h',
  '',
].join('\n');
