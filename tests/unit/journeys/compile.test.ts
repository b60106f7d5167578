import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchesEventPattern, templateRelease, validateEventPattern } from '../../../shared';
import { compileJourney, journeyJsonSchema, loadJourneysFromDir, RETRYABLE_ERRORS, type State } from '../../../workflows/journeys';
import { builtIn, busEvent, compileTest, JOURNEYS_DIR, loadOk, ROOT, STEP_ARN, validateAsl } from './helpers';

const journeys = builtIn();
const IDS = ['welcome', 'win-back', 'complaint-follow-up'] as const;

/** Every value under a key ending in `.$`, anywhere in the definition. */
function pathValues(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => pathValues(v, out));
  else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key.endsWith('.$')) out.push(String(v));
      pathValues(v, out);
    }
  }
  return out;
}

const tasks = (states: Record<string, State>) => Object.entries(states).filter((e): e is [string, Extract<State, { Type: 'Task' }>] => e[1].Type === 'Task');

describe('built-in journeys: ASL', () => {
  it('ships exactly the three built-in journeys', () => {
    expect(Object.keys(journeys).sort()).toEqual(['complaint-follow-up', 'welcome', 'win-back']);
  });

  it.each(IDS)('%s: passes asl-validator and uses JSONPath only (no JSONata, Assign or intrinsic functions)', (id) => {
    const { definition } = journeys[id]!;
    expect(validateAsl(definition)).toEqual({ isValid: true, errors: '' });
    const json = JSON.stringify(definition);
    expect(json).not.toMatch(/JSONata|"QueryLanguage"|"Assign"|"Arguments"|"Output"|\{%/);
    const paths = pathValues(definition);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) expect(path).toMatch(/^\$\$?\./); // a path, never States.Format(...) and friends
    expect(definition).not.toHaveProperty('TimeoutSeconds');
  });

  it.each(IDS)('%s: every Task calls the step Lambda the way the runtime expects', (id) => {
    const { definition } = journeys[id]!;
    for (const [name, state] of tasks(definition.States)) {
      const awaits = state.Resource.endsWith('.waitForTaskToken');
      expect(state.Resource).toBe(awaits ? 'arn:aws:states:::lambda:invoke.waitForTaskToken' : 'arn:aws:states:::lambda:invoke');
      expect(state.Parameters.FunctionName).toBe(STEP_ARN);
      const recorder = name.endsWith('.failed');
      const stepId = recorder ? name.slice(0, -'.failed'.length) : name;
      expect(state.Parameters.Payload).toEqual({
        journeyId: id,
        version: journeys[id]!.version,
        // The template release its runs render (a hash of its templates' files), the same in every Task.
        release: expect.stringMatching(/^[0-9a-f]{16}$/) as string,
        stepId,
        action: recorder ? 'recordFailure' : expect.any(String),
        config: expect.any(Object),
        'customerId.$': '$.customerId',
        'trigger.$': '$.trigger',
        'execution.$': '$$.Execution.Name',
        ...(awaits && { 'taskToken.$': '$$.Task.Token' }),
        ...(recorder && { 'error.$': '$.error' }),
        // Who is where: the step it goes on to, for a step with one next step.
        ...('then' in state.Parameters.Payload && !recorder && { then: expect.stringMatching(/^[a-z0-9-]+$/) as string }),
      });
      expect(state.ResultPath).toBe('$.last');
      if (awaits) expect(state).not.toHaveProperty('ResultSelector');
      else expect(state.ResultSelector).toEqual({ 'result.$': '$.Payload' });
      expect(state.Retry).toEqual([expect.objectContaining({ ErrorEquals: RETRYABLE_ERRORS, BackoffRate: 2 })]);
      // What AWS recommends retrying for the Lambda integration, the invoke's own timeout included (issue 13, item 8).
      expect(RETRYABLE_ERRORS).toEqual(expect.arrayContaining(['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException', 'Lambda.ClientExecutionTimeoutException']));
      // A send or webhook that fails is recorded by its `<id>.failed` Task (with the same config), which then fails the run.
      const action = state.Parameters.Payload.action;
      if (action === 'send' || action === 'webhook') {
        expect(state.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: `${name}.failed` }]);
        expect(definition.States[`${name}.failed`]).toMatchObject({ Type: 'Task', Next: 'Failed', Parameters: { Payload: { action: 'recordFailure', config: state.Parameters.Payload.config } } });
      } else if (recorder) {
        expect(state.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.recordError', Next: 'Failed' }]);
        expect(state.Next).toBe('Failed');
      } else {
        expect(state.Catch.at(-1)).toEqual({ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' });
      }
    }
    expect(definition.States['Failed']).toMatchObject({ Type: 'Fail', Error: 'Rapport.StepFailed', Cause: expect.any(String) });
  });

  it('welcome: the states, in step order, and a Choice after each marketing send for quiet hours', () => {
    const { definition, waitStates, awaitStates, endStates } = journeys['welcome']!;
    expect(definition.StartAt).toBe('send-welcome');
    expect(Object.entries(definition.States).map(([name, s]) => `${name}:${s.Type}`)).toEqual([
      'send-welcome:Task',
      'send-welcome.route:Choice',
      'send-welcome.wait:Wait',
      'send-welcome.failed:Task',
      'wait-a-day:Wait',
      'send-getting-started:Task',
      'send-getting-started.route:Choice',
      'send-getting-started.wait:Wait',
      'send-getting-started.failed:Task',
      'wait-two-days:Wait',
      'check-first-order:Task',
      'check-first-order.route:Choice',
      'send-first-order-offer:Task',
      'send-first-order-offer.route:Choice',
      'send-first-order-offer.wait:Wait',
      'send-first-order-offer.failed:Task',
      'End:Succeed',
      'Failed:Fail',
    ]);
    expect(definition.States['send-welcome.route']).toEqual({
      Type: 'Choice',
      Comment: expect.any(String),
      Choices: [{ Variable: '$.last.result.status', StringEquals: 'deferred', Next: 'send-welcome.wait' }],
      Default: 'wait-a-day',
    });
    expect(definition.States['send-welcome.wait']).toEqual({ Type: 'Wait', Comment: expect.any(String), TimestampPath: '$.last.result.until', Next: 'send-welcome' });
    expect(definition.States['check-first-order.route']).toMatchObject({
      Choices: [
        { Variable: '$.last.result.next', StringEquals: 'send-first-order-offer', Next: 'send-first-order-offer' },
        { Variable: '$.last.result.next', StringEquals: 'end', Next: 'End' },
      ],
      Default: 'Failed',
    });
    expect(waitStates).toEqual({
      'send-welcome.wait': 'timestamp',
      'wait-a-day': 86_400,
      'send-getting-started.wait': 'timestamp',
      'wait-two-days': 172_800,
      'send-first-order-offer.wait': 'timestamp',
    });
    expect(awaitStates).toEqual({});
    expect(endStates).toEqual({ End: { outcome: 'completed' } });
  });

  it('who is where: a step with one next step names it (then); a branch, a wait_until and a last step do not', () => {
    const thenOf = (id: string, step: string) => (journeys[id]!.definition.States[step] as { Parameters: { Payload: { then?: string } } }).Parameters.Payload.then;
    expect(thenOf('welcome', 'send-welcome')).toBe('wait-a-day');
    expect(thenOf('welcome', 'send-getting-started')).toBe('wait-two-days');
    expect(thenOf('welcome', 'check-first-order')).toBeUndefined();
    expect(thenOf('welcome', 'send-first-order-offer')).toBeUndefined();
    expect(thenOf('complaint-follow-up', 'await-escalated-resolution')).toBe('wait-after-resolution');
  });

  it('complaint-follow-up: callback tasks with timeouts, transactional sends without a quiet-hours Choice', () => {
    const { definition, awaitStates, endStates, triggerProperties, concurrencyKey, reentry } = journeys['complaint-follow-up']!;
    expect(definition.States['await-resolution']).toEqual({
      Type: 'Task',
      Comment: expect.any(String),
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: {
        FunctionName: STEP_ARN,
        Payload: {
          journeyId: 'complaint-follow-up',
          version: 1,
          release: journeys['complaint-follow-up']!.release,
          stepId: 'await-resolution',
          action: 'await',
          config: { event: 'Complaint Resolved', where: { complaintId: ['{{ trigger.complaintId }}'] }, sinceTrigger: true },
          'customerId.$': '$.customerId',
          'trigger.$': '$.trigger',
          'execution.$': '$$.Execution.Name',
          'taskToken.$': '$$.Task.Token',
          then: 'wait-after-resolution',
        },
      },
      TimeoutSeconds: 86_400,
      ResultPath: '$.last',
      Retry: [expect.any(Object)],
      Catch: [
        { ErrorEquals: ['States.Timeout'], ResultPath: '$.timeout', Next: 'escalate' },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' },
      ],
      Next: 'wait-after-resolution',
    });
    expect(definition.States['acknowledge']).toMatchObject({ Next: 'open-ticket', Parameters: { Payload: { then: 'open-ticket' } } });
    expect(definition.States).not.toHaveProperty('acknowledge.route');
    expect(Object.fromEntries(Object.entries(awaitStates).map(([k, v]) => [k, v.timeoutSeconds]))).toEqual({
      'await-resolution': 86_400,
      'await-escalated-resolution': 172_800,
      'await-next-order': 2_592_000,
    });
    expect(awaitStates['await-resolution']!.pattern).toEqual({
      source: ['rapport.ingest'],
      'detail-type': ['Complaint Resolved'],
      detail: { properties: { complaintId: ['{{ trigger.complaintId }}'] } },
    });
    expect(endStates).toEqual({ escalated: { outcome: 'exited', reason: 'escalated' }, End: { outcome: 'completed' } });
    expect(triggerProperties).toEqual(['complaintId']);
    expect(concurrencyKey).toBe('complaintId');
    expect(reentry).toBe('never');
  });

  it('win-back: an order while waiting ends as converted; re-entry after 180 days', () => {
    const { definition, endStates, reentry, triggerProperties } = journeys['win-back']!;
    expect(definition.States['await-order']).toMatchObject({ Next: 'converted', Catch: [{ Next: 'send-offer' }, { Next: 'Failed' }], TimeoutSeconds: 604_800 });
    expect(definition.States['await-order-after-offer']).toMatchObject({ Next: 'converted', Catch: [{ Next: 'mark-churned' }, { Next: 'Failed' }], TimeoutSeconds: 1_209_600 });
    expect(definition.States['mark-churned']).toMatchObject({ Parameters: { Payload: { action: 'tag', config: { add: 'churned' } } }, Next: 'End' });
    expect(endStates).toEqual({ End: { outcome: 'completed' }, converted: { outcome: 'converted' } });
    expect(reentry).toEqual({ afterSeconds: 180 * 86_400 });
    expect(triggerProperties).toEqual([]);
  });
});

describe('built-in journeys: bus patterns', () => {
  it.each(IDS)('%s: trigger, goal and exit patterns are valid EventBridge patterns', (id) => {
    const { triggerPatterns, goalPatterns, exitPatterns } = journeys[id]!;
    for (const pattern of [...triggerPatterns, ...goalPatterns, ...exitPatterns]) expect(validateEventPattern(pattern)).toEqual([]);
  });

  it('welcome starts on Signed Up from ingest only, and converts on Order Completed', () => {
    const { triggerPatterns, goalPatterns, exitPatterns } = journeys['welcome']!;
    expect(triggerPatterns).toEqual([{ source: ['rapport.ingest'], 'detail-type': ['Signed Up'] }]);
    expect(matchesEventPattern(triggerPatterns[0]!, busEvent('Signed Up', { method: 'google' }))).toBe(true);
    expect(matchesEventPattern(triggerPatterns[0]!, busEvent('Order Completed'))).toBe(false);
    expect(matchesEventPattern(triggerPatterns[0]!, busEvent('Signed Up', {}, 'rapport.profile'))).toBe(false);
    expect(matchesEventPattern(goalPatterns[0]!, busEvent('Order Completed', { orderId: 'o-1', revenue: 10, currency: 'EUR' }))).toBe(true);
    expect(matchesEventPattern(goalPatterns[0]!, busEvent('Signed Up'))).toBe(false);
    expect(exitPatterns).toEqual([]);
  });

  it('win-back starts on the derived Customer Became Inactive, never on a forged one from ingest', () => {
    const [pattern] = journeys['win-back']!.triggerPatterns;
    expect(pattern).toEqual({ source: ['rapport.profile'], 'detail-type': ['Customer Became Inactive'] });
    expect(matchesEventPattern(pattern!, busEvent('Customer Became Inactive', { stage: 'dormant' }, 'rapport.profile'))).toBe(true);
    expect(matchesEventPattern(pattern!, busEvent('Customer Became Inactive', { stage: 'dormant' }, 'rapport.ingest'))).toBe(false);
  });

  it('complaint-follow-up starts on Complaint Filed; its wait matches the same complaint only once resolved', () => {
    const { triggerPatterns, awaitStates } = journeys['complaint-follow-up']!;
    expect(matchesEventPattern(triggerPatterns[0]!, busEvent('Complaint Filed', { complaintId: 'c-42' }))).toBe(true);
    expect(matchesEventPattern(triggerPatterns[0]!, busEvent('Complaint Resolved', { complaintId: 'c-42' }))).toBe(false);
    // The runtime substitutes the trigger reference before matching.
    const resolved = JSON.parse(JSON.stringify(awaitStates['await-resolution']!.pattern).replace('{{ trigger.complaintId }}', 'c-42'));
    expect(matchesEventPattern(resolved, busEvent('Complaint Resolved', { complaintId: 'c-42' }))).toBe(true);
    expect(matchesEventPattern(resolved, busEvent('Complaint Resolved', { complaintId: 'c-43' }))).toBe(false);
    expect(matchesEventPattern(resolved, busEvent('Complaint Filed', { complaintId: 'c-42' }))).toBe(false);
  });

  it('a derived-event trigger with a where pattern filters on the event properties', () => {
    const compiled = compileTest(loadOk(`id: test
name: VIP welcome
version: 1
trigger:
  event: Tag Added
  where: { tag: [vip] }
goals:
  - event: Order Completed
    where: { revenue: [{ numeric: [">=", 100] }] }
exits:
  - event: Unsubscribed
    where: { channel: [email, all] }
steps:
  - id: hello
    send: { channel: email, template: hello }
`));
    const [trigger] = compiled.triggerPatterns;
    expect(trigger).toEqual({ source: ['rapport.profile'], 'detail-type': ['Tag Added'], detail: { properties: { tag: ['vip'] } } });
    expect(matchesEventPattern(trigger!, busEvent('Tag Added', { customerId: 'cust-1', tag: 'vip' }, 'rapport.profile'))).toBe(true);
    expect(matchesEventPattern(trigger!, busEvent('Tag Added', { customerId: 'cust-1', tag: 'churned' }, 'rapport.profile'))).toBe(false);
    expect(matchesEventPattern(trigger!, busEvent('Tag Removed', { customerId: 'cust-1', tag: 'vip' }, 'rapport.profile'))).toBe(false);
    const [goal] = compiled.goalPatterns;
    expect(matchesEventPattern(goal!, busEvent('Order Completed', { revenue: 150 }))).toBe(true);
    expect(matchesEventPattern(goal!, busEvent('Order Completed', { revenue: 99 }))).toBe(false);
    const [exit] = compiled.exitPatterns;
    expect(matchesEventPattern(exit!, busEvent('Unsubscribed', { channel: 'all' }))).toBe(true);
    expect(matchesEventPattern(exit!, busEvent('Unsubscribed', { channel: 'sms' }))).toBe(false);
  });
});

describe('built-in journeys: state transitions per path', () => {
  const table = (id: string) => journeys[id]!.transitionsPerPath.map((p) => [p.transitions, p.path.join(' > ')]);

  it('welcome: 11 transitions with the first-order offer, 9 when the customer already ordered', () => {
    // send-welcome, its quiet-hours Choice, wait 1d, send-getting-started, its Choice, wait 2d,
    // the branch Task and its Choice, then either End (9) or the offer, its Choice and End (11).
    expect(table('welcome')).toEqual([
      [11, 'send-welcome > send-welcome.route > wait-a-day > send-getting-started > send-getting-started.route > wait-two-days > check-first-order > check-first-order.route > send-first-order-offer > send-first-order-offer.route > End'],
      [9, 'send-welcome > send-welcome.route > wait-a-day > send-getting-started > send-getting-started.route > wait-two-days > check-first-order > check-first-order.route > End'],
    ]);
  });

  it('win-back: 4 (order in the first week), 7 (order after the offer), 8 (churned)', () => {
    expect(table('win-back')).toEqual([
      [4, 'send-we-miss-you > send-we-miss-you.route > await-order > converted'],
      [7, 'send-we-miss-you > send-we-miss-you.route > await-order > send-offer > send-offer.route > await-order-after-offer > converted'],
      [8, 'send-we-miss-you > send-we-miss-you.route > await-order > send-offer > send-offer.route > await-order-after-offer > mark-churned > End'],
    ]);
  });

  it('complaint-follow-up: 8, 11, 10, 13 and 6 (escalated, never resolved)', () => {
    expect(table('complaint-follow-up')).toEqual([
      [8, 'acknowledge > open-ticket > await-resolution > wait-after-resolution > send-survey > send-survey.route > await-next-order > End'],
      [11, 'acknowledge > open-ticket > await-resolution > wait-after-resolution > send-survey > send-survey.route > await-next-order > send-we-value-you > send-we-value-you.route > request-callback > End'],
      [10, 'acknowledge > open-ticket > await-resolution > escalate > await-escalated-resolution > wait-after-resolution > send-survey > send-survey.route > await-next-order > End'],
      [13, 'acknowledge > open-ticket > await-resolution > escalate > await-escalated-resolution > wait-after-resolution > send-survey > send-survey.route > await-next-order > send-we-value-you > send-we-value-you.route > request-callback > End'],
      [6, 'acknowledge > open-ticket > await-resolution > escalate > await-escalated-resolution > escalated'],
    ]);
  });
});

describe('built-in journeys: Mermaid', () => {
  it('draws welcome as a flowchart of its steps, branch labelled with its condition', () => {
    expect(journeys['welcome']!.mermaid).toBe(`graph TD
  trigger(["Signed Up"]) --> s_send_welcome
  s_send_welcome["send-welcome<br/>send email: welcome"]
  s_send_welcome --> s_wait_a_day
  s_wait_a_day(["wait-a-day<br/>wait 1d"])
  s_wait_a_day --> s_send_getting_started
  s_send_getting_started["send-getting-started<br/>send email: getting-started"]
  s_send_getting_started --> s_wait_two_days
  s_wait_two_days(["wait-two-days<br/>wait 2d"])
  s_wait_two_days --> s_check_first_order
  s_check_first_order{"check-first-order<br/>branch"}
  s_check_first_order -->|"stats.orderCount == 0"| s_send_first_order_offer
  s_check_first_order -->|"else"| done
  s_send_first_order_offer["send-first-order-offer<br/>send email: first-order-offer"]
  s_send_first_order_offer --> done
  done((("end")))
  goal_0>"goal: Order Completed"]
`);
  });

  it('labels wait_for outcomes and exits, and escapes quotes', () => {
    const mermaid = journeys['complaint-follow-up']!.mermaid;
    expect(mermaid).toContain('s_await_resolution{{"await-resolution<br/>wait for Complaint Resolved where {#quot;complaintId#quot;:[#quot;{{ trigger.complaintId }}#quot;]}<br/>at most 24h"}}');
    expect(mermaid).toContain('s_await_resolution -->|"Complaint Resolved"| s_wait_after_resolution');
    expect(mermaid).toContain('s_await_resolution -->|"timeout 24h"| s_escalate');
    expect(mermaid).toContain('s_escalated(("exit: escalated"))');
    expect(mermaid).toContain('s_acknowledge["acknowledge<br/>send email: complaint-received (transactional)"]');
    expect(journeys['win-back']!.mermaid).toContain('s_converted(("exit: goal reached"))');
  });
});

describe('journey JSON Schema and files', () => {
  it('the committed journey.schema.json equals the generated one (run workflows/journeys/export-json-schema.ts)', () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'workflows', 'journeys', 'journey.schema.json'), 'utf8'));
    expect(committed).toEqual(journeyJsonSchema());
  });

  it.each(IDS)('%s.yaml starts with the yaml-language-server schema line', (id) => {
    const text = readFileSync(join(JOURNEYS_DIR, `${id}.yaml`), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../journeys/journey.schema.json');
  });

  it('the schema describes steps as one action each, strict', () => {
    const schema = journeyJsonSchema() as { properties: { steps: { items: { anyOf: Array<{ required: string[]; additionalProperties: boolean }> } } }; additionalProperties: boolean };
    expect(schema.additionalProperties).toBe(false);
    const steps = schema.properties.steps.items.anyOf;
    expect(steps.map((s) => s.required)).toEqual([
      ['id', 'send'], ['id', 'wait'], ['id', 'wait_until'], ['id', 'wait_for'], ['id', 'branch'], ['id', 'split'], ['id', 'tag'], ['id', 'update'], ['id', 'webhook'], ['id', 'exit'],
    ]);
    expect(steps.every((s) => s.additionalProperties === false)).toBe(true);
  });
});

