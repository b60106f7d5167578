/**
 * Journey -> Step Functions (JSONPath ASL), EventBridge patterns, a Mermaid
 * picture and the cost of each path. Pure: no AWS calls.
 *
 * State layout (one state per step where possible, so a run costs few transitions):
 * - send, tag, update, webhook: one Task named after the step. A marketing send
 *   is followed by a Choice `<id>.route` that sends a deferred send (quiet
 *   hours) to the Wait `<id>.wait` and back to the send.
 * - branch, split: Task + Choice `<id>.route` on the returned `next`.
 * - wait: a Wait named after the step. wait_until: Task + Wait `<id>.wait`.
 * - wait_for: one callback Task (`.waitForTaskToken`) with TimeoutSeconds; the
 *   timeout is caught and routed to on_timeout.
 * - exit: a terminal Pass named after the step, its outcome in the output's `end`; the end of the list: `End`; a
 *   holdout group: the terminal Pass `Holdout` (outcome `holdout` and how long its customer stays
 *   held, see `holdSeconds`); a step failing after its retries: `Failed`.
 * - send, webhook: a failure after the retries (a channel down, a template
 *   error) is caught by the Task `<id>.failed`, which records the message as
 *   failed with the error (GET /v1/customers/{id}/messages), then `Failed`.
 *   Only failing runs enter it: the transitions per path do not change.
 */
import {
  assertValidEventPattern,
  INGEST_EVENT_SOURCE,
  PROFILE_EVENT_SOURCE,
  RESERVED_EVENT_NAMES,
  templateRelease,
  type EventPattern,
  type StepAction,
  type StepConfigInput,
  type VariantChannel,
  type Topics,
} from '../../shared';
import {
  LAMBDA_INVOKE,
  LAMBDA_INVOKE_WAIT_FOR_TOKEN,
  RESULT,
  STATE,
  STEP_FAILED_ERROR,
  STEP_RETRY,
  type ChoiceState,
  type State,
  type StateMachineDefinition,
  type TaskState,
} from './asl';
import { durationSeconds } from './duration';
import { formatPath, JourneyError } from './errors';
import { buildGraph, reachedAtTrigger, type StepNode } from './graph';
import { journeyMermaid } from './mermaid';
import { longestRunSeconds, statePaths, type StatePath } from './paths';
import { templateTriggerReferences, triggerReferences } from './references';
import { DEFAULT_ATTRIBUTION, DEFAULT_TRIGGER_MAX_AGE, END, HOLDOUT, NO_MAX_AGE, type EventFilter, type Journey } from './schema';
import { QUIET_HOURS_MAX_SECONDS } from './validate';
import { journeyTemplateSources, templateVariantKeys, type TemplateCatalog } from './templates';
import { validateMeaning } from './validate';

export interface CompileOptions extends TemplateCatalog {
  /** ARN of the one step Lambda every Task invokes. */
  readonly stepFunctionArn: string;
  /** Names of the configured outbound webhooks; unchecked when absent. */
  readonly webhookTargets?: Iterable<string>;
  /**
   * The declared subscription topics (topics.yaml): a send's topic is checked against them and compiled with its
   * `default`, so the send step decides without reading topics.yaml. Absent: unchecked, compiled without a default.
   */
  readonly topics?: Topics | undefined;
}

/** The `action` a step Lambda is invoked with. */
/** The step runner's actions: the step payload contract's (shared/steps), which types every Task's config. */
export type { StepAction };

/** The Task that records a send's or webhook's failure before the run fails: `<stepId>.failed`. */
export const failureState = (stepId: string) => `${stepId}.failed`;

export type EndOutcome = 'completed' | 'exited' | 'converted' | 'holdout';

