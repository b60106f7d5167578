import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { APIGatewayProxyEventV2Schema } from '@aws-lambda-powertools/parser/schemas/api-gatewayv2';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createIngestService, json, type IngestDeps, type IngestObserver } from './service';

export interface IngestHandlerOptions {
  logger?: Logger;
  metrics?: Metrics;
}

/**
 * The ingest Lambda handler, built from its dependencies. The AWS entry point
 * (`handler.ts`) and the embedded engine call this same factory; only the
 * dependencies (clients' endpoints, where secrets come from) differ.
 */
export function createIngestHandler(deps: Omit<IngestDeps, 'observer'>, options: IngestHandlerOptions = {}) {
  const logger = options.logger ?? new Logger({ serviceName: 'rapport-ingest' });
  const metrics = options.metrics ?? new Metrics({ namespace: 'Rapport', serviceName: 'rapport-ingest' });
  const observer: IngestObserver = {
    accepted: (n) => n > 0 && metrics.addMetric('EventsAccepted', MetricUnit.Count, n),
    duplicates: (n) => n > 0 && metrics.addMetric('EventsDuplicate', MetricUnit.Count, n),
    rejected: (n, reason) => {
      metrics.addMetric('EventsRejected', MetricUnit.Count, n);
      logger.info('request rejected', { reason, count: n });
    },
    putEventsCalls: (n) => n > 0 && metrics.addMetric('PutEventsCalls', MetricUnit.Count, n),
    publishFailed: (n) => {
      metrics.addMetric('EventsPublishFailed', MetricUnit.Count, n);
      logger.error('events could not be published', { count: n });
    },
  };
  const service = createIngestService({ ...deps, observer });

  const lambdaHandler = async (event: APIGatewayProxyEventV2, _context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
    if (headers['webhook-id']) logger.appendKeys({ webhookId: headers['webhook-id'] });
    const body = event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
    try {
      const path = event.rawQueryString ? `${event.rawPath}?${event.rawQueryString}` : event.rawPath;
      return await service({ method: event.requestContext.http.method, path, headers, body });
    } catch (error) {
      // Not the sender's fault (store or bus unreachable): a 5xx tells them to retry; internals stay in the log.
      logger.error('ingest failed', error as Error);
      return json(503, { error: 'unavailable', message: 'Rapport could not process the request; retry it. Nothing was lost.' }, { 'retry-after': '5' });
    } finally {
      logger.removeKeys(['webhookId']);
    }
  };

  return middy(lambdaHandler)
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .use(parser({ schema: APIGatewayProxyEventV2Schema }));
}
