import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG, ndjson } from './fixtures';
import { cli, lines, SIMULATION_TIMEOUT } from './helpers';

/**
 * `rapport simulate` (a child process) reports the recommendations a cross-sell send rendered: the journeys
 * README's sofa → coffee-table journey over events where three customers bought a coffee table after a sofa.
 */
const tmp = mkdtempSync(join(tmpdir(), 'rapport-simulate-cross-sell-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const JOURNEY = `id: sofa-cross-sell
name: Sofa owners, six months on
version: 1
trigger:
  event: Order Completed
  where: { products: { category: [sofa] } }
steps:
  - id: six-months
    wait: 6mo
  - id: pick
    branch:
      - when: { recommendations: categories, contains: coffee-table }
        next: suggest
      - else: end
  - id: suggest
    send: { channel: email, template: sofa-cross-sell }
`;

describe('rapport simulate: cross-sell', { timeout: SIMULATION_TIMEOUT }, () => {
  it('prints the categories the sends recommended, and who took else', async () => {
    cpSync(CONFIG, join(tmp, 'wf'), { recursive: true });
    writeFileSync(join(tmp, 'wf', 'templates', 'sofa-cross-sell.email.liquid'), 'Subject: Something to go with your sofa?\n\nCustomers went on to buy: {{ recommendations.categories | join: ", " }}.\n');
    writeFileSync(join(tmp, 'sofa-cross-sell.yaml'), JOURNEY);
    const order = (userId: string, timestamp: string, category: string) => ({
      type: 'track',
      userId,
      event: 'Order Completed',
      properties: { orderId: `${userId}-${category}`, revenue: 300, currency: 'EUR', products: [{ productId: `${category}-1`, category, price: 300 }] },
      timestamp,
    });
    const people = ['s1', 's2', 's3', 'new1', 'new2'];
    const file = ndjson(tmp, 'orders.ndjson', [
      ...people.map((id) => ({ type: 'identify', userId: id, traits: { email: `${id}@example.com` }, timestamp: '2026-01-01T09:00:00Z' })),
      ...['s1', 's2', 's3'].flatMap((id) => [order(id, '2026-01-05T10:00:00Z', 'sofa'), order(id, '2026-02-10T10:00:00Z', 'coffee-table')]),
      order('new1', '2026-02-15T10:00:00Z', 'sofa'),
      order('new2', '2026-02-16T10:00:00Z', 'sofa'),
    ]);
    const result = await cli(['simulate', 'sofa-cross-sell.yaml', '--events', file, '--config', 'wf', '--quiet-hours', 'off'], { cwd: tmp });
    expect(result.code, result.stderr).toBe(0);
    const out = lines(result.stdout);
    // Five sofa buyers entered; the three who have a coffee table took else, the two new ones were sent it.
    expect(out.find((l) => l.startsWith('  suggest '))?.trim().split(/\s{2,}/)).toEqual(['suggest', 'send email sofa-cross-sell', '2', '2']);
    const at = out.indexOf('recommendations rendered (sends by category recommended)');
    expect(out.slice(at, at + 2)).toEqual(['recommendations rendered (sends by category recommended)', '  suggest  coffee-table 2']);
  });
});
