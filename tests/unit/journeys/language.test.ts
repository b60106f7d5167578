import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { orList, SEND_CHANNELS, TEMPLATE_CHANNELS } from '../../../shared';
import { compileJourney, JourneyError, loadJourneysFromDir, parseDuration, type JourneyProblem } from '../../../workflows/journeys';
import { compileTest, load, loadErrors, loadOk, STEP_ARN, TEMPLATES, validateAsl } from './helpers';

/** Line and column (1-based) where `needle` starts in `text` (its `nth` occurrence). */
function at(text: string, needle: string, nth = 1): { line: number; column: number } {
  let index = -1;
  for (let i = 0; i < nth; i++) index = text.indexOf(needle, index + 1);
  if (index === -1) throw new Error(`${needle} not in text`);
  const before = text.slice(0, index).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

const only = (errors: JourneyProblem[]): JourneyProblem => {
  expect(errors, JSON.stringify(errors, null, 2)).toHaveLength(1);
  return errors[0]!;
};

const journey = (steps: string, head = '') => `id: test
name: Test
version: 1
trigger: { event: Signed Up }
${head}steps:
${steps}`;

const EVERYTHING = `# yaml-language-server: $schema=../journeys/journey.schema.json
id: test
name: Every action
description: One of each step type.
version: 3
trigger:
  event: Tag Added
  where: { tag: [vip], orderId: [{ exists: true }] }
audience:
  tags: { include: [vip], exclude: [blocked] }
  lifecycle: [new, active]
  consent: email
entry:
  reentry: { after: 30d }
  concurrency: { per: orderId }
goals:
  - event: Order Completed
    where: { revenue: [{ numeric: [">", 0] }] }
exits:
  - event: Unsubscribed
steps:
  - id: hello
    send: { channel: email, template: hello }
  - id: hello-sms
    send: { channel: sms, template: hello, kind: transactional }
  - id: partner
    send: { channel: webhook, template: partner, target: partner }
  - id: morning
    wait_until: { time: "09:00", days: [mon, tue] }
  - id: pause
    wait: 30m
  - id: await-order
    wait_for:
      event: Order Completed
      where: { orderId: ["{{ trigger.orderId }}"] }
      timeout: 7d
    on_event: converted
    on_timeout: pick
  - id: pick
    branch:
      - when: { stat: orderCount, eq: 0 }
        next: test-group
      - else: set-plan
  - id: test-group
    split:
      - { percent: 50, next: offer }
      - { percent: 40 }
      - { percent: 10, holdout: true }
  - id: set-plan
    update: { trait: plan, value: "{{ trigger.orderId }}" }
  - id: offer
    send: { channel: email, template: offer }
  - id: tag-it
    tag: { add: offered }
  - id: untag
    tag: { remove: vip }
  - id: ticket
    webhook: { target: support, template: ticket }
    next: done
  - id: converted
    exit: goal
  - id: done
    exit: finished
`;

describe('journey language: every step type', () => {
  it('accepts a journey using every action and option, and compiles it to valid ASL', () => {
    const parsed = loadOk(EVERYTHING);
    expect(parsed.steps.map((s) => s.id)).toEqual([
      'hello', 'hello-sms', 'partner', 'morning', 'pause', 'await-order', 'pick', 'test-group', 'set-plan', 'offer', 'tag-it', 'untag', 'ticket', 'converted', 'done',
    ]);
    const compiled = compileTest(parsed);
    expect(validateAsl(compiled.definition)).toEqual({ isValid: true, errors: '' });
    const states = compiled.definition.States;
    // One Task per action that needs code, named after the step; each send and webhook has a Task recording its failure.
    expect(Object.entries(states).filter(([, s]) => s.Type === 'Task').map(([name]) => name)).toEqual([
      'hello', 'hello.failed', 'hello-sms', 'hello-sms.failed', 'partner', 'partner.failed', 'morning', 'await-order', 'pick', 'test-group', 'set-plan',
      'offer', 'offer.failed', 'tag-it', 'untag', 'ticket', 'ticket.failed',
    ]);
    expect(states['pause']).toMatchObject({ Type: 'Wait', Seconds: 1800, Next: 'await-order' });
    expect(states['morning.wait']).toMatchObject({ Type: 'Wait', TimestampPath: '$.last.result.until', Next: 'pause' });
    expect(states['converted']).toEqual({ Type: 'Pass', Comment: 'exit: goal', Result: { outcome: 'converted' }, ResultPath: '$.end', End: true });
    // The holdout ends the run at once with its outcome; nothing after the split waits, so its customers are not held.
    expect(states['Holdout']).toEqual({ Type: 'Pass', Comment: 'Holdout group: no further steps, counted for comparison', Result: { outcome: 'holdout', holdSeconds: 0 }, ResultPath: '$.end', End: true });
    expect(compiled.endStates).toEqual({
      Holdout: { outcome: 'holdout' },
      converted: { outcome: 'converted' },
      done: { outcome: 'exited', reason: 'finished' },
    });
    expect(compiled.triggerProperties).toEqual(['orderId']);
    expect(compiled).toMatchObject({
      audience: { tags: { include: ['vip'], exclude: ['blocked'] }, lifecycle: ['new', 'active'], consent: 'email' },
      reentry: { afterSeconds: 30 * 86_400 },
      concurrencyKey: 'orderId',
    });
  });

  it('passes each action its config, defaults resolved and trigger references left in place', () => {
    const states = compileTest(loadOk(EVERYTHING)).definition.States;
    const config = (name: string) => (states[name] as unknown as { Parameters: { Payload: { config: unknown; action: string } } }).Parameters.Payload;
    expect(config('hello')).toMatchObject({ action: 'send', config: { channel: 'email', template: 'hello', kind: 'marketing' } });
    expect(config('partner')).toMatchObject({ action: 'send', config: { channel: 'webhook', template: 'partner', kind: 'marketing', target: 'partner' } });
    expect(config('morning')).toMatchObject({ action: 'waitUntil', config: { time: '09:00', days: ['mon', 'tue'] } });
    expect(config('await-order')).toMatchObject({ action: 'await', config: { event: 'Order Completed', where: { orderId: ['{{ trigger.orderId }}'] } } });
    expect(config('pick')).toMatchObject({
      action: 'branch',
      config: { branches: [{ when: { stat: 'orderCount', eq: 0 }, next: 'test-group' }, { else: 'set-plan' }] },
    });
    expect(config('test-group')).toMatchObject({
      action: 'split',
      config: { arms: [{ percent: 50, next: 'offer' }, { percent: 40, next: 'set-plan' }, { percent: 10, next: 'holdout' }] },
    });
    expect(config('set-plan')).toMatchObject({ action: 'update', config: { trait: 'plan', value: '{{ trigger.orderId }}' } });
    expect(config('tag-it')).toMatchObject({ action: 'tag', config: { add: 'offered' } });
    expect(config('untag')).toMatchObject({ action: 'tag', config: { remove: 'vip' } });
    expect(config('ticket')).toMatchObject({ action: 'webhook', config: { target: 'support', template: 'ticket' } });
  });

  it('defaults: a step goes on to the next in the list, the last one ends; wait_for takes the next step both ways', () => {
    const compiled = compileTest(loadOk(journey(`  - id: first
    wait_for: { event: Order Completed, timeout: 2h }
  - id: last
    wait: 1d
`)));
    expect(compiled.definition.States['first']).toMatchObject({ Next: 'last', Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'last' }, { Next: 'Failed' }] });
    expect(compiled.definition.States['last']).toMatchObject({ Next: 'End' });
    expect(compiled.reentry).toBe('never');
    expect(compiled).not.toHaveProperty('concurrencyKey');
  });

  it('accepts exit: true, reentry always, branches without else (the next step) and quoted or chained durations', () => {
    const parsed = loadOk(journey(`  - id: check
    branch:
      - when: { any: [{ trait: plan, eq: pro }, { not: { stat: orderCount, eq: 0 } }] }
        next: stop
  - id: wait
    wait: "1d12h"
  - id: stop
    exit: true
`, 'entry: { reentry: always }\n'));
    const compiled = compileTest(parsed);
    expect(compiled.definition.States['check.route']).toMatchObject({
      Choices: [
        { Variable: '$.last.result.next', StringEquals: 'stop', Next: 'stop' },
        { Variable: '$.last.result.next', StringEquals: 'wait', Next: 'wait' },
      ],
      Default: 'Failed',
    });
    expect(compiled.definition.States['wait']).toMatchObject({ Seconds: 129_600 });
    expect(compiled.endStates).toEqual({ stop: { outcome: 'exited' } });
  });

  it("holds a holdout's customers as long as the split's other arms can still run (waits, wait_until, wait_for timeouts)", () => {
    const parsed = loadOk(journey(`  - id: wait-first
    wait: 1d
  - id: ab
    split:
      - { percent: 45, next: a }
      - { percent: 45, next: b }
      - { percent: 10, holdout: true }
  - id: a
    send: { channel: email, template: offer }
  - id: a-pause
    wait: 2d
  - id: a-monday
    wait_until: { time: "09:00", days: [mon] }
    next: end
  - id: b
    wait_for: { event: Order Completed, timeout: 5d }
`));
    const compiled = compileTest(parsed);
    // Arm a: 2 days, then up to a week until Monday 09:00; arm b: at most 5 days. The wait before the split does not count.
    expect(compiled.definition.States['Holdout']).toMatchObject({ Type: 'Pass', Result: { outcome: 'holdout', holdSeconds: 9 * 86_400 }, ResultPath: '$.end', End: true });
    expect(compiled.endStates['Holdout']).toEqual({ outcome: 'holdout' });
    expect(compiled.transitionsPerPath.find((p) => p.path.at(-1) === 'Holdout')?.path).toEqual(['wait-first', 'ab', 'ab.route', 'Holdout']);
  });

  it('parses durations from minutes to weeks', () => {
    expect([parseDuration('30m'), parseDuration('2h'), parseDuration('7d'), parseDuration('2w'), parseDuration('1d12h'), parseDuration('90s')]).toEqual([
      1800, 7200, 604_800, 1_209_600, 129_600, 90,
    ]);
    expect([parseDuration(''), parseDuration('1 day'), parseDuration('12h1d'), parseDuration('1.5d')]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('parses months of 30 days; m stays minutes', () => {
    expect([parseDuration('6mo'), parseDuration('12mo'), parseDuration('1mo2w'), parseDuration('6m')]).toEqual([180 * 86_400, 360 * 86_400, 44 * 86_400, 360]);
    expect(compileTest(loadOk(journey('  - id: a\n    wait: 6mo\n'))).definition.States['a']).toMatchObject({ Type: 'Wait', Seconds: 180 * 86_400 });
  });

  it('warns at its place when a wait, a timeout or a re-entry delay of a few minutes looks like months', () => {
    const text = journey('  - id: a\n    wait: 6m\n  - id: b\n    wait: 45m\n', 'entry: { reentry: { after: 3m } }\n');
    const result = load(text);
    expect(result.ok && result.warnings).toEqual([
      { file: 'test.yaml', ...at(text, '3m'), path: 'entry.reentry.after', message: '"3m" is 3 minute(s); if you meant 3 month(s), write "3mo"' },
      { file: 'test.yaml', ...at(text, '6m'), path: 'steps[0].wait', message: '"6m" is 6 minute(s); if you meant 6 month(s), write "6mo"' },
    ]);
  });
});

describe('journey language: shape errors (zod, strict)', () => {
  it('refuses an unknown top-level key at the key, naming the keys expected', () => {
    const text = journey('  - id: a\n    wait: 1d\n', 'trigers: []\n');
    const error = only(loadErrors(text));
    expect(error).toEqual({
      file: 'test.yaml',
      ...at(text, 'trigers'),
      path: 'trigers',
      message: 'unknown key "trigers": expected one of id, name, description, version, trigger, audience, entry, send_policy, topic, goals, exits, attribution, steps',
    });
  });

  it('refuses an unknown key in a step and in an action', () => {
    const text = journey(`  - id: a
    wait: 1d
    nxt: b
  - id: b
    send: { channel: email, template: hello, subject: Hi }
`);
    expect(loadErrors(text)).toEqual([
      { file: 'test.yaml', ...at(text, 'nxt'), path: 'steps[0].nxt', message: 'unknown key "nxt": expected one of id, wait, next' },
      { file: 'test.yaml', ...at(text, 'subject'), path: 'steps[1].send.subject', message: 'unknown key "subject": expected one of channel, template, kind, target, frequency_cap_max_delay, topic, fallback, variants' },
    ]);
  });

  it('asks for exactly one action per step', () => {
    const text = journey(`  - id: a
    next: b
  - id: b
    wait: 1d
    exit: true
`);
    expect(loadErrors(text).map((e) => [e.line, e.path, e.message])).toEqual([
      [6, 'steps[0]', 'expected exactly one action: send, wait, wait_until, wait_for, branch, split, tag, update, webhook, exit'],
      [8, 'steps[1]', 'a step has exactly one action, found wait and exit: make them separate steps'],
    ]);
  });

  it('says what was expected for wrong values', () => {
    const text = journey(`  - id: Send_Welcome
    send: { channel: fax, template: hello }
  - id: b
    wait: 1 day
  - id: c
    wait_until: { time: "9am" }
  - id: d
    split:
      - { percent: 50.5, next: b }
      - { percent: 50, holdout: yes }
`);
    const errors = loadErrors(text);
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      ['steps[0].id', 'expected a step id in kebab-case (lower-case letters, digits and single hyphens), like "send-welcome"'],
      ['steps[0].send.channel', `expected ${orList(SEND_CHANNELS)}`],
      ['steps[1].wait', 'expected a duration such as "30m", "2h", "1d", "7d", "1d12h" or "6mo" (units mo (30 days), w, d, h, m, s, largest first)'],
      ['steps[2].wait_until.time', 'expected a time of day "HH:MM" (24-hour clock), such as "09:00"; quote it in YAML'],
      ['steps[3].split[0].percent', 'expected a whole percentage'],
      ['steps[3].split[1].holdout', 'expected true'],
    ]);
    expect(errors[0]).toMatchObject(at(text, 'Send_Welcome'));
    expect(errors[2]).toMatchObject(at(text, '1 day'));
  });

  it('checks branch conditions with the tag-rule condition language (workflows/segmentation)', () => {
    const text = journey(`  - id: a
    branch:
      - when: { stat: orderCnt, eq: 0 }
        next: b
      - when: { stat: orderCount, eq: 0, foo: 1 }
        next: b
      - when: { stats: orderCount, eq: 0 }
        next: b
  - id: b
    wait: 1d
`);
    expect(loadErrors(text).map((e) => [e.path, e.line, e.column, e.message])).toEqual([
      ['steps[0].branch[0].when.stat', 8, 23, expect.stringMatching(/^expected a stat: one of .* \(did you mean "orderCount"\?\)$/)],
      ['steps[0].branch[1].when.foo', 10, 42, 'unknown key "foo": stat conditions take stat, eq, ne, gt, gte, lt, lte, in, exists'],
      ['steps[0].branch[2].when.stats', 12, 17, expect.stringMatching(/^unknown condition "stats" \(did you mean "stat"\?\)/)],
    ]);
    // The condition reaches the branch step as written.
    const ok = compileTest(loadOk(journey(`  - id: a
    branch:
      - when: { all: [{ lifecycle: [new, active] }, { event: Order Completed, within: 30d }] }
        next: end
  - id: b
    wait: 1d
`)));
    expect(ok.definition.States['a']).toMatchObject({
      Parameters: { Payload: { config: { branches: [{ when: { all: [{ lifecycle: ['new', 'active'] }, { event: 'Order Completed', within: '30d' }] }, next: 'end' }, { else: 'b' }] } } },
    });
    expect(ok.mermaid).toContain('s_a -->|"lifecycle is new or active and did Order Completed within 30d"| done');
  });

  it('checks a recommendations branch: the list and contains, and pictures it', () => {
    const text = journey(`  - id: a
    branch:
      - when: { recommendations: categorys, contains: coffee-table }
        next: b
      - when: { recommendations: categories, contains: [] }
        next: b
      - when: { recommendations: products, has: p-1 }
        next: b
  - id: b
    wait: 1d
`);
    expect(loadErrors(text).map((e) => [e.path, e.message])).toEqual([
      ['steps[0].branch[0].when.recommendations', 'expected a list of recommendations: one of categories, products (did you mean "categories"?)'],
      ['steps[0].branch[1].when.contains', 'expected at least one name'],
      ['steps[0].branch[2].when.contains', 'expected a name or a list of them, like coffee-table or [coffee-table, rug]'],
      ['steps[0].branch[2].when.has', 'unknown key "has": recommendations conditions take recommendations, contains'],
    ]);
    const ok = compileTest(loadOk(journey(`  - id: a
    branch:
      - when: { recommendations: categories, contains: coffee-table }
        next: end
  - id: b
    wait: 1d
`)));
    expect(ok.mermaid).toContain('recommendations.categories contains coffee-table');
  });

  it('requires a timeout on wait_for, pointing at the wait_for', () => {
    const text = journey(`  - id: a
    wait_for: { event: Order Completed }
`);
    expect(only(loadErrors(text))).toEqual({
      file: 'test.yaml',
      ...at(text, '{ event: Order'),
      path: 'steps[0].wait_for.timeout',
      message: 'wait_for needs a timeout, such as "7d": a journey cannot wait forever',
    });
  });

  it('compiles attribution: the default (orders within 5 days, their amount), or the journey’s own', () => {
    const steps = `  - id: a
    send: { channel: email, template: hello }
`;
    expect(compileTest(loadOk(journey(steps))).attribution).toEqual({ event: 'Order Completed', windowSeconds: 5 * 86_400 });
    const own = compileTest(loadOk(journey(steps, 'attribution: { event: Plan Upgraded, value: mrr, window: 14d }\n')));
    expect(own.attribution).toEqual({ event: 'Plan Upgraded', value: 'mrr', windowSeconds: 14 * 86_400 });
  });

  it('compiles an experiment: each variant with its channel and template resolved, the control first', () => {
    const text = journey(`  - id: a
    send:
      channel: email
      template: hello
      variants:
        - { id: control, weight: 70 }
        - { id: other, template: offer, weight: 30 }
`);
    const compiled = compileTest(loadOk(text));
    expect(compiled.experiments).toEqual({ a: ['control', 'other'] });
    expect(compiled.definition.States['a']).toMatchObject({
      Parameters: { Payload: { config: { variants: [{ id: 'control', channel: 'email', template: 'hello', weight: 70 }, { id: 'other', channel: 'email', template: 'offer', weight: 30 }] } } },
    });
  });

  it('refuses an experiment with one variant, a duplicate id, a missing template or on a webhook, naming the field', () => {
    const send = (variants: string, channel = 'email', extra = '') => journey(`  - id: a
    send:
      channel: ${channel}
      template: hello${extra}
      variants: ${variants}
`);
    expect(only(loadErrors(send('[{ id: x, weight: 1 }]')))).toMatchObject({ path: 'steps[0].send.variants', message: 'an experiment needs at least 2 variants' });
    expect(only(loadErrors(send('[{ id: x, weight: 1 }, { id: x, weight: 1 }]')))).toMatchObject({ path: 'steps[0].send.variants[1].id', message: expect.stringMatching(/duplicate variant id "x"/) });
    expect(only(loadErrors(send('[{ id: x, weight: 1 }, { id: y, template: nope, weight: 1 }]')))).toMatchObject({ path: 'steps[0].send.variants[1].template', message: expect.stringMatching(/no email template "nope"/) });
    expect(only(loadErrors(send('[{ id: x, weight: 0 }, { id: y, weight: 1 }]')))).toMatchObject({ path: 'steps[0].send.variants[0].weight', message: 'expected a whole weight from 1 to 100' });
  });

  it('refuses an attribution without a window or with a bad value property, naming the field', () => {
    const steps = `  - id: a
    wait: 1d
`;
    const noWindow = journey(steps, 'attribution: { event: Order Completed }\n');
    expect(only(loadErrors(noWindow))).toMatchObject({ ...at(noWindow, '{ event: Order Completed }'), path: 'attribution.window', message: expect.stringMatching(/duration/) });
    const badValue = journey(steps, 'attribution: { event: Order Completed, value: order.total, window: 5d }\n');
    expect(only(loadErrors(badValue))).toMatchObject({ path: 'attribution.value', message: expect.stringMatching(/property name/) });
  });

  it('names missing keys and a missing file body', () => {
    expect(loadErrors('name: x\n').map((e) => [e.path, e.message])).toEqual([
      ['id', 'missing: expected a journey id in kebab-case, like "win-back"'],
      ['version', 'missing: expected a whole version number'],
      ['trigger', 'missing: expected { event: <name>, where?: <pattern>, max_age?: <duration> | none }'],
      ['steps', 'missing: expected a list of steps'],
    ]);
    expect(loadErrors('').map((e) => e.message)).toEqual(['expected a journey: { id, name, version, trigger, steps, ... }']);
  });

  it('reports YAML syntax errors and duplicate keys at their position', () => {
    const duplicate = `id: test\nname: A\nname: B\n`;
    expect(only(loadErrors(duplicate))).toMatchObject({ line: 3, column: 1, path: '(root)', message: expect.stringContaining('Map keys must be unique') });
    const broken = `id: test\nsteps:\n  - id: a\n   wait: 1d\n`;
    expect(loadErrors(broken)[0]).toMatchObject({ file: 'test.yaml', line: 4, message: expect.stringMatching(/^YAML: /) });
  });
});

