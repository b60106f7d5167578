/**
 * Push's AWS adapter (SNS mobile push, mocked: AWS cannot be reached here): the exact Publish input (the customer's
 * endpoint, one payload per platform), an address that is not an endpoint of the configured platform application
 * refused before anything is sent, a throttle a refusal the step retries (ChannelUnavailableError).
 */
import { describe, expect, it } from 'vitest';
import { awsChannels, type SnsPublishInput } from '../../../functions/journeys/channels/aws';
import { ChannelUnavailableError } from '../../../functions/journeys/channels/types';

const APP = 'arn:aws:sns:eu-west-1:123456789012:app/GCM/shop-app';
const ENDPOINT = 'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const message = { to: ENDPOINT, title: 'Order o-1 has shipped', body: 'It is on its way.', data: { orderId: 'o-1', count: 2 }, kind: 'marketing' as const, tags: { journey: 'shipped', step: 'notify', customer: 'c1' } };
const config = { fromAddress: 'a@example.com', webhooks: {}, push: { platformApplicationArn: APP } };

describe('push over SNS', () => {
  it('publishes the exact request to the customer’s endpoint and answers its MessageId', async () => {
    const calls: SnsPublishInput[] = [];
    const channels = awsChannels(config, { push: { publish: async (input) => (calls.push(input), { MessageId: 'sns-1' }) } });
    expect(await channels.push!(message)).toEqual({ providerId: 'sns-1' });
    expect(calls).toEqual([{ TargetArn: ENDPOINT, MessageStructure: 'json', Message: expect.any(String) as string }]);
    const payloads = JSON.parse(calls[0]!.Message) as Record<string, string>;
    expect(Object.keys(payloads)).toEqual(['default', 'GCM', 'APNS', 'APNS_SANDBOX']);
    expect(payloads.default).toBe('It is on its way.');
    expect(JSON.parse(payloads.GCM!)).toEqual({ notification: { title: 'Order o-1 has shipped', body: 'It is on its way.' }, data: { orderId: 'o-1', count: '2' } });
    expect(JSON.parse(payloads.APNS!)).toEqual({ aps: { alert: { title: 'Order o-1 has shipped', body: 'It is on its way.' } }, orderId: 'o-1', count: 2 });
    expect(payloads.APNS_SANDBOX).toBe(payloads.APNS);
  });

  it('refuses an address that is not an endpoint of the platform application, sending nothing', async () => {
    const calls: SnsPublishInput[] = [];
    const channels = awsChannels(config, { push: { publish: async (input) => (calls.push(input), {}) } });
    await expect(channels.push!({ ...message, to: 'arn:aws:sns:eu-west-1:123456789012:some-topic' })).rejects.toThrow(`push: the customer's pushToken is not an endpoint of ${APP} (expected arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/<id>)`);
    expect(calls).toEqual([]);
  });

  it('turns a throttle into a refusal the step retries, and rethrows a disabled endpoint as it is', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException', $metadata: { httpStatusCode: 400 } });
    await expect(awsChannels(config, { push: { publish: () => Promise.reject(throttled) } }).push!(message)).rejects.toBeInstanceOf(ChannelUnavailableError);
    const disabled = Object.assign(new Error('Endpoint is disabled'), { name: 'EndpointDisabledException', $metadata: { httpStatusCode: 400 } });
    await expect(awsChannels(config, { push: { publish: () => Promise.reject(disabled) } }).push!(message)).rejects.toBe(disabled);
  });
});
