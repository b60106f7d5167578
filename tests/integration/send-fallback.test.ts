/**
 * A send step's channel fallback (issue 15): `send: { channel: sms, template: vip-offer, fallback: email }`. A customer
 * without a phone gets the email, and the text's skip is recorded with its reason; one with a phone gets the text
 * only; one who unsubscribed from SMS, or left the send's topic there, gets the email; one unreachable on both gets nothing, each skip recorded; a
 * frequency-cap skip does not fall back (a policy, not reachability). The counters say which channel carried it.
 * On virtual time, through the HTTP API.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { FALLBACK_CHANNELS, orList } from '../../shared';
import { loadJourneysFromDir, JourneyError } from '../../workflows/journeys';
import { useTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-fallback-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
const journey = (send: string) => ['id: vip-offer', 'name: VIP offer', 'version: 1', 'topic: offers', 'trigger: { event: Offer Due }', 'entry: { reentry: always }', 'steps:', '  - id: send-offer', `    send: ${send}`, ''].join('\n');
writeFileSync(path.join(dir, 'journeys', 'vip-offer.yaml'), journey('{ channel: sms, template: vip-offer, fallback: email }'));
writeFileSync(path.join(dir, 'templates', 'vip-offer.sms.liquid'), 'VIP: 20% off today.');
writeFileSync(path.join(dir, 'templates', 'vip-offer.email.liquid'), 'Subject: Your VIP offer\n\n20% off today.');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const START = Date.parse('2026-03-02T10:00:00Z');

describe('a send with a fallback channel', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), sendPolicy: { quietHours: undefined, frequencyCap: 1, frequencyCapMaxDelayDays: 0 }, sweepEveryMs: 0, logLevel: 'SILENT' });
  const offer = async (id: string, traits: Record<string, unknown>, extra: Record<string, unknown>[] = []) => {
    await world.api.sendAndSettle([{ type: 'identify', userId: id, traits }, ...extra, { type: 'track', userId: id, event: 'Offer Due', messageId: `${id}-offer` }]);
    await runToEnd(clock, world.engine, id, 'vip-offer');
    const sent = outboxFor(world.engine, id).map((m) => m.channel);
    const records = (await messagesOf(world.engine, id)).map((m) => `${m.stepId} ${m.channel} ${m.status}${m.reason ? ` ${m.reason}` : ''}`).sort();
    return { sent, records };
  };

  it('sends the email when the customer has no phone, and records why the text was skipped', async () => {
    expect(await offer('fb-email-only', { email: 'fb-email-only@example.com' })).toEqual({ sent: ['email'], records: ['send-offer sms skipped no-address', 'send-offer.fallback email sent'] });
  });

  it('sends the text only when the customer can get it', async () => {
    expect(await offer('fb-both', { email: 'fb-both@example.com', phone: '+447700900124' })).toEqual({ sent: ['sms'], records: ['send-offer sms sent'] });
  });

  it('falls back when the customer unsubscribed from SMS', async () => {
    const result = await offer('fb-unsub', { email: 'fb-unsub@example.com', phone: '+447700900125' }, [{ type: 'track', userId: 'fb-unsub', event: 'Unsubscribed', properties: { channel: 'sms' } }]);
    expect(result).toEqual({ sent: ['email'], records: ['send-offer sms skipped unsubscribed', 'send-offer.fallback email sent'] });
  });

  it('falls back when the customer left the send\'s topic on SMS only', async () => {
    const result = await offer('fb-topic', { email: 'fb-topic@example.com', phone: '+447700900127' }, [{ type: 'track', userId: 'fb-topic', event: 'Unsubscribed', properties: { channel: 'sms', topic: 'offers' } }]);
    expect(result).toEqual({ sent: ['email'], records: ['send-offer sms skipped topic-unsubscribed', 'send-offer.fallback email sent'] });
  });

  it('sends nothing when neither channel reaches the customer, each skip recorded', async () => {
    expect(await offer('fb-none', { name: 'No address' })).toEqual({ sent: [], records: ['send-offer sms skipped no-address', 'send-offer.fallback email skipped no-address'] });
  });

  it('does not fall back after a frequency-cap skip: the cap is a policy, not reachability', async () => {
    expect(await offer('fb-cap', { email: 'fb-cap@example.com', phone: '+447700900126' })).toEqual({ sent: ['sms'], records: ['send-offer sms sent'] });
    // A second offer the same day: over the cap of 1 (no delay allowed), skipped on SMS, and no email instead.
    await world.api.sendAndSettle([{ type: 'track', userId: 'fb-cap', event: 'Offer Due', messageId: 'fb-cap-offer-2' }]);
    await clock.run(clock.now().getTime() + 60_000);
    expect(outboxFor(world.engine, 'fb-cap').map((m) => m.channel)).toEqual(['sms']);
    expect((await messagesOf(world.engine, 'fb-cap')).filter((m) => m.reason === 'frequency-cap').map((m) => `${m.stepId} ${m.channel}`)).toEqual(['send-offer sms']);
  });

  it('counts each channel apart', async () => {
    const stats = (await world.api.get('/v1/journeys/vip-offer/stats')).json as unknown as { counters: Record<string, number> };
    expect(stats.counters).toMatchObject({ 'send-offer.sent': 2, 'send-offer.skipped.no-address': 2, 'send-offer.skipped.frequency-cap': 1, 'send-offer.skipped.unsubscribed': 1, 'send-offer.fallback.sent': 3, 'send-offer.skipped.topic-unsubscribed': 1, 'send-offer.fallback.skipped.no-address': 1 });
  });
});

describe('validate: a fallback', () => {
  const problems = (send: string, templates = ['vip-offer.sms.liquid', 'vip-offer.email.liquid']) => {
    const folder = mkdtempSync(path.join(tmpdir(), 'rapport-fallback-validate-'));
    try {
      for (const sub of ['journeys', 'templates']) mkdirSync(path.join(folder, sub));
      writeFileSync(path.join(folder, 'journeys', 'vip-offer.yaml'), journey(send));
      for (const t of templates) writeFileSync(path.join(folder, 'templates', t), t.endsWith('.email.liquid') ? 'Subject: x\n\nx' : 'x');
      loadJourneysFromDir(path.join(folder, 'journeys'), path.join(folder, 'templates'));
      return [];
    } catch (error) {
      if (!(error instanceof JourneyError)) throw error;
      return error.errors.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  };

  it('needs the template on the fallback channel, another channel than the send, and no webhook or variants', () => {
    expect(problems('{ channel: sms, template: vip-offer, fallback: email }', ['vip-offer.sms.liquid'])).toEqual([expect.stringMatching(/^9:\d+ steps\[0\]\.send\.fallback: no email template "vip-offer": expected a file .*vip-offer\.email\.liquid/)]);
    // The other fallback channels are the channel registry's (shared/channels).
    const others = FALLBACK_CHANNELS.filter((c) => c !== 'sms');
    expect(problems('{ channel: sms, template: vip-offer, fallback: sms }')).toEqual([expect.stringContaining(`steps[0].send.fallback: fallback sms is the send's own channel: expected another one (${orList(others)})`)]);
    expect(problems('{ channel: sms, template: vip-offer, fallback: fax }')).toEqual([expect.stringContaining(`steps[0].send.fallback: expected ${orList(FALLBACK_CHANNELS)}`)]);
    expect(problems('{ channel: sms, template: vip-offer, fallback: email }')).toEqual([]);
  });
});