/** Everything the runtime needs of a journey: the state machine, the bus patterns and the starter's checks. */
export interface CompiledJourney {
  readonly id: string;
  readonly version: number;
  /**
   * The release of the template files its steps render (`templateRelease` of their sources, every channel and
   * locale), when the compiler was given the sources: in every step payload, so a run renders the files it started
   * with, whatever changes later without a version bump.
   */
  readonly release?: string;
  readonly definition: StateMachineDefinition;
  /** Bus rule patterns that start the journey (the journey starter's rule). */
  readonly triggerPatterns: EventPattern[];
  /** The oldest trigger (event time against the clock) that starts a run, in seconds; null: any age (`max_age: none`). */
  readonly triggerMaxAgeSeconds: number | null;
  /** Events that stop a run as converted, and that stop it without conversion. */
  readonly goalPatterns: EventPattern[];
  readonly exitPatterns: EventPattern[];
  readonly mermaid: string;
  /** Every loop-free path from the start to a Succeed state (deferred sends not taken), with its state transitions. */
  readonly transitionsPerPath: StatePath[];
  /** Wait states by name: their fixed Seconds, or 'timestamp' (TimestampPath `$.last.result.until`). */
  readonly waitStates: Record<string, number | 'timestamp'>;
  /** Callback (wait_for) states by name: the awaited event, its full bus pattern (trigger references unresolved) and the timeout. */
  readonly awaitStates: Record<string, { event: string; pattern: EventPattern; timeoutSeconds: number }>;
  /** Succeed states by name: how a run that ends there is counted. */
  readonly endStates: Record<string, { outcome: EndOutcome; reason?: string }>;
  /** The scalar trigger properties the journey references (steps, concurrency key, templates): the execution input carries only these. */
  readonly triggerProperties: string[];
  /** Who may enter (checked by the starter when the trigger arrives); absent: everyone. */
  readonly audience?: NonNullable<Journey['audience']>;
  /** May a customer enter again (per concurrency key): never, always, or once this long after their last entry. */
  readonly reentry: 'never' | 'always' | { afterSeconds: number };
  /** One run per value of this trigger property (e.g. complaintId) instead of one per customer. */
  readonly concurrencyKey?: string;
  /** The `when` of every branch rule, in step order: the profile keeps the recent events they read. */
  readonly branchConditions: unknown[];
  /** The events the journey's wait_for steps wait for (sorted, once each): the router looks for waiting runs only on these. */
  readonly awaitedEvents: string[];
  /** Send steps with variants (experiments): their variant ids, the control first. */
  readonly experiments: Record<string, string[]>;
  /** What its messages earn (last touch): the conversion event, the property of its value (absent: the order amount), the window in seconds. */
  readonly attribution: { event: string; value?: string; windowSeconds: number };
  /**
   * The longest a run can last, in seconds (`longestRunSeconds`): its waits and wait_for timeouts along the
   * longest path, the longest a marketing send can be deferred (`SEND_DEFERRAL_MAX_SECONDS`) and each Task's
   * retries; a year with a loop. The run's lock expires after it (the journey runtime's lock TTL).
   */
  readonly maxRunSeconds: number;
}

/**
 * The longest the send policy can defer one marketing send: the frequency cap up to 30 days after its
 * first deferral (`frequencyCapMaxDelayDays` is at most 30), then quiet hours up to a day.
 */
export const SEND_DEFERRAL_MAX_SECONDS = 31 * 86_400;
/**
 * The longest one marketing send can be deferred: its own `frequency_cap_max_delay` (the step's, else the
 * journey's `send_policy`) then quiet hours up to a day; without one, the deployment's (at most 30 days).
 */
export const sendDeferralSeconds = (frequencyCapMaxDelaySeconds: number | undefined) =>
  frequencyCapMaxDelaySeconds === undefined ? SEND_DEFERRAL_MAX_SECONDS : frequencyCapMaxDelaySeconds + QUIET_HOURS_MAX_SECONDS;
/** What a Task's Retry (`STEP_RETRY`: 8 retries, at most 5 minutes apart) and its invocations add at most, rounded up. */
const TASK_RETRY_MAX_SECONDS = 3_600;

