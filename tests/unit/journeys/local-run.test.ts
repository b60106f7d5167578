/**
 * The compiled ASL, run by aws-local-stepfunctions (the embedded engine's
 * executor) with scripted step handlers: every path of the built-in journeys
 * reaches the end the compiler predicted. The last block pins down how the
 * local executor behaves, for the runtime that drives it.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import type { StateMachineDefinition } from '../../../workflows/journeys';
import { builtIn } from './helpers';

type Json = unknown;
type Handler = (input: Json) => Promise<Json>;

const journeys = builtIn();
const INPUT = (journeyId: string, properties: Record<string, string> = {}) => ({
  journeyId,
  journeyVersion: 1,
  customerId: 'cust-1',
  trigger: { messageId: 'm-1', event: 'Trigger', properties },
});
const CONTEXT = { Execution: { Name: 'exec-1' }, Task: { Token: 'tok' } };

/** Node timers hold at most 2^31-1 ms (24.8 days); aws-local-stepfunctions fires longer ones at once. */
const MAX_LOCAL_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** A copy safe for the local executor: it mutates what it is given, and cannot time longer timeouts. */
function localDefinition(definition: StateMachineDefinition): StateMachineDefinition {
  const copy = structuredClone(definition);
  for (const state of Object.values(copy.States)) {
    if (state.Type === 'Task' && state.TimeoutSeconds !== undefined) state.TimeoutSeconds = Math.min(state.TimeoutSeconds, MAX_LOCAL_TIMEOUT_SECONDS);
  }
  return copy;
}

async function run(definition: StateMachineDefinition, input: Json, handlers: Record<string, Handler>, options: { retryIntervalOverrides?: Record<string, number> } = {}) {
  const local = localDefinition(definition);
  const waits = Object.fromEntries(Object.entries(local.States).filter(([, s]) => s.Type === 'Wait').map(([name]) => [name, 0]));
  const machine = new StateMachine(local as never, { validationOptions: { checkArn: false, checkPaths: false } });
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: waits, ...(options.retryIntervalOverrides && { retryIntervalOverrides: options.retryIntervalOverrides }) },
    context: CONTEXT as never,
  });
  const states: string[] = [];
  const logged = (async () => {
    for await (const event of execution.eventLogs) if (event.type === 'StateEntered') states.push(event.state.name);
  })();
  const outcome = await execution.result.then(
    (output) => ({ ok: true as const, output }),
    (error: unknown) => ({ ok: false as const, error: error as Error }),
  );
  await logged;
  return { ...outcome, states };
}

const timeout = () => Object.assign(new Error('no event before the timeout'), { name: 'States.Timeout' });

/**
 * Handlers that steer the run along `path` (a path from `transitionsPerPath`):
 * branch/split return the step the path takes, wait_for resolves or times out
 * as the path needs, sends are sent.
 */
function steer(definition: StateMachineDefinition, path: string[]): Record<string, Handler> {
  const handlers: Record<string, Handler> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task') continue;
    handlers[name] = async (input) => {
      const i = path.indexOf(name);
      if (i === -1) throw new Error(`state ${name} entered off the path ${path.join(' > ')}`);
      const next = path[i + 1]!;
      if (state.Resource.endsWith('.waitForTaskToken')) {
        if (next === state.Next) return { event: 'Resolved', messageId: 'm-2' };
        throw timeout();
      }
      const action = (input as { Payload: { action: string } }).Payload.action;
      if (action === 'branch' || action === 'split') {
        const target = path[i + 2]!;
        return { Payload: { next: target === 'End' ? 'end' : target === 'Holdout' ? 'holdout' : target } };
      }
      if (action === 'waitUntil') return { Payload: { until: new Date().toISOString() } };
      if (action === 'send' || action === 'webhook') return { Payload: { status: 'sent' } };
      return { Payload: { ok: true } };
    };
  }
  return handlers;
}

