/**
 * WhatsApp and push on the twin (issue 15): a journey's WhatsApp message is End User Messaging Social's
 * SendWhatsAppMessage from the deployment's phone number, a push SNS Publish to the customer's platform endpoint,
 * each authorised by the step function's role in a template that deploys journeys sending them. Without the grant
 * the template gives (`social-messaging:SendWhatsAppMessage` on the phone number, `sns:Publish` on the application's
 * endpoints), the send fails with the error the SDK client throws for AWS's answer, and nothing is sent. A broadcast
 * on either is the broadcast page function's call, granted by the deployment's setting alone (no journey sends them).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';
import { templateIam, type TwinIam } from './iam';
import { Deployed, synthTwinTemplate, TWIN_ACCOUNT, TWIN_REGION, withoutGrant, type CfnTemplate } from './template';

const PHONE_NUMBER_ID = 'phone-number-id-0123456789abcdef0123456789abcdef';
const APP = `arn:aws:sns:${TWIN_REGION}:${TWIN_ACCOUNT}:app/GCM/shop-app`;
const ENDPOINT = `arn:aws:sns:${TWIN_REGION}:${TWIN_ACCOUNT}:endpoint/GCM/shop-app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`;

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-twin-channels-'));
const journeysDir = path.join(dir, 'journeys');
const templatesDir = path.join(dir, 'templates');
for (const folder of [journeysDir, templatesDir]) mkdirSync(folder);
const journey = (id: string, event: string, channel: string) =>
  [`id: ${id}`, `name: ${id}`, 'version: 1', `trigger: { event: ${event} }`, 'entry: { reentry: always }', 'steps:', '  - id: notify', `    send: { channel: ${channel}, template: order-shipped, kind: transactional }`, ''].join('\n');
writeFileSync(path.join(journeysDir, 'shipped-whatsapp.yaml'), journey('shipped-whatsapp', 'Order Shipped', 'whatsapp'));
writeFileSync(path.join(journeysDir, 'shipped-push.yaml'), journey('shipped-push', 'Parcel Shipped', 'push'));
writeFileSync(path.join(templatesDir, 'order-shipped.whatsapp.liquid'), 'Template: order_shipped\nLanguage: en_US\n\n{{ trigger.orderId }}\n');
writeFileSync(path.join(templatesDir, 'order-shipped.push.liquid'), 'Title: Order {{ trigger.orderId }} has shipped\n\nIt is on its way.\n');

/** The repository's templates (its journeys') and a broadcast's on WhatsApp and push. */
const broadcastTemplatesDir = path.join(dir, 'broadcast-templates');
cpSync(path.join(import.meta.dirname, '..', '..', 'workflows', 'templates'), broadcastTemplatesDir, { recursive: true });
writeFileSync(path.join(broadcastTemplatesDir, 'spring-sale.whatsapp.liquid'), 'Template: spring_sale\nLanguage: en_US\n\n{{ profile.traits.firstName }}\n');
writeFileSync(path.join(broadcastTemplatesDir, 'spring-sale.push.liquid'), 'Title: Spring sale\n\n20% off this week.\n');

const SETTINGS = { whatsapp: { phoneNumberId: PHONE_NUMBER_ID }, push: { platformApplicationArn: APP } };
let template: CfnTemplate;
/** The repository's journeys (none sends WhatsApp or push), with both settings given. */
let broadcastTemplate: CfnTemplate;
beforeAll(async () => {
  template = await synthTwinTemplate({ journeysDir, templatesDir, ...SETTINGS });
  broadcastTemplate = await synthTwinTemplate({ templatesDir: broadcastTemplatesDir, ...SETTINGS });
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const engines: Engine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
});

