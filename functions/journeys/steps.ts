import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { detailTypeOf, INGEST_EVENT_SOURCE, isSameEvent, matchesEventPattern, STEP_ACTIONS, StepCallSchema, templateProfile, type EventPattern, type MessageChannel, type Profile, type Recommendations, type StepConfig } from '../../shared';
import { PROFILE_LIMITS, setTraitWithin, traitBytes } from '../profile';
import { outcomeUnknown, renderOrFail, StepConfigError, TemplateRenderError } from './errors';
import { createSendGateway, messageKey as gatewayMessageKey, settled as settledMessage, templatesFor, type GatewayDeps } from './gateway';
import type { MessageRecord } from './store';
import { DEFAULT_TIME_ZONE, isValidTimeZone, nextLocalTime, type Weekday } from './time';

/** The Payload every step Task sends to the step Lambda (see the compiler's runtime contract). */
export const StepInputSchema = z.object({
  journeyId: z.string(),
  stepId: z.string(),
  action: z.enum(STEP_ACTIONS),
  /** The action's config (shared/steps: `StepCallSchema`), parsed once its `{{ trigger.x }}` references are resolved. */
  config: z.record(z.string(), z.unknown()),
  customerId: z.string(),
  trigger: z.object({ messageId: z.string(), event: z.string(), properties: z.record(z.string(), z.unknown()).default({}) }),
  execution: z.string(),
  /** The journey version the run started on (the compiler's): its templates render the step's messages. */
  version: z.number().int().positive().optional(),
  /** The template release the run started on (the compiler's `CompiledJourney.release`): the files its messages render. */
  release: z.string().regex(/^[0-9a-f]{16}$/, 'expected the 16 hex digits of a template release').optional(),
  /** The step the run goes on to when this one is done (the compiler's, for a step with one next step): who is where. */
  then: z.string().optional(),
  taskToken: z.string().optional(),
  /** recordFailure: the error the send or webhook step failed with (the Catch's `$.error`). */
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});
export type StepInput = z.infer<typeof StepInputSchema>;

export { TemplateRenderError, StepConfigError, SendOutcomeUnknownError, TransientStepError, isDeliveryOutcomeUnknown } from './errors';
export type { RenderedEmail, TemplateRenderer } from './gateway';

/**
 * The skips after which a send with `fallback` tries its other channel: the customer cannot be reached on the first
 * (no address, or one the channel cannot use, no consent, unsubscribed from it or from the message's topic, suppressed). A policy skip (the
 * frequency cap), an ended run or an erased customer ends the send there.
 */
export const FALLBACK_REASONS: ReadonlySet<string> = new Set(['no-address', 'invalid-address', 'no-consent', 'unsubscribed', 'suppressed', 'topic-unsubscribed', 'topic-no-consent']);
/** A fallback send's step key (its message record, its counters): `<step>.fallback`. */
export const FALLBACK_SUFFIX = '.fallback';

/** Port: evaluate a branch condition (the tag-rule condition language) against a profile. */
export type ConditionEvaluator = (condition: unknown, profile: Profile, now: Date) => boolean;

export interface StepDeps extends GatewayDeps {
  evaluate: ConditionEvaluator;
  /** Change a profile with locking and derived events (the profile consumer's `mutate`). */
  mutateProfile: (customerId: string, cause: string, change: (profile: Profile) => void) => Promise<unknown>;
  /**
   * Resume a waiting task (Step Functions' SendTaskSuccess; false when the token is no longer valid). An `await`
   * step uses it when the event it waits for was applied before the wait was registered (see `earlierEvent`).
   */
  sendTaskSuccess: (taskToken: string, output: Record<string, unknown>) => Promise<boolean>;
  /** Called with the resolved wait when an `await` step registers (the embedded engine hooks its callbacks here). */
  onAwait?: (customerId: string, wait: { event: string; pattern: EventPattern }) => void;
}

