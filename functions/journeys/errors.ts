import { RapportError } from '../../shared';

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
export function outcomeUnknown(error: unknown): unknown {
  if (typeof error === 'object' && error !== null && (error as Error).name !== 'ChannelUnavailableError') deliveryOutcomeUnknown.add(error);
  return error;
}

export async function renderOrFail<T>(render: () => Promise<T>, template: string, channel: string): Promise<T> {
  try {
    return await render();
  } catch (error) {
    if (error instanceof TemplateRenderError) throw error;
    throw new TemplateRenderError(`template "${template}" (${channel}) failed to render: ${(error as Error).message}`, { cause: error });
  }
}
