/**
 * The message tools of the embedded engine, both rendering as the send gateway renders (functions/journeys/render.ts):
 * - `POST /v1/admin/send-test` (`rapport send-test`): one message sent through the engine's channels (the outbox) to
 *   the operator's address, marked as a test (functions/journeys/test-send.ts: no consent, no record, no counts);
 * - `GET /v1/admin/preview?template=&customer=&channel=&kind=&locale=` (the web UI): the message rendered, not sent.
 * The templates are read from the folder on each request, so a marketer editing a template sees the file as it is now.
 */
import type { z } from 'zod';
import { readTemplates, liquidTemplates, type Channels, type UnsubscribeKeyProvider } from '../../functions/journeys';
import type { RenderDeps } from '../../functions/journeys/render';
import { TemplateRenderError } from '../../functions/journeys/steps';
import { PreviewRequestSchema, renderForCustomer, sendTestMessage, TestSendSchema } from '../../functions/journeys/test-send';
import type { ProfileStore } from '../../functions/profile';
import { isMessageChannel, type Clock, type MessageChannel, type Profile } from '../../shared';
import type { CompiledJourney } from '../../workflows/journeys';

export interface MessageToolsWiring {
  templatesDir: string;
  channels: Channels;
  /** The channels of a test send rendered with this customer's data (the outbox records whose it is, so erasure forgets it). */
  channelsFor?: (customerId: string) => Channels;
  profiles: Pick<ProfileStore, 'get'>;
  unsubscribe: { baseUrl(): string; keys: UnsubscribeKeyProvider };
  /** The engine's clock: a preference link expires counted from its now, as the gateway's. */
  clock?: Clock;
}

type Answer = { status: number; body: unknown };

export function createMessageTools(w: MessageToolsWiring) {
  const renderDeps = (): RenderDeps => ({ templates: liquidTemplates(readTemplates(w.templatesDir)), unsubscribe: { baseUrl: w.unsubscribe.baseUrl(), keys: w.unsubscribe.keys }, ...(w.clock && { clock: w.clock }) });

  /** Parse the request, find its customer, then `act`: a 400, 404 or 422 (a template error) otherwise. */
  async function handle<S extends typeof PreviewRequestSchema | typeof TestSendSchema>(schema: S, input: unknown, act: (request: z.infer<S>, profile: Profile | undefined) => Promise<Answer>): Promise<Answer> {
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { status: 400, body: { error: 'invalid_request', message: `${issue.path.join('.') || '(body)'}: ${issue.message}` } };
    }
    const request = parsed.data as z.infer<S>;
    const stored = request.customerId === undefined ? undefined : await w.profiles.get(request.customerId);
    if (request.customerId !== undefined && !stored) return { status: 404, body: { error: 'customer_not_found', message: `no customer with id ${JSON.stringify(request.customerId)}` } };
    try {
      return await act(request, stored?.profile);
    } catch (error) {
      if (error instanceof TemplateRenderError) return { status: 422, body: { error: 'template_error', message: error.message } };
      throw error;
    }
  }

  return {
    async sendTest(body: Buffer | undefined): Promise<Answer> {
      if (body === undefined) return { status: 413, body: { error: 'payload_too_large', message: 'body exceeds 64 KB' } };
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return { status: 400, body: { error: 'invalid_request', message: 'expected a JSON body: {"template": "welcome", "to": "you@example.com"}' } };
      }
      return handle(TestSendSchema, json, async (request, profile) => {
        const channels = profile !== undefined && w.channelsFor ? w.channelsFor(profile.id) : w.channels;
        const { providerId, rendered } = await sendTestMessage({ ...renderDeps(), channels }, request, profile);
        return { status: 200, body: { test: true, providerId, channel: rendered.channel, locale: rendered.locale ?? null, message: rendered.message } };
      });
    },

    async preview(query: URLSearchParams): Promise<Answer> {
      return handle(PreviewRequestSchema, Object.fromEntries(query), async (request, profile) => {
        const rendered = await renderForCustomer(renderDeps(), request, profile);
        return { status: 200, body: { channel: rendered.channel, locale: rendered.locale ?? null, message: rendered.message } };
      });
    },

    /**
     * `GET /v1/admin/preview.html?...`: the email's HTML part alone, for the web UI's frame. It is the customer's
     * content on the engine's origin, so its own policy sandboxes it (an opaque origin, no scripts, even opened
     * directly), loads nothing (no remote images: a preview does not tell a tracker the operator looked) and lets
     * only the engine's page frame it. Its inline styles apply, as in a mail client.
     */
    async previewHtml(query: URLSearchParams): Promise<{ status: number; headers: Record<string, string>; body: string }> {
      const answer = await this.preview(query);
      const message = (answer.body as { message?: { html?: string } }).message;
      const html = answer.status === 200 ? (message?.html ?? '<p>This message has no HTML part.</p>') : `<p>${escapeHtml((answer.body as { message: string }).message)}</p>`;
      return { status: answer.status, headers: PREVIEW_HTML_HEADERS, body: html };
    },
  };
}

const PREVIEW_HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A journey's email and SMS send steps as its state machine gives them to the step runner (each Task's payload
 * `config`), for the web UI to preview: `{ step, channel, template, kind }`. An experiment's variants are not listed.
 */
export function emailAndSmsSends(journey: Pick<CompiledJourney, 'definition'>): Array<{ step: string; channel: MessageChannel; template: string; kind: string }> {
  return Object.values(journey.definition.States).flatMap((state) => {
    const payload = (state as { Parameters?: { Payload?: { action?: unknown; stepId?: unknown; config?: Record<string, unknown> } } }).Parameters?.Payload;
    const config = payload?.config;
    if (payload?.action !== 'send' || !isMessageChannel(config?.channel) || typeof config.template !== 'string') return [];
    return [{ step: String(payload.stepId), channel: config.channel, template: config.template, kind: typeof config.kind === 'string' ? config.kind : 'marketing' }];
  });
}
