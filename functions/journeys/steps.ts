import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { detailTypeOf, foldConsent, INGEST_EVENT_SOURCE, isSameEvent, matchesEventPattern, RapportError, templateProfile, type Channel, type Clock, type EventPattern, type Profile } from '../../shared';
import { idsOfProfile, PROFILE_LIMITS, setTraitWithin, traitBytes, type ProfileStore } from '../profile';
import { ChannelUnavailableError, type Channels, type EmailMessage } from './channels/types';
import { decideSend, type SendDecision, type SendPolicy } from './policy';
import { CAP_SORT_KEY, capKey, type CapClaim, type JourneyStore, type MessageRecord } from './store';
import { DEFAULT_TIME_ZONE, isValidTimeZone, nextLocalTime, type Weekday } from './time';
import { unsubscribeUrl, type UnsubscribeKeyProvider } from './unsubscribe';

/** The Payload every step Task sends to the step Lambda (see the compiler's runtime contract). */
export const StepInputSchema = z.object({
  journeyId: z.string(),
  stepId: z.string(),
  action: z.enum(['send', 'branch', 'split', 'tag', 'update', 'webhook', 'waitUntil', 'await', 'audience', 'recordFailure']),
  config: z.record(z.string(), z.unknown()),
  customerId: z.string(),
  trigger: z.object({ messageId: z.string(), event: z.string(), properties: z.record(z.string(), z.unknown()).default({}) }),
  execution: z.string(),
  taskToken: z.string().optional(),
  /** recordFailure: the error the send or webhook step failed with (the Catch's `$.error`). */
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});
export type StepInput = z.infer<typeof StepInputSchema>;

/** A template failed to render: the step fails (no retry), nothing half-rendered is sent. */
export class TemplateRenderError extends RapportError {
  readonly retryable = false;
}
/** The journey's config is inconsistent with what the runtime has (e.g. a webhook target not configured). */
export class StepConfigError extends RapportError {
  readonly retryable = false;
}
/**
 * An earlier attempt of this send claimed it and did not finish (the Lambda died,
 * or the channel failed in a way that does not rule out delivery): the message may
 * have gone out, so it is never sent again; the step fails and records why.
 */
export class SendOutcomeUnknownError extends RapportError {
  readonly retryable = false;
}
/**
 * A transient failure inside a step (DynamoDB or EventBridge throttling, a 5xx, a
 * write conflict, derived events not yet published): Step Functions retries the
 * step with backoff on this name. Every step is idempotent, so a retry finishes
 * what the failed attempt began.
 */
export class TransientStepError extends RapportError {
  readonly retryable = true;
}

/**
 * Errors a channel threw after the message may have left (anything but
 * ChannelUnavailableError): never retried as transient, so the step fails with
 * the channel's own error as its reason.
 */
const deliveryOutcomeUnknown = new WeakSet<object>();
export const isDeliveryOutcomeUnknown = (error: unknown) => typeof error === 'object' && error !== null && deliveryOutcomeUnknown.has(error);
function outcomeUnknown(error: unknown): unknown {
  if (typeof error === 'object' && error !== null && (error as Error).name !== 'ChannelUnavailableError') deliveryOutcomeUnknown.add(error);
  return error;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html?: string;
}

/** Port: templates by name and channel, rendered over `{ profile, trigger, journey, unsubscribeUrl }`. */
export interface TemplateRenderer {
  email(template: string, data: Record<string, unknown>): Promise<RenderedEmail>;
  text(template: string, channel: 'sms' | 'webhook', data: Record<string, unknown>): Promise<string>;
}

/** Port: evaluate a branch condition (the tag-rule condition language) against a profile. */
export type ConditionEvaluator = (condition: unknown, profile: Profile, now: Date) => boolean;

