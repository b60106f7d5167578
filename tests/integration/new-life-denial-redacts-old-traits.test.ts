/**
 * Audit 6 (issue 10, erasure vs the came-back rule's denial exception; the fifth audit's `denialsOnly` fix).
 *
 * Promise (README "Privacy: erasure"): a customer who comes back gets "a new, clean profile"; a denial dated in
 * the erased life but received after the erasure completed applies to the new life, and "the rest of that event
 * (traits, properties, visitor links) is dropped"; the embedded engine's bus log "keep[s] no event ... of an
 * erased customer (erasure, and a late event dropped ...)" (infra/embedded/engine.ts, redaction).
 *
 * How it breaks: the customer (old phone +4915550006601) is erased and comes back. A late identify of the erased
 * life arrives (dated before the erasure, e.g. a CRM's queued sync): `{phone: +4915550006601, consent: {email:
 * false}}`. Without the consent trait it is dropped and redacted from the bus log (control below). With it, the
 * consumer applies its denial alone (`denialsOnly`) and reports the event applied: nothing redacts it, so the
 * erased life's phone number stays in <data>/bus/events.ndjson for good (and in GET /v1/bus/events).
 *
 * Cause: functions/profile/consumer.ts:256-258 — an event reduced by `newLifeDenial` is applied like any other
 * (`event !== incoming`): neither `erasedDrops` nor `erasedNamed` is set, so `onErasedWrite` is not called; the
 * engine's redaction (infra/embedded/engine.ts:442-474, `ofErasedLife`) would remove it (not `ofNewLife`: dated
 * before the erasure) but never runs for it.
 *
 * Suggested fix: when the consumer reduces an event with `denialsOnly`, ask for its redaction too
 * (`onErasedWrite([customerId])`, after the profile write), and make the redaction keep (or rewrite to) the reduced
 * event rather than the original; or have ingest/the bus log record only what a denial of the new life keeps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { filesNaming } from '../helpers/data-folder';
import { startTestEngine } from '../helpers/engine';

const dataDir = mkdtempSync(join(tmpdir(), 'rapport-a6-denial-traits-'));

describe('a late identify of the erased life carrying a denial and old traits', () => {
  let engine: Engine | undefined;
  afterAll(async () => {
    await engine?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves none of the erased life\'s traits in the data folder', async () => {
    engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
    const api = client(engine);
    const id = 'a6-denial-traits-1';
    const oldPhone = '+4915550006601';
    const controlPhone = '+4915550006602';
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();

    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-old`, traits: { email: 'a6.old.life@example.org', phone: oldPhone }, timestamp: hourAgo }]);
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    // They come back.
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-new`, traits: { email: 'a6.new.life@example.org' } }]);

    // Control: a late identify of the erased life is dropped and redacted.
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-late-plain`, traits: { phone: controlPhone }, timestamp: hourAgo }]);
    // The same with a consent denial: the denial is applied to the new life...
    await api.sendAndSettle([{ type: 'identify', userId: id, messageId: `${id}-late-denial`, traits: { phone: oldPhone, consent: { email: false } }, timestamp: hourAgo }]);
    const back = await api.customer(id);
    expect(back.consent.email.status).toBe('denied');
    expect(back.traits.phone).toBeUndefined();

    await engine.stop();
    engine = undefined;
    expect(filesNaming(dataDir, [controlPhone]), 'files naming the dropped late event\'s phone').toEqual([]);
    // ...and the rest of it is dropped from the profile, but not from the data folder.
    expect(filesNaming(dataDir, [oldPhone]), 'files naming the erased life\'s phone').toEqual([]);
  }, 60_000);
});
