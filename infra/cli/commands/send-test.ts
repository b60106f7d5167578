/**
 * `rapport send-test <template> --to <address>`: one real message through the engine's configured channel (the
 * embedded engine: its outbox), rendered as the gateway renders it and marked as a test: sent to the operator's
 * address whatever consent says, never recorded as a customer's message nor counted (functions/journeys/test-send.ts).
 */
import type { Parsed } from '../commands';
import { call, engineBase, Exit } from '../engine-client';
import { EXIT, UsageError, type Context, type ExitCode } from '../io';

export async function execute({ values, positionals }: Parsed, ctx: Context): Promise<ExitCode> {
  if (typeof values.to !== 'string' || values.to === '') throw new UsageError('missing --to <address>: where to send the test, an address on its channel (--channel, default email) as the customer\'s address trait holds it');
  const engine = engineBase(values, ctx, 'send-test');
  const body = {
    template: positionals[0]!,
    to: values.to,
    ...(typeof values.channel === 'string' && { channel: values.channel }),
    ...(typeof values.kind === 'string' && { kind: values.kind }),
    ...(typeof values.customer === 'string' && { customerId: values.customer }),
    ...(typeof values.locale === 'string' && { locale: values.locale }),
  };
  const answer = await call(ctx, new URL('v1/admin/send-test', engine), JSON.stringify(body));
  if (answer instanceof Exit) return answer.code;
  const sent = answer as { providerId: string; channel: string; locale: string | null; message: { to: string; subject?: string } };
  if (values.json === true) {
    ctx.out(JSON.stringify(answer, null, 2));
    return EXIT.ok;
  }
  ctx.out(`sent a test ${sent.channel} ${body.template} (locale ${sent.locale ?? 'default'}) to ${sent.message.to}: ${sent.providerId}`);
  if (sent.message.subject !== undefined) ctx.out(`Subject: ${sent.message.subject}`);
  return EXIT.ok;
}