export interface StepDeps {
  profiles: ProfileStore;
  journeys: JourneyStore;
  channels: Channels;
  templates: TemplateRenderer;
  evaluate: ConditionEvaluator;
  policy: SendPolicy;
  clock: Clock;
  /** Where links point and the keys that sign them (the first of the list). */
  unsubscribe: { baseUrl: string; keys: UnsubscribeKeyProvider };
  /** Change a profile with locking and derived events (the profile consumer's `mutate`). */
  mutateProfile: (customerId: string, cause: string, change: (profile: Profile) => void) => Promise<unknown>;
  /**
   * Resume a waiting task (Step Functions' SendTaskSuccess; false when the token is no longer valid). An `await`
   * step uses it when the event it waits for was applied before the wait was registered (see `earlierEvent`).
   */
  sendTaskSuccess: (taskToken: string, output: Record<string, unknown>) => Promise<boolean>;
  /** Called with the resolved wait when an `await` step registers (the embedded engine hooks its callbacks here). */
  onAwait?: (customerId: string, wait: { event: string; pattern: EventPattern }) => void;
  /**
   * Called with the customer's id when a step's writes for an erased customer were undone (write, then
   * check): the embedded engine redacts its outbox here (a message the channel took after the erasure).
   */
  onErasedWrite?: (ids: string[]) => Promise<void>;
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

