/**
 * A visitor's denial reaches the customer it links to, however many visitor ids they have (consent is law,
 * ARCHITECTURE decision 8; README "Customer profiles").
 *
 * A customer's profile lists at most PROFILE_LIMITS.anonymousIds (100) visitor ids. Linking used to stop there: a
 * 101st visitor (any sender allowed to identify the customer can pad the list; Safari's 7-day cap on script-set
 * cookies gives a weekly visitor a new anonymousId every week) kept a visitor profile of its own, so the unsubscribe
 * it gave before logging in (`identify {anonymousId, traits: {consent: {email: false}}}`, and ingest's hold under
 * `anon:<v>`) never reached the customer, and the welcome email went to the address they had unsubscribed.
 *
 * Now the newest visitor is always linked and the oldest leaves the list instead (evicted). The evicted visitor stays
 * linked (its alias and forwarding record route its events, denials included, to the customer; ingest holds its
 * denials under the customer too, since a send reads only the listed visitors' holds), is merged once (linked again,
 * its history is not counted twice), and is erased with the customer: a link mark in the customer's partition names
 * it, whatever the timeline's retention left.
 */
import { DeleteItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { PROFILE_LIMITS } from '../../functions/profile/limits';
import type { NormalisedEvent } from '../../shared';
import { holdConsumer, profileItemsNaming, useTestEngine, laterOn } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);
const device = (id: string, i: number) => `${id}-device-${i}`;

/** Customer `id` identified with their email, then from `devices` visitor ids in order (`device(id, 0)` first). */
async function withDevices(id: string, devices: number) {
  await t.api.send({ type: 'identify', userId: id, traits: { email: `${id}@example.com` } });
  await later(1_000);
  for (let i = 0; i < devices; i += 50) {
    await t.api.send(Array.from({ length: Math.min(50, devices - i) }, (_, k) => ({ type: 'identify', userId: id, anonymousId: device(id, i + k) })));
    await later(1_000);
  }
}

async function scenario(id: string, paddedVisitors: number) {
  const email = `${id}@example.com`;
  await withDevices(id, paddedVisitors);
  const visitors = (await t.api.customer(id)).anonymousIds.length;
  await later(60_000);

  // A new device, not logged in: the site's unsubscribe form.
  const visitor = `${id}-new-device`;
  await t.api.send({ type: 'identify', anonymousId: visitor, traits: { email, consent: { email: false } } });
  await later(60_000);
  // They log in, and sign up for something (the welcome journey's trigger).
  await t.api.send({ type: 'identify', userId: id, anonymousId: visitor });
  await later(60_000);
  const before = outboxFor(t.engine, id).length;
  await t.api.send({ type: 'track', userId: id, event: 'Signed Up' });
  await later(60_000);
  return {
    visitors,
    consent: (await t.api.customer(id)).consent.email?.status,
    marketingEmails: outboxFor(t.engine, id).slice(before).filter((m) => m.channel === 'email').length,
  };
}

describe('an unsubscribe given as a visitor, whatever the number of visitor ids', () => {
  it('control: a customer with no other visitors is unsubscribed once the visitor logs in', async () => {
    expect(await scenario('vc-few-devices', 0)).toEqual({ visitors: 0, consent: 'denied', marketingEmails: 0 });
  }, 60_000);

  it('a customer with 100 visitor ids is unsubscribed too', async () => {
    expect(await scenario('vc-many-devices', 100)).toEqual({ visitors: 100, consent: 'denied', marketingEmails: 0 });
  }, 60_000);
});

