import { randomUUID } from 'node:crypto';
import { CHANNEL_ADDRESS_TRAIT, foldConsent, subscribedByDefault, type AttributionRule, type Channel, type Clock, type MessageKind, type MessageTopic, type Profile, type Recommendations, type TopicDefault } from '../../shared';
import { idsOfProfile, type ChannelHolds, type ProfileStore } from '../profile';
import { ChannelUnavailableError, type Channels } from './channels/types';
import { outcomeUnknown, SendOutcomeUnknownError, StepConfigError } from './errors';
import { decideSend, type SendDecision, type SendPolicy } from './policy';
import { CAP_SORT_KEY, capKey, type CapClaim, type JourneyStore, type MessageRecord } from './store';
import { renderMessage, sendOn, type RenderRequest, type TemplateRenderer } from './render';
import type { UnsubscribeKeyProvider } from './unsubscribe';

export type { RenderedEmail, TemplateRenderer } from './render';

/** What the send gateway needs: the stores, the channels, the templates, the policy and the clock. */
export interface GatewayDeps {
  profiles: ProfileStore;
  journeys: JourneyStore;
  channels: Channels;
  templates: TemplateRenderer;
  /**
   * The templates a journey's version was released with (a run finishes with the templates it started with), when
   * they are kept (`<data>/releases`, the step function's bundle): by the run's template `release` when it has one
   * (compiled into its steps), else by its version; undefined: the current `templates`.
   */
  templatesOf?: (journeyId: string, version: number, release?: string) => TemplateRenderer | undefined;
  policy: SendPolicy;
  clock: Clock;
  /** Where links point and the keys that sign them (the first of the list). */
  unsubscribe: { baseUrl: string; keys: UnsubscribeKeyProvider };
  /**
   * Called with the customer's id when writes for an erased customer were undone (write, then
   * check): the embedded engine redacts its outbox here (a message the channel took after the erasure).
   */
  onErasedWrite?: (ids: string[]) => Promise<void>;
}

/**
 * One message to one customer, as a journey's send step or a broadcast asks for it. Its record is
 * kept once per `executionName` and `stepId` in the customer's partition: that key is the claim.
 */
export interface GatewayMessage extends RenderRequest {
  variant?: string;
  /** The message's subscription topic (its journey's or step's, a broadcast's `topic`), kept on the record. */
  topic?: string;
  /**
   * The topic's `default` (topics.yaml), as compiled into the journey or kept on the broadcast: a marketing message
   * with a topic goes only if the customer's state on it for the channel allows (absent: subscribed by default).
   */
  topicDefault?: TopicDefault;
  /** The journey version the run started on: its templates render the message (`GatewayDeps.templatesOf`). */
  version?: number;
  /** The template release the run started on (its steps'): the files its messages render, when kept. */
  release?: string;
  /** What the message earns, kept on its record (a broadcast's; a journey's messages earn by their journey's rule). */
  attribution?: AttributionRule;
  /** This send's longest frequency-cap deferral, in seconds (absent: the policy's). */
  frequencyCapMaxDelaySeconds?: number | undefined;
  /** Checked before anything is decided or claimed: why the message is no longer wanted (`run-ended`, `cancelled`), if it is not. */
  unwanted?: () => Promise<string | undefined>;
}

/**
 * What became of a message. `fresh`: this call decided it (count it); otherwise an earlier attempt had
 * and this is its answer (already counted). A deferral is never final: the caller asks again at `until`.
 */
export type GatewayOutcome =
  /** `locale`: the locale variant of the template it was rendered from (absent: the default file); `recommended`: the recommendations it rendered. */
  | { status: 'sent'; fresh: boolean; locale?: string; recommended?: Recommendations }
  | { status: 'skipped'; reason: string; fresh: boolean }
  | { status: 'deferred'; until: string; reason: string };

