/**
 * A broadcast page retried after it counted, on a rate-limited lane, counts nobody twice (audit 15). Page 2 sends its
 * 3 recipients, keeps its cursor, counts itself, then fails transiently dropping page 1's cursor (a DynamoDB
 * throttle: Step Functions retries the page with the same state). The retry would be granted fewer tokens (pinned
 * to 1 here); listing again would keep an earlier cursor and the next page would count recipients again. A retry of
 * a counted members page lists nothing: it goes on from the cursor the counted attempt kept. 8 members: recipients 8,
 * sent 8, each emailed once. On virtual time.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BroadcastLanes } from '../../functions/broadcasts/lanes';
import { BroadcastCursors } from '../../functions/profile/broadcast-cursor';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const START = Date.parse('2026-03-02T10:00:00Z');
const MEMBERS = Array.from({ length: 8 }, (_, i) => `lr-member-${i}`);

describe('a broadcast page retried after counting, granted less by its lane', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, broadcastRates: { email: 3 }, logLevel: 'SILENT' });
  afterEach(() => vi.restoreAllMocks());

  const run = async (id: string, smallerRetryGrant: boolean) => {
    await world.api.sendAndSettle(MEMBERS.map((m) => ({ type: 'identify', userId: m, traits: { email: `${m}@example.com`, tags: ['crm-gold'] } })));
    let failedOnce = false;
    let retrying = false;
    const drop = BroadcastCursors.prototype.drop;
    vi.spyOn(BroadcastCursors.prototype, 'drop').mockImplementation(async function (this: BroadcastCursors, broadcastId: string, page: number) {
      // Page 2 has counted itself, and drops page 1's cursor: throttled once (the page is retried).
      if (broadcastId === id && page === 1 && !failedOnce) {
        failedOnce = true;
        retrying = true;
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' });
      }
      return drop.call(this, broadcastId, page);
    });
    const take = BroadcastLanes.prototype.take;
    vi.spyOn(BroadcastLanes.prototype, 'take').mockImplementation(async function (this: BroadcastLanes, channel, wanted) {
      if (retrying && smallerRetryGrant) {
        // The retry's take: the lane has fewer tokens than the first attempt was granted.
        const grant = await take.call(this, channel, 1);
        if (grant.granted > 0) retrying = false;
        return grant;
      }
      retrying = false;
      return take.call(this, channel, wanted);
    });
    const posted = await fetch(`${world.engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' } }) });
    expect(posted.status).toBe(201);
    await clock.run(clock.now().getTime() + 120_000);
    expect(failedOnce).toBe(true);
    const emails = world.engine.outbox.entries.flatMap((m) => (m.channel === 'email' && m.tags.journey === `broadcast:${id}` ? [m.tags.customer] : []));
    const record = (await world.api.get(`/v1/broadcasts/${id}`)).json as unknown as { status: string; recipients: number; sent: number };
    return { emails: emails.sort(), status: record.status, recipients: record.recipients, sent: record.sent };
  };

  it('control: retried with the same grant, the counters are exact', async () => {
    expect(await run('lr-same', false)).toEqual({ emails: MEMBERS, status: 'completed', recipients: 8, sent: 8 });
  }, 60_000);

  it('retried with a smaller grant, each recipient is counted once', async () => {
    expect(await run('lr-less', true)).toEqual({ emails: MEMBERS, status: 'completed', recipients: 8, sent: 8 });
  }, 60_000);
});
