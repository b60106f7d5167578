/**
 * Found by the audit of issue 10 ("a valid event never becomes a dead letter"; decision 5, nothing valid is lost). Keys
 * that are names of Object.prototype members, in a sender's traits or properties:
 * - `constructor` holding an object (an F1 shop's `{"constructor": {"name": "Ferrari"}}`, or any hostile
 *   sender) is accepted with a 202, then the profile consumer fails on every retry and the event is a dead
 *   letter: the DynamoDB marshaller takes the object for a class instance ("Unsupported type passed:
 *   [object Object]") when the timeline item is written (ProfileStore.putTimelineEvent). The profile counts
 *   the event; the timeline never gets it.
 * - a trait called `toString` / `valueOf` / `hasOwnProperty` is accepted and silently never applied:
 *   functions/profile/apply.ts applyTraits reads `p.traitTimes[key]`, which for these names is the
 *   inherited function, and `newer(function, at)` is false.
 * Fixed: one document client for every function, with `convertClassInstanceToMap` (senders' objects are
 * JSON maps); trait times are read as own keys only.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ logLevel: 'SILENT', sweepEveryMs: 0 });

describe('keys named like Object.prototype members', () => {
  it('a property "constructor" holding an object is applied, timeline included, and is no dead letter', async () => {
    await t.api.sendAndSettle({ type: 'track', userId: 'aud-proto-1', event: 'Product Viewed', properties: { productId: 'f1-cap', constructor: { name: 'Ferrari' } } });
    const events = (await t.api.get('/v1/customers/aud-proto-1/events')).json as unknown as { events: unknown[] };
    expect(t.engine.deadLetters.filter((d) => JSON.stringify(d).includes('aud-proto-1')).map((d) => d.error)).toEqual([]);
    expect(events.events).toHaveLength(1);
  });

  it('traits called toString, valueOf and hasOwnProperty are kept like any other', async () => {
    await t.api.sendAndSettle({ type: 'identify', userId: 'aud-proto-2', traits: { toString: 'a', valueOf: 'b', hasOwnProperty: 'c', plan: 'gold' } });
    expect((await t.api.customer('aud-proto-2')).traits).toEqual({ toString: 'a', valueOf: 'b', hasOwnProperty: 'c', plan: 'gold' });
  });
});
