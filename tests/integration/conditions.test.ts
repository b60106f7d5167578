/**
 * Conditions see what triggers see, and templates see what the docs promise:
 * an order with a sofa among its `products` gets the tag a rule on
 * `products: { category: [sofa] }` computes and takes the journey branch with
 * the same pattern, and a template renders `profile.tags`. Driven through the
 * engine's HTTP API with the shipped Liquid renderer.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { outboxFor, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-conditions-'));
/** Virtual time: the journey runs while the engine handles the event, and its record is read once it ended. */
const clock = new VirtualClock('2026-03-02T10:00:00Z');
let engine: Engine;
let api: ReturnType<typeof client>;

const JOURNEY = `id: sofa-care
name: Sofa care tips
version: 1
trigger: { event: Care Tips Requested }
steps:
  - id: pick
    branch:
      - when: { event: Order Completed, where: { products: { category: [sofa] } } }
        next: sofa-tips
      - else: thanks
  - id: sofa-tips
    send: { channel: email, template: sofa-tips }
    next: end
  - id: thanks
    send: { channel: email, template: thanks }
`;

beforeAll(async () => {
  for (const sub of ['config', 'journeys', 'templates']) mkdirSync(path.join(dir, sub));
  cpSync('workflows/segmentation.config.yaml', path.join(dir, 'config', 'segmentation.config.yaml'));
  writeFileSync(
    path.join(dir, 'config', 'tags.yaml'),
    ['tags:', '  - name: sofa-buyer', '    description: Bought a sofa', '    when: { event: Order Completed, where: { products: { category: [sofa] } }, within: 30d }', ''].join('\n'),
  );
  writeFileSync(path.join(dir, 'journeys', 'sofa-care.yaml'), JOURNEY);
  writeFileSync(path.join(dir, 'templates', 'sofa-tips.email.liquid'), ['Subject: Caring for your sofa', '', 'Your tags: {{ profile.tags | join: ", " }}.', ''].join('\n'));
  writeFileSync(path.join(dir, 'templates', 'thanks.email.liquid'), ['Subject: Thanks', '', 'Your tags: {{ profile.tags | join: ", " }}.', ''].join('\n'));
  engine = await startTestEngine({
    configDir: path.join(dir, 'config'),
    journeysDir: path.join(dir, 'journeys'),
    templatesDir: path.join(dir, 'templates'),
    clock,
    sendPolicy: { quietHours: undefined },
    sweepEveryMs: 0,
    logLevel: 'SILENT',
  });
  api = client(engine);
});
afterAll(async () => {
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The customer and their order; the journey starts on a later event, once the profile holds the order. */
const customer = (userId: string, categories: string[]) => [
  { type: 'identify', userId, messageId: `${userId}-id`, traits: { email: `${userId}@example.com` } },
  {
    type: 'track',
    userId,
    event: 'Order Completed',
    messageId: `${userId}-order`,
    properties: { orderId: `${userId}-1`, revenue: 900, currency: 'EUR', products: categories.map((category, i) => ({ productId: `p-${i}`, name: `A ${category}`, category, price: 450 })) },
  },
];

describe('conditions on an array of objects, as a trigger would match them', () => {
  it('tags the sofa buyer, takes the sofa branch, and renders profile.tags in the email', async () => {
    await api.sendAndSettle(customer('sofa-1', ['lighting', 'sofa']));
    await api.send({ type: 'track', userId: 'sofa-1', event: 'Care Tips Requested', messageId: 'sofa-1-tips' });
    expect((await runToEnd(clock, engine, 'sofa-1', 'sofa-care')).status).toBe('completed');
    expect((await api.customer('sofa-1')).tags).toContain('sofa-buyer');
    const mails = outboxFor(engine, 'sofa-1');
    expect(mails.map((m) => m.step)).toEqual(['sofa-tips']);
    const [mail] = mails;
    if (mail?.channel !== 'email') throw new Error('expected one email');
    expect(mail.text).toContain('Your tags: sofa-buyer.');
  });

  it('neither tags nor takes the sofa branch for an order without a sofa', async () => {
    await api.sendAndSettle(customer('lamp-1', ['lighting']));
    await api.send({ type: 'track', userId: 'lamp-1', event: 'Care Tips Requested', messageId: 'lamp-1-tips' });
    expect((await runToEnd(clock, engine, 'lamp-1', 'sofa-care')).status).toBe('completed');
    expect((await api.customer('lamp-1')).tags).not.toContain('sofa-buyer');
    expect(outboxFor(engine, 'lamp-1').map((m) => m.step)).toEqual(['thanks']);
  });
});
