/**
 * A message as it goes out: the template chosen for the customer's locale, rendered over the render
 * context, with its headers and provider tags. One code path: the send gateway renders every email and
 * SMS with it, and `rapport preview` / `send-test` show and send exactly that.
 */
import { customerLocale, emailAddressHash, systemClock, templateProfile, type ChannelMessages, type Clock, type MessageChannel, type MessageKind, type Profile, type PartsTemplateChannel, type Recommendations, type TemplateChannel, type TextTemplateChannel } from '../../shared';
import { CHANNEL_PARTS } from '../../shared';
import type { Channels, EmailMessage } from './channels/types';
import { renderOrFail, StepConfigError } from './errors';
import { preferencesLinkExpiry, preferencesUrl, unsubscribeUrl, type UnsubscribeKeyProvider } from './unsubscribe';

export interface RenderedEmail {
  subject: string;
  text: string;
  html?: string;
}

/**
 * Port: templates by name, channel and locale, rendered over `{ profile, trigger, journey, unsubscribe_url, ... }`.
 * `locale` names a variant `localeFor` chose (absent: the default file).
 */
export interface TemplateRenderer {
  /** The locale variant of `template` a customer whose locale is `locale` gets (normalised: `zh-tw`), or undefined for the default file. */
  localeFor(template: string, channel: TemplateChannel, locale: unknown): string | undefined;
  email(template: string, data: Record<string, unknown>, locale?: string): Promise<RenderedEmail>;
  text(template: string, channel: TextTemplateChannel, data: Record<string, unknown>, locale?: string): Promise<string>;
  /** A `parts` template (WhatsApp, push): each part rendered, by its key (shared/templates/parts.ts). */
  parts(template: string, channel: PartsTemplateChannel, data: Record<string, unknown>, locale?: string): Promise<Record<string, string>>;
}

/** What rendering needs: the templates and where unsubscribe links point, with the keys that sign them. */
export interface RenderDeps {
  templates: TemplateRenderer;
  unsubscribe: { baseUrl: string; keys: UnsubscribeKeyProvider };
  /** When a preference link expires is counted from this clock's now (`PREFERENCES_LINK_DAYS`). @default systemClock */
  clock?: Clock;
  /**
   * The customer's `recommendations` now (the "bought after" counts, functions/profile/co-purchase-store.ts).
   * @default none: `recommendations.categories` and `.products` are empty
   */
  recommendations?: (profile: Profile | undefined) => Promise<Recommendations>;
}

/** One message to render, as the gateway's message names it (its ids are the provider tags). */
export interface RenderRequest {
  customerId: string;
  /** The message record's owner: a journey id, or `broadcast:<id>`. */
  journeyId: string;
  stepId: string;
  /** With `stepId`, the message's key: an execution name, or `broadcast:<id>`. */
  executionName: string;
  channel: MessageChannel;
  template: string;
  kind: MessageKind;
  /** More template data (`trigger`, `journey`, `broadcast`), beside `profile`, `customer` and `unsubscribe_url`. */
  data: Record<string, unknown>;
}

/**
 * A rendered message, the locale variant it was rendered from (absent: the default file) and, when the template read
 * them, the recommendations it was given (`recommended`).
 */
export type RenderedMessage = { [C in MessageChannel]: { channel: C; message: ChannelMessages[C] } }[MessageChannel] & { locale?: string; recommended?: Recommendations };

/**
 * Render `request` for `profile`, addressed to `to`: the variant for the customer's locale (`profile.traits.locale`,
 * falling back `zh-TW` → `zh` → the default file), the List-Unsubscribe headers of a marketing email, and the
 * provider tags (journey, step, execution, customer, and the locale when a variant was chosen).
 * A template error is a TemplateRenderError (nothing is sent).
 */