describe('the template release compiled into every step', () => {
  const { journey } = journeys.welcome!;
  const { catalog } = loadJourneysFromDir(JOURNEYS_DIR, join(ROOT, 'workflows/templates'), { webhookTargets: ['support', 'supervisor'] });
  const sources = catalog.templateSources!;
  const compileWith = (changed: Record<string, string>) => compileJourney(journey, { stepFunctionArn: STEP_ARN, ...catalog, templateSources: { ...sources, ...changed }, webhookTargets: ['support', 'supervisor'] }).release;

  it("is the hash of the sources of the templates the journey renders (every channel and locale), and only of those", () => {
    const own = Object.fromEntries(Object.entries(sources).filter(([key]) => /^(welcome|getting-started|first-order-offer)\./.test(key)));
    expect(Object.keys(own)).toContain('welcome.fr.email');
    expect(journeys.welcome!.release).toBe(templateRelease(own));
    // Another journey's template changed: the same release; one of its own (a locale variant too): another.
    expect(compileWith({ 'win-back.email': `${sources['win-back.email']!}\nchanged` })).toBe(journeys.welcome!.release);
    expect(compileWith({ 'getting-started.email': `${sources['getting-started.email']!}\nchanged` })).not.toBe(journeys.welcome!.release);
    expect(compileWith({ 'welcome.fr.email': `${sources['welcome.fr.email']!}\nchanged` })).not.toBe(journeys.welcome!.release);
  });

  it('is left out when the compiler is not given the sources', () => {
    const { templateSources: _, ...withoutSources } = catalog;
    const compiled = compileJourney(journey, { stepFunctionArn: STEP_ARN, ...withoutSources, webhookTargets: ['support', 'supervisor'] });
    expect(compiled.release).toBeUndefined();
    expect(JSON.stringify(compiled.definition)).not.toContain('"release"');
  });
});
