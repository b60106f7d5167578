/**
 * Fixed (the contract refuses an id that is not well-formed Unicode, naming the field). The break, from audit 8
 * (issue 10, ids no URL can name; 75ccd83 refused "." and ".."): ingest accepted a userId holding a lone
 * UTF-16 surrogate (JSON `"\ud800"`), and stores the profile with its email. No URL can name that id: percent-encoding
 * is UTF-8 (`encodeURIComponent` throws on it) and every decoded path is well-formed, so the closest an operator can
 * send is U+FFFD in its place. GET with it shows the customer (the store's keys encode to the same UTF-8 bytes), but
 * DELETE answers 503 on every retry (the erasure reaches both spellings, whose items are the same, and its batch delete
 * is refused: "Provided list of item keys contains duplicates"): the customer can never be erased, and their email
 * stays in the table and the bus log.
 */
import { describe, expect, it } from 'vitest';
import { profileItemsNaming, useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });

describe('a userId with a lone surrogate', () => {
  it('is refused at ingest, or erased by DELETE under the id the API shows', async () => {
    const id = 'a8-sur-\ud800';
    const email = 'a8.sur.lone@example.org';
    try {
      await t.api.sendAndSettle([{ type: 'identify', userId: id, traits: { email } }]);
    } catch (error) {
      // Refused at ingest (400): nothing to erase.
      if (String(error).includes('send failed: 400')) return;
      throw error;
    }
    // The nearest a URL can name it: U+FFFD for the lone surrogate. The API answers for the customer under it.
    const shown = encodeURIComponent('a8-sur-\ufffd');
    expect((await t.api.get(`/v1/customers/${shown}`)).status).toBe(200);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) statuses.push((await t.api.del(`/v1/customers/${shown}`)).status);
    await t.engine.settle();
    const bus = t.engine.bus.log.filter((e) => JSON.stringify(e).includes(email)).length;
    const table = (await profileItemsNaming(t.engine, [email])).length;
    expect({ lastDelete: statuses.at(-1), bus, table }).toEqual({ lastDelete: 200, bus: 0, table: 0 });
  }, 30_000);
});
