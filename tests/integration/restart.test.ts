import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestEngine, TEST_SECRET } from '../helpers/engine';
import { post, signedRequest } from '../helpers/webhook';

const dataDir = mkdtempSync(join(tmpdir(), 'rapport-restart-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('embedded engine restart', () => {
  it('keeps idempotency records (dynalite on disk) and the bus log across a restart', async () => {
    const event = { type: 'track', userId: 'r-1', event: 'Signed Up', messageId: 'restart-1' };
    const first = await startTestEngine({ dataDir });
    expect((await post(`${first.url}/v1/events`, signedRequest(TEST_SECRET, event))).status).toBe(202);
    await first.stop();

    const second = await startTestEngine({ dataDir });
    try {
      const again = await post(`${second.url}/v1/events`, signedRequest(TEST_SECRET, event));
      expect(again.json).toEqual({ accepted: ['restart-1'], duplicates: ['restart-1'] });
      const listed = (await fetch(`${second.url}/v1/bus/events`).then((r) => r.json())) as { events: Array<{ detail: { messageId: string } }> };
      expect(listed.events.filter((e) => e.detail.messageId === 'restart-1')).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });
});
