import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { APIGatewayProxyEventV2Schema } from '@aws-lambda-powertools/parser/schemas/api-gatewayv2';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { correlate, instrument, observability, type ObservabilityOptions } from '../observability';
import { createIngestService, json, type IngestDeps, type IngestObserver } from './service';

export type IngestHandlerOptions = ObservabilityOptions;

/**
 * The ingest Lambda handler, built from its dependencies. The AWS entry point
 * (`handler.ts`) and the embedded engine call this same factory; only the
 * dependencies (clients' endpoints, where secrets come from) differ.
 */
export function createIngestHandler(deps: Omit<IngestDeps, 'observer'>, options: IngestHandlerOptions = {}) {
  const o = observability('rapport-ingest', options);
  const { logger, metrics } = o;
  const observer: IngestObserver = {
    accepted: (n) => n > 0 && metrics.addMetric('EventsAccepted', MetricUnit.Count, n),
    duplicates: (n) => n > 0 && metrics.addMetric('EventsDuplicate', MetricUnit.Count, n),
    rejected: (n, reason) => {
      metrics.addMetric('EventsRejected', MetricUnit.Count, n);
      logger.info('request rejected', { reason, count: n });
    },
    putEventsCalls: (n) => n > 0 && metrics.addMetric('PutEventsCalls', MetricUnit.Count, n),
    violations: (n, sourceId) => {
      metrics.addMetric('TrackingPlanViolations', MetricUnit.Count, n);
      logger.info('events accepted with tracking plan violations', { sourceId, count: n });
    },
    violationsNotRecorded: (n, error) => logger.error('tracking plan violations not recorded', { count: n, error: error as Error }),
    sourceDisabled: (sourceId, reason) => logger.error('source disabled by its configuration', { sourceId, reason }),
    sourceMisconfigured: (sourceId) => {
      // Per source and per request it refuses, so an alarm names the broken one; the others keep working.
      const single = metrics.singleMetric();
      single.addDimension('source', sourceId);
      single.addMetric('SourceMisconfigured', MetricUnit.Count, 1);
      logger.warn('request refused: its source is disabled by its configuration', { sourceId });
    },
    publishFailed: (n) => {
      metrics.addMetric('EventsPublishFailed', MetricUnit.Count, n);
      logger.error('events could not be published', { count: n });
    },
  };
  const service = createIngestService({ ...deps, observer });

  const lambdaHandler = async (event: APIGatewayProxyEventV2, _context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
    // The webhook id (or the API's request id) correlates this request's lines; each event's messageId carries on from the bus.
    correlate(logger, headers['webhook-id'] ?? event.requestContext.requestId);
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

  return instrument(lambdaHandler, o).use(parser({ schema: APIGatewayProxyEventV2Schema }));
}
