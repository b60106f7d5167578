import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

/** The engine's functions log structured JSON (Powertools) to stdout: capture and parse it. */
describe('structured logs carry one correlation id from the event to the send', () => {
  let engine: Engine;
  const lines: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    engine = await startTestEngine({ logLevel: 'INFO', clock: new VirtualClock('2026-03-02T10:00:00Z'), sendPolicy: { quietHours: undefined } });
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      for (const line of String(chunk).split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log record
        }
      }
      return true;
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await engine.stop();
  });

  it('the profile update, the enrolment and the welcome send all log correlation_id = the Signed Up messageId', async () => {
    const api = client(engine);
    await api.send([
      { type: 'identify', userId: 'corr-1', messageId: 'corr-identify-1', traits: { email: 'corr@example.com' } },
      { type: 'track', userId: 'corr-1', event: 'Signed Up', messageId: 'corr-signup-1' },
    ]);
    // On virtual time the welcome email goes out while the engine handles the sign-up: idle means it has, and logged it.
    await engine.settle();
    expect(outboxFor(engine, 'corr-1').map((m) => m.step)).toContain('send-welcome');
    expect(lines.find((l) => l.message === 'step done' && l.stepId === 'send-welcome'), 'the send step log line').toBeDefined();

    const about = lines.filter((l) => l.correlation_id === 'corr-signup-1');
    const messages = about.map((l) => l.message);
    expect(messages).toContain('journey trigger');
    expect(about.find((l) => l.message === 'step done' && l.stepId === 'send-welcome')).toMatchObject({ status: 'sent', customerId: 'corr-1', journeyId: 'welcome' });
    // The identify's own lines carry its own messageId, never the other one.
    expect(lines.filter((l) => l.messageId === 'corr-identify-1').every((l) => l.correlation_id === 'corr-identify-1')).toBe(true);
    expect(lines.filter((l) => l.messageId === 'corr-identify-1').length).toBeGreaterThan(0);
    // And no line carries the e-mail address.
    expect(JSON.stringify(lines)).not.toContain('corr@example.com');
  });
});