export async function renderMessage(deps: RenderDeps, request: RenderRequest, profile: Profile | undefined, to: string): Promise<RenderedMessage> {
  const { template, channel, kind } = request;
  const locale = deps.templates.localeFor(template, channel, customerLocale(profile));
  const read = { recommendations: false };
  const data = await templateData(deps, request, profile, read, to);
  const localeTag: Record<string, string> = locale === undefined ? {} : { locale };
  const recommended = async () => (read.recommendations ? { recommended: await (data.recommendations as Promise<Recommendations>) } : {});
  if (channel === 'email') {
    const rendered = await renderOrFail(() => deps.templates.email(template, data, locale), template, channel);
    const link = data.unsubscribe_url as string;
    const message: EmailMessage = {
      to,
      ...rendered,
      headers: kind === 'marketing' ? { 'List-Unsubscribe': `<${link}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {},
      tags: { journey: request.journeyId, step: request.stepId, execution: request.executionName, customer: request.customerId, ...localeTag },
    };
    return { channel, message, ...(locale !== undefined && { locale }), ...(await recommended()) };
  }
  if (isPartsChannel(channel)) {
    // Header parts and a body (WhatsApp, push): the channel's module makes the message of its rendered parts.
    const parts = await renderOrFail(() => deps.templates.parts(template, channel, data, locale), template, channel);
    const tags = { journey: request.journeyId, step: request.stepId, customer: request.customerId, ...localeTag };
    return { channel, message: CHANNEL_PARTS[channel].message(parts, { to, kind, tags }), ...(locale !== undefined && { locale }), ...(await recommended()) } as RenderedMessage;
  }
  const body = await renderOrFail(() => deps.templates.text(template, channel, data, locale), template, channel);
  return { channel, message: { to, body, kind, tags: { journey: request.journeyId, step: request.stepId, customer: request.customerId, ...localeTag } }, ...(locale !== undefined && { locale }), ...(await recommended()) };
}

/**
 * Hand a rendered message to its channel's sender. A channel whose sender is optional and not configured here fails
 * the send (a configuration error: nothing was claimed twice, nothing sent).
 */
export function sendOn(channels: Channels, rendered: RenderedMessage): Promise<{ providerId: string }> {
  const sender = channels[rendered.channel] as ((message: RenderedMessage['message']) => Promise<{ providerId: string }>) | undefined;
  if (!sender) throw new StepConfigError(`no ${rendered.channel} sender is configured in this engine`);
  return sender.call(channels, rendered.message);
}

const isPartsChannel = (channel: string): channel is PartsTemplateChannel => Object.hasOwn(CHANNEL_PARTS, channel);

/**
 * `recommendations` as a template reads them: its lists, each noting in `read` that the template read it (so a
 * send reports the recommendations it rendered, and only those).
 */
export function recommendationsData(recommendations: Recommendations, read: { recommendations: boolean }): Recommendations {
  const out = {} as Recommendations;
  for (const key of ['categories', 'products'] as const) {
    Object.defineProperty(out, key, {
      enumerable: true,
      get: () => {
        read.recommendations = true;
        return recommendations[key];
      },
    });
  }
  return out;
}

/**
 * The render context of a message: `profile`, `customer`, the request's data, a signed `unsubscribe_url` and
 * `preferences_url`, and the customer's `recommendations`: computed only when the template reads them (a promise,
 * made on first read and kept: Liquid awaits it), so a message that shows none costs no co-purchase read.
 */
async function templateData(deps: RenderDeps, request: RenderRequest, profile: Profile | undefined, read: { recommendations: boolean }, to?: string): Promise<Record<string, unknown>> {
  // Read per message (the AWS provider caches a few minutes), so a rotated key signs new links without a deploy.
  const keys = await deps.unsubscribe.keys.load();
  let recommendations: Promise<Recommendations> | undefined;
  const data: Record<string, unknown> = {
    profile: templateProfile(profile, request.customerId),
    customer: { id: request.customerId },
    ...request.data,
    // An email's link names the address it went to (hashed): a click denies that address for every record with it.
    unsubscribe_url: unsubscribeUrl(deps.unsubscribe.baseUrl, keys, request.customerId, request.channel, request.channel === 'email' && to !== undefined ? emailAddressHash(to) : undefined),
    // The preference page (every topic, every channel), signed with the same keys; it expires, the one-click link does not.
    preferences_url: preferencesUrl(deps.unsubscribe.baseUrl, keys, request.customerId, preferencesLinkExpiry((deps.clock ?? systemClock).now())),
  };
  Object.defineProperty(data, 'recommendations', {
    enumerable: true,
    get: () => (recommendations ??= (async () => recommendationsData((await deps.recommendations?.(profile)) ?? { categories: [], products: [] }, read))()),
  });
  return data;
}

/**
 * A customer as a preview or a test send renders for: the customer API's view (`GET /v1/customers/{id}`),
 * or a file of that shape where only `traits` (and `id`) need be given. What it lacks is empty, as for a
 * customer the engine knows nothing more of.
 */
export function profileFromView(view: { id?: string; traits?: Record<string, unknown> } & Record<string, unknown>, fallbackId = 'preview-customer'): Profile {
  const list = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const computed = view.computedTags === undefined ? list(view.tags) : list(view.computedTags);
  return {
    ...(view as object),
    id: typeof view.id === 'string' && view.id !== '' ? view.id : fallbackId,
    anonymousIds: list(view.anonymousIds),
    traits: view.traits ?? {},
    consent: (view.consent ?? {}) as Profile['consent'],
    suppression: (view.suppression ?? {}) as Profile['suppression'],
    stats: (view.stats ?? {}) as Profile['stats'],
    computedTags: computed,
    manualTags: list(view.manualTags),
    journeyTags: list(view.journeyTags),
    firstSeenAt: view.firstSeenAt as string,
    lastSeenAt: view.lastSeenAt as string,
    lifecycleStage: view.lifecycleStage as Profile['lifecycleStage'],
    rfm: view.rfm as Profile['rfm'],
    recentEvents: [],
    traitTimes: {},
  };
}
