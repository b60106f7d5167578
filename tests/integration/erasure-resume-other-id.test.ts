/**
 * Found by the third audit of issue 10: an interrupted erasure's `erasing` list (1d0ccee) is kept on the tombstone
 * of the id the first DELETE asked for alone. The customer answers to every one of their ids (GET of a joined id
 * shows the customer), so the first DELETE names the old, joined id and, after its 5xx, the retry names the
 * customer's id: it finds that id's tombstone incomplete, resumes with no `erasing` list (it is on the other
 * tombstone), reaches nothing but the id asked for, answers 200 `resumed: true`, and redacts the logs for that id
 * alone. The joined id's identify, with the email the person gave and their visitor id, stays in the bus log, and
 * the joined id's tombstone keeps its `erasing` list (every id of the customer, in clear) for its whole lifetime.
 * The first attempt fails in the redaction (a DynamoDB fault on the tombstone reads it makes), as in
 * erasure-resume-visitor.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { DynamoCall } from '../../infra/embedded/faults';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

const ID = 'aud3-roi-7911';
const OLD = 'aud3-roi-old-7911';
const VISITOR = 'aud3-roi-visitor-7911';
const EMAIL = 'aud3.roi.7911@example.org';

describe('a resumed erasure retried under another id of the same customer', () => {
  it('leaves nothing of the joined id in the bus log or the profile table', async () => {
    let failing = false;
    // The DELETE's first read of the tombstone (is an erasure of this id under way?) passes; the later ones, in
    // the redaction after the deletes, fail: the erasure is interrupted after its deletes.
    let tombstoneReads = 0;
    const engine = await startTestEngine({
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      faults: {
        dynamo: (call: DynamoCall) => {
          const pk = (call.input.Key as Record<string, { S?: string }> | undefined)?.PK?.S ?? '';
          return failing && call.operation === 'GetItem' && pk.startsWith('X#') && ++tombstoneReads > 1 ? 'InternalServerError' : undefined;
        },
      },
    });
    try {
      const api = client(engine);
      await api.sendAndSettle({ type: 'identify', userId: OLD, anonymousId: VISITOR, traits: { email: EMAIL } });
      await api.sendAndSettle({ type: 'identify', userId: ID, traits: { plan: 'pro' } });
      await api.sendAndSettle({ type: 'alias', previousId: OLD, userId: ID });
      expect(((await api.customer(ID)) as unknown as { mergedIds: string[] }).mergedIds).toContain(OLD);
      // The old id answers for the customer: it is one of their ids.
      expect((await api.customer(OLD)).id).toBe(ID);

      failing = true;
      const first = await api.del(`/v1/customers/${OLD}`);
      failing = false;
      expect(first.status).toBeGreaterThanOrEqual(500);

      const retry = await api.del(`/v1/customers/${ID}`);
      await engine.settle();
      expect(retry).toMatchObject({ status: 200, json: { erased: ID, resumed: true } });
      const busLog = engine.bus.log.filter((e) => [EMAIL, OLD, VISITOR].some((n) => JSON.stringify(e).includes(n))).map((e) => JSON.stringify(e.detail));
      const table = await profileItemsNaming(engine, [EMAIL, OLD, VISITOR, ID]);
      expect({ busLog, table }).toEqual({ busLog: [], table: [] });
    } finally {
      await engine.stop();
    }
  }, 90_000);
});
