import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../../infra/embedded/outbox';
import { ManualClock } from '../../../shared';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const email = (customer: string, subject: string) => ({ to: `${customer}@example.com`, subject, text: subject, headers: {}, tags: { customer } });

describe('outbox history across restarts', () => {
  it('reloads the messages sent before a restart, and ids go on increasing, even after erasure removed the newest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rapport-outbox-'));
    dirs.push(dir);
    const clock = new ManualClock(new Date('2026-12-01T10:00:00Z'));
    const first = new Outbox(clock, {}, dir);
    await first.email(email('ann', 'one'));
    await first.sms({ to: '+33600000000', body: 'two', kind: 'marketing', tags: { customer: 'bob' } });
    await first.email(email('cat', 'three'));
    first.forget((m) => 'tags' in m && m.tags.customer === 'cat');

    const second = new Outbox(clock, {}, dir);
    expect(second.entries.map((m) => [m.outboxId, m.channel, 'to' in m ? m.to : m.target])).toEqual([
      ['outbox-1', 'email', 'ann@example.com'],
      ['outbox-2', 'sms', '+33600000000'],
    ]);
    expect(await second.email(email('dan', 'four'))).toEqual({ providerId: 'outbox-4' });
    expect(readFileSync(join(dir, 'outbox.ndjson'), 'utf8')).not.toContain('cat@example.com');

    const third = new Outbox(clock, {}, dir);
    expect(third.entries.map((m) => m.outboxId)).toEqual(['outbox-1', 'outbox-2', 'outbox-4']);
  });
});
