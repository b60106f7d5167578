/**
 * Audit 5 (issue 10, erasure: the "came back" rule through an alias).
 *
 * Promise (README "Privacy: erasure"): while the tombstone lives, an event dated before the erasure (a late
 * one, a redelivery, an archive replay) is dropped, "also not on a customer who came back"; a customer who
 * comes back gets a new, clean profile from events dated after the erasure, "no other event reaches it". After
 * DELETE answers, no item and no file of the data folder names the customer's traits, events racing it included.
 *
 * How it breaks: customer E is erased. Afterwards (dated and received after the erasure, so allowed: it is E's
 * new life) an `alias {previousId: E, userId: Y}` joins the id E into a live customer Y; E's profile item is a
 * forwarding record (`mergedInto: Y`). Then a late event of E's erased life arrives (an identify dated before the
 * erasure, carrying E's old traits). The profile consumer resolves E to Y and reads the tombstone of the id it
 * resolved to, Y, not of the id the event names, E (functions/profile/consumer.ts:217:
 * `store.tombstone(customerId, now)` with `customerId = resolved.id`; and Y's profile has no `rebornAfter`, so no
 * tombstone is read at all). `ofErasedLife` (consumer.ts:223-225) is then false and the erased life's event is
 * applied to Y: its traits join Y's profile, its timeline item is written, and the data folder names them again.
 *
 * The same with a visitor id: the erased customer's visitor `anon:V` is linked, after the erasure, to a live
 * customer Y (an identify of Y's naming V, dated after it); a late visitor event of the erased life (anonymousId V,
 * dated before the erasure) resolves through V's alias item to Y and is applied there (second test).
 *
 * Suggested fix: check the tombstone of every id the event names (userId, and the chain it resolved through)
 * against the event (`startsNewLife` / `belongsAfter`), not only the resolved customer's; an event of an erased
 * id's old life is dropped whoever that id forwards to now. (Alternatively, record `rebornAfter` on the
 * forwarding record a new-life alias creates and check it while resolving.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { filesNaming } from '../helpers/data-folder';
import { startTestEngine } from '../helpers/engine';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('a late event of an erased customer whose id was joined into another customer after the erasure', () => {
  let engine: Engine | undefined;
  afterAll(() => engine?.stop());

  it('is dropped, not applied to the customer the id now forwards to', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-a5-alias-late-'));
    dirs.push(dataDir);
    engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
    const api = client(engine);
    const erased = 'a5-alias-gone-6621';
    const live = 'a5-alias-live-6622';
    const secret = 'a5-old-life-secret-6621';

    await api.sendAndSettle([
      { type: 'identify', userId: erased, messageId: `${erased}-1`, traits: { email: 'a5.alias.gone.6621@example.org' }, timestamp: new Date(Date.now() - 60_000).toISOString() },
      { type: 'identify', userId: live, messageId: `${live}-1`, traits: { email: 'a5.alias.live.6622@example.org' } },
    ]);
    const erasureBegan = Date.now();
    expect((await api.del(`/v1/customers/${erased}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));

    // After the erasure: the id comes back, joined into a live customer (an event of its new life).
    await api.sendAndSettle([{ type: 'alias', previousId: erased, userId: live, messageId: `${live}-alias` }]);
    expect(((await api.get(`/v1/customers/${live}`)).json as { mergedIds?: string[] }).mergedIds).toEqual([erased]);

    // A late event of the erased life: dated before the erasure (a sender's retry, a late delivery).
    const res = await api.sendAndSettle([
      { type: 'identify', userId: erased, messageId: `${erased}-late`, traits: { email: 'a5.alias.gone.6621@example.org', secretNote: secret }, timestamp: new Date(erasureBegan - 5_000).toISOString() },
    ]);
    expect(res.accepted).toEqual([`${erased}-late`]);

    // Dropped: nothing of the erased life reaches the customer the id forwards to now.
    const profile = await api.customer(live);
    expect.soft(profile.traits.secretNote, 'a trait of the erased life on the live customer').toBeUndefined();
    const timeline = (await api.get(`/v1/customers/${live}/events`)).json as unknown as { events: Array<{ messageId: string }> };
    expect.soft(timeline.events.map((e) => e.messageId), 'the late event on the timeline').not.toContain(`${erased}-late`);
    await engine.stop();
    engine = undefined;
    expect(filesNaming(dataDir, [secret]), 'files of the data folder naming the erased life\'s trait').toEqual([]);
  }, 60_000);

  it('is dropped for a visitor id of the erased customer linked to another customer since', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-a5-visitor-late-'));
    dirs.push(dataDir);
    engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
    const api = client(engine);
    const erased = 'a5-visit-gone-6631';
    const live = 'a5-visit-live-6632';
    const visitor = 'a5-visitor-6631';
    const secret = 'a5-old-visitor-secret-6631';

    await api.sendAndSettle([
      { type: 'identify', userId: erased, anonymousId: visitor, messageId: `${erased}-1`, traits: { email: 'a5.visit.gone.6631@example.org' }, timestamp: new Date(Date.now() - 60_000).toISOString() },
      { type: 'identify', userId: live, messageId: `${live}-1`, traits: { email: 'a5.visit.live.6632@example.org' } },
    ]);
    expect((await api.customer(erased)).anonymousIds).toEqual([visitor]);
    const erasureBegan = Date.now();
    expect((await api.del(`/v1/customers/${erased}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    // After the erasure: the visitor id is linked to a live customer (an event dated after it).
    await api.sendAndSettle([{ type: 'identify', userId: live, anonymousId: visitor, messageId: `${live}-link`, traits: {} }]);
    expect((await api.customer(live)).anonymousIds).toEqual([visitor]);

    // A late visitor event of the erased life.
    await api.sendAndSettle([{ type: 'track', anonymousId: visitor, messageId: `${visitor}-late`, event: 'Product Viewed', properties: { productId: 'p-1', note: secret }, timestamp: new Date(erasureBegan - 5_000).toISOString() }]);

    const timeline = (await api.get(`/v1/customers/${live}/events`)).json as unknown as { events: Array<{ messageId: string }> };
    expect.soft(timeline.events.map((e) => e.messageId), 'the late visitor event on the live customer\'s timeline').not.toContain(`${visitor}-late`);
    await engine.stop();
    engine = undefined;
    expect(filesNaming(dataDir, [secret]), 'files of the data folder naming the erased life\'s event').toEqual([]);
  }, 60_000);
});
