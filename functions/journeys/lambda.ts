import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { correlate, instrument, observability, type ObservabilityOptions } from '../observability';
import type { BusEventLike, createJourneyRuntime } from './runtime';
import { isTransientError } from '../../shared';
import { createStepRunner, isDeliveryOutcomeUnknown, StepInputSchema, TransientStepError, type StepDeps } from './steps';

export type JourneyHandlerOptions = ObservabilityOptions;

/**
 * The step Lambda: every Task of every journey state machine calls it with the
 * Payload the compiler wrote. Errors keep their `name`, which Step Functions
 * Retry/Catch match on (ChannelUnavailableError is retried, and any transient
 * AWS failure as TransientStepError; TemplateRenderError and StepConfigError are not).
 */
export function createStepHandler(deps: StepDeps, options: JourneyHandlerOptions = {}) {
  const o = observability('rapport-steps', options);
  const { logger, metrics } = o;
  const runner = createStepRunner(deps);
  const handler = async (event: unknown, _context: Context) => {
    const input = StepInputSchema.parse(event);
    correlate(logger, input.trigger.messageId);
    logger.appendKeys({ journeyId: input.journeyId, stepId: input.stepId, execution: input.execution, customerId: input.customerId, messageId: input.trigger.messageId });
    try {
      const result = await runner.run(input);
      metrics.addMetric(`Step_${input.action}`, MetricUnit.Count, 1);
      if ('status' in result) metrics.addMetric(`Step_${input.action}_${result.status}`, MetricUnit.Count, 1);
      if (input.action === 'send' && 'status' in result) {
        // Sends by channel and status (sent, skipped, deferred), one metric with two dimensions.
        const channel = typeof input.config.channel === 'string' ? input.config.channel : 'unknown';
        const sends = metrics.singleMetric();
        sends.addDimensions({ channel, status: result.status });
        sends.addMetric('Sends', MetricUnit.Count, 1);
      }
      logger.info('step done', { action: input.action, ...('status' in result && { status: result.status }), ...('reason' in result && { reason: result.reason }) });
      return result;
    } catch (error) {
      // Step Functions retries on the error's name: a transient failure gets the one name the Retry lists.
      if (error instanceof Error && error.name !== 'ChannelUnavailableError' && !isDeliveryOutcomeUnknown(error) && isTransientError(error)) {
        logger.warn('step failed transiently; Step Functions retries it', { action: input.action, error: `${error.name}: ${error.message}` });
        throw new TransientStepError(`${error.name}: ${error.message}`, { cause: error });
      }
      throw error;
    } finally {
      logger.removeKeys(['journeyId', 'stepId', 'execution', 'customerId', 'messageId']);
    }
  };
  return instrument(handler, o);
}

type Runtime = ReturnType<typeof createJourneyRuntime>;

/** The journey starter Lambda: target of each journey's trigger rule. */
export function createStarterHandler(runtime: Runtime, options: JourneyHandlerOptions = {}) {
  const o = observability('rapport-starter', options);
  const { logger, metrics } = o;
  const handler = async (event: EventBridgeEvent<string, unknown>, _context: Context) => {
    const messageId = (event.detail as { messageId?: unknown } | null)?.messageId;
    correlate(logger, typeof messageId === 'string' ? messageId : undefined);
    const outcomes = await runtime.start(event as BusEventLike);
    for (const o of outcomes) {
      metrics.addMetric(o.status === 'started' ? 'JourneyEnrolments' : o.status === 'duplicate' ? 'JourneyDuplicateTriggers' : 'JourneySkippedEntries', MetricUnit.Count, 1);
      logger.info('journey trigger', { ...o });
    }
    return outcomes;
  };
  return instrument(handler, o);
}

const StatusChangeSchema = z.object({
  detail: z.object({
    name: z.string(),
    status: z.enum(['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT', 'RUNNING', 'PENDING_REDRIVE']),
    input: z.string().nullable().optional(),
    output: z.string().nullable().optional(),
    /** When the execution ended (epoch milliseconds). */
    stopDate: z.number().nullable().optional(),
  }),
});

/** Step Functions "Execution Status Change" events → the run's end is recorded and its lock freed. */
export function createRunEndedHandler(runtime: Runtime, options: JourneyHandlerOptions = {}) {
  const o = observability('rapport-run-ended', options);
  const { logger } = o;
  const handler = async (event: unknown, _context: Context) => {
    const { detail } = StatusChangeSchema.parse(event);
    if (detail.status === 'RUNNING' || detail.status === 'PENDING_REDRIVE' || !detail.input) return;
    const input = z.object({ journeyId: z.string(), customerId: z.string() }).parse(JSON.parse(detail.input));
    let output: unknown;
    try {
      output = detail.output ? JSON.parse(detail.output) : undefined;
    } catch {
      output = undefined; // an output too large for the event arrives truncated: the run counts as completed
    }
    await runtime.executionEnded(input.journeyId, input.customerId, detail.name, detail.status, output, typeof detail.stopDate === 'number' ? new Date(detail.stopDate) : undefined);
    logger.info('run ended', { journeyId: input.journeyId, customerId: input.customerId, execution: detail.name, status: detail.status });
  };
  return instrument(handler, o, false);
}