/** Compile a validated journey. Throws `JourneyError` if the journey does not pass the meaning checks. */
export function compileJourney(journey: Journey, options: CompileOptions): CompiledJourney {
  const problems = validateMeaning(journey, options);
  if (problems.length > 0) {
    throw new JourneyError(problems.map((p) => ({ file: journey.id, line: 1, column: 1, path: formatPath(p.path), message: p.message })));
  }

  const graph = buildGraph(journey);
  const atTrigger = reachedAtTrigger(graph);
  const states: Record<string, State> = {};
  const detours = new Set<string>();
  const waitStates: Record<string, number | 'timestamp'> = {};
  const awaitStates: CompiledJourney['awaitStates'] = {};
  const endStates: CompiledJourney['endStates'] = {};
  /** wait_until waits by name: the longest they can wait (a day, a week with `days`). */
  const untilSeconds: Record<string, number> = {};
  /** Split steps with a holdout group. */
  const holdoutSplits = new Set<string>();
  /** A marketing send's route Choice: the longest its send can be deferred (`sendDeferralSeconds`). */
  const deferralSeconds: Record<string, number> = {};

  const target = (to: string): string => {
    if (to === END) {
      states[STATE.end] = { Type: 'Succeed', Comment: 'The end of the steps' };
      endStates[STATE.end] = { outcome: 'completed' };
      return STATE.end;
    }
    if (to === HOLDOUT) {
      // holdSeconds is filled in once the paths are known (below).
      states[STATE.holdout] = { Type: 'Pass', Comment: 'Holdout group: no further steps, counted for comparison', Result: { outcome: 'holdout', holdSeconds: 0 }, ResultPath: '$.end', End: true };
      endStates[STATE.holdout] = { outcome: 'holdout' };
      return STATE.holdout;
    }
    return to;
  };
  const failed = (): string => {
    states[STATE.failed] = { Type: 'Fail', Error: STEP_FAILED_ERROR, Cause: 'A journey step failed after its retries; see the execution history for the error.' };
    return STATE.failed;
  };
  const release = options.templateSources && templateRelease(journeyTemplateSources(journey, options.templateSources));
  const payload = <A extends StepAction>(stepId: string, action: A, config: StepConfigInput<A>) => ({
    journeyId: journey.id,
    // The version and template release the run started on: its step handler renders with those templates where they are kept.
    version: journey.version,
    ...(release !== undefined && { release }),
    stepId,
    action,
    config,
    'customerId.$': '$.customerId',
    'trigger.$': '$.trigger',
    'execution.$': '$$.Execution.Name',
  });
  const task = <A extends StepAction>(stepId: string, action: A, config: StepConfigInput<A>, next: string, comment: string): TaskState => ({
    Type: 'Task',
    Comment: comment,
    Resource: LAMBDA_INVOKE,
    Parameters: { FunctionName: options.stepFunctionArn, Payload: payload(stepId, action, config) },
    ResultSelector: { 'result.$': '$.Payload' },
    ResultPath: '$.last',
    Retry: [STEP_RETRY],
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: failed() }],
    Next: next,
  });
  /** A send/webhook Task whose failure is recorded (`<id>.failed`) before the run fails. */
  const deliveryTask = (stepId: string, call: { action: 'send'; config: StepConfigInput<'send'> } | { action: 'webhook'; config: StepConfigInput<'webhook'> }, next: string, comment: string): TaskState => {
    const { config } = call;
    const onFailure = failureState(stepId);
    states[onFailure] = {
      Type: 'Task',
      Comment: `record that ${stepId} failed (message status failed, with the error), then fail the run`,
      Resource: LAMBDA_INVOKE,
      Parameters: { FunctionName: options.stepFunctionArn, Payload: { ...payload(stepId, 'recordFailure', config), 'error.$': '$.error' } },
      ResultSelector: { 'result.$': '$.Payload' },
      ResultPath: '$.last',
      Retry: [STEP_RETRY],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.recordError', Next: failed() }],
      Next: failed(),
    };
    return { ...(call.action === 'send' ? task(stepId, 'send', call.config, next, comment) : task(stepId, 'webhook', call.config, next, comment)), Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: onFailure }] };
  };
  const route = (stepId: string, targets: readonly string[]): ChoiceState => ({
    Type: 'Choice',
    Comment: `Follow the ${stepId} step's choice`,
    Choices: [...new Set(targets)].map((to) => ({ Variable: RESULT.next, StringEquals: to, Next: target(to) })),
    Default: failed(),
  });

  for (const node of graph) {
    compileStep(node);
    // Who is where: a step that goes on to one next step tells the step handler which (`then`), so the run is
    // shown at that step (a wait, typically) once this one is done. Not the end or a holdout: the run ends there.
    const state = states[node.step.id];
    const to = node.edges.length === 1 ? node.edges[0]!.to : undefined;
    // A wait_for goes on to its on_event step when the router resumes it: that one (its timeout path has no handler).
    const then = 'wait_for' in node.step ? node.edges[0]?.to : to;
    if (state?.Type === 'Task' && then !== undefined && then !== END && then !== HOLDOUT && !('wait_until' in node.step)) {
      (state.Parameters as { Payload: Record<string, unknown> }).Payload.then = then;
    }
  }

  function compileStep(node: StepNode): void {
    const { step } = node;
    const id = step.id;
    const next = () => target(node.edges[0]!.to);
    if ('send' in step) {
      const kind = step.send.kind ?? 'marketing';
      const maxDelay = step.send.frequency_cap_max_delay ?? journey.send_policy?.frequency_cap_max_delay;
      const frequencyCapMaxDelaySeconds = kind === 'marketing' && maxDelay !== undefined ? durationSeconds(maxDelay) : undefined;
      // A marketing email or SMS has the step's topic, else the journey's; transactional messages ignore topics.
      const topic = kind === 'marketing' && step.send.channel !== 'webhook' ? (step.send.topic ?? journey.topic) : undefined;
      const topicDefault = topic === undefined ? undefined : options.topics?.get(topic)?.default;
      const config: StepConfigInput<'send'> = {
        channel: step.send.channel,
        template: step.send.template,
        kind,
        ...(topic !== undefined && { topic }),
        ...(topicDefault !== undefined && { topicDefault }),
        ...(step.send.target !== undefined && { target: step.send.target }),
        ...(frequencyCapMaxDelaySeconds !== undefined && { frequencyCapMaxDelaySeconds }),
        ...(step.send.fallback !== undefined && { fallback: step.send.fallback }),
        ...(step.send.variants !== undefined && {
          // validate refuses variants on a channel that takes none (a webhook), so the send's own channel is one here.
          variants: step.send.variants.map((v) => ({ id: v.id, channel: v.channel ?? (step.send.channel as VariantChannel), template: v.template ?? step.send.template, weight: v.weight })),
        }),
      };
      const comment = `send ${kind} ${step.send.channel} "${step.send.template}"`;
      if (kind === 'transactional') {
        // Transactional messages are never deferred (no quiet hours): no Choice, one transition fewer.
        states[id] = deliveryTask(id, { action: 'send', config }, next(), comment);
        return;
      }
      states[id] = deliveryTask(id, { action: 'send', config }, STATE.route(id), comment);
      deferralSeconds[STATE.route(id)] = sendDeferralSeconds(frequencyCapMaxDelaySeconds);
      states[STATE.route(id)] = {
        Type: 'Choice',
        Comment: 'A send deferred by quiet hours waits, then sends again',
        Choices: [{ Variable: RESULT.status, StringEquals: 'deferred', Next: STATE.wait(id) }],
        Default: next(),
      };
      states[STATE.wait(id)] = { Type: 'Wait', Comment: 'Quiet hours: wait until the send may go', TimestampPath: RESULT.until, Next: id };
      waitStates[STATE.wait(id)] = 'timestamp';
      detours.add(STATE.wait(id));
    } else if ('wait' in step) {
      const seconds = durationSeconds(step.wait);
      states[id] = { Type: 'Wait', Comment: `wait ${step.wait}`, Seconds: seconds, Next: next() };
      waitStates[id] = seconds;
    } else if ('wait_until' in step) {
      const config = { time: step.wait_until.time, ...(step.wait_until.days && { days: step.wait_until.days }) };
      states[id] = task(id, 'waitUntil', config, STATE.wait(id), `find the next ${step.wait_until.time} in the customer's time zone`);
      states[STATE.wait(id)] = { Type: 'Wait', Comment: `wait until ${step.wait_until.time}`, TimestampPath: RESULT.until, Next: next() };
      waitStates[STATE.wait(id)] = 'timestamp';
      untilSeconds[STATE.wait(id)] = step.wait_until.days ? 7 * 86_400 : 86_400;
    } else if ('wait_for' in step) {
      const [onEvent, onTimeout] = node.edges;
      const timeoutSeconds = durationSeconds(step.wait_for.timeout);
      // Reached at the trigger's time: the step also looks for the event among those handled before it got there.
      const config = { event: step.wait_for.event, ...(step.wait_for.where && { where: step.wait_for.where }), ...(atTrigger.has(id) && { sinceTrigger: true }) };
      states[id] = {
        Type: 'Task',
        Comment: `wait for ${step.wait_for.event}, at most ${step.wait_for.timeout}`,
        Resource: LAMBDA_INVOKE_WAIT_FOR_TOKEN,
        Parameters: { FunctionName: options.stepFunctionArn, Payload: { ...payload(id, 'await', config), 'taskToken.$': '$$.Task.Token' } },
        TimeoutSeconds: timeoutSeconds,
        ResultPath: '$.last',
        Retry: [STEP_RETRY],
        Catch: [
          { ErrorEquals: ['States.Timeout'], ResultPath: '$.timeout', Next: target(onTimeout!.to) },
          { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: failed() },
        ],
        Next: target(onEvent!.to),
      };
      awaitStates[id] = { event: step.wait_for.event, pattern: busPattern(step.wait_for), timeoutSeconds };
    } else if ('branch' in step) {
      // Every rule, then an explicit else (the default resolved): the Lambda returns the first match's next.
      const rules = step.branch.flatMap((rule) => ('when' in rule ? [{ when: rule.when, next: rule.next }] : []));
      const otherwise = node.edges.find((e) => e.kind === 'else')!.to;
      states[id] = task(id, 'branch', { branches: [...rules, { else: otherwise }] }, STATE.route(id), 'evaluate the branch conditions on the profile');
      states[STATE.route(id)] = route(id, node.edges.map((e) => e.to));
    } else if ('split' in step) {
      // Holdout arms go to "holdout"; arms without next to the following step.
      const arms = node.edges.map((e) => ({ percent: step.split[e.index!]!.percent, next: e.to }));
      states[id] = task(id, 'split', { arms }, STATE.route(id), 'draw a random arm');
      states[STATE.route(id)] = route(id, arms.map((a) => a.next));
      if (arms.some((a) => a.next === HOLDOUT)) holdoutSplits.add(id);
    } else if ('tag' in step) {
      states[id] = task(id, 'tag', { ...step.tag }, next(), 'add' in step.tag ? `tag +${step.tag.add}` : `tag -${step.tag.remove}`);
    } else if ('update' in step) {
      states[id] = task(id, 'update', { trait: step.update.trait, value: step.update.value }, next(), `set trait ${step.update.trait}`);
    } else if ('webhook' in step) {
      states[id] = deliveryTask(id, { action: 'webhook', config: { target: step.webhook.target, template: step.webhook.template } }, next(), `post "${step.webhook.template}" to ${step.webhook.target}`);
    } else if ('exit' in step) {
      const reason = step.exit === true ? undefined : step.exit;
      const end = reason === 'goal' ? { outcome: 'converted' as const } : { outcome: 'exited' as const, ...(reason !== undefined && { reason }) };
      // A terminal Pass (one transition, like a Succeed) that writes the outcome into the
      // execution's output: the run-ended handler reads it from the status-change event.
      states[id] = { Type: 'Pass', Comment: reason === undefined ? 'exit' : `exit: ${reason}`, Result: end, ResultPath: '$.end', End: true };
      endStates[id] = end;
    } else {
      assertNever(step);
    }
  }

  const definition: StateMachineDefinition = {
    Comment: `Rapport journey "${journey.id}" v${journey.version}: ${journey.name}`,
    StartAt: journey.steps[0]!.id,
    States: orderStates(states, graph),
  };

  const transitionsPerPath = statePaths(definition, detours);
  const holdout = definition.States[STATE.holdout];
  if (holdout?.Type === 'Pass') {
    holdout.Result = {
      outcome: 'holdout',
      holdSeconds: holdSeconds(transitionsPerPath, holdoutSplits, (name) => {
        const wait = waitStates[name];
        return typeof wait === 'number' ? wait : (untilSeconds[name] ?? awaitStates[name]?.timeoutSeconds ?? 0);
      }),
    };
  }

  // A deferred send's Choice leads into its detour (the Wait before the send again): that Choice stands for the deferrals.
  const deferring = new Set(Object.entries(definition.States).filter(([, s]) => s.Type === 'Choice' && s.Choices.some((c) => detours.has(c.Next))).map(([name]) => name));
  const maxRunSeconds = longestRunSeconds(
    definition,
    detours,
    (name) => {
      const wait = waitStates[name];
      return (typeof wait === 'number' ? wait : (untilSeconds[name] ?? awaitStates[name]?.timeoutSeconds ?? 0)) + (deferring.has(name) ? (deferralSeconds[name] ?? SEND_DEFERRAL_MAX_SECONDS) : 0);
    },
    TASK_RETRY_MAX_SECONDS,
  );

  const reentry = journey.entry?.reentry ?? 'never';
  const maxAge = journey.trigger.max_age ?? DEFAULT_TRIGGER_MAX_AGE;
  const concurrency = journey.entry?.concurrency ?? 'one-per-customer';
  return {
    id: journey.id,
    version: journey.version,
    ...(release !== undefined && { release }),
    definition,
    triggerPatterns: [busPattern(journey.trigger)],
    triggerMaxAgeSeconds: maxAge === NO_MAX_AGE ? null : durationSeconds(maxAge),
    goalPatterns: (journey.goals ?? []).map(busPattern),
    exitPatterns: (journey.exits ?? []).map(busPattern),
    mermaid: journeyMermaid(journey, graph),
    transitionsPerPath,
    waitStates,
    awaitStates,
    endStates,
    triggerProperties: referencedTriggerProperties(journey, options),
    ...(journey.audience !== undefined && { audience: journey.audience }),
    reentry: typeof reentry === 'string' ? reentry : { afterSeconds: durationSeconds(reentry.after) },
    ...(typeof concurrency === 'object' && { concurrencyKey: concurrency.per }),
    branchConditions: journey.steps.flatMap((step) => ('branch' in step ? step.branch.flatMap((rule) => ('when' in rule ? [structuredClone(rule.when) as unknown] : [])) : [])),
    awaitedEvents: [...new Set(Object.values(awaitStates).map((a) => a.event))].sort(),
    experiments: Object.fromEntries(journey.steps.flatMap((step) => ('send' in step && step.send.variants ? [[step.id, step.send.variants.map((v) => v.id)]] : []))),
    attribution: {
      event: journey.attribution?.event ?? DEFAULT_ATTRIBUTION.event,
      ...(journey.attribution?.value !== undefined && { value: journey.attribution.value }),
      windowSeconds: durationSeconds(journey.attribution?.window ?? DEFAULT_ATTRIBUTION.window),
    },
    maxRunSeconds,
  };
}

