/**
 * A one-click link outlives its customer's erasure and tombstone (the link never expires; the tombstone lives 47 days
 * by default). The only record with X is mailed, then erased; its mail's link is clicked an hour after (control), or
 * 60 days after, the tombstone expired: the click leaves nothing of theirs either way: no profile is created (the
 * consumer applies one-click and SES feedback events to a live profile only) and no pointer or denial of X is kept
 * (`denyAddressOfLink` treats a record with no profile as gone).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { laterOn, profileItems, useTestEngine } from '../helpers/engine';
import { outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-old-link-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
writeFileSync(path.join(dir, 'journeys', 'offer.yaml'), ['id: offer', 'name: Offer', 'version: 1', 'trigger: { event: Offer Due }', 'entry: { reentry: always }', 'steps:', '  - id: send-offer', '    send: { channel: email, template: offer }', ''].join('\n'));
writeFileSync(path.join(dir, 'templates', 'offer.email.liquid'), 'Subject: 20% off\n\nOffers for you.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
const later = laterOn(clock, t);
const DAY = 86_400_000;

const hashOf = (address: string) => createHash('sha256').update(address).digest('hex');
/** Items left without an expiry that name the erased id or X's hash. */
const leftFor = async (id: string, address: string) =>
  (await profileItems(t.engine, (text) => text.includes(`C#${id}"`) || text.includes(hashOf(address))))
    .map((text) => JSON.parse(text) as Record<string, unknown>)
    .filter((item) => item.ttl === undefined)
    .map((item) => (item.itemType as { S?: string } | undefined)?.S)
    .sort();

async function scenario(person: string, clickAfterMs: number) {
  const address = `${person}@example.com`;
  const id = `u-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: id, traits: { email: address } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: id, event: 'Offer Due', messageId: `${id}-offer` });
  await runToEnd(clock, t.engine, id, 'offer');
  const mail = outboxFor(t.engine, id).find((m) => m.channel === 'email' && 'headers' in m && m.headers['List-Unsubscribe']) as { headers: Record<string, string> } | undefined;
  const link = /^<(.+)>$/.exec(mail!.headers['List-Unsubscribe']!)![1]!;
  expect(new URL(link).searchParams.get('a')).toBe(hashOf(address));
  await later(60_000);
  expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
  await t.engine.settle();
  expect(await leftFor(id, address)).toEqual([]);
  await later(clickAfterMs);
  const page = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  await t.engine.settle();
  await later(60_000);
  const profile = (await t.api.get(`/v1/customers/${id}`)).status;
  return { click: page.status, profile, left: await leftFor(id, address) };
}

describe("a click on an erased customer's old one-click link, nobody else having the address", () => {
  it('control: an hour after the erasure, the click leaves nothing of theirs', async () => {
    expect(await scenario('a18ol-ctl', 3_600_000)).toEqual({ click: 200, profile: 404, left: [] });
  }, 60_000);

  it('60 days after the erasure (tombstone expired), the click leaves nothing of theirs', async () => {
    expect(await scenario('a18ol', 60 * DAY)).toEqual({ click: 200, profile: 404, left: [] });
  }, 120_000);
});
