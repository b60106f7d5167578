/**
 * Found by the second audit of issue 10 (hostile sender): 85c8964 made `Email Marked as Spam` suppress email from
 * any source. Suppression is stronger than a denial (it blocks transactional messages too, and nothing lifts
 * it), yet source permissions never look at it: a source that may not set `consent.email` (its
 * `Unsubscribed {channel: email}` is refused with a 400 naming the field) suppresses any customer's email for
 * good with one `Email Marked as Spam`, no channel even needed. (`Message Bounced` hard and `Message
 * Complained` go the same way: functions/ingest/permissions.ts checks consentChanges only, not suppressionsOf.)
 * Fixed: a suppression of a channel needs the consent permission of that channel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { post } from '../helpers/webhook';

const WEB_KEY = 'wk_audit2_web_spam_01';
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

describe('a source that may not set email consent', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startTestEngine({ sources: [{ id: 'web', writeKeys: [WEB_KEY], traits: ['plan'] }] });
  }, 60_000);
  afterAll(() => engine.stop());

  it('cannot suppress a customer’s email either', async () => {
    const track = (body: unknown) => post(`${engine.url}/v1/track`, { headers: { 'content-type': 'application/json', authorization: basic(WEB_KEY) }, body: JSON.stringify(body) });
    const identify = await post(`${engine.url}/v1/identify`, { headers: { 'content-type': 'application/json', authorization: basic(WEB_KEY) }, body: JSON.stringify({ userId: 'aud2-spam-1', messageId: 'aud2-spam-i1', traits: { plan: 'pro' } }) });
    expect(identify.status).toBe(202);

    const unsubscribe = await track({ event: 'Unsubscribed', userId: 'aud2-spam-1', messageId: 'aud2-spam-u1', properties: { channel: 'email' } });
    expect(unsubscribe.status).toBe(400);

    const spam = await track({ event: 'Email Marked as Spam', userId: 'aud2-spam-1', messageId: 'aud2-spam-s1', properties: {} });
    await engine.settle();
    expect((await client(engine).customer('aud2-spam-1')).suppression).toEqual({});
    expect(spam.status).toBe(400);
    expect((spam.json as { rejected: unknown }).rejected).toEqual([{ index: 0, problems: [{ path: '$.event', message: 'source "web" may not suppress email with "Email Marked as Spam" events: that needs "consent.email" (it may set: plan)' }] }]);
    const bounce = await track({ event: 'Message Bounced', userId: 'aud2-spam-1', messageId: 'aud2-spam-b1', properties: { channel: 'email', bounceType: 'hard' } });
    expect(bounce.status).toBe(400);
    expect(JSON.stringify(bounce.json)).toContain('$.properties.channel');
  });
});
