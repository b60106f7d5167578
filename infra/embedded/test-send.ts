/**
 * `POST /v1/admin/send-test` (`rapport send-test`): one message rendered as the gateway renders it and sent
 * through the engine's channels (the outbox) to the operator's address, marked as a test (functions/journeys/
 * test-send.ts: no consent, no record, no counts). The templates are read from the folder on each request, so
 * a marketer editing a template sends the file as it is now.
 */
import { readTemplates, liquidTemplates, type Channels, type UnsubscribeKeyProvider } from '../../functions/journeys';
import { TemplateRenderError } from '../../functions/journeys/steps';
import { sendTestMessage, TestSendRequestSchema } from '../../functions/journeys/test-send';
import type { ProfileStore } from '../../functions/profile';

export interface TestSendWiring {
  templatesDir: string;
  channels: Channels;
  profiles: Pick<ProfileStore, 'get'>;
  unsubscribe: { baseUrl(): string; keys: UnsubscribeKeyProvider };
}

export function createTestSendRoute(w: TestSendWiring) {
  return async function testSend(body: Buffer | undefined): Promise<{ status: number; body: unknown }> {
    if (body === undefined) return { status: 413, body: { error: 'payload_too_large', message: 'body exceeds 64 KB' } };
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return { status: 400, body: { error: 'invalid_request', message: 'expected a JSON body: {"template": "welcome", "to": "you@example.com"}' } };
    }
    const parsed = TestSendRequestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { status: 400, body: { error: 'invalid_request', message: `${issue.path.join('.') || '(body)'}: ${issue.message}` } };
    }
    const request = parsed.data;
    const stored = request.customerId === undefined ? undefined : await w.profiles.get(request.customerId);
    if (request.customerId !== undefined && !stored) return { status: 404, body: { error: 'customer_not_found', message: `no customer with id ${JSON.stringify(request.customerId)}` } };
    try {
      const { providerId, rendered } = await sendTestMessage(
        { templates: liquidTemplates(readTemplates(w.templatesDir)), unsubscribe: { baseUrl: w.unsubscribe.baseUrl(), keys: w.unsubscribe.keys }, channels: w.channels },
        request,
        stored?.profile,
      );
      return { status: 200, body: { test: true, providerId, channel: rendered.channel, locale: rendered.locale ?? null, message: rendered.message } };
    } catch (error) {
      if (error instanceof TemplateRenderError) return { status: 422, body: { error: 'template_error', message: error.message } };
      throw error;
    }
  };
}