/**
 * The bus pattern for an event filter: customer events come from ingest,
 * derived ones (`Tag Added`, ...) from the profile consumer.
 */
export function busPattern(filter: Pick<EventFilter, 'event' | 'where'>): EventPattern {
  const source = RESERVED_EVENT_NAMES.has(filter.event) ? PROFILE_EVENT_SOURCE : INGEST_EVENT_SOURCE;
  const pattern = {
    source: [source],
    'detail-type': [filter.event],
    ...(filter.where !== undefined && { detail: { properties: filter.where } }),
  };
  assertValidEventPattern(pattern);
  return pattern;
}

function referencedTriggerProperties(journey: Journey, catalog: TemplateCatalog): string[] {
  const names = triggerReferences(journey.steps);
  const concurrency = journey.entry?.concurrency;
  if (typeof concurrency === 'object') names.add(concurrency.per);
  for (const step of journey.steps) {
    // Every locale variant of a template too: the run carries what any of them reads.
    const keys =
      'send' in step
        ? [
            ...templateVariantKeys(catalog, step.send.template, step.send.channel),
            ...(step.send.variants ?? []).flatMap((v) => templateVariantKeys(catalog, v.template ?? step.send.template, v.channel ?? step.send.channel)),
          ]
        : 'webhook' in step
          ? templateVariantKeys(catalog, step.webhook.template, 'webhook')
          : [];
    for (const key of keys) {
      const source = catalog.templateSources?.[key];
      if (source !== undefined) for (const name of templateTriggerReferences(source)) names.add(name);
    }
  }
  return [...names].sort();
}