  async function run(input: StepInput): Promise<StepResult> {
    const now = clock.now();
    // A customer joined into another by alias since the run started: the joined profile decides.
    const profile = (await profiles.resolve(input.customerId)).stored?.profile;
    const config = resolveTriggerRefs(input.config, input.trigger);
    switch (input.action) {
      case 'send':
        return send(input, config, profile, now);
      case 'webhook':
        return webhook(input, config, profile);
      case 'branch': {
        const branches = z.array(z.union([z.object({ when: z.unknown(), next: z.string() }), z.object({ else: z.string() })])).parse(config.branches);
        for (const b of branches) {
          if ('else' in b) return { next: b.else };
          if (profile && deps.evaluate(b.when, profile, now)) return { next: b.next };
        }
        throw new StepConfigError(`branch ${input.stepId} has no else`);
      }
      case 'split': {
        const arms = z.array(z.object({ percent: z.number(), next: z.string() })).parse(config.arms);
        const bucket = createHash('sha256').update(`${input.execution}\n${input.stepId}`).digest().readUInt32BE(0) % 100;
        let acc = 0;
        for (const arm of arms) {
          acc += arm.percent;
          if (bucket < acc) return { next: arm.next };
        }
        return { next: arms[arms.length - 1]!.next };
      }
      case 'waitUntil': {
        const { time, days } = z.object({ time: z.string(), days: z.array(z.string()).optional() }).parse(config);
        const tz = profile && isValidTimeZone(profile.traits.timezone) ? profile.traits.timezone : deps.policy.defaultTimeZone ?? DEFAULT_TIME_ZONE;
        return { until: nextLocalTime(now, tz, time, days as Weekday[] | undefined).toISOString() };
      }
      case 'await': {
        const { event, where, sinceTrigger } = z.object({ event: z.string(), where: z.record(z.string(), z.unknown()).optional(), sinceTrigger: z.boolean().optional() }).parse(config);
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
        });
        // Erased meanwhile: the wait goes; the eraser stops the execution.
        if (await undoneIfErased(input.customerId, [`W#${event}#${input.execution}#${input.stepId}`])) return { ok: true };
        deps.onAwait?.(input.customerId, { event, pattern });
        // A step the run reaches at its trigger's time (nothing pauses before it: the compiler's `sinceTrigger`) is in
        // time for an event dated from the trigger on, even one handled before the wait existed (EventBridge keeps no
        // order): write, then check, as the router applies an event, writes the timeline, then reads the waits.
        const earlier = sinceTrigger ? await earlierEvent(input, pattern) : undefined;
        if (earlier && (await journeys.takeWait(input.customerId, { event, executionName: input.execution, stepId: input.stepId }))) {
          await deps.sendTaskSuccess(input.taskToken, { event, messageId: earlier.messageId });
        }
        return { ok: true };
      }
      case 'tag': {
        const { add, remove } = z.object({ add: z.string().optional(), remove: z.string().optional() }).parse(config);
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
        const { trait, value } = z.object({ trait: z.string().min(1), value: z.union([z.string(), z.number(), z.boolean(), z.null()]) }).parse(config);
        // Within the profile's trait limits, as a sender's identify: a write beyond them is refused and recorded.
        await deps.mutateProfile(input.customerId, `${input.execution}:${input.stepId}`, (p) => setTraitWithin(p, trait, value, now.toISOString(), { bytes: traitBytes(p) }));
        return { ok: true };
      }
      case 'audience':
        return { ok: true };
      case 'recordFailure':
        return recordFailure(input, config);
    }
  }

  async function send(input: StepInput, config: Record<string, unknown>, profile: Profile | undefined, now: Date): Promise<StepResult> {
    const parsed = z
      .object({
        channel: z.enum(['email', 'sms', 'webhook']),
        template: z.string(),
        kind: z.enum(['marketing', 'transactional']).default('marketing'),
        target: z.string().optional(),
        frequencyCapMaxDelaySeconds: z.number().int().nonnegative().optional(),
        variants: z.array(z.object({ id: z.string(), channel: z.enum(['email', 'sms']), template: z.string(), weight: z.number().int().positive() })).min(1).optional(),
      })
      .parse(config);
    const { kind, target, frequencyCapMaxDelaySeconds } = parsed;
    // An experiment: the customer's variant, drawn by weight from the run and step (the same on every retry and deferral).
    const variant = parsed.variants && pickVariant(parsed.variants, `${input.execution}\n${input.stepId}\nvariant`);
    const channel = variant?.channel ?? parsed.channel;
    const template = variant?.template ?? parsed.template;
    if (channel === 'webhook') {
      if (!target) throw new StepConfigError(`send ${input.stepId} on channel webhook needs a target`);
      return webhook(input, { target, template }, profile);
    }
    const previous = await journeys.getMessage(input.customerId, input.execution, input.stepId);
    if (previous && previous.status !== 'deferred') return settled(input, previous);

    const base = { journeyId: input.journeyId, stepId: input.stepId, executionName: input.execution, channel, template, kind, ...(variant && { variant: variant.id }), at: now.toISOString() };
    const skip = async (reason: string): Promise<StepResult> => {
      await journeys.recordMessage(input.customerId, { ...base, status: 'skipped', reason });
      const erased = await undoneIfErased(input.customerId, [messageKey(input)]);
      await journeys.count(input.journeyId, { [`${input.stepId}.skipped.${erased ? 'erased' : reason}`]: 1 });
      return { status: 'skipped', reason: erased ? 'erased' : reason };
    };
    if (!(await runIsRunning(input))) return skip('run-ended');
    if (!profile) return skip('no-profile');
    const window = new Date(now.getTime() - deps.policy.frequencyWindowDays * 86_400_000);
    // A customer joined by alias is one customer: the cap counts the sends of every known id of theirs.
    const ids = [...new Set([input.customerId, profile.id, ...(profile.mergedIds ?? [])])];
    // The cap's count: the sends its item (under the live customer's id) counted, and those the message records show.
    const sentBefore = kind === 'marketing' ? (await Promise.all(ids.map((id) => journeys.marketingSentSince(id, window)))).flat() : [];
    const counted = kind === 'marketing' ? await journeys.capClaims(profile.id, window) : [];
    const key = capKey(input.execution, input.stepId);
    const inWindow = (claims: readonly CapClaim[]) => [...new Map(claims.filter((c) => c.key !== key).map((c) => [c.key, new Date(c.at)])).values()];
    const deferredSince = previous?.deferredSince === undefined ? undefined : new Date(previous.deferredSince);
    // The holds (denials, suppressions) ingest recorded under any id of theirs, their linked visitor ids too:
    // ingest records a visitor-only denial under `anon:<id>` (it cannot know the link, which may not exist yet).
    const consented = await withHolds([...new Set([...ids, ...idsOfProfile(profile)])], profile, channel, now);
    const decide = (claims: readonly CapClaim[]) => decideSend(consented, channel as Channel, kind, { sentInWindow: inWindow(claims), deferredSince, maxDelaySeconds: frequencyCapMaxDelaySeconds }, now, deps.policy);
    /** A send that does not go now: skipped, or deferred (the cap's deferral is recorded: its first time bounds the wait). */
    const held = async (decision: Exclude<SendDecision, { action: 'send' }>): Promise<StepResult> => {
      if (decision.action === 'skip') return skip(decision.reason);
      // Another attempt that settled the send meanwhile wins.
      if (decision.reason === 'frequency-cap' && (await journeys.deferMessage(input.customerId, base)) === undefined) {
        const settledMeanwhile = await journeys.getMessage(input.customerId, input.execution, input.stepId);
        if (settledMeanwhile && settledMeanwhile.status !== 'deferred') return settled(input, settledMeanwhile);
      }
      await journeys.count(input.journeyId, { [`${input.stepId}.deferred.${decision.reason}`]: 1 });
      return { status: 'deferred', until: decision.until.toISOString(), reason: decision.reason };
    };
    const decision = decide([...counted, ...sentBefore]);
    if (decision.action !== 'send') return held(decision);

    // Render first: a template error fails the step before anything is claimed or sent.
    const data = await templateData(input, profile, channel as Channel);
    let deliver: () => Promise<{ providerId: string }>;
    if (channel === 'email') {
      const rendered = await renderOrFail(() => deps.templates.email(template, data), template, channel);
      const link = data.unsubscribe_url as string;
      const message: EmailMessage = {
        to: decision.address,
        ...rendered,
        headers: kind === 'marketing' ? { 'List-Unsubscribe': `<${link}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {},
        tags: { journey: input.journeyId, step: input.stepId, execution: input.execution, customer: input.customerId },
      };
      deliver = () => deps.channels.email(message);
    } else {
      const message = { to: decision.address, body: await renderOrFail(() => deps.templates.text(template, 'sms', data), template, channel), kind, tags: { journey: input.journeyId, step: input.stepId, customer: input.customerId } };
      deliver = () => deps.channels.sms(message);
    }

    // The cap's check and count in one conditional write: of several sends for this customer at one instant
    // (other journeys' steps), no more than the cap pass. Counted before the send, so a crashed attempt's
    // place stays taken (its retry finds it); a send counted and then not made errs on the side of fewer messages.
    if (kind === 'marketing') {
      const claimed = await journeys.claimCapSlot(profile.id, { key, at: now.toISOString() }, { since: window, days: deps.policy.frequencyWindowDays }, deps.policy.frequencyCap, sentBefore);
      if (!claimed.claimed) {
        const recheck = decide(claimed.counted);
        if (recheck.action !== 'send') return held(recheck);
      }
    }

    // At most once per execution and step: claim the send, then call the channel. A refusal
    // (ChannelUnavailableError: nothing was sent) releases the claim, so Step Functions'
    // Retry sends again after its backoff; any other outcome keeps it, and a later
    // attempt that finds the claim does not send (SendOutcomeUnknownError).
    const attempt = randomUUID();
    const claim = await journeys.recordMessage(input.customerId, { ...base, status: 'sending', attempt });
    // Not recorded but ours: the put succeeded and its answer was lost, and the SDK's retry found it.
    if (!claim.recorded && claim.existing?.attempt !== attempt) return settled(input, claim.existing!);
    // Erased meanwhile: the message record goes, and the cap's item if this send wrote it under this id.
    if (await undoneIfErased(input.customerId, [messageKey(input), ...(kind === 'marketing' && profile.id === input.customerId ? [CAP_SORT_KEY] : [])])) return erasedSkip(input);
    let providerId: string;
    try {
      ({ providerId } = await deliver());
    } catch (error) {
      if (error instanceof ChannelUnavailableError || (error as Error).name === 'ChannelUnavailableError') await journeys.releaseMessage(input.customerId, input.execution, input.stepId);
      throw outcomeUnknown(error);
    }
    await journeys.settleMessage(input.customerId, { ...base, status: 'sent', providerId });
    // Erased while the channel had it: the message went out, but no record of it stays (nor, locally, its outbox line).
    await undoneIfErased(input.customerId, [messageKey(input)]);
    await journeys.count(input.journeyId, { [`${input.stepId}.sent`]: 1, ...(variant && { [`${input.stepId}.variant.${variant.id}.sent`]: 1 }) });
    return { status: 'sent' };
  }

  /**
   * A step's half of erasure (write, then check; see ProfileStore.erase): after writing in the customer's
   * partition, read their tombstone (strongly consistent). If they are erased (and this is not a run of
   * their new life), the eraser's query may have run before the write: delete it, and let the engine
   * redact what the step left elsewhere. Otherwise the write came before the eraser's query, which deletes it.
   */
  async function undoneIfErased(customerId: string, sortKeys: string[]): Promise<boolean> {
    const tombstone = await profiles.tombstone(customerId, clock.now());
    if (!tombstone || tombstone.erasedAt === (await profiles.get(customerId))?.rebornAfter) return false;
    await profiles.undoWrites(sortKeys.map((sk) => ({ pk: `C#${customerId}`, sk })));
    await deps.onErasedWrite?.([customerId]);
    return true;
  }

  /** A send or webhook found its customer erased after it claimed the message: nothing goes out. */
  async function erasedSkip(input: StepInput): Promise<StepResult> {
    await journeys.count(input.journeyId, { [`${input.stepId}.skipped.erased`]: 1 });
    return { status: 'skipped', reason: 'erased' };
  }

  /**
   * The profile with the channel's consent and suppression as they stand now: a denial or a suppression
   * ingest has received (and answered for) counts even before the profile consumer applied it, a denial
   * ordered against the profile's own record by the same consent rule. One read for every id.
   */
  async function withHolds(customerIds: readonly string[], profile: Profile, channel: Channel, now: Date): Promise<Profile> {
    const holds = await profiles.holdsOf(customerIds, channel, now);
    let consent = profile.consent[channel];
    for (const hold of holds.consent) consent = foldConsent(consent, hold);
    const suppression = profile.suppression[channel] ?? holds.suppression;
    if (consent === profile.consent[channel] && suppression === profile.suppression[channel]) return profile;
    return { ...profile, consent: { ...profile.consent, [channel]: consent }, suppression: { ...profile.suppression, ...(suppression && { [channel]: suppression }) } };
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
    if (previous.status === 'sent') return { status: 'sent' };
    if (previous.status === 'skipped') return { status: 'skipped', ...(previous.reason !== undefined && { reason: previous.reason }) };
    throw new SendOutcomeUnknownError(
      previous.status === 'sending' || previous.status === 'unknown'
        ? `send ${input.stepId} was started by an earlier attempt (at ${previous.at}) that did not finish; the message may have gone out, so it is not sent again`
        : `send ${input.stepId} already failed (${previous.reason ?? 'no reason recorded'}); it is not sent again`,
    );
  }

  /** The Catch of a send or webhook step: record the failure (status failed, with the error) so the run's end is explained. */
  async function recordFailure(input: StepInput, config: Record<string, unknown>): Promise<StepResult> {
    const { channel, template, kind, target } = z
      .object({ channel: z.enum(['email', 'sms', 'webhook']).default('webhook'), template: z.string(), kind: z.enum(['marketing', 'transactional']).default('transactional'), target: z.string().optional() })
      .parse(config);
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
    if (recorded) await journeys.count(input.journeyId, { [`${input.stepId}.failed`]: 1 });
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
  async function webhook(input: StepInput, config: Record<string, unknown>, profile: Profile | undefined): Promise<StepResult> {
    const { target, template } = z.object({ target: z.string(), template: z.string() }).parse(config);
    const previous = await journeys.getMessage(input.customerId, input.execution, input.stepId);
    if (previous && previous.status !== 'sending') return settled(input, previous);
    if (!(await runIsRunning(input))) {
      await journeys.count(input.journeyId, { [`${input.stepId}.skipped.run-ended`]: 1 });
      return { status: 'skipped', reason: 'run-ended' };
    }
    const data = await templateData(input, profile, undefined);
    const body = await renderOrFail(() => deps.templates.text(template, 'webhook', data), template, 'webhook');
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
    if (settledNow) await journeys.count(input.journeyId, { [`${input.stepId}.sent`]: 1 });
    return { status: 'sent' };
  }

  async function templateData(input: StepInput, profile: Profile | undefined, channel: Channel | undefined): Promise<Record<string, unknown>> {
    // Read per message (the AWS provider caches a few minutes), so a rotated key signs new links without a deploy.
    const keys = channel ? await deps.unsubscribe.keys.load() : [];
    return {
      profile: templateProfile(profile, input.customerId),
      customer: { id: input.customerId },
      // `{{ trigger.complaintId }}`: the trigger's properties the run carries; the trigger event itself as triggerEvent.
      trigger: input.trigger.properties,
      triggerEvent: { messageId: input.trigger.messageId, event: input.trigger.event },
      journey: { id: input.journeyId, step: input.stepId, execution: input.execution },
      ...(channel && { unsubscribe_url: unsubscribeUrl(deps.unsubscribe.baseUrl, keys, input.customerId, channel) }),
    };
  }

  return { run };
}

/** The sort key of a step's message record (JourneyStore). */
const messageKey = (input: Pick<StepInput, 'execution' | 'stepId'>) => `M#${input.execution}#${input.stepId}`;

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

async function renderOrFail<T>(render: () => Promise<T>, template: string, channel: string): Promise<T> {
  try {
    return await render();
  } catch (error) {
    if (error instanceof TemplateRenderError) throw error;
    throw new TemplateRenderError(`template "${template}" (${channel}) failed to render: ${(error as Error).message}`, { cause: error });
  }
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
