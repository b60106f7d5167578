/**
 * Issue 10 (the visitor of a dropped erased-life identify, erased by a delivery that then fails; found by the
 * seventh audit). The consumer erases visitor V, then a DynamoDB 500 (the drop's segment clean-up, past the SDK's
 * retries) fails the invocation, and the retry finds V erased already. Proves that the bus log forgets V (its
 * newsletter identify with the email) all the same: the consumer's erasure of V redacts the engine's logs before it
 * marks the erasure complete, as DELETE does. The control runs without the failure.
 */
import type { DynamoCall } from '../../infra/embedded/faults';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { describe, expect, it } from 'vitest';
import { holdConsumer, useTestEngine } from '../helpers/engine';

let failFor: string | undefined;
let failed = 0;
/** While armed: the first three Queries of that customer's segment members fail (one call, past the SDK's 3 attempts). */
const failing = (call: DynamoCall) => {
  const text = JSON.stringify(call.input);
  const hit = failFor !== undefined && failed < 3 && call.table === PROFILE_TABLE && call.operation === 'Query' && text.includes(`"C#${failFor}"`) && text.includes('"G#"');
  if (hit) failed++;
  return hit ? ('InternalServerError' as const) : undefined;
};
const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', faults: { dynamo: failing } });

async function scenario(n: number, fail: boolean) {
  const id = `a7-visitor-redaction-${n}`;
  const visitor = `a7-visitor-redaction-device-${n}`;
  const email = `a7.visitor.redaction.${n}@example.org`;
  await t.api.sendAndSettle([
    { type: 'page', anonymousId: visitor, messageId: `a7-vr-page-${n}`, name: 'Pricing', properties: {} },
    { type: 'identify', anonymousId: visitor, messageId: `a7-vr-newsletter-${n}`, traits: { email } },
  ]);
  const late = holdConsumer(t.engine, (d) => d.userId === id);
  await t.api.send({ type: 'identify', userId: id, anonymousId: visitor, messageId: `a7-vr-account-${n}`, traits: { email } });
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  if (fail) failFor = id;
  await late.release();
  await t.engine.settle();
  failFor = undefined;
  return { email, busLog: JSON.stringify((await t.api.get('/v1/bus/events?limit=10000')).json) };
}

describe('the visitor of a dropped identify, erased by a delivery that then fails and is retried', () => {
  it('control: without the failure, the bus log forgets the visitor', async () => {
    const { email, busLog } = await scenario(1, false);
    expect(busLog.includes(email)).toBe(false);
  });

  it('the bus log forgets the visitor after the retry too', async () => {
    const { email, busLog } = await scenario(2, true);
    expect(failed, 'the fault took').toBe(3);
    expect(busLog.includes(email), 'the bus log holds the erased visitor\'s email').toBe(false);
  });
});
