import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import type { createJourneyRuntime} from './runtime';
import { type BusEventLike } from './runtime';
import { createStepRunner, StepInputSchema, type StepDeps } from './steps';

export interface JourneyHandlerOptions {
  logger?: Logger;
  metrics?: Metrics;
}

const tools = (options: JourneyHandlerOptions, service: string) => ({
  logger: options.logger ?? new Logger({ serviceName: service }),
  metrics: options.metrics ?? new Metrics({ namespace: 'Rapport', serviceName: service }),
});

/**
 * The step Lambda: every Task of every journey state machine calls it with the
 * Payload the compiler wrote. Errors keep their `name`, which Step Functions
 * Retry/Catch match on (ChannelUnavailableError is retried; TemplateRenderError
 * and StepConfigError are not).
 */
export function createStepHandler(deps: StepDeps, options: JourneyHandlerOptions = {}) {
  const { logger, metrics } = tools(options, 'rapport-steps');
  const runner = createStepRunner(deps);
  const handler = async (event: unknown, _context: Context) => {
    const input = StepInputSchema.parse(event);
    logger.appendKeys({ journeyId: input.journeyId, stepId: input.stepId, execution: input.execution, customerId: input.customerId, messageId: input.trigger.messageId });
    try {
      const result = await runner.run(input);
      metrics.addMetric(`Step_${input.action}`, MetricUnit.Count, 1);
      if ('status' in result) metrics.addMetric(`Step_${input.action}_${result.status}`, MetricUnit.Count, 1);
      logger.info('step done', { action: input.action, ...('status' in result && { status: result.status }), ...('reason' in result && { reason: result.reason }) });
      return result;
    } finally {
      logger.removeKeys(['journeyId', 'stepId', 'execution', 'customerId', 'messageId']);
    }
  };
  return middy(handler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}

type Runtime = ReturnType<typeof createJourneyRuntime>;

/** The journey starter Lambda: target of each journey's trigger rule. */
export function createStarterHandler(runtime: Runtime, options: JourneyHandlerOptions = {}) {
  const { logger, metrics } = tools(options, 'rapport-starter');
  const handler = async (event: EventBridgeEvent<string, unknown>, _context: Context) => {
    const outcomes = await runtime.start(event as BusEventLike);
    for (const o of outcomes) {
      metrics.addMetric(o.status === 'started' ? 'JourneyEnrolments' : o.status === 'duplicate' ? 'JourneyDuplicateTriggers' : 'JourneySkippedEntries', MetricUnit.Count, 1);
      logger.info('journey trigger', { ...o });
    }
    return outcomes;
  };
  return middy(handler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}

const StatusChangeSchema = z.object({
  detail: z.object({ name: z.string(), status: z.enum(['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT', 'RUNNING', 'PENDING_REDRIVE']), input: z.string().nullable().optional() }),
});

/** Step Functions "Execution Status Change" events → the run's end is recorded and its lock freed. */
export function createRunEndedHandler(runtime: Runtime, options: JourneyHandlerOptions = {}) {
  const { logger } = tools(options, 'rapport-run-ended');
  const handler = async (event: unknown, _context: Context) => {
    const { detail } = StatusChangeSchema.parse(event);
    if (detail.status === 'RUNNING' || detail.status === 'PENDING_REDRIVE' || !detail.input) return;
    const input = z.object({ journeyId: z.string(), customerId: z.string() }).parse(JSON.parse(detail.input));
    await runtime.executionEnded(input.journeyId, input.customerId, detail.name, detail.status);
    logger.info('run ended', { journeyId: input.journeyId, customerId: input.customerId, execution: detail.name, status: detail.status });
  };
  return middy(handler).use(injectLambdaContext(logger));
}