export type StepResult =
  | { status: 'sent' | 'skipped'; reason?: string }
  | { status: 'deferred'; until: string; reason: string }
  | { next: string }
  | { until: string }
  | { ok: true };

/** `{{ trigger.x }}` references in step config, resolved from the execution's trigger properties. */
export function resolveTriggerRefs<T>(value: T, trigger: StepInput['trigger']): T {
  if (typeof value === 'string') {
    const m = /^\{\{\s*trigger\.([\w.-]+)\s*\}\}$/.exec(value);
    if (m) return (m[1] === 'messageId' ? trigger.messageId : trigger.properties[m[1]!]) as T;
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => resolveTriggerRefs(v, trigger)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveTriggerRefs(v, trigger)])) as T;
  return value;
}

/**
 * The step Lambda's core: one handler for every action a journey step can take.
 * Reads the profile from DynamoDB (the execution carries ids only), decides at
 * send time, and records every send or skip with its reason, once per execution
 * and step.
 */
export function createStepRunner(deps: StepDeps) {
  const { profiles, journeys, clock } = deps;
  const gateway = createSendGateway(deps);

  /**
   * Run a step, then record where the run is (who is where): at the step it goes on to, or at this one while it
   * waits here (a deferred send, a wait_until, a wait_for). A failure records nothing (the run fails or retries).
   */
  async function run(input: StepInput): Promise<StepResult> {
    const moveTo = (stepId: string) => journeys.moveTo(input.customerId, input.journeyId, input.execution, stepId, clock.now().toISOString());
    // A wait_for is there before it registers: an event it finds already come resumes the run on at once (below).
    if (input.action === 'await') {
      await moveTo(input.stepId);
      return runStep(input);
    }
    const result = await runStep(input);
    if (input.action === 'recordFailure' || input.action === 'audience') return result;
    const waitsHere = input.action === 'waitUntil' || ('status' in result && result.status === 'deferred');
    await moveTo(waitsHere ? input.stepId : 'next' in result ? result.next : (input.then ?? input.stepId));
    return result;
  }

  async function runStep(input: StepInput): Promise<StepResult> {
    const now = clock.now();
    // A customer joined into another by alias since the run started: the joined profile decides.
    const profile = (await profiles.resolve(input.customerId)).stored?.profile;
    // The step payload contract (shared/steps), the compiler's: one union on the action.
    const call = StepCallSchema.parse({ action: input.action, config: resolveTriggerRefs(input.config, input.trigger) });
    switch (call.action) {
      case 'send':
        return send(input, call.config, profile);
      case 'webhook':
        return webhook(input, call.config, profile);
      case 'branch': {
        const { branches } = call.config;
        // Recommendations are computed now (other customers' orders), and only for a branch that reads them.
        const reads = branches.some((b) => 'when' in b && readsRecommendations(b.when));
        const seen = profile && reads ? { ...profile, recommendations: await profiles.coPurchases.recommendations(profile, now) } : profile;
        for (const b of branches) {
          if ('else' in b) return { next: b.else };
          if (seen && deps.evaluate(b.when, seen, now)) return { next: b.next };
        }
        throw new StepConfigError(`branch ${input.stepId} has no else`);
      }
      case 'split': {
        const { arms } = call.config;
        const bucket = createHash('sha256').update(`${input.execution}\n${input.stepId}`).digest().readUInt32BE(0) % 100;
        let acc = 0;
        for (const arm of arms) {
          acc += arm.percent;
          if (bucket < acc) return { next: arm.next };
        }
        return { next: arms[arms.length - 1]!.next };
      }
      case 'waitUntil': {
        const { time, days } = call.config;
        const tz = profile && isValidTimeZone(profile.traits.timezone) ? profile.traits.timezone : deps.policy.defaultTimeZone ?? DEFAULT_TIME_ZONE;
        return { until: nextLocalTime(now, tz, time, days as Weekday[] | undefined).toISOString() };
      }
      case 'await': {
        const { event, where, sinceTrigger } = call.config;
        if (!input.taskToken) throw new StepConfigError(`await ${input.stepId} was invoked without a task token`);
        const pattern = { 'detail-type': [event], ...(where && { detail: { properties: where } }) } as EventPattern;
        await journeys.putWait(input.customerId, {
          event,
          executionName: input.execution,
          stepId: input.stepId,
          journeyId: input.journeyId,
          taskToken: input.taskToken,
          pattern,
          expiresAt: new Date(now.getTime() + 366 * 86_400_000).toISOString(),
          ...(input.then !== undefined && { then: input.then }),
        });
        // Erased meanwhile: the wait goes; the eraser stops the execution.
        if (await undoneIfErased(input.customerId, [`W#${event}#${input.execution}#${input.stepId}`])) return { ok: true };
        deps.onAwait?.(input.customerId, { event, pattern });
        // A step the run reaches at its trigger's time (nothing pauses before it: the compiler's `sinceTrigger`) is in
        // time for an event dated from the trigger on, even one handled before the wait existed (EventBridge keeps no
        // order): write, then check, as the router applies an event, writes the timeline, then reads the waits.
        const earlier = sinceTrigger ? await earlierEvent(input, pattern) : undefined;
        if (earlier && (await journeys.takeWait(input.customerId, { event, executionName: input.execution, stepId: input.stepId }))) {
          if (input.then !== undefined) await journeys.moveTo(input.customerId, input.journeyId, input.execution, input.then, clock.now().toISOString());
          await deps.sendTaskSuccess(input.taskToken, { event, messageId: earlier.messageId });
        }
        return { ok: true };
      }
      case 'tag': {
        const { add, remove } = call.config;
        await deps.mutateProfile(input.customerId, `${input.execution}:${input.stepId}`, (p) => {
          // The journeys' own list: a sender's tags trait never removes these. A remove takes the tag off whoever set it.
          const tags = new Set(p.journeyTags ?? []);
          if (add) tags.add(add);
          if (remove) {
            tags.delete(remove);
            p.manualTags = p.manualTags.filter((t) => t !== remove);
          }
          p.journeyTags = [...tags].sort().slice(0, PROFILE_LIMITS.journeyTags);
        });
        return { ok: true };
      }
      case 'update': {
        const { trait, value } = call.config;
        // Within the profile's trait limits, as a sender's identify: a write beyond them is refused and recorded.
        await deps.mutateProfile(input.customerId, `${input.execution}:${input.stepId}`, (p) => setTraitWithin(p, trait, value, now.toISOString(), { bytes: traitBytes(p) }));
        return { ok: true };
      }
      case 'audience':
        return { ok: true };
      case 'recordFailure':
        return recordFailure(input, call.config);
      default:
        return assertUnreachable(call);
    }
  }

  async function send(input: StepInput, parsed: StepConfig<'send'>, profile: Profile | undefined): Promise<StepResult> {
    const { kind, target, frequencyCapMaxDelaySeconds, topic, topicDefault } = parsed;
    // An experiment: the customer's variant, drawn by weight from the run and step (the same on every retry and deferral).
    const variant = parsed.variants && pickVariant(parsed.variants, `${input.execution}\n${input.stepId}\nvariant`);
    const channel = variant?.channel ?? parsed.channel;
    const template = variant?.template ?? parsed.template;
    if (channel === 'webhook') {
      if (!target) throw new StepConfigError(`send ${input.stepId} on channel webhook needs a target`);
      return webhook(input, { target, template }, profile);
    }
    // The send gateway decides (consent, suppression, cap, quiet hours), claims and sends; the step counts what it decided.
    const on = async (sendChannel: MessageChannel, stepKey: string): Promise<StepResult> => {
      const outcome = await gateway.send(
        {
          customerId: input.customerId,
          journeyId: input.journeyId,
          stepId: stepKey,
          executionName: input.execution,
          channel: sendChannel,
          template,
          kind,
          ...(variant && { variant: variant.id }),
          ...(input.version !== undefined && { version: input.version }),
          ...(input.release !== undefined && { release: input.release }),
          ...(topic !== undefined && { topic }),
          ...(topicDefault !== undefined && { topicDefault }),
          frequencyCapMaxDelaySeconds,
          data: stepTemplateData(input),
          unwanted: async () => ((await runIsRunning(input)) ? undefined : 'run-ended'),
        },
        profile,
      );
      if (outcome.status === 'deferred') {
        await journeys.count(input.journeyId, { [`${stepKey}.deferred.${outcome.reason}`]: 1 }, input.version);
        return outcome;
      }
      if (outcome.status === 'skipped') {
        if (outcome.fresh) await journeys.count(input.journeyId, { [`${stepKey}.skipped.${outcome.reason}`]: 1 }, input.version);
        return { status: 'skipped', ...(outcome.reason !== 'unknown' && { reason: outcome.reason }) };
      }
      if (outcome.fresh) {
        await journeys.count(input.journeyId, {
          [`${stepKey}.sent`]: 1,
          ...(variant && { [`${stepKey}.variant.${variant.id}.sent`]: 1 }),
          // Sends per locale variant (the default file's are the rest of `<step>.sent`): simulate and the stats report them.
          ...(outcome.locale !== undefined && { [`${stepKey}.locale.${outcome.locale}.sent`]: 1 }),
          // The categories a template read in `recommendations` (simulate reports them); `(none)`: it had none to show.
          ...recommendedCounters(stepKey, outcome.recommended),
        }, input.version);
      }
      return { status: 'sent' };
    };
    const result = await on(channel, input.stepId);
    // Not reachable on this channel: the fallback channel, the same template, its own message record (`<step>.fallback`).
    // A retry (or the wait after a deferral) finds the first skip recorded and comes back here.
    if (parsed.fallback !== undefined && 'status' in result && result.status === 'skipped' && FALLBACK_REASONS.has(result.reason ?? '')) {
      return on(parsed.fallback, `${input.stepId}${FALLBACK_SUFFIX}`);
    }
    return result;
  }

  const undoneIfErased = gateway.undoneIfErased;

  /** A send or webhook found its customer erased after it claimed the message: nothing goes out. */
  async function erasedSkip(input: StepInput): Promise<StepResult> {
    await journeys.count(input.journeyId, { [`${input.stepId}.skipped.erased`]: 1 }, input.version);
    return { status: 'skipped', reason: 'erased' };
  }

  /**
   * An event on the customer's timeline matching `pattern`, dated from the run's trigger on (by event time, as
   * goals count), other than the trigger itself: the one an `await` step would have been resumed by had it
   * arrived after the wait was registered.
   */
  async function earlierEvent(input: StepInput, pattern: EventPattern): Promise<{ messageId: string } | undefined> {
    const run = await journeys.getRun(input.customerId, input.journeyId, input.execution);
    if (run?.triggeredAt === undefined) return undefined;
    for (const e of await profiles.eventsFrom(input.customerId, run.triggeredAt, clock.now())) {
      if (e.timestamp < run.triggeredAt || isSameEvent({ messageId: run.triggerMessageId, sourceId: run.triggerSourceId }, e)) continue;
      const asBusEvent = { source: INGEST_EVENT_SOURCE, 'detail-type': detailTypeOf(e), detail: e };
      if (matchesEventPattern(pattern, asBusEvent)) return { messageId: e.messageId };
    }
    return undefined;
  }

  /**
   * Whether the step's run is still running. A goal, an exit or an erasure marks the run ended before it
   * stops the execution, and a step already under way (or an execution whose stop failed) must not send
   * after that. An erased customer has no run record left.
   */
  async function runIsRunning(input: StepInput): Promise<boolean> {
    return (await journeys.getRun(input.customerId, input.journeyId, input.execution))?.status === 'running';
  }

  /** The answer for a send that already has a record: its result, or, if an attempt never finished, no second send. */
  function settled(input: StepInput, previous: MessageRecord): StepResult {
    const outcome = settledMessage(input.stepId, previous);
    if (outcome.status === 'skipped') return { status: 'skipped', ...(previous.reason !== undefined && { reason: previous.reason }) };
    return { status: 'sent' };
  }

  /** The Catch of a send or webhook step: record the failure (status failed, with the error) so the run's end is explained. */
  async function recordFailure(input: StepInput, config: StepConfig<'recordFailure'>): Promise<StepResult> {
    const { channel, template, kind, target } = config;
    const recorded = await journeys.settleMessage(input.customerId, {
      journeyId: input.journeyId,
      stepId: input.stepId,
      executionName: input.execution,
      channel: channel === 'webhook' ? `webhook:${target ?? ''}` : channel,
      template,
      kind,
      status: 'failed',
      reason: failureReason(input.error),
      at: clock.now().toISOString(),
    });
    if (await undoneIfErased(input.customerId, [messageKey(input)])) return { ok: true };
    if (recorded) await journeys.count(input.journeyId, { [`${input.stepId}.failed`]: 1 }, input.version);
    return { ok: true };
  }

  /**
   * A webhook step, at least once with one idempotency key. Its `webhook-id` is `<execution>:<step>`, the
   * same on every attempt, and the step claims its message record (status sending, with that id) before
   * the POST, as sends do. What each attempt does:
   * - the record says sent (a redelivered step, or a retry after the answer was lost): nothing is posted;
   * - skipped or failed: nothing is posted (the step ended before);
   * - claimed and unfinished (an earlier attempt timed out, got a 5xx/429, or died): it posts again with
   *   the SAME webhook-id, re-signed with a fresh timestamp. Unlike an email, a webhook's receiver can
   *   tell a repeat from a new message: Standard Webhooks receivers deduplicate on webhook-id, so a
   *   delivery that may have arrived is retried rather than lost, and acted on once.
   * A 4xx answer is final (the receiver refused it): the step fails and is not retried.
   */
  async function webhook(input: StepInput, config: StepConfig<'webhook'>, profile: Profile | undefined): Promise<StepResult> {
    const { target, template } = config;
    const previous = await journeys.getMessage(input.customerId, input.execution, input.stepId);
    if (previous && previous.status !== 'sending') return settled(input, previous);
    if (!(await runIsRunning(input))) {
      await journeys.count(input.journeyId, { [`${input.stepId}.skipped.run-ended`]: 1 }, input.version);
      return { status: 'skipped', reason: 'run-ended' };
    }
    const data = templateData(input, profile);
    const templates = templatesFor(deps, input.journeyId, input.version, input.release);
    const body = await renderOrFail(() => templates.text(template, 'webhook', data), template, 'webhook');
    try {
      JSON.parse(body);
    } catch (error) {
      throw new TemplateRenderError(`template "${template}" (webhook) did not render to JSON: ${(error as Error).message}`);
    }
    const base = { journeyId: input.journeyId, stepId: input.stepId, executionName: input.execution, channel: `webhook:${target}`, template, kind: 'transactional' as const };
    let webhookId = previous?.webhookId ?? webhookIdOf(input);
    if (!previous) {
      const attempt = randomUUID();
      const claim = await journeys.recordMessage(input.customerId, { ...base, status: 'sending', attempt, webhookId, at: clock.now().toISOString() });
      // Another attempt claimed it meanwhile: finished ones answer as they ended; an unfinished one is posted again, with its id.
      if (!claim.recorded && claim.existing?.attempt !== attempt) {
        if (claim.existing?.status !== 'sending') return settled(input, claim.existing!);
        webhookId = claim.existing.webhookId ?? webhookId;
      }
      if (await undoneIfErased(input.customerId, [messageKey(input)])) return erasedSkip(input);
    }
    let providerId: string;
    try {
      ({ providerId } = await deps.channels.webhook({ target, id: webhookId, body, customerId: input.customerId }));
    } catch (error) {
      // The claim stays: a retry (ChannelUnavailableError: timeout, 5xx, 429, unreachable) posts again with this id.
      throw outcomeUnknown(error);
    }
    // Counted once, by the attempt that settles it (two attempts posting concurrently settle once).
    const settledNow = await journeys.settleMessage(input.customerId, { ...base, status: 'sent', providerId, webhookId, at: clock.now().toISOString() });
    await undoneIfErased(input.customerId, [messageKey(input)]);
    if (settledNow) await journeys.count(input.journeyId, { [`${input.stepId}.sent`]: 1 }, input.version);
    return { status: 'sent' };
  }

  /** What a webhook's template reads: the customer's profile, the trigger and the journey. */
  function templateData(input: StepInput, profile: Profile | undefined): Record<string, unknown> {
    return { profile: templateProfile(profile, input.customerId), customer: { id: input.customerId }, ...stepTemplateData(input) };
  }

  return { run };
}

