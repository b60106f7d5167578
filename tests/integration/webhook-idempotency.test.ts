/**
 * A webhook step posts at least once with one idempotency key: it claims its message
 * record before the POST, every attempt carries the same `webhook-id`, a retry after a
 * timeout posts again with that id (so the receiver acts once), and a redelivered step
 * that already succeeded posts nothing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEND_POLICY, JourneyStore, liquidTemplates, readTemplates, staticUnsubscribeKeys } from '../../functions/journeys';
import { createStepRunner, type StepInput } from '../../functions/journeys/steps';
import { postWebhook } from '../../functions/journeys/channels/aws';
import { documentClient } from '../../functions/profile';
import { PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { ScaledClock } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine, TEST_SECRET } from '../helpers/engine';
import { messagesOf, runToEnd } from '../helpers/journeys';

interface Received {
  id: string;
  timestamp: string;
  body: string;
  verified: boolean;
  /** The step's message record as the API showed it when this request arrived. */
  recordAtArrival?: { status: string; webhookId?: string } | undefined;
}

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-webhook-id-'));
const received: Received[] = [];
const hanging: ServerResponse[] = [];
let receiver: Server;
/** Virtual time: the retry after a timed-out POST is a timer, run to the end of the journey by runToEnd. */
const clock = new VirtualClock('2026-03-02T10:00:00Z');
let engine: Engine;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      void (async () => {
        const id = String(req.headers['webhook-id']);
        let verified = true;
        try {
          new Webhook(TEST_SECRET).verify(body, { 'webhook-id': id, 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) });
        } catch {
          verified = false;
        }
        const customer = (JSON.parse(body) as { customerId: string }).customerId;
        const record = (await messagesOf(engine, customer)).find((m) => m.stepId === 'post-ticket') as Received['recordAtArrival'];
        received.push({ id, timestamp: String(req.headers['webhook-timestamp']), body, verified, recordAtArrival: record });
        // The first delivery of a customer hangs past the sender's timeout (the receiver may still act on it).
        if (received.filter((r) => r.body.includes(`"${customer}"`)).length === 1 && customer.startsWith('slow')) hanging.push(res);
        else res.writeHead(200).end('{}');
      })();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
  writeFileSync(
    path.join(dir, 'journeys', 'ticket.yaml'),
    ['id: ticket', 'name: Ticket', 'version: 1', 'trigger: { event: Help Requested }', 'entry: { reentry: always }', 'steps:', '  - id: post-ticket', '    webhook: { target: support, template: ticket }', ''].join('\n'),
  );
  writeFileSync(path.join(dir, 'templates', 'ticket.webhook.liquid'), '{ "customerId": {{ profile.id | json }} }');
  engine = await startTestEngine({
    journeysDir: path.join(dir, 'journeys'),
    templatesDir: path.join(dir, 'templates'),
    clock,
    sendPolicy: { quietHours: undefined },
    outboundWebhooks: { support: { url, secret: TEST_SECRET, timeoutMs: 300 } },
    sweepEveryMs: 0,
    logLevel: 'SILENT',
  });
  api = client(engine);
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  await engine.stop();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const deliveriesTo = (customer: string) => received.filter((r) => r.body.includes(`"${customer}"`));

describe('webhook steps: claimed before the POST, one webhook-id across retries', () => {
  it('a receiver that times out on the first attempt gets the retry with the same webhook-id: one distinct id', async () => {
    await api.send([{ type: 'identify', userId: 'slow-1', traits: {} }, { type: 'track', userId: 'slow-1', event: 'Help Requested' }]);
    const run = await runToEnd(clock, engine, 'slow-1', 'ticket');
    expect(run.status).toBe('completed');
    const deliveries = deliveriesTo('slow-1');
    expect(deliveries.length).toBeGreaterThanOrEqual(2);
    expect(new Set(deliveries.map((d) => d.id))).toEqual(new Set([`${run.executionName}:post-ticket`]));
    expect(deliveries.every((d) => d.verified)).toBe(true); // re-signed on each attempt
    // Claimed before the first POST went out, with the id every attempt uses.
    expect(deliveries[0]!.recordAtArrival).toMatchObject({ status: 'sending', webhookId: `${run.executionName}:post-ticket` });
    expect((await messagesOf(engine, 'slow-1')).find((m) => m.stepId === 'post-ticket')).toMatchObject({ status: 'sent', webhookId: `${run.executionName}:post-ticket` });
  });

  it('a redelivered step after success posts nothing', async () => {
    await api.send([{ type: 'identify', userId: 'fast-1', traits: {} }, { type: 'track', userId: 'fast-1', event: 'Help Requested' }]);
    const run = await runToEnd(clock, engine, 'fast-1', 'ticket');
    expect(deliveriesTo('fast-1')).toHaveLength(1);
    const posted: string[] = [];
    // The step function as AWS or the executor would invoke it again (at-least-once), against the engine's table.
    const runner = createStepRunner({
      profiles: engine.profiles,
      journeys: new JourneyStore(documentClient(engine.dynamo.client), PROFILE_TABLE),
      channels: {
        email: () => Promise.reject(new Error('no email here')),
        sms: () => Promise.reject(new Error('no sms here')),
        webhook: (message) => (posted.push(message.id), postWebhook(fetch, { support: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret: TEST_SECRET } }, message)),
      },
      templates: liquidTemplates(readTemplates(path.join(dir, 'templates'))),
      evaluate: () => false,
      policy: DEFAULT_SEND_POLICY,
      clock: new ScaledClock(1),
      unsubscribe: { baseUrl: engine.url, keys: staticUnsubscribeKeys('k') },
      mutateProfile: () => Promise.resolve(),
        sendTaskSuccess: () => Promise.resolve(false),
    });
    const input: StepInput = {
      journeyId: 'ticket',
      stepId: 'post-ticket',
      action: 'webhook',
      config: { target: 'support', template: 'ticket' },
      customerId: 'fast-1',
      trigger: { messageId: 'm', event: 'Help Requested', properties: {} },
      execution: run.executionName,
    };
    expect(await runner.run(input)).toEqual({ status: 'sent' });
    expect(posted).toEqual([]);
    expect(deliveriesTo('fast-1')).toHaveLength(1);
  });
});
