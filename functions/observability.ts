import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { ENV } from '../shared/config/env';

/**
 * Whether this process traces to X-Ray: in Lambda (`AWS_EXECUTION_ENV`), unless
 * `POWERTOOLS_TRACE_ENABLED=false` or SAM local — the rule Powertools' Tracer
 * applies itself.
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.AWS_EXECUTION_ENV) && env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() !== 'false' && !env.AWS_SAM_LOCAL;
}

/**
 * The tracer is loaded only where it traces (its middleware alone does not load
 * the SDK). Importing the Tracer loads the X-Ray SDK,
 * whose cls-hooked context installs an async hook (with destroy tracking) on
 * every promise of the process: ~15x slower awaits, a tax the embedded engine
 * and the tests would pay for tracing that is off there anyway.
 */
const TracerClass = tracingEnabled() ? (await import('@aws-lambda-powertools/tracer')).Tracer : undefined;

/** Metrics namespace of every Rapport function (the dashboard and alarms read it). */
export const METRICS_NAMESPACE = 'Rapport';

export interface ObservabilityOptions {
  logger?: Logger;
  metrics?: Metrics;
  tracer?: Tracer;
}

export interface Observability {
  logger: Logger;
  metrics: Metrics;
  /** Absent where tracing is off (outside Lambda): see `tracingEnabled`. */
  tracer?: Tracer;
}

/** The metric dimension that holds the stage (`RAPPORT_STAGE`), next to Powertools' `service`. */
export const STAGE_DIMENSION = 'stage';

/**
 * Powertools logger (structured JSON), metrics (EMF) and tracer (X-Ray) of one
 * function. Every metric carries the dimensions `service` and, when
 * `RAPPORT_STAGE` is set (the CDK stack sets it on every function), `stage`, so
 * dev and prod sharing an account never add up in one graph. There is no
 * tracer outside Lambda (embedded engine, tests).
 */
export function observability(serviceName: string, options: ObservabilityOptions = {}): Observability {
  const stage = process.env[ENV.STAGE];
  const tracer = options.tracer ?? (TracerClass ? new TracerClass({ serviceName }) : undefined);
  return {
    logger: options.logger ?? new Logger({ serviceName }),
    metrics:
      options.metrics ??
      new Metrics({ namespace: METRICS_NAMESPACE, serviceName, ...(stage ? { defaultDimensions: { [STAGE_DIMENSION]: stage } } : {}) }),
    ...(tracer ? { tracer } : {}),
  };
}

/**
 * Wrap a handler with the Lambda context in every log line, a trace segment per
 * invocation and the metrics flushed at its end. `withMetrics: false` for
 * handlers that publish none (Powertools warns on an empty flush).
 */
export function instrument<E, R>(handler: (event: E, context: Context) => Promise<R>, o: Observability, withMetrics = true) {
  const wrapped = middy(handler).use(injectLambdaContext(o.logger));
  if (o.tracer) wrapped.use(captureLambdaHandler(o.tracer, { captureResponse: false }));
  return withMetrics ? wrapped.use(logMetrics(o.metrics)) : wrapped;
}

/**
 * The correlation id of a log line: the messageId of the customer event that
 * caused the work — the ingested event, the profile update, the journey trigger
 * and each step of the run it started carry the same one.
 */
export function correlate(logger: Logger, messageId: string | undefined): void {
  logger.setCorrelationId(messageId);
}
