/**
 * Found by the seventh audit of issue 10 ( "erasure removes everything": the embedded engine's outbox log).
 *
 * Promise (issue 10 "Done when"; README "Privacy: erasure"): after DELETE answers, "no file of the data folder (bus
 * log, outbox log) holds the customer's id, email, phone or traits"; "the embedded engine also redacts its bus log
 * and outbox log".
 *
 * How it broke: the operator checks the welcome email with a customer's data (`rapport send-test welcome --to
 * me@example.com --customer X`, i.e. `POST /v1/admin/send-test {customerId: X}`, the documented way to see a
 * template as that customer gets it). The message, rendered with X's traits (their name) and X's one-click
 * unsubscribe link, lands in the outbox. X is then erased: the outbox keeps the message, with X's name and the
 * link that names them, in `GET /v1/outbox` and `<data>/outbox.ndjson`.
 *
 * Was: functions/journeys/test-send.ts tags a test send `test=true`, `template` only (no customer tag), and
 * infra/embedded/engine.ts `erasure.redact` forgets outbox entries by `tags.customer` (or a webhook's customerId)
 * only: a test send rendered from a customer is never recognised as theirs.
 *
 * Fix: a test send rendered with a customer's data goes through `outbox.renderedFor(customerId)`: its outbox entry
 * keeps `renderedFor` (not a provider tag, so feedback still credits no one), and `erasure.redact` forgets it with them.
 */
import { describe, expect, it } from 'vitest';
import { useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

describe('a test send rendered with a customer\'s data, then the customer is erased', () => {
  it('leaves nothing of the customer in the outbox', async () => {
    const id = 'a7-test-send-1';
    const name = 'Zebedee-a7-test-send';
    await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: 'a7.test.send@example.org', name } });

    const res = await fetch(`${t.engine.url}/v1/admin/send-test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ template: 'welcome', to: 'operator@example.com', customerId: id }),
    });
    expect(res.status).toBe(200);
    expect(JSON.stringify((await t.api.get('/v1/outbox')).json), 'the test send, rendered with the customer\'s name').toContain(name);

    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);

    const outbox = JSON.stringify((await t.api.get('/v1/outbox')).json);
    expect(outbox.includes(name), 'the outbox holds the erased customer\'s name').toBe(false);
    expect(outbox.includes(id), 'the outbox names the erased customer (the unsubscribe link)').toBe(false);
  });
});