/** The templates a run of `journeyId` at `version` (and template `release`) renders with: its release's when kept, else the current ones. */
export function templatesFor(deps: Pick<GatewayDeps, 'templates' | 'templatesOf'>, journeyId: string, version: number | undefined, release?: string): TemplateRenderer {
  return (version !== undefined ? deps.templatesOf?.(journeyId, version, release) : undefined) ?? deps.templates;
}

/**
 * The send gateway: the one place that decides whether a message may go and sends it at most once.
 * Consent and suppression (the holds ingest recorded, under every id of the customer), the frequency cap
 * (its check and count in one conditional write), quiet hours; then the message is claimed (a conditional
 * put keyed by execution and step) before the provider is called, and every send or skip is recorded with
 * its reason. Journeys' send steps and broadcasts both call it.
 */
export function createSendGateway(deps: GatewayDeps) {
  const { profiles, journeys, clock } = deps;
  /** The addresses the engine's sender on `channel` can send to, if it says (AWS push: the application's endpoints). */
  const reachesOn = (channel: Channel): ((address: string) => boolean) | undefined => {
    const sender = (deps.channels as Partial<Record<string, { reaches?: (address: string) => boolean }>>)[channel];
    return sender?.reaches?.bind(sender);
  };

  async function send(message: GatewayMessage, profile: Profile | undefined): Promise<GatewayOutcome> {
    const now = clock.now();
    const { customerId, channel, template, kind, variant } = message;
    const previous = await journeys.getMessage(customerId, message.executionName, message.stepId);
    if (previous && previous.status !== 'deferred') return settled(message.stepId, previous);

    const base: Omit<MessageRecord, 'status'> = {
      journeyId: message.journeyId,
      stepId: message.stepId,
      executionName: message.executionName,
      channel,
      template,
      kind,
      ...(variant !== undefined && { variant }),
      ...(message.topic !== undefined && { topic: message.topic }),
      ...(message.attribution !== undefined && { attribution: message.attribution }),
      at: now.toISOString(),
    };
    const key = messageKey(message);
    const skip = async (reason: string): Promise<GatewayOutcome> => {
      await journeys.recordMessage(customerId, { ...base, status: 'skipped', reason });
      const erased = await undoneIfErased(customerId, [key]);
      return { status: 'skipped', reason: erased ? 'erased' : reason, fresh: true };
    };
    const unwanted = await message.unwanted?.();
    if (unwanted !== undefined) return skip(unwanted);
    if (!profile) return skip('no-profile');
    const window = new Date(now.getTime() - deps.policy.frequencyWindowDays * 86_400_000);
    // A customer joined by alias is one customer: the cap counts the sends of every known id of theirs.
    const ids = [...new Set([customerId, profile.id, ...(profile.mergedIds ?? [])])];
    // The cap's count: the sends its item (under the live customer's id) counted, and those the message records show.
    const sentBefore = kind === 'marketing' ? (await Promise.all(ids.map((id) => journeys.marketingSentSince(id, window)))).flat() : [];
    const counted = kind === 'marketing' ? await journeys.capClaims(profile.id, window) : [];
    const capSlot = capKey(message.executionName, message.stepId);
    const inWindow = (claims: readonly CapClaim[]) => [...new Map(claims.filter((c) => c.key !== capSlot).map((c) => [c.key, new Date(c.at)])).values()];
    const deferredSince = previous?.deferredSince === undefined ? undefined : new Date(previous.deferredSince);
    // The holds (denials, suppressions) ingest recorded under any id of theirs, their linked visitor ids too:
    // ingest records a visitor-only denial under `anon:<id>` (it cannot know the link, which may not exist yet).
    const topic = messageTopic(message, deps.policy.consentMode);
    const consented = await withHolds([...new Set([...ids, ...idsOfProfile(profile)])], profile, channel, now, topic?.id);
    const decide = (claims: readonly CapClaim[]) =>
      decideSend(consented, channel, kind, { sentInWindow: inWindow(claims), deferredSince, maxDelaySeconds: message.frequencyCapMaxDelaySeconds }, now, deps.policy, topic, reachesOn(channel));
    /** A send that does not go now: skipped, or deferred (the cap's deferral is recorded: its first time bounds the wait). */
    const held = async (decision: Exclude<SendDecision, { action: 'send' }>): Promise<GatewayOutcome> => {
      if (decision.action === 'skip') return skip(decision.reason);
      if (decision.reason === 'frequency-cap') {
        // Another attempt that settled the send meanwhile wins.
        if ((await journeys.deferMessage(customerId, base)) === undefined) {
          const settledMeanwhile = await journeys.getMessage(customerId, message.executionName, message.stepId);
          if (settledMeanwhile && settledMeanwhile.status !== 'deferred') return settled(message.stepId, settledMeanwhile);
        }
        // Write, then check: the deferral record goes if the customer was erased while it was written.
        if (await undoneIfErased(customerId, [key])) return { status: 'skipped', reason: 'erased', fresh: true };
      }
      return { status: 'deferred', until: decision.until.toISOString(), reason: decision.reason };
    };
    const decision = decide([...counted, ...sentBefore]);
    if (decision.action !== 'send') return held(decision);

    // Render first: a template error fails the send before anything is claimed or sent.
    const rendered = await renderMessage(
      { ...deps, templates: templatesFor(deps, message.journeyId, message.version, message.release), recommendations: (p) => deps.profiles.coPurchases.recommendations(p, deps.clock.now()) },
      message,
      profile,
      decision.address,
    );
    // A channel this engine has no sender for fails here, before anything is claimed (a configuration error).
    if (!deps.channels[rendered.channel]) throw new StepConfigError(`no ${rendered.channel} sender is configured in this engine`);
    const deliver = () => sendOn(deps.channels, rendered);
    // The locale variant chosen, on the record (`GET /v1/customers/{id}/messages`) as in the provider's tags.
    if (rendered.locale !== undefined) base.locale = rendered.locale;

    // The cap's check and count in one conditional write: of several sends for this customer at one instant
    // (other journeys' steps, a broadcast), no more than the cap pass. Counted before the send, so a crashed attempt's
    // place stays taken (its retry finds it); a send counted and then not made errs on the side of fewer messages.
    if (kind === 'marketing') {
      const claimed = await journeys.claimCapSlot(profile.id, { key: capSlot, at: now.toISOString() }, { since: window, days: deps.policy.frequencyWindowDays }, deps.policy.frequencyCap, sentBefore);
      if (!claimed.claimed) {
        const recheck = decide(claimed.counted);
        if (recheck.action !== 'send') return held(recheck);
      }
    }

    // At most once per key: claim the send, then call the channel. A refusal (ChannelUnavailableError:
    // nothing was sent) releases the claim, so a retry sends again after its backoff; any other outcome
    // keeps it, and a later attempt that finds the claim does not send (SendOutcomeUnknownError).
    const attempt = randomUUID();
    const claim = await journeys.recordMessage(customerId, { ...base, status: 'sending', attempt });
    // Not recorded but ours: the put succeeded and its answer was lost, and the SDK's retry found it.
    if (!claim.recorded && claim.existing?.attempt !== attempt) return settled(message.stepId, claim.existing!);
    // Erased meanwhile: the message record goes, and the cap's item if this send wrote it under this id.
    // A run under an id joined into another customer counted the cap under that customer (`profile.id`): its cap item is checked too.
    const erasedHere = await undoneIfErased(customerId, [key, ...(kind === 'marketing' && profile.id === customerId ? [CAP_SORT_KEY] : [])]);
    const erasedCap = kind === 'marketing' && profile.id !== customerId && (await undoneIfErased(profile.id, [CAP_SORT_KEY]));
    if (erasedHere) return { status: 'skipped', reason: 'erased', fresh: true };
    if (erasedCap) {
      await journeys.settleMessage(customerId, { ...base, status: 'skipped', reason: 'erased' });
      return { status: 'skipped', reason: 'erased', fresh: true };
    }
    // The last word, once claimed and just before the provider: a denial or suppression ingest answered for, or a
    // cancel, while this send was deciding, rendering and claiming stops it here (the claim becomes the skip). Only a
    // send already past this read can still go out when a denial arrives: one "already with the provider".
    const lastWord = (await message.unwanted?.()) ?? (await stillConsented(ids, profile, channel, kind, now, topic));
    if (lastWord !== undefined) {
      await journeys.settleMessage(customerId, { ...base, status: 'skipped', reason: lastWord });
      const erased = await undoneIfErased(customerId, [key]);
      return { status: 'skipped', reason: erased ? 'erased' : lastWord, fresh: true };
    }
    let providerId: string;
    try {
      ({ providerId } = await deliver());
    } catch (error) {
      if (error instanceof ChannelUnavailableError || (error as Error).name === 'ChannelUnavailableError') await journeys.releaseMessage(customerId, message.executionName, message.stepId);
      throw outcomeUnknown(error);
    }
    await journeys.settleMessage(customerId, { ...base, status: 'sent', providerId });
    // Erased while the channel had it: the message went out, but no record of it stays (nor, locally, its outbox line).
    await undoneIfErased(customerId, [key]);
    return { status: 'sent', fresh: true, ...(rendered.locale !== undefined && { locale: rendered.locale }), ...(rendered.recommended !== undefined && { recommended: rendered.recommended }) };
  }

  /**
   * Whether consent and suppression still allow the send, read again from the holds ingest recorded: the reason
   * to skip (`unsubscribed`, `suppressed`, `no-consent`), or undefined. Quiet hours and the cap were decided already.
   */
  async function stillConsented(ids: readonly string[], profile: Profile, channel: Channel, kind: MessageKind, now: Date, topic: MessageTopic | undefined): Promise<string | undefined> {
    // The customer as they stand now, read again: a visitor linked or a record joined since this send read the profile
    // brings its ids (the holds ingest recorded under them) and what the consumer applied meanwhile; either profile's
    // denial stops the send.
    const fresh = (await profiles.resolve(profile.id)).stored?.profile;
    const all = [...new Set([...ids, ...idsOfProfile(profile), ...(fresh === undefined ? [] : idsOfProfile(fresh))])];
    // One read of the holds for both profiles, unless the address moved (each address's own holds are read then).
    const holds = await profiles.holdsOf(all, channel, now, topic?.id, addressOf(profile, channel));
    for (const base of fresh === undefined ? [profile] : [profile, fresh]) {
      const consented = addressOf(base, channel) === addressOf(profile, channel) ? foldHolds(base, holds, channel, topic?.id) : await withHolds(all, base, channel, now, topic?.id);
      const again = decideSend(consented, channel, kind, { sentInWindow: [] }, now, { ...deps.policy, quietHours: undefined }, topic, reachesOn(channel));
      if (again.action === 'skip') return again.reason;
    }
    return undefined;
  }

  /**
   * Half of erasure (write, then check; see ProfileStore.erase): after writing in the customer's
   * partition, read their tombstone (strongly consistent). If they are erased (and this is not a write of
   * their new life), the eraser's query may have run before the write: delete it, and let the engine
   * redact what was left elsewhere. Otherwise the write came before the eraser's query, which deletes it.
   */
  async function undoneIfErased(customerId: string, sortKeys: string[]): Promise<boolean> {
    if (!(await profiles.erasedNow(customerId, clock.now()))) return false;
    await profiles.undoWrites(sortKeys.map((sk) => ({ pk: `C#${customerId}`, sk })));
    await deps.onErasedWrite?.([customerId]);
    return true;
  }

  /**
   * The profile with the channel's consent and suppression as they stand now: a denial or a suppression
   * ingest has received (and answered for) counts even before the profile consumer applied it, a denial
   * ordered against the profile's own record by the same consent rule. So does a denial or a suppression of the
   * address the message goes to, whichever customer record it was recorded for (a guest checkout and the account of
   * one person share it): a later grant of the address lifts its denial, and the customer's own later grant beats
   * it in consent order. One read for every id and the address.
   */
  async function withHolds(customerIds: readonly string[], profile: Profile, channel: Channel, now: Date, topic?: string): Promise<Profile> {
    return foldHolds(profile, await profiles.holdsOf(customerIds, channel, now, topic, addressOf(profile, channel)), channel, topic);
  }

  /** `profile` with the holds read (`withHolds`) folded in. */
  function foldHolds(profile: Profile, holds: ChannelHolds, channel: Channel, topic?: string): Profile {
    let consent = profile.consent[channel];
    for (const hold of holds.consent) consent = foldConsent(consent, hold);
    // The message's topic likewise: a topic denial answered for (the preference page, an Unsubscribed with a topic) holds at once.
    const ownTopic = topic === undefined ? undefined : profile.topicConsent?.[channel]?.[topic];
    let topicConsent = ownTopic;
    for (const hold of holds.topicConsent ?? []) topicConsent = topicConsent === undefined ? hold : foldConsent(topicConsent, hold);
    const suppression = profile.suppression[channel] ?? holds.suppression;
    if (consent === profile.consent[channel] && suppression === profile.suppression[channel] && topicConsent === ownTopic) return profile;
    return {
      ...profile,
      consent: { ...profile.consent, [channel]: consent },
      suppression: { ...profile.suppression, ...(suppression && { [channel]: suppression }) },
      ...(topic !== undefined && topicConsent !== undefined && { topicConsent: { ...profile.topicConsent, [channel]: { ...profile.topicConsent?.[channel], [topic]: topicConsent } } }),
    };
  }

  return { send, undoneIfErased };
}