describe('journey language: meaning errors', () => {
  it('refuses an unknown template, naming the file expected', () => {
    const text = journey(`  - id: a
    send: { channel: email, template: welcom }
  - id: b
    webhook: { target: support, template: hello }
`);
    expect(loadErrors(text)).toEqual([
      {
        file: 'test.yaml',
        ...at(text, 'welcom'),
        path: 'steps[0].send.template',
        message: 'no email template "welcom": expected a file welcom.email.liquid in the templates folder (email templates: hello, offer)',
      },
      {
        file: 'test.yaml',
        ...at(text, 'hello'),
        path: 'steps[1].webhook.template',
        message: 'no webhook template "hello": expected a file hello.webhook.liquid in the templates folder (webhook templates: ticket, partner)',
      },
    ]);
  });

  it('refuses unknown step ids in next, on_event, on_timeout, branch and split', () => {
    const text = journey(`  - id: a
    wait: 1d
    next: nowhere
  - id: b
    wait_for: { event: Order Completed, timeout: 1d }
    on_event: lost
    on_timeout: gone
  - id: c
    branch:
      - when: { stat: orderCount, eq: 0 }
        next: missing
      - else: absent
  - id: d
    split:
      - { percent: 50, next: void }
      - { percent: 50 }
`);
    const errors = loadErrors(text);
    // Sorted by position; b, c and d are reachable only through the broken links, so they are unreachable too.
    expect(errors.map((e) => [e.path, e.line, e.column])).toEqual([
      ['steps[0].next', 8, 11],
      ['steps[1].id', 9, 9],
      ['steps[1].on_event', 11, 15],
      ['steps[1].on_timeout', 12, 17],
      ['steps[2].id', 13, 9],
      ['steps[2].branch[0].next', 16, 15],
      ['steps[2].branch[1].else', 17, 15],
      ['steps[3].id', 18, 9],
      ['steps[3].split[0].next', 20, 30],
    ]);
    expect(errors[0]).toMatchObject(at(text, 'nowhere'));
    expect(errors[8]).toMatchObject(at(text, 'void'));
    expect(errors[0]!.message).toBe('unknown step "nowhere": expected one of "a", "b", "c", "d" or "end"');
  });

  it('refuses unreachable steps', () => {
    const text = journey(`  - id: a
    wait: 1d
    next: end
  - id: orphan
    wait: 1d
`);
    expect(only(loadErrors(text))).toEqual({
      file: 'test.yaml',
      ...at(text, 'orphan'),
      path: 'steps[1].id',
      message: 'step "orphan" is never reached: no path from the first step leads to it; point a next, on_event, on_timeout, branch or split at it, or remove it',
    });
  });

  it('refuses a loop that never waits, and accepts one that does', () => {
    const loop = (middle: string) => journey(`  - id: a
    tag: { add: x }
  - id: b
    ${middle}
  - id: c
    branch:
      - when: { stat: orderCount, eq: 0 }
        next: a
      - else: end
`);
    const text = loop('tag: { remove: x }');
    expect(only(loadErrors(text))).toEqual({
      file: 'test.yaml',
      ...at(text, 'id: a'),
      path: 'steps[0]',
      message: 'steps "a", "b", "c" form a loop that never waits: expected a wait, wait_until or wait_for inside the loop (it would otherwise run until Step Functions stops it)',
    });
    expect(loadOk(loop('wait: 7d')).steps).toHaveLength(3);
    expect(loadErrors(journey(`  - id: a
    update: { trait: x, value: 1 }
    next: a
`))[0]!.message).toMatch(/^steps "a" form a loop that never waits/);
  });

  it('refuses waits, timeouts and re-entry delays over a year, and a path that pauses over a year in all', () => {
    const text = journey(`  - id: a
    wait: 366d
  - id: b
    wait_for: { event: Order Completed, timeout: 53w }
`, 'entry: { reentry: { after: 400d } }\n');
    expect(loadErrors(text).map((e) => [e.path, e.line, e.message])).toEqual([
      ['entry.reentry.after', 5, 'a re-entry delay of 400d is too long: expected at most 365d (365 days; a Step Functions execution lives at most a year)'],
      ['steps[0].wait', 8, 'a wait of 366d is too long: expected at most 365d (365 days; a Step Functions execution lives at most a year)'],
      ['steps[1].wait_for.timeout', 10, 'a timeout of 371d is too long: expected at most 365d (365 days; a Step Functions execution lives at most a year)'],
    ]);
    const total = journey(`  - id: a
    wait: 200d
  - id: b
    wait: 200d
`);
    expect(only(loadErrors(total))).toMatchObject({
      path: 'steps',
      line: 6,
      message: 'the longest path through the steps can pause for 400d: expected at most 365d in all (a Step Functions execution lives at most a year)',
    });
    expect(loadErrors(journey('  - id: a\n    wait: 0m\n'))[0]!.message).toBe('expected a wait longer than 0');
  });

  it('refuses a split that does not add up to 100 or has two holdouts', () => {
    const text = journey(`  - id: a
    split:
      - { percent: 50, next: b }
      - { percent: 30, holdout: true }
      - { percent: 30, holdout: true }
  - id: b
    wait: 1d
`);
    expect(loadErrors(text).map((e) => [e.path, e.line, e.column, e.message])).toEqual([
      ['steps[0].split', 8, 7, 'the split percentages add up to 110: expected 100'],
      ['steps[0].split', 8, 7, 'a split has at most one holdout group, found 2'],
    ]);
  });

  it('refuses an id that is not the file name, duplicate step ids and a misplaced else', () => {
    const text = journey(`  - id: a
    branch:
      - else: b
      - when: { stat: orderCount, eq: 0 }
        next: b
  - id: b
    wait: 1d
  - id: b
    wait: 2d
`);
    expect(loadErrors(text, 'journeys.d/other.yaml').map((e) => [e.file, e.path, e.message])).toEqual([
      ['journeys.d/other.yaml', 'id', 'expected the id to equal the file name: "other" (or rename the file to test.yaml)'],
      ['journeys.d/other.yaml', 'steps[0].branch[0]', 'else must be the last entry of a branch: the rules after it would never be tried'],
      ['journeys.d/other.yaml', 'steps[2].id', 'duplicate step id "b" (first used by steps[1]): expected each id once'],
    ]);
  });

  it('checks event patterns with the EventBridge validator, and trigger references', () => {
    const text = `id: test
name: Test
version: 1
trigger:
  event: Tag Added
  where: { tag: vip }
goals:
  - event: Complaint Resolved
    where: { complaintId: ["{{ trigger.complaintId }}"] }
steps:
  - id: a
    wait_for:
      event: Complaint Resolved
      where: { complaintId: ["ref {{ trigger.complaintId }}"], "x.$": [1] }
      timeout: 1d
`;
    expect(loadErrors(text).map((e) => [e.path, e.line, e.column, e.message])).toEqual([
      ['trigger.where.tag', 6, 17, 'must be an array of values (e.g. ["a"] or [{"prefix": "a"}]) or a nested object, got "vip"'],
      ['goals[0].where.complaintId[0]', 9, 28, 'trigger references ("{{ trigger.x }}") are only allowed in wait_for.where and update.value; here expected a literal value'],
      ['steps[0].wait_for.where.complaintId[0]', 14, 30, 'expected a literal value or exactly one trigger reference such as "{{ trigger.complaintId }}", got "ref {{ trigger.complaintId }}"'],
      ['steps[0].wait_for.where.x.$', 14, at(text, '"x.$"').column, 'a property name may not end in ".$" (Step Functions would read the value as a path): "x.$"'],
    ]);
  });

  it('checks webhook targets when the configured ones are given, and target only on webhook sends', () => {
    const text = journey(`  - id: a
    webhook: { target: crm, template: ticket }
  - id: b
    send: { channel: webhook, template: partner }
  - id: c
    send: { channel: email, template: hello, target: support }
`);
    expect(loadErrors(text).map((e) => [e.path, e.message])).toEqual([
      ['steps[0].webhook.target', 'unknown outbound webhook "crm": expected one of "support", "partner"'],
      ['steps[1].send', 'a webhook send needs a target: the outbound webhook to post to, such as "support"'],
      ['steps[2].send.target', "target is only for channel webhook; a email goes to the customer's address"],
    ]);
  });

  it('refuses a file with errors as a whole', () => {
    const result = load(journey('  - id: a\n    send: { channel: email, template: nope }\n  - id: b\n    wait: 1d\n'));
    expect(result.ok).toBe(false);
    expect(result).not.toHaveProperty('journey');
  });

  it('compileJourney refuses an invalid journey object too', () => {
    const parsed = loadOk(journey('  - id: a\n    send: { channel: email, template: hello }\n'));
    expect(() => compileJourney(parsed, { stepFunctionArn: STEP_ARN, templates: [] })).toThrow(JourneyError);
    expect(() => compileJourney(parsed, { stepFunctionArn: STEP_ARN, templates: TEMPLATES })).not.toThrow();
  });
});