/** One customer through the journey on an engine whose functions have the roles of `iam`'s template. */
async function ship(iam: TwinIam, journeyId: 'shipped-whatsapp' | 'shipped-push', customerId: string) {
  const clock = new VirtualClock('2026-03-02T10:00:00Z');
  const engine = await startTestEngine({ clock, journeysDir, templatesDir, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT', authorize: iam.authorize });
  engines.push(engine);
  const event = journeyId === 'shipped-whatsapp' ? 'Order Shipped' : 'Parcel Shipped';
  await client(engine).sendAndSettle([
    { type: 'identify', userId: customerId, traits: { phone: '+447700900123', pushToken: ENDPOINT } },
    { type: 'track', userId: customerId, event, messageId: `${customerId}-shipped`, properties: { orderId: `o-${customerId}` } },
  ]);
  const run = await runToEnd(clock, engine, customerId, journeyId);
  return { run, outbox: outboxFor(engine, customerId), message: (await messagesOf(engine, customerId)).find((m) => m.stepId === 'notify') };
}

const calls = (iam: TwinIam, action: string) => iam.decisions.filter((d) => d.action === action).map((d) => `${d.functionName} ${d.resource} ${d.allowed}`);

describe('WhatsApp on the twin', () => {
  it("is SendWhatsAppMessage from the template's phone number, which the step's role may use", async () => {
    const iam = templateIam(new Deployed(template));
    const { run, outbox } = await ship(iam, 'shipped-whatsapp', 'tw-wa');
    expect(run.status).toBe('completed');
    expect(outbox.map((m) => m.channel)).toEqual(['whatsapp']);
    expect(calls(iam, 'social-messaging:SendWhatsAppMessage')).toEqual([`rapport-steps arn:aws:social-messaging:${TWIN_REGION}:${TWIN_ACCOUNT}:phone-number-id/0123456789abcdef0123456789abcdef true`]);
  });

  it('without social-messaging:SendWhatsAppMessage the send fails with AccessDeniedException, naming the call, and nothing is sent', async () => {
    const { run, outbox, message } = await ship(templateIam(new Deployed(withoutGrant(template, 'rapport-steps', 'social-messaging:SendWhatsAppMessage'))), 'shipped-whatsapp', 'tw-wa-denied');
    expect(run.status).toBe('failed');
    expect(outbox).toEqual([]);
    expect(message?.reason).toMatch(/^AccessDeniedException: User: arn:aws:sts::\d+:assumed-role\/[\w-]+\/[\w-]+ is not authorized to perform: social-messaging:SendWhatsAppMessage on resource: arn:aws:social-messaging:[\w-]+:\d+:phone-number-id\/0123456789abcdef0123456789abcdef because/);
  });
});

describe('push on the twin', () => {
  it("is SNS Publish to the customer's endpoint, which the step's role may publish to", async () => {
    const iam = templateIam(new Deployed(template));
    const { run, outbox } = await ship(iam, 'shipped-push', 'tw-push');
    expect(run.status).toBe('completed');
    expect(outbox.map((m) => m.channel)).toEqual(['push']);
    expect(calls(iam, 'sns:Publish')).toEqual([`rapport-steps ${ENDPOINT} true`]);
  });

  it('without sns:Publish the send fails with AuthorizationErrorException, naming the call, and nothing is sent', async () => {
    const { run, outbox, message } = await ship(templateIam(new Deployed(withoutGrant(template, 'rapport-steps', 'sns:Publish'))), 'shipped-push', 'tw-push-denied');
    expect(run.status).toBe('failed');
    expect(outbox).toEqual([]);
    expect(message?.reason).toMatch(new RegExp(`^AuthorizationErrorException: User: arn:aws:sts::\\d+:assumed-role/[\\w-]+/[\\w-]+ is not authorized to perform: sns:Publish on resource: ${ENDPOINT.replace(/[/.]/g, '\\$&')} because`));
  });
});

describe('broadcasts on WhatsApp and push on the twin', () => {
  /** One member, a broadcast on `channel` to them, through an engine whose functions have the roles of `iam`'s template. */
  async function broadcast(iam: TwinIam, channel: 'whatsapp' | 'push', id: string) {
    const clock = new VirtualClock('2026-03-02T10:00:00Z');
    const engine = await startTestEngine({ clock, templatesDir: broadcastTemplatesDir, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT', authorize: iam.authorize });
    engines.push(engine);
    await client(engine).sendAndSettle({ type: 'identify', userId: id, traits: { firstName: 'Ada', phone: '+447700900123', pushToken: ENDPOINT, tags: ['beta-tester'] } });
    const res = await fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: `${id}-b`, segment: 'tag:beta-tester', send: { channel, template: 'spring-sale' } }) });
    expect(res.status).toBe(201);
    await clock.run();
    const view = (await (await fetch(`${engine.url}/v1/broadcasts/${id}-b`)).json()) as { sent: number; failed: number };
    return { view, outbox: outboxFor(engine, id) };
  }

  it.each([
    ['whatsapp', 'social-messaging:SendWhatsAppMessage', `arn:aws:social-messaging:${TWIN_REGION}:${TWIN_ACCOUNT}:phone-number-id/0123456789abcdef0123456789abcdef`],
    ['push', 'sns:Publish', ENDPOINT],
  ] as const)('a %s broadcast is the page function\'s %s, granted by the setting though no journey sends on it; without the grant, nobody is sent to', async (channel, action, resource) => {
    const iam = templateIam(new Deployed(broadcastTemplate));
    const granted = await broadcast(iam, channel, `tw-b-${channel}`);
    expect(granted.view).toMatchObject({ sent: 1, failed: 0 });
    expect(granted.outbox.map((m) => m.channel)).toEqual([channel]);
    expect(calls(iam, action)).toEqual([`rapport-broadcast-page ${resource} true`]);
    // The step function's grants still follow the journeys: it may not.
    expect(await iam.authorize({ functionName: 'rapport-steps', service: channel === 'push' ? 'sns' : 'social-messaging', operation: action.split(':')[1]!, input: channel === 'push' ? { TargetArn: ENDPOINT } : { originationPhoneNumberId: PHONE_NUMBER_ID } })).toBeDefined();

    const denied = await broadcast(templateIam(new Deployed(withoutGrant(broadcastTemplate, 'rapport-broadcast-page', action))), channel, `tw-b-${channel}-denied`);
    expect(denied.view).toMatchObject({ sent: 0, failed: 1 });
    expect(denied.outbox).toEqual([]);
  });
});