/** The exhaustive switch's end: a new action in the contract fails the type check here until it is handled. */
function assertUnreachable(call: never): never {
  throw new StepConfigError(`unknown step action ${JSON.stringify((call as { action?: unknown }).action)}`);
}

/** The sort key of a step's message record (JourneyStore). */
const messageKey = (input: Pick<StepInput, 'execution' | 'stepId'>) => gatewayMessageKey({ executionName: input.execution, stepId: input.stepId });

/**
 * What a journey's templates read besides the profile: the trigger's properties, the trigger event and the journey.
 * `rapport preview` renders a step with it too.
 */
export function stepTemplateData(input: Pick<StepInput, 'trigger' | 'journeyId' | 'stepId' | 'execution'>): Record<string, unknown> {
  return {
    // `{{ trigger.complaintId }}`: the trigger's properties the run carries; the trigger event itself as triggerEvent.
    trigger: input.trigger.properties,
    triggerEvent: { messageId: input.trigger.messageId, event: input.trigger.event },
    journey: { id: input.journeyId, step: input.stepId, execution: input.execution },
  };
}

/** Whether a condition (as written) tests `recommendations` anywhere in it. */
function readsRecommendations(condition: unknown): boolean {
  if (Array.isArray(condition)) return condition.some(readsRecommendations);
  if (typeof condition !== 'object' || condition === null) return false;
  return Object.entries(condition).some(([key, value]) => key === 'recommendations' || ((key === 'all' || key === 'any' || key === 'not') && readsRecommendations(value)));
}

