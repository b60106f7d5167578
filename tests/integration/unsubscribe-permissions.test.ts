/**
 * Found by the audit of issue 10 (hostile sender / unlucky configuration): an email tool that follows Segment's
 * email-events spec sends `Unsubscribed` with no channel, which now means every channel. A source
 * restricted to email consent (`traits: ['consent.email']`, the natural permission for an email tool)
 * then has its unsubscribe refused with a 400 ("may not set consent.sms"): the customer's denial is
 * lost (Segment's SDK does not retry a 400), which is exactly what 85c8964 set out to prevent. Now a
 * channel-less denial from a source that may set some consent is accepted and denies every channel (its
 * sender named no channel it may not touch; a denial harms no customer); an explicit channel the source
 * may not set is still refused, naming the field.
 */
import { CHANNELS } from '../../shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { post } from '../helpers/webhook';

const EMAIL_TOOL_KEY = 'wk_audit_email_tool_01';
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

describe('a channel-less Unsubscribed from a source allowed email consent only', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startTestEngine({
      sources: [{ id: 'email-tool', writeKeys: [EMAIL_TOOL_KEY], events: ['Identify', 'Unsubscribed', 'Email Marked as Spam'], traits: ['email', 'consent.email'] }],
    });
  }, 60_000);
  afterAll(() => engine.stop());

  it('is not refused: the customer ends unsubscribed from email', async () => {
    const track = (body: unknown) => post(`${engine.url}/v1/track`, { headers: { 'content-type': 'application/json', authorization: basic(EMAIL_TOOL_KEY) }, body: JSON.stringify(body) });
    const identify = await post(`${engine.url}/v1/identify`, {
      headers: { 'content-type': 'application/json', authorization: basic(EMAIL_TOOL_KEY) },
      body: JSON.stringify({ userId: 'aud-perm-1', messageId: 'aud-perm-i1', traits: { email: 'aud-perm-1@example.com', consent: { email: true } } }),
    });
    expect(identify.status).toBe(202);

    // Segment's email-events spec: Unsubscribed, no channel.
    const res = await track({ event: 'Unsubscribed', userId: 'aud-perm-1', messageId: 'aud-perm-u1', properties: { email_id: 'em-1', campaign_id: 'spring' } });
    await engine.settle();

    expect(res.status, JSON.stringify(res.json)).toBe(202);
    expect((await client(engine).customer('aud-perm-1')).consent.email?.status).toBe('denied');
  });

  it('an explicit channel it may not set is still refused, naming the field', async () => {
    const res = await post(`${engine.url}/v1/track`, {
      headers: { 'content-type': 'application/json', authorization: basic(EMAIL_TOOL_KEY) },
      body: JSON.stringify({ event: 'Unsubscribed', userId: 'aud-perm-2', messageId: 'aud-perm-u2', properties: { channel: 'all' } }),
    });
    expect(res.status).toBe(400);
    expect((res.json as { rejected: Array<{ problems: Array<{ path: string }> }> }).rejected[0]?.problems.map((p) => p.path)).toEqual(CHANNELS.filter((c) => c !== 'email').map(() => '$.properties.channel')); // each channel of the registry it may not set
  });
});