export type SendGateway = ReturnType<typeof createSendGateway>;

/** The address a message on `channel` goes to: the profile's trait for the channel (`CHANNEL_ADDRESS_TRAIT`). */
function addressOf(profile: Profile, channel: Channel): string | undefined {
  const address = profile.traits[CHANNEL_ADDRESS_TRAIT[channel]];
  return typeof address === 'string' ? address : undefined;
}

/**
 * The topic a message's send decides on: a marketing message's, with its default for the consent mode. Transactional
 * messages ignore topics. A topic without a default (a broadcast created before topics were declared) is subscribed by
 * default: only the customer's own choice on it stops the message.
 */
export function messageTopic(message: Pick<GatewayMessage, 'kind' | 'topic' | 'topicDefault'>, mode: SendPolicy['consentMode']): MessageTopic | undefined {
  if (message.kind !== 'marketing' || message.topic === undefined) return undefined;
  return { id: message.topic, subscribedByDefault: message.topicDefault === undefined || subscribedByDefault(message.topicDefault, mode) };
}

/** The sort key of a message record (JourneyStore). */
export const messageKey = (m: { executionName: string; stepId: string }) => `M#${m.executionName}#${m.stepId}`;

/** The answer for a send that already has a record: its result, or, if an attempt never finished, no second send. */
export function settled(stepId: string, previous: MessageRecord): GatewayOutcome {
  if (previous.status === 'sent') return { status: 'sent', fresh: false, ...(previous.locale !== undefined && { locale: previous.locale }) };
  if (previous.status === 'skipped') return { status: 'skipped', reason: previous.reason ?? 'unknown', fresh: false };
  throw new SendOutcomeUnknownError(
    previous.status === 'sending' || previous.status === 'unknown'
      ? `send ${stepId} was started by an earlier attempt (at ${previous.at}) that did not finish; the message may have gone out, so it is not sent again`
      : `send ${stepId} already failed (${previous.reason ?? 'no reason recorded'}); it is not sent again`,
  );
}