/** `<step>.recommended.<category>` for each category a send rendered (at most `recommendMax`), `<step>.recommended.(none)` for none. */
export function recommendedCounters(stepKey: string, recommended: Recommendations | undefined): Record<string, number> {
  if (recommended === undefined) return {};
  const categories = recommended.categories.length > 0 ? recommended.categories : ['(none)'];
  return Object.fromEntries(categories.map((c) => [`${stepKey}.recommended.${c}`, 1]));
}

/** The `webhook-id` of a webhook step: one per execution and step, the same on every attempt. */
export const webhookIdOf = (input: Pick<StepInput, 'execution' | 'stepId'>) => `${input.execution}:${input.stepId}`;

/**
 * `<error name>: <message>` from a Catch's `$.error`. In AWS the Cause of a Lambda
 * error is the JSON the runtime reports (`errorType`, `errorMessage`); locally it is the message.
 */
export function failureReason(error: StepInput['error']): string {
  if (!error) return 'unknown error';
  let message = error.Cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // a plain message
  }
  const reason = message ? `${error.Error}: ${message}` : error.Error;
  return reason.length > 500 ? `${reason.slice(0, 499)}…` : reason;
}

/** The variant a hash of `seed` falls in, by weight (the same seed, the same variant). */
export function pickVariant<V extends { weight: number }>(variants: readonly V[], seed: string): V {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  const bucket = createHash('sha256').update(seed).digest().readUInt32BE(0) % total;
  let acc = 0;
  for (const v of variants) {
    acc += v.weight;
    if (bucket < acc) return v;
  }
  return variants[variants.length - 1]!;
}
