/**
 * Audit 37, issue 10 "Derived events per incoming event are bounded" / "derived events come from Rapport alone",
 * against the profile consumer's outbox (functions/profile/consumer.ts: `OUTBOX_MAX = 50`, `DERIVED_EVENTS_MAX`).
 * Promise: a derived event a write made is published at least once: when the bus refuses it, "the profile write
 * stands, the cause is retried and republishes them" (DerivedEventsUnpublishedError) from the profile's outbox.
 *
 * How it breaks: one identify may derive up to DERIVED_EVENTS_MAX (202) events (a sender's 50 manual tags replaced by
 * 50 others is 100: 50 Tag Added, then 50 Tag Removed), but the write keeps `outbox.slice(-OUTBOX_MAX)`: the last 50
 * only. When the first PutEvents of them fails, the redelivered cause republishes what the outbox still holds (the 50
 * Tag Removed) and the 50 Tag Added are never published: journeys triggered by them never start.
 * Measured: the profile holds all 50 new tags; after the redelivery 0 of their 50 Tag Added are on the bus log.
 * Found by the thirty-seventh hostile audit. Now: a write keeps the last 50 outbox entries and every entry its event
 * derived (up to DERIVED_EVENTS_MAX), so the retry republishes all of them.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { client } from '../helpers/client';
import { redeliverIngested, startTestEngine } from '../helpers/engine';

const ID = 'a37-outbox';
const tag = (i: number) => `a37-m-${String(i).padStart(2, '0')}`;

describe('an identify that replaces 50 manual tags by 50 others, its first publish refused', () => {
  it('publishes every Tag Added it derived once the cause is retried', async () => {
    const config = mkdtempSync(join(tmpdir(), 'rapport-a37-outbox-'));
    cpSync('workflows', config, { recursive: true });
    const tagsYaml = readFileSync(join(config, 'tags.yaml'), 'utf8').replace(
      /^manualTags:\n/m,
      `manualTags:\n${Array.from({ length: 100 }, (_, i) => `  - { name: ${tag(i)}, description: audit 37 manual tag ${i} }\n`).join('')}`,
    );
    writeFileSync(join(config, 'tags.yaml'), tagsYaml);
    let refusing = false;
    let refused = 0;
    const engine = await startTestEngine({
      configDir: config,
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      faults: {
        // EventBridge down for the second identify's derived events (every attempt of every delivery), then back.
        putEvents: ({ entries }) => (refusing && entries.some((e) => e.Source === 'rapport.profile' && e.DetailType === 'Tag Added') ? (refused++, 'InternalException') : undefined),
      },
    });
    try {
      const api = client(engine);
      const first = Array.from({ length: 50 }, (_, i) => tag(i));
      const second = Array.from({ length: 50 }, (_, i) => tag(50 + i));
      await api.sendAndSettle({ type: 'identify', userId: ID, messageId: `${ID}-1`, traits: { email: 'a37-outbox@example.com', tags: first } });
      refusing = true;
      await api.sendAndSettle({ type: 'identify', userId: ID, messageId: `${ID}-2`, traits: { tags: second } });
      refusing = false;
      expect(refused).toBeGreaterThan(0);
      // The cause comes again (the engine's retries, or a replay of its dead letter): it republishes from the outbox.
      await redeliverIngested(engine, `${ID}-2`);
      expect((await api.customer(ID)).tags).toEqual(expect.arrayContaining(second));
      const added = new Set(
        engine.bus.log
          .filter((e) => e.source === 'rapport.profile' && e['detail-type'] === 'Tag Added' && (e.detail as { userId?: string }).userId === ID)
          .map((e) => (e.detail as { properties: { tag: string } }).properties.tag),
      );
      expect(second.filter((t) => !added.has(t)), 'Tag Added never published for').toEqual([]);
    } finally {
      await engine.stop();
      rmSync(config, { recursive: true, force: true });
    }
  }, 120_000);
});
