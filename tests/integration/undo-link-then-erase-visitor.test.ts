/**
 * Issue 10 (erasure between the attempts of an event that linked a visitor; found by the seventh audit). The first
 * attempt of `identify {userId: X, anonymousId: V}` links V (alias, V's record frozen into X), then fails on X's
 * profile write; DELETE X answers before Lambda's retry, and the retry drops the identify as the erased life's.
 * Proves that the consumer decides on erasing V before it undoes that link (which deletes V's frozen record), and
 * judges "V holds something" by V's partition (its timeline too): no item names the email or V afterwards.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { profileItemsNaming, useTestEngine } from '../helpers/engine';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const id = 'a7-undo-link-1';
let armed = false;
let failed = 0;
/** While armed: the first write of X's profile fails, on all three of the SDK's attempts (one invocation attempt). */
const failing = (call: DynamoCall) => {
  const item = (call.input.Item ?? {}) as Record<string, { S?: string }>;
  const hit = armed && failed < 3 && call.table === PROFILE_TABLE && call.operation === 'PutItem' && item.PK?.S === `C#${id}` && item.SK?.S === 'P';
  if (hit) failed++;
  return hit ? ('InternalServerError' as const) : undefined;
};
const t = useTestEngine({ clock, sweepEveryMs: 0, logLevel: 'SILENT', faults: { dynamo: failing } });

describe('DELETE between the attempts of an identify that linked a visitor', () => {
  it('the retry, dropping it, erases the visitor: no item names the email', async () => {
    const visitor = 'a7-undo-link-device-1';
    const email = 'a7.undo.link@example.org';
    await t.api.send([
      { type: 'page', anonymousId: visitor, messageId: 'a7-ul-page-1', name: 'Pricing', properties: {} },
      { type: 'identify', anonymousId: visitor, messageId: 'a7-ul-newsletter-1', traits: { email } },
    ]);
    await clock.idle();

    // The account's identify: its first attempt links the visitor, then fails; Lambda retries it after a backoff.
    armed = true;
    await t.api.send({ type: 'identify', userId: id, anonymousId: visitor, messageId: 'a7-ul-account-1', traits: { email } });
    await clock.idle();
    expect(failed, 'the first attempt failed').toBe(3);

    // The erasure, before the retry.
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await clock.run(clock.now().getTime() + 60_000);
    await clock.idle();
    armed = false;

    expect((await profileItemsNaming(t.engine, [email, `C#anon:${visitor}`])).map((item) => item.slice(0, 100)), 'items of the erased customer\'s visitor').toEqual([]);
  }, 30_000);
});
