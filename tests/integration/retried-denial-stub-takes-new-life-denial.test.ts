/**
 * A denial whose first attempt's check failed during the erasure, retried by its sender, starts the customer's new
 * life; the first attempt's open hold write, kept as a stub by the retry, carries the same event's mark, and the next
 * hold write of the new life checks it again: it takes that mark from the new life's denial of the address, and the
 * denial goes. A newcomer with the address is mailed marketing although its owner (the new life) denied it.
 *
 * Promise (issue 10: a comeback after erasure gets a new profile, older events dropped, and its own holds are left
 * alone; address holds: a denied address stays denied for a newcomer using it; consent is law). 3cce620: a retry
 * "closes its own events' earlier attempts' records" but keeps one young record "without the id (and out of the
 * sweep's index): the next check of the id ... still finds it", and every check of it runs before it is closed.
 *
 * Scenario: the account `u-<p>` alone has X. Its CRM sends identify `{consent: {email: false}}` dated a minute ahead
 * (a sender's clock slightly fast; allowed up to 24 h). Ingest opens its write of X's denial (R, the event's mark m);
 * the account is erased just before the put (DELETE answers 200), the denial lands and the check fails: 503. The CRM
 * retries the same event (same messageId, same body) a minute later: received after the erasure completed and dated
 * after it began, it starts the new life `u-<p>`, which denies X (the consumer's write of X's denial, cause m). The
 * retry's checks of R took m from the erased life's denial and kept R as a stub (young, of an event it retries).
 * Later the new life unsubscribes from the `newsletter` topic (another hold write of the id): its check of the id's open
 * writes checks the stub R again: the erased life's (received before the erasure), no other live holder (the id
 * itself excluded) → `#takeCause(m)` on X's denial, now the new life's: deleted. X is no longer denied.
 * Control: the CRM re-sends the denial under a new messageId (another mark): X stays denied, the newcomer is skipped.
 * Found by the thirty-fifth hostile audit.
 * Now: a retry of the new life closes (does not keep) its event's earlier attempts' records of the erased life, after
 * checking them (`#ofErasedLifeSinceCameBack`): from then on the event's mark on the address is the new life's.
 */
import { describe, expect, it } from 'vitest';
import { TEST_SECRET } from '../helpers/engine';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { dynamoHooks } from '../helpers/dynamo-hooks';
import { post, signedRequest } from '../helpers/webhook';

const { t, clock, later, addressItems, eraseThenFailCheck, newcomerOffer } = offerScenario({ name: 'a35-retry-stub' });

const hooks = dynamoHooks(t, 'a35RetryStub');

async function scenario(person: string, sameMessageId: boolean) {
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
  await later(60_000);
  // Dated a minute ahead of its receipt (the sender's clock).
  const timestamp = new Date(clock.now().getTime() + 60_000).toISOString();
  const denial = (messageId: string) => ({ type: 'identify', userId: id, messageId, timestamp, traits: { email: x, consent: { email: false } } });
  const race = eraseThenFailCheck(hooks, { id, at: (op, input) => op === 'PutItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"K#email"') && input.includes('"denied"') });
  const first = await post(`${t.engine.url}/v1/events`, signedRequest(TEST_SECRET, denial(`${person}-deny`)));
  hooks.clear();
  expect(race.erased()).toBe(200);
  expect(race.failed()).toBe(true);
  expect(first.status).toBe(503);
  await later(60_000);
  // The CRM's retry (or, control, the denial re-sent as a new message): it starts the new life.
  await t.api.sendAndSettle(denial(sameMessageId ? `${person}-deny` : `${person}-deny-again`));
  await later(60_000);
  const profile = await t.api.get(`/v1/customers/${id}`);
  const ownConsent = ((profile.json.consent as Record<string, { status?: string }> | undefined)?.email?.status);
  const afterComeback = (await addressItems(x, '"denied"')).length;
  // The new life's next hold write: it leaves the `newsletter` topic.
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Unsubscribed', messageId: `${person}-news`, properties: { channel: 'email', topic: 'newsletter' } });
  await later(60_000);
  return { comeback: profile.status, ownConsent, afterComeback, xDenied: (await addressItems(x, '"denied"')).filter((text) => text.includes('"K#email"')).length, newcomer: await newcomerOffer(person, x) };
}

describe("a denial retried after its first attempt's check failed during the erasure, starting the new life", () => {
  it('control: re-sent under a new messageId: the new life keeps X denied, a newcomer with X is not mailed', async () => {
    expect(await scenario('a35rs-c', false)).toEqual({ comeback: 200, ownConsent: 'denied', afterComeback: 1, xDenied: 1, newcomer: 'unsubscribed' });
  }, 120_000);

  it('retried with its messageId: the new life keeps X denied, a newcomer with X is not mailed', async () => {
    expect(await scenario('a35rs-x', true)).toEqual({ comeback: 200, ownConsent: 'denied', afterComeback: 1, xDenied: 1, newcomer: 'unsubscribed' });
  }, 120_000);
});
