/**
 * WhatsApp's AWS adapter (End User Messaging Social, mocked: AWS cannot be reached here): the exact
 * SendWhatsAppMessage input (the Meta Cloud API template message as bytes), a throttle or outage is a refusal the
 * step retries (ChannelUnavailableError), anything else is rethrown as it is (the outcome is unknown, no resend).
 */
import { describe, expect, it } from 'vitest';
import { awsChannels, type SendWhatsAppMessageInput } from '../../../functions/journeys/channels/aws';
import { ChannelUnavailableError } from '../../../functions/journeys/channels/types';

const message = { to: '+447700900123', template: 'order_shipped', language: 'en_US', parameters: ['Ada', 'o-1'], kind: 'marketing' as const, tags: { journey: 'shipped', step: 'notify', customer: 'c1' } };
const config = { fromAddress: 'a@example.com', webhooks: {}, whatsapp: { originationPhoneNumberId: 'phone-number-id-0123456789abcdef0123456789abcdef', metaApiVersion: 'v20.0' } };

describe('WhatsApp over End User Messaging Social', () => {
  it('sends the exact SendWhatsAppMessage input and answers its messageId', async () => {
    const calls: SendWhatsAppMessageInput[] = [];
    const channels = awsChannels(config, { whatsapp: { sendWhatsAppMessage: async (input) => (calls.push(input), { messageId: 'wamid-1' }) } });
    expect(await channels.whatsapp!(message)).toEqual({ providerId: 'wamid-1' });
    expect(calls.map((c) => ({ ...c, message: JSON.parse(new TextDecoder().decode(c.message)) as unknown }))).toEqual([
      {
        originationPhoneNumberId: 'phone-number-id-0123456789abcdef0123456789abcdef',
        metaApiVersion: 'v20.0',
        message: {
          messaging_product: 'whatsapp',
          recipient_type: 'individual',
          to: '+447700900123',
          type: 'template',
          template: { name: 'order_shipped', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ada' }, { type: 'text', text: 'o-1' }] }] },
        },
      },
    ]);
  });

  it('leaves out the body component of a template without parameters', async () => {
    const calls: SendWhatsAppMessageInput[] = [];
    const channels = awsChannels(config, { whatsapp: { sendWhatsAppMessage: async (input) => (calls.push(input), { messageId: 'wamid-2' }) } });
    await channels.whatsapp!({ ...message, parameters: [] });
    expect(JSON.parse(new TextDecoder().decode(calls[0]!.message))).toEqual({ messaging_product: 'whatsapp', recipient_type: 'individual', to: '+447700900123', type: 'template', template: { name: 'order_shipped', language: { code: 'en_US' } } });
  });

  it('turns a throttle into a refusal the step retries, and rethrows anything else as it is', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottledRequestException', $metadata: { httpStatusCode: 429 } });
    const refusing = awsChannels(config, { whatsapp: { sendWhatsAppMessage: () => Promise.reject(throttled) } });
    await expect(refusing.whatsapp!(message)).rejects.toBeInstanceOf(ChannelUnavailableError);
    const invalid = Object.assign(new Error('bad template'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    const failing = awsChannels(config, { whatsapp: { sendWhatsAppMessage: () => Promise.reject(invalid) } });
    await expect(failing.whatsapp!(message)).rejects.toBe(invalid);
  });

  it('has no WhatsApp sender when the deployment configures none', () => {
    expect(awsChannels({ fromAddress: 'a@example.com', webhooks: {} }).whatsapp).toBeUndefined();
  });
});
