import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers';

/**
 * The sample events of `tests/cli/fixtures/welcome.ndjson` (the README's
 * `rapport simulate` example): 20 customers sign up half an hour apart; 7 of them
 * order a day and a half later (during the welcome journey's second wait), 2
 * others unsubscribe half a day after signing up.
 */
const START = Date.parse('2026-03-02T09:00:00Z');
const HOUR = 3_600_000;

export const CUSTOMERS = 20;
export const BUYERS = [1, 4, 7, 10, 13, 16, 19].map(customer);
export const UNSUBSCRIBERS = [2, 9].map(customer);

function customer(i: number): string {
  return `c${String(i + 1).padStart(2, '0')}`;
}

const at = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

export function welcomeEvents(): string {
  const events: Array<Record<string, unknown>> = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const id = customer(i);
    const signUp = START + i * 0.5 * HOUR;
    events.push({ type: 'identify', userId: id, traits: { email: `${id}@example.com`, name: `Customer ${i + 1}` }, timestamp: at(signUp) });
    events.push({ type: 'track', userId: id, event: 'Signed Up', properties: { method: 'email' }, timestamp: at(signUp) });
    if (UNSUBSCRIBERS.includes(id)) events.push({ type: 'track', userId: id, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: at(signUp + 12 * HOUR) });
    if (BUYERS.includes(id)) events.push({ type: 'track', userId: id, event: 'Order Completed', messageId: `order-${id}`, properties: { orderId: `o-${id}`, revenue: 42.5, currency: 'EUR' }, timestamp: at(signUp + 36 * HOUR) });
  }
  // The file is in time order, as a recording would be.
  events.sort((a, b) => Date.parse(a.timestamp as string) - Date.parse(b.timestamp as string));
  return `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
}

/** A workflows folder of its own under `base`: one good journey, one broken journey, a broken tags.yaml. Returns the folder holding `wf/`. */
export function brokenWorkflows(base: string): string {
  const dir = join(base, 'broken');
  mkdirSync(join(dir, 'wf', 'journeys.d'), { recursive: true });
  mkdirSync(join(dir, 'wf', 'templates'), { recursive: true });
  writeFileSync(join(dir, 'wf', 'templates', 'hello.email.liquid'), 'Subject: Hello {{ profile.traits.name }}\n\nWelcome aboard.\n');
  writeFileSync(
    join(dir, 'wf', 'journeys.d', 'hello.yaml'),
    ['id: hello', 'name: Hello', 'version: 1', 'trigger: { event: Signed Up }', 'steps:', '  - id: say-hello', '    send: { channel: email, template: hello }', ''].join('\n'),
  );
  writeFileSync(
    join(dir, 'wf', 'journeys.d', 'no-timeout.yaml'),
    ['id: no-timeout', 'name: Waits forever', 'version: 1', 'trigger: { event: Signed Up }', 'steps:', '  - id: hello', '    send: { channel: email, template: hello }', '  - id: wait-forever', '    wait_for: { event: Order Completed }', ''].join('\n'),
  );
  writeFileSync(
    join(dir, 'wf', 'tags.yaml'),
    ['tags:', '  - name: vip', '    description: Big spender', '    when: { stat: totalRevenue, gte: 1000 }', '  - name: recent', '    description: Ordered lately', '    when: { event: Order Completed, within: 30 days }', ''].join('\n'),
  );
  writeFileSync(join(dir, 'wf', 'segmentation.config.yaml'), 'lifecycle:\n  at_risk_after_days: 45\n');
  return dir;
}

/** The shipped workflows folder: templates, tags.yaml, segmentation.config.yaml. */
export const CONFIG = join(ROOT, 'workflows');

/**
 * Two draft journeys in `<base>/drafts`, outside workflows/ (as a marketer's new
 * files would be): nudge (hello, a 12-hour pause, an offer; an order is the
 * goal) and hello (one send). Returns the folder.
 */
export function draftJourneys(base: string): string {
  const drafts = join(base, 'drafts');
  mkdirSync(drafts, { recursive: true });
  writeFileSync(
    join(drafts, 'nudge.yaml'),
    [
      'id: nudge',
      'name: Nudge',
      'version: 1',
      'trigger: { event: Signed Up }',
      'goals:',
      '  - event: Order Completed',
      'steps:',
      '  - id: hello',
      '    send: { channel: email, template: welcome }',
      '  - id: pause',
      '    wait: 12h',
      '  - id: offer',
      '    send: { channel: email, template: first-order-offer }',
      '',
    ].join('\n'),
  );
  writeFileSync(join(drafts, 'hello.yaml'), ['id: hello', 'name: Hello', 'version: 1', 'trigger: { event: Signed Up }', 'steps:', '  - id: hello', '    send: { channel: email, template: welcome }', ''].join('\n'));
  return drafts;
}

/** Events as an NDJSON file `<base>/<name>`. */
export function ndjson(base: string, name: string, events: Array<Record<string, unknown>>): string {
  const file = join(base, name);
  writeFileSync(file, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
  return file;
}