describe('loadJourneysFromDir', () => {
  it('reports every problem of every file, templates included, and refuses them all', () => {
    const dir = mkdtempSync(join(tmpdir(), 'journeys-'));
    const templates = mkdtempSync(join(tmpdir(), 'templates-'));
    writeFileSync(join(templates, 'hello.email.liquid'), 'Subject: Hi {{ profile.traits.name | default: "there" }}\n\nHello!\n--- html ---\n<p>Hello!</p>\n');
    writeFileSync(join(templates, 'nosubject.email.liquid'), 'Hello there\n');
    writeFileSync(join(templates, 'broken.sms.liquid'), 'Hi\n{% if x %}\nno end\n');
    writeFileSync(join(templates, 'notjson.webhook.liquid'), '{ "id": {{ trigger.complaintId }} }\n');
    writeFileSync(join(templates, 'Bad Name.liquid'), 'x');
    writeFileSync(join(dir, 'good.yaml'), journey('  - id: a\n    send: { channel: email, template: hello }\n').replace('id: test', 'id: good'));
    writeFileSync(join(dir, 'bad.yaml'), journey('  - id: a\n    send: { channel: email, template: nope }\n').replace('id: test', 'id: bad'));
    writeFileSync(join(dir, 'worse.yaml'), 'id: worse\nname: [\n');
    writeFileSync(join(dir, 'README.md'), '# not a journey');

    let error: JourneyError | undefined;
    try {
      loadJourneysFromDir(dir, templates);
    } catch (e) {
      error = e as JourneyError;
    }
    expect(error).toBeInstanceOf(JourneyError);
    expect(error!.name).toBe('JourneyError');
    expect(error!.retryable).toBe(false);
    expect(error!.errors.map((e) => `${e.file.split('/').at(-1)}:${e.line}:${e.column}`)).toEqual([
      'Bad Name.liquid:1:1',
      'broken.sms.liquid:2:1',
      'nosubject.email.liquid:1:1',
      'notjson.webhook.liquid:1:1',
      'bad.yaml:7:39',
      'worse.yaml:3:1',
    ]);
    expect(error!.errors.map((e) => e.message)).toEqual([
      `expected a file name <template>.<channel>.liquid (or <template>.<locale>.<channel>.liquid, e.g. welcome.fr.email.liquid) with a kebab-case template name and channel ${orList(TEMPLATE_CHANNELS)}`,
      'Liquid: tag {% if x %} not closed',
      'expected the first line to be "Subject: <subject>", then a blank line, then the text body',
      expect.stringMatching(/^expected the body to render to JSON \(checked with sample data\): .*; write values with the json filter, e\.g\. \{\{ trigger\.complaintId \| json \}\}$/),
      `no email template "nope": expected a file ${join(templates, 'nope.email.liquid')} (email templates: hello, nosubject)`,
      expect.stringMatching(/^YAML: /),
    ]);
    expect(error!.message.split('\n')[0]).toMatch(/Bad Name\.liquid:1:1 \(template\): expected a file name/);
  });
});
