import type { NormalisedEvent } from '../../shared';

let seq = 0;
/**
 * Start the messageIds `ev` gives again at t-1: each test file gets the same ids whether or not it shares this
 * module with the files before it (the `pure` project, see tests/unit/setup-shared-worker.ts). A profile orders
 * events of one instant by messageId.
 */
export function resetEventIds(): void {
  seq = 0;
}
/** A normalised event for tests: `track` with a name, or any other type via overrides. */
export function ev(name: string, at: string, properties: Record<string, unknown> = {}, overrides: Partial<NormalisedEvent> = {}): NormalisedEvent {
  return {
    specVersion: 1,
    type: 'track',
    messageId: `t-${++seq}`,
    userId: 'cust-1',
    event: name,
    properties,
    traits: {},
    context: {},
    timestamp: new Date(at).toISOString(),
    receivedAt: new Date(at).toISOString(),
    sourceId: 'default',
    ...overrides,
  };
}

export function identify(at: string, traits: Record<string, unknown>, overrides: Partial<NormalisedEvent> = {}): NormalisedEvent {
  const e = ev('', at, {}, { type: 'identify', traits, ...overrides });
  delete e.event;
  return e;
}