describe('past the cap the oldest visitor id leaves the list, and stays linked', () => {
  it('lists the newest; the oldest one’s events, denials and holds still reach the customer', async () => {
    const id = 'vc-evicted-hold';
    await withDevices(id, PROFILE_LIMITS.anonymousIds + 1);
    const listed = (await t.api.customer(id)).anonymousIds;
    expect(listed).toHaveLength(PROFILE_LIMITS.anonymousIds);
    expect(listed).not.toContain(device(id, 0));
    expect(listed.at(-1)).toBe(device(id, PROFILE_LIMITS.anonymousIds));

    // The welcome journey's first email goes; the oldest device unsubscribes while the consumer is late.
    await t.api.send({ type: 'track', userId: id, event: 'Signed Up' });
    await clock.idle();
    expect(outboxFor(t.engine, id).map((m) => m.step)).toEqual(['send-welcome']);
    const late = holdConsumer(t.engine, (d: NormalisedEvent) => d.anonymousId === device(id, 0) && d.event === 'Unsubscribed');
    await t.api.send({ type: 'track', anonymousId: device(id, 0), event: 'Unsubscribed', properties: { channel: 'email' } });
    await runToEnd(clock, t.engine, id, 'welcome');

    // Ingest's hold stops the next email before the consumer applies the denial; then the consumer applies it to the customer.
    expect(late.held).toHaveLength(1);
    expect(outboxFor(t.engine, id).map((m) => m.step)).toEqual(['send-welcome']);
    expect((await messagesOf(t.engine, id)).find((m) => m.stepId === 'send-getting-started')).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    await late.release();
    expect((await t.api.customer(id)).consent.email.status).toBe('denied');
    expect((await t.api.get(`/v1/customers/anon:${device(id, 0)}`)).status).not.toBe(200);
  }, 60_000);

  it('linked again, an evicted visitor is listed again and its history is counted once', async () => {
    const id = 'vc-relinked';
    // The first device ordered before logging in.
    await t.api.send({ type: 'track', anonymousId: device(id, 0), event: 'Order Completed', properties: { orderId: 'vc-o-1', revenue: 40, currency: 'EUR' } });
    await later(1_000);
    await withDevices(id, PROFILE_LIMITS.anonymousIds + 1);
    const evicted = await t.api.customer(id);
    expect(evicted.anonymousIds).not.toContain(device(id, 0));
    expect(evicted.stats).toMatchObject({ orderCount: 1, totalRevenue: 40 });

    await t.api.send({ type: 'identify', userId: id, anonymousId: device(id, 0) });
    await later(1_000);
    const relinked = await t.api.customer(id);
    expect(relinked.anonymousIds).toHaveLength(PROFILE_LIMITS.anonymousIds);
    expect(relinked.anonymousIds.at(-1)).toBe(device(id, 0));
    expect(relinked.anonymousIds).not.toContain(device(id, 1));
    expect(relinked.stats).toMatchObject({ orderCount: 1, totalRevenue: 40 });
  }, 60_000);

  it('an evicted visitor is in the customer’s export, and erased with them, also once the timeline no longer shows its link', async () => {
    const id = 'vc-erased';
    const typed = 'vc.erased.typed@example.org';
    // The first device typed an address into a newsletter box before logging in.
    await t.api.send({ type: 'identify', anonymousId: device(id, 0), traits: { email: typed } });
    await later(1_000);
    await withDevices(id, PROFILE_LIMITS.anonymousIds + 1);
    expect((await t.api.customer(id)).anonymousIds).not.toContain(device(id, 0));
    // Still theirs: their export holds what that device typed.
    expect(JSON.stringify((await t.api.get(`/v1/customers/${id}/export`)).json)).toContain(typed);
    // The identify that linked it has left the timeline (its retention: AWS's TTL deletes it).
    const { client } = t.engine.dynamo;
    const timeline = await client.send(
      new QueryCommand({ TableName: PROFILE_TABLE, KeyConditionExpression: 'PK = :pk AND begins_with(SK, :e)', ExpressionAttributeValues: { ':pk': { S: `C#${id}` }, ':e': { S: 'E#' } }, ConsistentRead: true }),
    );
    for (const item of timeline.Items ?? []) await client.send(new DeleteItemCommand({ TableName: PROFILE_TABLE, Key: { PK: item.PK!, SK: item.SK! } }));

    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    await t.engine.settle();

    expect(await profileItemsNaming(t.engine, [device(id, 0), typed])).toEqual([]);
  }, 60_000);
});
