import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { awsChannels, postWebhook, sesRequest, smsRequest } from '../../../functions/journeys/channels/aws';
import { ChannelUnavailableError } from '../../../functions/journeys/channels/types';
import { unsubscribeUrl, verifyUnsubscribe } from '../../../functions/journeys/unsubscribe';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const email = {
  to: 'ada@example.com',
  subject: 'Welcome, Ada',
  text: 'Hello Ada',
  html: '<p>Hello Ada</p>',
  headers: { 'List-Unsubscribe': '<https://r.example/v1/unsubscribe?c=a&ch=email&t=x>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  tags: { journey: 'welcome', step: 'send-welcome' },
};

describe('email over SES v2 (mocked: SES cannot be reached here)', () => {
  it('builds the exact SendEmail request, one-click unsubscribe headers included', () => {
    expect(sesRequest(email, { fromAddress: 'hello@shop.example', configurationSet: 'rapport' })).toEqual({
      FromEmailAddress: 'hello@shop.example',
      Destination: { ToAddresses: ['ada@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: 'Welcome, Ada', Charset: 'UTF-8' },
          Body: { Text: { Data: 'Hello Ada', Charset: 'UTF-8' }, Html: { Data: '<p>Hello Ada</p>', Charset: 'UTF-8' } },
          Headers: [
            { Name: 'List-Unsubscribe', Value: '<https://r.example/v1/unsubscribe?c=a&ch=email&t=x>' },
            { Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' },
          ],
        },
      },
      EmailTags: [
        { Name: 'journey', Value: 'welcome' },
        { Name: 'step', Value: 'send-welcome' },
      ],
      ConfigurationSetName: 'rapport',
    });
  });

  it('sends through the SES client and turns throttling into a retryable ChannelUnavailableError', async () => {
    const ses = new SESv2Client({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const sent: unknown[] = [];
    let fail = false;
    ses.send = (async (command: { input: unknown }) => {
      if (fail) throw Object.assign(new Error('Maximum sending rate exceeded'), { name: 'TooManyRequestsException' });
      sent.push(command.input);
      return { MessageId: 'ses-1' };
    }) as unknown as SESv2Client['send'];
    const channels = awsChannels({ fromAddress: 'hello@shop.example', webhooks: {} }, { ses });
    expect(await channels.email(email)).toEqual({ providerId: 'ses-1' });
    expect(sent).toEqual([sesRequest(email, { fromAddress: 'hello@shop.example' })]);
    fail = true;
    await expect(channels.email(email)).rejects.toBeInstanceOf(ChannelUnavailableError);
  });

  it('calls an unreachable SES unavailable (nothing sent), but not a timeout after the request went out (it may have been sent)', async () => {
    const ses = new SESv2Client({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    let error: Error = new Error('unset');
    ses.send = (async () => Promise.reject(error)) as unknown as SESv2Client['send'];
    const channels = awsChannels({ fromAddress: 'hello@shop.example', webhooks: {} }, { ses });
    error = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
    await expect(channels.email(email)).rejects.toBeInstanceOf(ChannelUnavailableError);
    error = Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' });
    const outcome = await channels.email(email).catch((e: unknown) => e);
    expect(outcome).toBe(error);
    expect(outcome).not.toBeInstanceOf(ChannelUnavailableError);
  });
});

describe('SMS over End User Messaging', () => {
  it('builds the exact SendTextMessage request', () => {
    expect(smsRequest({ to: '+33600000000', body: 'Hi', kind: 'marketing', tags: { journey: 'win-back' } }, 'pool-123')).toEqual({
      DestinationPhoneNumber: '+33600000000',
      MessageBody: 'Hi',
      MessageType: 'PROMOTIONAL',
      OriginationIdentity: 'pool-123',
      Context: { journey: 'win-back' },
    });
  });
});

describe('outbound webhooks', () => {
  it('posts a Standard Webhooks signed request the receiver can verify, and retries only on 5xx/429', async () => {
    const received: Array<{ headers: Record<string, string>; body: string }> = [];
    let status = 200;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers as Record<string, string>, body });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const targets = { support: { url, secret: SECRET } };
      const body = JSON.stringify({ ticket: { complaintId: 'c-1', respondWithinMinutes: 120 } });
      await postWebhook(fetch, targets, { target: 'support', id: 'exec-1:notify-support', body, customerId: 'c-1' });
      // The customer's id is not sent: only the body, signed.
      expect(received).toHaveLength(1);
      expect(new Webhook(SECRET).verify(received[0]!.body, received[0]!.headers)).toEqual(JSON.parse(body));
      expect(received[0]!.headers['webhook-id']).toBe('exec-1:notify-support');
      status = 503;
      await expect(postWebhook(fetch, targets, { target: 'support', id: 'x', body, customerId: 'c-1' })).rejects.toBeInstanceOf(ChannelUnavailableError);
      status = 400;
      await expect(postWebhook(fetch, targets, { target: 'support', id: 'x', body, customerId: 'c-1' })).rejects.toThrow('webhook "support" refused the message: 400');
      await expect(postWebhook(fetch, targets, { target: 'nobody', id: 'x', body, customerId: 'c-1' })).rejects.toThrow('no outbound webhook named "nobody" is configured');
    } finally {
      server.close();
    }
  });
});

describe('one-click unsubscribe links', () => {
  it('verifies links it signed and refuses forged or altered ones', () => {
    const url = new URL(unsubscribeUrl('https://rapport.example', 'k', 'cust 1', 'email'));
    expect(url.pathname).toBe('/v1/unsubscribe');
    expect(verifyUnsubscribe('k', url.searchParams)).toEqual({ customerId: 'cust 1', channel: 'email' });
    url.searchParams.set('c', 'cust-2');
    expect(verifyUnsubscribe('k', url.searchParams)).toBeUndefined();
    expect(verifyUnsubscribe('other-key', new URL(unsubscribeUrl('https://rapport.example', 'k', 'a', 'sms')).searchParams)).toBeUndefined();
  });
});
