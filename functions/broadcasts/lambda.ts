import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { z } from 'zod';
import { isTransientError } from '../../shared';
import { TransientStepError } from '../journeys/errors';
import { instrument, observability, type ObservabilityOptions } from '../observability';
import type { BroadcastApi, BroadcastApiResult, BroadcastService, PageState } from './service';

export type BroadcastHandlerOptions = ObservabilityOptions;

/** The broadcasts' HTTP paths: `GET`/`POST /v1/broadcasts`, `GET`/`DELETE /v1/broadcasts/{id}`. */
export const BROADCASTS_PATH = '/v1/broadcasts';
/** Broadcasts a page of `GET /v1/broadcasts` lists unless `limit` says, and at most. */
const LIST_LIMIT_DEFAULT = 50;
const LIST_LIMIT_MAX = 100;
/** The body of a POST: a broadcast is small; anything over this is refused before parsing. */
const MAX_BODY_BYTES = 64 * 1024;

const json = (status: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({ statusCode: status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const answer = (result: BroadcastApiResult) => json(result.status, result.body);

/**
 * The broadcast API Lambda (IAM-authorised customer API in AWS, the engine's HTTP API locally):
 * `GET /v1/broadcasts?limit=&cursor=` lists them, newest first; `POST /v1/broadcasts` creates and starts one (201; 200 for an id already posted with the same
 * definition, which sends nobody twice; 409 for another definition), `GET /v1/broadcasts/{id}` its
 * status and counters, `DELETE /v1/broadcasts/{id}` cancels it. Bad input gets a 400 naming the field.
 */
export function createBroadcastApiHandler(service: BroadcastApi, options: BroadcastHandlerOptions = {}) {
  const o = observability('rapport-broadcasts', options);
  const { logger } = o;
  const handler = async (event: APIGatewayProxyEventV2, _context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const method = event.requestContext.http.method;
    const path = event.rawPath.replace(/\/$/, '');
    try {
      if (path === BROADCASTS_PATH) {
        if (method === 'GET') {
          const query = new URLSearchParams(event.rawQueryString ?? '');
          const limitParam = query.get('limit');
          const limit = limitParam === null ? LIST_LIMIT_DEFAULT : Number(limitParam);
          if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX) return json(400, { error: 'invalid_limit', message: `limit must be a whole number from 1 to ${LIST_LIMIT_MAX}` });
          return answer(await service.list(limit, query.get('cursor') ?? undefined));
        }
        if (method !== 'POST') return json(405, { error: 'method_not_allowed', message: `${BROADCASTS_PATH} takes GET and POST` });
        const body = bodyOf(event);
        if (!body.ok) return json(body.status, { error: body.error, message: body.message });
        return answer(await service.create(body.value));
      }
      const one = /^\/v1\/broadcasts\/([^/]+)$/.exec(path);
      if (!one) return json(404, { error: 'not_found', message: `nothing at ${method} ${event.rawPath}` });
      let id: string;
      try {
        id = decodeURIComponent(one[1]!);
      } catch {
        return json(400, { error: 'invalid_broadcast_id', message: 'the broadcast id in the path is not valid percent-encoding' });
      }
      if (method === 'GET') return answer(await service.get(id));
      if (method === 'DELETE') return answer(await service.cancel(id));
      return json(405, { error: 'method_not_allowed', message: `${BROADCASTS_PATH}/{id} takes GET and DELETE` });
    } catch (error) {
      logger.error('broadcast API failed', error as Error);
      return json(503, { error: 'unavailable', message: 'retry the request' });
    }
  };
  return instrument(handler, o, false);
}

/** The request's JSON body, or why it is not one. */
function bodyOf(event: APIGatewayProxyEventV2): { ok: true; value: unknown } | { ok: false; status: number; error: string; message: string } {
  const raw = event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(raw) > MAX_BODY_BYTES) return { ok: false, status: 413, error: 'payload_too_large', message: `a broadcast is at most ${MAX_BODY_BYTES} bytes` };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false, status: 400, error: 'invalid_json', message: 'the body must be a JSON broadcast: { "id", "segment", "send": { "channel", "template", "kind" }, "at"?, "rate"?, "topic"? }' };
  }
}

const PageStateSchema = z.object({
  broadcastId: z.string().min(1),
  at: z.string().optional(),
  phase: z.enum(['members', 'deferred']),
  cursor: z.string().optional(),
  dueBy: z.string().optional(),
  nextDue: z.string().optional(),
  page: z.number().int().nonnegative(),
  generation: z.number().int().nonnegative(),
  pagesThisGeneration: z.number().int().nonnegative(),
  waitSeconds: z.number().optional(),
  waitUntil: z.string().optional(),
  done: z.boolean().optional(),
});

/**
 * The broadcast page Lambda: each Task of the broadcast state machine calls it with the state the last
 * page returned. Its own function with its own reserved concurrency: a separate lane, so journeys' step
 * Lambdas never queue behind a broadcast. A provider outage (ChannelUnavailableError) and a transient AWS
 * failure (as TransientStepError) fail the page, which Step Functions retries with backoff; every
 * recipient is claimed, so the retry sends nobody twice.
 */
export function createBroadcastPageHandler(service: BroadcastService, options: BroadcastHandlerOptions = {}) {
  const o = observability('rapport-broadcast-page', options);
  const { logger, metrics } = o;
  const handler = async (event: unknown, _context: Context): Promise<PageState> => {
    const state = PageStateSchema.parse(event) as PageState;
    logger.appendKeys({ broadcastId: state.broadcastId, page: state.page + 1 });
    try {
      const next = await service.page(state);
      metrics.addMetric('BroadcastPages', MetricUnit.Count, 1);
      logger.info('broadcast page done', { phase: state.phase, done: next.done === true });
      return next;
    } catch (error) {
      if (error instanceof Error && error.name !== 'ChannelUnavailableError' && isTransientError(error)) {
        logger.warn('broadcast page failed transiently; Step Functions retries it', { error: `${error.name}: ${error.message}` });
        throw new TransientStepError(`${error.name}: ${error.message}`, { cause: error });
      }
      throw error;
    } finally {
      logger.removeKeys(['broadcastId', 'page']);
    }
  };
  return instrument(handler, o);
}
