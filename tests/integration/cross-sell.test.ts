/**
 * The cross-sell example of the journeys reference (workflows/journeys/README.md, "Cross-sell: what customers buy
 * next"), run as written on the embedded engine: sofa buyers who later bought coffee tables make a new sofa buyer's
 * email, six months on (virtual time), recommend coffee-table; a customer who has a coffee table takes `else`; a
 * pair fewer customers made than the threshold recommends nothing.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { CO_PURCHASE_LIMITS } from '../../functions/profile/co-purchases';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../helpers/journeys';

const README = readFileSync(path.join(import.meta.dirname, '..', '..', 'workflows', 'journeys', 'README.md'), 'utf8');
const start = README.indexOf('### Cross-sell: what customers buy next\n');
const section = README.slice(start, README.indexOf('\n## ', start + 4));
/** The fenced blocks of the section in `lang` ('' for plain ones), fence by fence. */
function fenced(lang: string): string[] {
  const found: string[] = [];
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of section.split('\n')) {
    if (!line.startsWith('```')) open?.lines.push(line);
    else if (open) {
      if (open.lang === lang) found.push(open.lines.join('\n'));
      open = undefined;
    } else open = { lang: line.slice(3).trim(), lines: [] };
  }
  return found;
}
const [journey] = fenced('yaml');
const [template] = fenced('liquid');
const [shown] = fenced('');

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-cross-sell-'));
const clock = new VirtualClock('2026-03-02T10:00:00Z');
let engine: Engine;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
  writeFileSync(path.join(dir, 'journeys', 'sofa-cross-sell.yaml'), journey!);
  writeFileSync(path.join(dir, 'templates', 'sofa-cross-sell.email.liquid'), template!);
  engine = await startTestEngine({ journeysDir: path.join(dir, 'journeys'), templatesDir: path.join(dir, 'templates'), clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
  api = client(engine);
});
afterAll(async () => {
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
const order = (userId: string, timestamp: string, categories: string[]) => ({
  type: 'track',
  userId,
  event: 'Order Completed',
  messageId: `${userId}-order-${++seq}`,
  timestamp,
  properties: { orderId: `o-${seq}`, revenue: 300, currency: 'EUR', products: categories.map((category) => ({ productId: `${category}-1`, category, price: 300 })) },
});
const identify = (userId: string) => ({ type: 'identify', userId, messageId: `${userId}-id`, traits: { email: `${userId}@example.com` } });

describe('cross-sell: six months after a sofa order, suggest a coffee table (the README example)', () => {
  it('has the example: a journey, its template and what it renders', () => {
    expect(journey).toContain('recommendations: categories, contains: coffee-table');
    expect(template).toContain('recommendations.categories');
    expect(shown).toContain('coffee-table');
  });

  it("recommends coffee-table to a new sofa buyer once enough sofa buyers bought one after, and not to one who has it", async () => {
    // The seeds' case: sofa buyers who added a coffee table months later (they own one: their runs take else).
    for (let i = 1; i <= CO_PURCHASE_LIMITS.minSupport; i++) {
      await api.sendAndSettle([identify(`seed-${i}`), order(`seed-${i}`, '2025-06-01T10:00:00Z', ['sofa']), order(`seed-${i}`, '2025-12-01T10:00:00Z', ['coffee-table'])]);
    }
    // Fewer armchair → footstool customers than the threshold.
    for (let i = 1; i < CO_PURCHASE_LIMITS.minSupport; i++) {
      await api.sendAndSettle([identify(`few-${i}`), order(`few-${i}`, '2025-06-01T10:00:00Z', ['armchair']), order(`few-${i}`, '2025-12-01T10:00:00Z', ['footstool'])]);
    }
    await api.sendAndSettle([identify('owner'), order('owner', '2026-02-01T10:00:00Z', ['coffee-table'])]);
    await api.sendAndSettle([identify('newbie'), order('newbie', clock.now().toISOString(), ['sofa', 'armchair'])]);
    await api.sendAndSettle(order('owner', clock.now().toISOString(), ['sofa']));

    expect((await runToEnd(clock, engine, 'newbie', 'sofa-cross-sell')).status).toBe('completed');
    const [mail] = outboxFor(engine, 'newbie');
    if (mail?.channel !== 'email') throw new Error('expected an email to newbie');
    // What the README shows, as rendered; footstool (2 customers) is below the threshold of 3.
    expect(mail.text).toContain(shown!.trim());
    expect(mail.text).not.toContain('footstool');
    expect(mail.step).toBe('suggest');

    expect((await runToEnd(clock, engine, 'owner', 'sofa-cross-sell')).status).toBe('completed');
    expect(outboxFor(engine, 'owner')).toEqual([]);
    expect(await messagesOf(engine, 'owner')).toEqual([]);
    // Six months on, counted per category: the step's send rendered coffee-table (what simulate reports).
    const stats = await engine.journeys.records.stats('sofa-cross-sell');
    expect(stats['suggest.recommended.coffee-table']).toBe(1);
  });
});
