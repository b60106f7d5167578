/**
 * Audit 7 (issue 10, erasure of an id whose events are not applied yet; the sixth audit's 3af0261).
 *
 * Promise (issue 10; README "Privacy: erasure"): after the erasure no item names the customer's email; the sixth
 * audit's fix erases the unowned visitor that a dropped identify of the erased customer links ("tombstone,
 * partition, redaction").
 *
 * How it breaks: visitor V leaves their email. The account's identify `{userId: X, anonymousId: V}` is delivered;
 * its first attempt links V (alias `A#V` -> X, V's profile frozen into X), then X's profile write fails (a DynamoDB
 * 500, past the SDK's retries): Lambda retries the event a little later. Meanwhile DELETE X answers 200 (X has no
 * profile). The retry drops the identify as the erased life's: it first undoes the link (`undoLink` deletes the
 * alias and V's frozen profile record), then asks `erasesVisitor`, which finds no profile for V any more and
 * erases nothing. V's timeline (the newsletter identify with the email, the page view) stays for good.
 *
 * Cause: functions/profile/consumer.ts, drop path of `applyGroup`: `undoLink(event, link, customerId)` runs before
 * `erasesVisitor`, whose `(await store.get(visitor)) === undefined` -> `false` then skips a visitor whose profile
 * record the undo just took (its partition still holds the timeline).
 *
 * Suggested fix: decide on the visitor before undoing the link (or erase the visitor's partition whenever the undo
 * removed a record frozen into the erased customer); judge "holds nothing" by the partition, not the profile item.
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