describe('built-in journeys on aws-local-stepfunctions', () => {
  for (const id of ['welcome', 'win-back', 'complaint-follow-up']) {
    const { definition, transitionsPerPath, endStates } = journeys[id]!;
    it.each(transitionsPerPath.map((p) => [p.path.at(-1)!, p.transitions, p.path] as const))(
      `${id}: the path to %s (%i transitions) runs as compiled`,
      async (end, transitions, path) => {
        const result = await run(definition, INPUT(id, { complaintId: 'c-42' }), steer(definition, path));
        expect(result.ok, result.ok ? '' : result.error.message).toBe(true);
        expect(result.states).toEqual(path);
        expect(result.states).toHaveLength(transitions);
        expect(endStates[end]).toBeDefined();
      },
    );
  }

  it('welcome, scripted: the handlers get the Payload with paths resolved, and a customer who never ordered gets the offer', async () => {
    const { definition } = journeys['welcome']!;
    const calls: Array<{ state: string; input: Json }> = [];
    const record = (state: string, result: Json): Handler => async (input) => {
      calls.push({ state, input });
      return { Payload: result };
    };
    const result = await run(definition, INPUT('welcome'), {
      'send-welcome': record('send-welcome', { status: 'sent' }),
      'send-getting-started': record('send-getting-started', { status: 'skipped', reason: 'frequency-cap' }),
      'check-first-order': record('check-first-order', { next: 'send-first-order-offer' }),
      'send-first-order-offer': record('send-first-order-offer', { status: 'sent' }),
    });
    expect(result.ok).toBe(true);
    expect(result.states.at(-1)).toBe('End');
    expect(calls.map((c) => c.state)).toEqual(['send-welcome', 'send-getting-started', 'check-first-order', 'send-first-order-offer']);
    // What the override receives: the state's Parameters, evaluated (the Lambda invoke request).
    expect(calls[0]!.input).toEqual({
      FunctionName: 'arn:aws:lambda:eu-west-1:123456789012:function:rapport-steps',
      Payload: {
        journeyId: 'welcome',
        version: 1,
        release: expect.stringMatching(/^[0-9a-f]{16}$/) as string,
        stepId: 'send-welcome',
        action: 'send',
        // The journey's topic rides with each marketing send (compiled without topics.yaml here: no default).
        config: { channel: 'email', template: 'welcome', kind: 'marketing', topic: 'product-updates' },
        customerId: 'cust-1',
        trigger: { messageId: 'm-1', event: 'Trigger', properties: {} },
        execution: 'exec-1',
        then: 'wait-a-day',
      },
    });
    // The execution keeps its input and each result under $.last.result.
    expect(result.ok && result.output).toEqual({ ...INPUT('welcome'), last: { result: { status: 'sent' } } });
  });

  it('welcome: a send deferred by quiet hours waits and sends again (3 more transitions: Wait, Task, Choice)', async () => {
    const { definition } = journeys['welcome']!;
    let attempts = 0;
    const result = await run(definition, INPUT('welcome'), {
      'send-welcome': async () => ({ Payload: ++attempts === 1 ? { status: 'deferred', until: new Date(Date.now() + 60_000).toISOString() } : { status: 'sent' } }),
      'send-getting-started': async () => ({ Payload: { status: 'sent' } }),
      'check-first-order': async () => ({ Payload: { next: 'end' } }),
    });
    expect(result.ok).toBe(true);
    expect(result.states.slice(0, 5)).toEqual(['send-welcome', 'send-welcome.route', 'send-welcome.wait', 'send-welcome', 'send-welcome.route']);
    expect(result.states).toHaveLength(9 + 3);
  });

  it('welcome: a provider outage is retried; an unexpected error or route fails the run at Failed', async () => {
    const { definition } = journeys['welcome']!;
    let attempts = 0;
    const flaky = await run(
      definition,
      INPUT('welcome'),
      {
        'send-welcome': async () => {
          if (++attempts < 3) throw Object.assign(new Error('SES throttled'), { name: 'ChannelUnavailableError' });
          return { Payload: { status: 'sent' } };
        },
        'send-getting-started': async () => ({ Payload: { status: 'sent' } }),
        'check-first-order': async () => ({ Payload: { next: 'end' } }),
      },
      { retryIntervalOverrides: { 'send-welcome': 0 } },
    );
    expect(flaky.ok).toBe(true);
    expect(attempts).toBe(3);

    // A send that fails for good is recorded (with its error) by `send-welcome.failed`, then the run fails.
    const recorded: Json[] = [];
    const broken = await run(definition, INPUT('welcome'), {
      'send-welcome': async () => Promise.reject(Object.assign(new Error('bad template'), { name: 'TemplateRenderError' })),
      'send-welcome.failed': async (input) => {
        recorded.push(input);
        return { Payload: { ok: true } };
      },
    });
    expect(broken.ok).toBe(false);
    expect(broken.states).toEqual(['send-welcome', 'send-welcome.failed', 'Failed']);
    expect(!broken.ok && (broken.error.cause as Error).name).toBe('Rapport.StepFailed');
    expect(recorded).toEqual([
      expect.objectContaining({
        Payload: expect.objectContaining({ stepId: 'send-welcome', action: 'recordFailure', error: { Error: 'TemplateRenderError', Cause: 'bad template' } }),
      }),
    ]);

    const lost = await run(definition, INPUT('welcome'), {
      'send-welcome': async () => ({ Payload: { status: 'sent' } }),
      'send-getting-started': async () => ({ Payload: { status: 'sent' } }),
      'check-first-order': async () => ({ Payload: { next: 'no-such-step' } }),
    });
    expect(lost.states.slice(-2)).toEqual(['check-first-order.route', 'Failed']);
  });

  it('complaint-follow-up, scripted: the await handler gets the token and the unresolved trigger reference; timeout then resolution', async () => {
    const { definition } = journeys['complaint-follow-up']!;
    const awaited: Json[] = [];
    const sent: string[] = [];
    const send = (name: string): Handler => async () => {
      sent.push(name);
      return { Payload: { status: 'sent' } };
    };
    const result = await run(definition, INPUT('complaint-follow-up', { complaintId: 'c-42' }), {
      acknowledge: send('acknowledge'),
      'open-ticket': send('open-ticket'),
      'await-resolution': async (input) => {
        awaited.push(input);
        throw timeout();
      },
      escalate: send('escalate'),
      'await-escalated-resolution': async () => ({ event: 'Complaint Resolved', messageId: 'm-9' }),
      'send-survey': send('send-survey'),
      'await-next-order': async () => {
        throw timeout();
      },
      'send-we-value-you': send('send-we-value-you'),
      'request-callback': send('request-callback'),
    });
    expect(result.ok).toBe(true);
    expect(sent).toEqual(['acknowledge', 'open-ticket', 'escalate', 'send-survey', 'send-we-value-you', 'request-callback']);
    expect(result.states).toHaveLength(13);
    expect((awaited[0] as { Payload: unknown }).Payload).toEqual({
      journeyId: 'complaint-follow-up',
      version: 1,
      release: expect.stringMatching(/^[0-9a-f]{16}$/) as string,
      stepId: 'await-resolution',
      action: 'await',
      config: { event: 'Complaint Resolved', where: { complaintId: ['{{ trigger.complaintId }}'] }, sinceTrigger: true },
      customerId: 'cust-1',
      trigger: { messageId: 'm-1', event: 'Trigger', properties: { complaintId: 'c-42' } },
      execution: 'exec-1',
      taskToken: 'tok',
      then: 'wait-after-resolution',
    });
    // A callback's output lands in $.last as sent (no Payload wrapper); a timeout in $.timeout.
    expect(result.ok && result.output).toMatchObject({
      timeout: { Error: 'States.Timeout', Cause: 'no event before the timeout' },
      last: { result: { status: 'sent' } },
    });
  });
});

