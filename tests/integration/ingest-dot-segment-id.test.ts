/**
 * Found by the seventh audit of issue 10 ( "erasure removes everything": ids a sender can use but DELETE cannot name).
 *
 * Promise (README "Privacy: erasure", the customer API table): `DELETE /v1/customers/{id}` erases every item of a
 * customer; ingest lets in nothing it cannot stand behind ("nothing invalid gets in"). A sender's ids are any
 * string of 1 to 256 characters.
 *
 * How it broke: a sender identified customer `..` (or `.`), with an email. The profile is stored. But no request
 * can name it: URL parsing (WHATWG, in every client and in the engine's own `new URL(req.url, ...)`; API Gateway
 * likewise) reads `..`, `.`, `%2E%2E`, `%2e` as dot segments and removes them, so `/v1/customers/%2E%2E` arrives
 * as `/v1/`: 404. The customer can be neither exported nor erased, ever; their email stays.
 *
 * Was: shared/contract/events.ts `Identifier`/`KnownId` accepted `.` and `..` (and visitor ids likewise);
 * functions/profile/api.ts (and the engine's router) can only address ids that survive URL normalisation.
 *
 * Fix: `Identifier` refuses `.` and `..` (userId, anonymousId, previousId, groupId): ingest answers 400 naming the
 * field, so no such customer is ever stored. The erasure path below stays as a guard should one be stored anyway.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { profileItemsNaming, useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

/** A raw request, the path sent exactly as given. */
function raw(method: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(t.engine.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a customer whose id is a dot segment', () => {
  it('can be erased', async () => {
    const email = 'a7.dot.segment@example.org';
    let accepted = true;
    await t.api.sendAndSettle({ type: 'identify', userId: '..', traits: { email } }).catch(() => (accepted = false));
    if (!accepted) return; // refused at ingest: nothing to erase (see below)
    expect((await profileItemsNaming(t.engine, ['C#..'])).length, 'the customer is stored').toBeGreaterThan(0);

    const res = await raw('DELETE', '/v1/customers/%2E%2E');
    expect(res.status, res.body).toBe(200);
    expect(await profileItemsNaming(t.engine, ['C#..', email]), 'items of the customer').toEqual([]);
  });

  it('is refused at ingest with a 400 naming the field, for every id field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ type: 'identify', userId: '..', traits: { email: 'a7.dot@example.org' } }, '$.userId'],
      [{ type: 'identify', userId: '.' }, '$.userId'],
      [{ type: 'track', anonymousId: '..', event: 'Page Viewed' }, '$.anonymousId'],
      [{ type: 'alias', userId: 'a7-dot-ok', previousId: '..' }, '$.previousId'],
      [{ type: 'group', userId: 'a7-dot-ok', groupId: '.' }, '$.groupId'],
    ];
    for (const [event, path] of cases) {
      const error = await t.api.send(event).then(
        () => undefined,
        (e: unknown) => String(e),
      );
      expect(error, JSON.stringify(event)).toContain('send failed: 400');
      expect(error).toContain(path);
      expect(error).toContain('must not be \\".\\" or \\"..\\"');
    }
    expect(await profileItemsNaming(t.engine, ['a7.dot@example.org']), 'nothing stored').toEqual([]);
  });
});
