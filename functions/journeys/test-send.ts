/**
 * A test send: one message, rendered exactly as the gateway renders it (`renderMessage`), sent through the
 * configured channel to the operator's own address. It is not a customer's message: no consent, suppression,
 * frequency cap or quiet hours apply (the operator asked for it, at their address), no message record is kept
 * and no journey or broadcast counts it. It is marked as a test: provider tags `test=true` and the template
 * (no customer, journey or execution tag, so provider feedback on it is not credited to anyone), and an email
 * carries the header `X-Rapport-Test: true`.
 */
import { z } from 'zod';
import { addressFormat, CHANNEL_ADDRESS_TRAIT, E164_PHONE, MESSAGE_CHANNELS, type Profile } from '../../shared';
import type { Channels } from './channels/types';
import { profileFromView, renderMessage, sendOn, type RenderDeps, type RenderedMessage } from './render';

/** `POST /v1/admin/send-test`: the template, where to send it and, optionally, whose data to render it with. */
export const TestSendRequestSchema = z
  .object({
    template: z.string().regex(/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/, 'expected a template name such as "welcome"'),
    channel: z.enum(MESSAGE_CHANNELS).default('email'),
    to: z.string().min(3).max(320),
    kind: z.enum(['marketing', 'transactional']).default('marketing'),
    /** Render with this customer's profile (the engine reads it); absent: a sample customer with no traits. */
    customerId: z.string().min(1).max(256).optional(),
    /** Render for this locale (sets the `locale` trait): `fr`, `zh-TW`. */
    locale: z.string().min(1).max(35).optional(),
  })
  .strict();

/**
 * What the providers take as an operator's address on the channels whose registry entry has no address format (a
 * customer's address there is sent as the profile has it): SES an addr-spec, End User Messaging SMS E.164.
 */
const OPERATOR_ADDRESS: Partial<Record<(typeof MESSAGE_CHANNELS)[number], { regex: RegExp; expected: string }>> = {
  email: { regex: /^[^\s@,;<>]+@[^\s@,;<>]+\.[^\s@,;<>]+$/, expected: 'an email address, like you@example.com' },
  sms: E164_PHONE,
};

/** `POST /v1/admin/send-test`: a request whose `to` is an address on its channel (email: an address; SMS, WhatsApp: E.164; push: an endpoint ARN). */
export const TestSendSchema = TestSendRequestSchema.superRefine((request, ctx) => {
  const format = addressFormat(request.channel) ?? OPERATOR_ADDRESS[request.channel];
  if (format !== undefined && !format.regex.test(request.to)) ctx.addIssue({ code: 'custom', path: ['to'], message: `expected ${format.expected} (channel ${request.channel}), got ${JSON.stringify(request.to)}` });
});
export type TestSendRequest = z.infer<typeof TestSendRequestSchema>;

/** `GET /v1/admin/preview` (the web UI): what a test send takes, but nothing is sent, so no address. */
export const PreviewRequestSchema = TestSendRequestSchema.omit({ to: true });
export type PreviewRequest = z.infer<typeof PreviewRequestSchema>;

/**
 * Render `request` for `profile` (absent: a customer with nothing known; `locale` sets their locale trait) as the
 * gateway would, to `to` (absent: the customer's own address for the channel).
 */
export async function renderForCustomer(deps: RenderDeps, request: PreviewRequest, profile: Profile | undefined, to?: string): Promise<RenderedMessage> {
  const base = profile ?? profileFromView({ id: 'test-customer' });
  const customer = request.locale === undefined ? base : { ...base, traits: { ...base.traits, locale: request.locale } };
  const own = customer.traits[CHANNEL_ADDRESS_TRAIT[request.channel]];
  return renderMessage(
    deps,
    { customerId: customer.id, journeyId: 'test', stepId: request.template, executionName: 'test', channel: request.channel, template: request.template, kind: request.kind, data: {} },
    customer,
    to ?? (typeof own === 'string' ? own : ''),
  );
}

export const TEST_SEND_HEADER = 'X-Rapport-Test';
/** The provider tag naming the customer a test send was rendered for (erasure reads it; feedback credits no one). */
export const RENDERED_FOR_TAG = 'rendered-for';

/** Render `request` for `profile` and send it to `request.to`; the rendered message and the provider's id. */
export async function sendTestMessage(
  deps: RenderDeps & { channels: Channels },
  request: TestSendRequest,
  profile: Profile | undefined,
): Promise<{ providerId: string; rendered: RenderedMessage }> {
  const rendered = await renderForCustomer(deps, request, profile, request.to);
  // Rendered with a customer's data: `rendered-for` names them on the provider's events (feedback credits no one:
  // not a `customer` tag), so erasure finds those events too.
  const tags = { test: 'true', template: request.template, ...(rendered.locale !== undefined && { locale: rendered.locale }), ...(profile !== undefined && { [RENDERED_FOR_TAG]: profile.id }) };
  if (rendered.channel === 'email') {
    const message = { ...rendered.message, headers: { ...rendered.message.headers, [TEST_SEND_HEADER]: 'true' }, tags };
    return { providerId: (await deps.channels.email(message)).providerId, rendered: { ...rendered, message } };
  }
  const tagged = { ...rendered, message: { ...rendered.message, tags } } as RenderedMessage;
  return { providerId: (await sendOn(deps.channels, tagged)).providerId, rendered: tagged };
}

