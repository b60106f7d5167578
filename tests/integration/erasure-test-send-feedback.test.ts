/**
 * Fixed (a test send rendered with a customer's data carries a `rendered-for` provider tag that erasure reads). The
 * break, from audit 8 (issue 10, test sends tagged `renderedFor`, 237d5fe): a test send rendered with customer X's data is
 * forgotten from the outbox with X. But SES feedback on it (here the engine's simulated delivery, as
 * `POST /v1/admin/outbox/{id}/feedback` or SES itself publishes it) is an SES event on the bus whose `mail` carries the
 * message's headers, the subject rendered with X's name among them ("Welcome aboard, <name>!"), and only the tags
 * `test` and `template` (no `customer`: feedback on a test credits no one). Erasure finds the bus log's events by the
 * ids they name (`idsNamedBy`): this one names none, so after DELETE X the bus log still holds X's name.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

describe("feedback on a test send rendered with a customer's data, then the customer is erased", () => {
  it('leaves nothing of the customer in the bus log', async () => {
    const id = 'a8-test-send-fb-1';
    const name = 'Zebedee-a8-test-send-fb';
    await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: 'a8.test.send.fb@example.org', name } });
    const res = await fetch(`${t.engine.url}/v1/admin/send-test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ template: 'welcome', to: 'operator@example.com', customerId: id }),
    });
    expect(res.status).toBe(200);
    const entry = t.engine.outbox.entries.find((e) => JSON.stringify(e).includes(name));
    expect(entry, 'the test send in the outbox').toBeDefined();
    t.engine.feedback(entry!.outboxId, { type: 'delivery' });
    await t.engine.settle();

    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await t.engine.settle();
    const bus = t.engine.bus.log.filter((e) => JSON.stringify(e).includes(name)).map((e) => e['detail-type']);
    expect(bus).toEqual([]);
  });
});