/**
 * How long a holdout customer stays held: the longest a run on the split's other arms can still
 * go on after the split (its waits and wait_for timeouts), so that a goal is counted over the same
 * span for the held customers as for those who get the messages.
 */
function holdSeconds(paths: readonly StatePath[], splits: ReadonlySet<string>, seconds: (state: string) => number): number {
  let longest = 0;
  for (const { path } of paths) {
    const from = path.findIndex((name) => splits.has(name));
    if (from < 0 || path.at(-1) === STATE.holdout) continue;
    longest = Math.max(longest, path.slice(from + 1).reduce((total, name) => total + seconds(name), 0));
  }
  return longest;
}

/** States in step order (each step's states together), then the shared end states: readable in the console. */
function orderStates(states: Record<string, State>, graph: StepNode[]): Record<string, State> {
  const ordered: Record<string, State> = {};
  for (const { step } of graph) {
    for (const name of [step.id, STATE.route(step.id), STATE.wait(step.id), failureState(step.id)]) {
      const state = states[name];
      if (state) ordered[name] = state;
    }
  }
  for (const name of [STATE.end, STATE.holdout, STATE.failed]) {
    const state = states[name];
    if (state) ordered[name] = state;
  }
  return ordered;
}

function assertNever(value: never): never {
  throw new TypeError(`unhandled step: ${JSON.stringify(value)}`);
}
