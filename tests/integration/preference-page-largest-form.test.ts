/**
 * The preference page takes back the largest form it builds (audit 11): topics.yaml allows 32 topics with ids of up
 * to 64 characters; a customer with an email, a phone and a push token gets a page of 96 checkboxes, whose own form
 * (one box unticked, about 20 KB) is under the page's limit (`PREFERENCES_FORM_MAX_BYTES`, worked out from that
 * largest page with headroom) and is saved. Control: the same customer with only an email address.
 */
import { mkdtempSync, readdirSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEV_UNSUBSCRIBE_KEY } from '../../functions/journeys';
import { preferencesUrl } from '../../functions/journeys/unsubscribe';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

// The example's config, with its three topics and 29 more of the longest id topics.yaml accepts (32 in all).
const configDir = mkdtempSync(join(tmpdir(), 'audit11-topics-'));
for (const name of readdirSync('workflows').filter((n) => n.endsWith('.yaml'))) copyFileSync(join('workflows', name), join(configDir, name));
const longTopics = Array.from({ length: 29 }, (_, i) => `  - id: ${`t${String(i).padStart(2, '0')}-`.padEnd(64, 'x')}\n    name: Topic ${i}\n    default: { opt-out: subscribed, opt-in: subscribed }\n`);
writeFileSync(
  join(configDir, 'topics.yaml'),
  [
    'topics:\n',
    '  - id: newsletter\n    name: Newsletter\n    default: { opt-out: subscribed, opt-in: subscribed }\n',
    '  - id: offers\n    name: Offers and discounts\n    default: { opt-out: subscribed, opt-in: unsubscribed }\n',
    '  - id: product-updates\n    name: Product updates\n    default: { opt-out: subscribed, opt-in: subscribed }\n',
    ...longTopics,
  ].join(''),
);

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, configDir, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });

/** The page's form as a browser without JavaScript posts it: its hidden fields, and the boxes left ticked. */
function formBody(html: string, untick: readonly string[]): string {
  const params = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)) params.append(m[1]!, m[2]!);
  for (const m of html.matchAll(/name="on" value="([^"]+)" checked/g)) if (!untick.includes(m[1]!)) params.append('on', m[1]!);
  return params.toString();
}

async function leaveNewsletter(id: string, traits: Record<string, unknown>) {
  await t.api.send({ type: 'identify', userId: id, traits });
  await clock.idle();
  await t.engine.settle();
  const link = preferencesUrl(t.engine.url, DEV_UNSUBSCRIBE_KEY, id, new Date(clock.now().getTime() + 3_600_000));
  const page = await fetch(link);
  expect(page.status).toBe(200);
  const html = await page.text();
  const saved = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: formBody(html, ['email:newsletter']) });
  await clock.idle();
  await t.engine.settle();
  const profile = (await t.api.customer(id)) as unknown as { topicConsent?: Record<string, Record<string, { status: string } | undefined> | undefined> };
  return { status: saved.status, newsletter: profile.topicConsent?.email?.newsletter?.status };
}

describe('the preference page with 32 long topics (audit 11)', () => {
  it('control: a customer with an email address only leaves a topic', async () => {
    expect(await leaveNewsletter('a11-form-ctl', { email: 'a11-form-ctl@example.com' })).toEqual({ status: 200, newsletter: 'denied' });
  }, 30_000);

  it('a customer with email, phone and push leaves a topic', async () => {
    const id = 'a11-form';
    expect(await leaveNewsletter(id, { email: `${id}@example.com`, phone: '+15555550123', pushToken: 'push-token-a11' })).toEqual({ status: 200, newsletter: 'denied' });
  }, 30_000);
});
