/**
 * Audit 5 (issue 10, erasure while events race it: a customer whose events are all still in flight).
 *
 * Promise (README "Privacy: erasure"; ARCHITECTURE decision 8): "`DELETE /v1/customers/{id}` is complete even while
 * the customer's events race it"; after DELETE answers, no item and no file names the customer's id, email or
 * traits, "including events that arrive during or after the erasure". Ingest answers 202 once an event is on the bus,
 * and EventBridge delivers it to the profile consumer later (at least once, per-target delays; in AWS an async
 * invocation may wait in Lambda's queue and be retried for hours).
 *
 * How it breaks: a new customer's identify (with their email) and their `Unsubscribed` are accepted (202): the
 * consent hold is in the table (`C#<id> / K#email`), the events are on the bus, the profile consumer has not applied
 * them yet. DELETE /v1/customers/{id} then answers `404 customer_not_found` and writes no tombstone
 * (functions/profile/api.ts:184-193: `if (!stored) return notFound(...)` unless an interrupted erasure is found):
 * nothing is erased. The hold stays, and when the consumer gets to the events they create the profile with the
 * email: the customer whose erasure was asked for (and answered) is stored after all, and keeps being marketed to
 * as a new profile. An operator reading 404 concludes that Rapport holds nothing about them.
 *
 * Suggested fix: DELETE of an id without a live profile still erases: write the tombstone (hashed, no id in it),
 * delete whatever items the id's partition holds (holds, timeline, runs), redact the logs, and answer 200 (e.g.
 * `{"erased": id, "itemsDeleted": n}`), so the events still in flight are dropped when they arrive.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client';
import { allItems, filesNaming } from '../helpers/data-folder';
import { holdConsumer, startTestEngine } from '../helpers/engine';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const ID = 'a5-inflight-9931';
const EMAIL = 'a5.inflight.9931@example.org';

describe('DELETE of a customer whose events are accepted but not yet applied', () => {
  it('erases them: nothing names them once the events in flight arrive', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-a5-inflight-'));
    dirs.push(dataDir);
    const engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
    const api = client(engine);
    try {
      // The consumer is late: the customer's events are on the bus (202), not on a profile yet.
      const late = holdConsumer(engine, (d) => d.userId === ID);
      await api.send([
        { type: 'identify', userId: ID, traits: { email: EMAIL, firstName: 'Inflight' } },
        { type: 'track', userId: ID, event: 'Unsubscribed', properties: { channel: 'email' } },
      ]);
      await engine.settle();
      expect(late.held.length).toBeGreaterThan(0);

      const erased = await api.del(`/v1/customers/${ID}`);
      await late.release();
      await engine.settle();

      expect.soft(erased.status, 'DELETE of a customer whose events are in flight').toBe(200);
      expect.soft((await api.get(`/v1/customers/${ID}`)).status, 'the customer after the erasure and the events in flight').toBe(404);
    } finally {
      await engine.stop();
    }
    expect((await allItems(dataDir)).filter(({ item }) => item.includes(ID) || item.includes(EMAIL)).map(({ item }) => item.slice(0, 120)), 'items naming the customer').toEqual([]);
    expect(filesNaming(dataDir, [ID, EMAIL]), 'files naming the customer').toEqual([]);
  }, 60_000);
});