describe('aws-local-stepfunctions 3.0.0: facts the runtime relies on', () => {
  const { definition } = journeys['complaint-follow-up']!;

  it('validates and mutates the definition it is given (adds QueryLanguage to every state)', () => {
    const copy = structuredClone(definition);
    new StateMachine(copy as never, { validationOptions: { checkArn: false, checkPaths: false } });
    expect(copy.States['acknowledge']).toHaveProperty('QueryLanguage', 'JSONPath');
    expect(definition.States['acknowledge']).not.toHaveProperty('QueryLanguage');
  });

  it('resolves $$.Execution.Name only from the context option: without it the run fails', async () => {
    const machine = new StateMachine(structuredClone(journeys['welcome']!.definition) as never, { validationOptions: { checkArn: false, checkPaths: false } });
    const execution = machine.run(INPUT('welcome'), { overrides: { taskResourceLocalHandlers: { 'send-welcome': async () => ({ Payload: { status: 'sent' } }) } } });
    await expect(execution.result).rejects.toThrow("Path expression '$$.Execution.Name' does not point to a value");
  });

  it('fires a Task TimeoutSeconds beyond 24.8 days at once (Node timer overflow): await-next-order (30d) times out in ~1 ms', async () => {
    const raw = structuredClone(definition);
    const machine = new StateMachine(raw as never, { validationOptions: { checkArn: false, checkPaths: false } });
    const entered: string[] = [];
    const execution = machine.run(INPUT('complaint-follow-up', { complaintId: 'c-42' }), {
      overrides: {
        taskResourceLocalHandlers: {
          ...Object.fromEntries(['acknowledge', 'open-ticket', 'send-survey', 'send-we-value-you', 'request-callback'].map((s) => [s, async () => ({ Payload: { status: 'sent' } })])),
          'await-resolution': async () => ({ event: 'Complaint Resolved' }),
          // Resolves after 20 ms: too late, the 30-day timer already fired.
          'await-next-order': () => new Promise((resolve) => setTimeout(() => resolve({ event: 'Order Completed' }), 20)),
        } as never,
        waitTimeOverrides: { 'wait-after-resolution': 0 },
      },
      context: CONTEXT as never,
    });
    const log = (async () => {
      for await (const event of execution.eventLogs) if (event.type === 'StateEntered') entered.push(event.state.name);
    })();
    await execution.result;
    await log;
    expect(entered).toContain('send-we-value-you');
  });
});
