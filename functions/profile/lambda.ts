import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, EventBridgeEvent } from 'aws-lambda';
import { NormalisedEventSchema } from '../../shared';
import { correlate, instrument, observability, type ObservabilityOptions } from '../observability';
import { createCustomerApi } from './api';
import { createProfileConsumer, type ProfileConsumerDeps } from './consumer';
import { ERASURE_RESUME_GRACE_MS, resumeInterruptedErasures } from './erasure-resume';
import { OPEN_HOLD_WRITE_GRACE_MS } from './store';

export interface ProfileHandlerOptions extends ObservabilityOptions {
  /**
   * Runs after an event is on the profile (also for a redelivery, to finish what a
   * crashed attempt left): the journey router resumes waits and stops goal runs here.
   */
  afterApply?: (event: EventBridgeEvent<string, unknown>, customerId: string, ids?: readonly string[]) => Promise<unknown>;
  /**
   * Runs when an event is dropped (`reason`: its customer was erased, and it is not of a new life): the
   * journeys it would have triggered count the skip (`skipped.erased`), as every skip is counted.
   */
  afterDrop?: (event: EventBridgeEvent<string, unknown>, customerId: string, reason: string) => Promise<unknown>;
}

export interface SweepHandlerOptions extends ObservabilityOptions {
  /**
   * Runs after the re-evaluation: the journey runtime's reconciling of runs whose end was never reported
   * (`reconcile`). Runs whose check failed stay due: the sweep then fails, and its retry checks them again.
   */
  reconcile?: () => Promise<{ checked: number; ended: number; failed: number; corrected?: number }>;
}

/** What a sweep did: customers due, changed and events derived; runs reconciled (with `reconcile`). */
export interface SweepOutcome {
  due: number;
  changed: number;
  derived: number;
  runs?: { checked: number; ended: number; failed: number };
  /** Interrupted erasures finished (and failed again), when there were any. */
  erasures?: { resumed: number; failed: number };
  /** Hold writes left open (their check failed, their writer died) checked again and closed (and failed again), when there were any. */
  openHoldWrites?: { checked: number; failed: number };
}

/** Time an invocation keeps after its profile write for derived events and the journey router. */
const HANDLER_MARGIN_MS = 8000;

/** What the journey router reports (counts of runs it resumed, converted, exited; the enrolments of the event's triggers), if it reports. */
interface RouterOutcome {
  resumed?: number;
  converted?: number;
  exited?: number;
  enrolled?: Array<{ status: 'started' | 'duplicate' | 'skipped' }>;
}

/**
 * The profile consumer Lambda: target of the bus rule for customer events
 * (source rapport.ingest). An invalid detail or a failure throws, so the async
 * invocation is retried and, after its retries, lands in the DLQ.
 */
export function createProfileConsumerHandler(deps: Omit<ProfileConsumerDeps, 'log'>, options: ProfileHandlerOptions = {}) {
  const o = observability('rapport-profile', options);
  const { logger, metrics } = o;
  // Only ids and counts reach the log: never traits, email or phone.
  // Its getters kept, not read once (the embedded engine's `recentEvents` follows a reload of the journeys).
  const consumer = createProfileConsumer(Object.defineProperties({ log: ((message, fields) => logger.info(message, fields)) as NonNullable<ProfileConsumerDeps['log']> }, Object.getOwnPropertyDescriptors(deps)) as ProfileConsumerDeps);
  const handler = async (event: EventBridgeEvent<string, unknown>, context: Context) => {
    const detail = NormalisedEventSchema.parse(event.detail);
    correlate(logger, detail.messageId);
    logger.appendKeys({ messageId: detail.messageId });
    try {
      // Lost write races are retried until the invocation's time is nearly up (publishing and the router need the rest).
      const result = await consumer.handleEvent(detail, { deadline: Date.now() + Math.max(1000, context.getRemainingTimeInMillis() - HANDLER_MARGIN_MS) });
      metrics.addMetric(result.status === 'applied' ? 'ProfileUpdates' : result.status === 'duplicate' ? 'ProfileDuplicates' : 'ProfileEventsDropped', MetricUnit.Count, 1);
      if (result.status === 'applied' && result.derived.length > 0) metrics.addMetric('DerivedEvents', MetricUnit.Count, result.derived.length);
      if (result.status === 'dropped') await options.afterDrop?.(event, result.customerId, result.reason);
      else {
        const routed = (await options.afterApply?.(event, result.customerId, result.ids)) as RouterOutcome | undefined;
        if (routed?.converted) metrics.addMetric('GoalConversions', MetricUnit.Count, routed.converted);
        if (routed?.resumed) metrics.addMetric('JourneyWaitsResumed', MetricUnit.Count, routed.resumed);
        if (routed?.exited) metrics.addMetric('JourneyExits', MetricUnit.Count, routed.exited);
        // Enrolments of the journeys this event triggers: the starter's metrics, for customer events.
        for (const o of routed?.enrolled ?? []) {
          metrics.addMetric(o.status === 'started' ? 'JourneyEnrolments' : o.status === 'duplicate' ? 'JourneyDuplicateTriggers' : 'JourneySkippedEntries', MetricUnit.Count, 1);
          logger.info('journey trigger', { ...o });
        }
      }
      return result;
    } finally {
      logger.removeKeys(['messageId']);
    }
  };
  return instrument(handler, o);
}

/** The daily sweep (EventBridge Scheduler): re-evaluates customers whose segments change with time alone. */
export function createSweepHandler(deps: Omit<ProfileConsumerDeps, 'log'>, options: SweepHandlerOptions = {}) {
  const o = observability('rapport-sweep', options);
  const { logger, metrics } = o;
  // Its getters kept, not read once (the embedded engine's `recentEvents` follows a reload of the journeys).
  const consumer = createProfileConsumer(Object.defineProperties({ log: ((message, fields) => logger.info(message, fields)) as NonNullable<ProfileConsumerDeps['log']> }, Object.getOwnPropertyDescriptors(deps)) as ProfileConsumerDeps);
  const handler = async (_event: unknown, _context: Context): Promise<SweepOutcome> => {
    const due = await deps.store.dueForReevaluation(deps.clock.now());
    let changed = 0;
    let derived = 0;
    const failed: string[] = [];
    for (const customerId of due) {
      try {
        const published = await consumer.reevaluate(customerId);
        if (published.length > 0) changed++;
        derived += published.length;
      } catch (error) {
        // One customer's failure does not hold up the others; it stays due and the retry takes it again.
        failed.push(customerId);
        logger.error('sweep: re-evaluation failed', { customerId, error: error as Error });
      }
    }
    metrics.addMetric('SweepReevaluated', MetricUnit.Count, due.length);
    metrics.addMetric('SweepDerivedEvents', MetricUnit.Count, derived);
    if (failed.length > 0) metrics.addMetric('SweepFailures', MetricUnit.Count, failed.length);
    // Erasures that began over an hour ago and never completed (a DELETE nobody retried, the consumer's erasure of a
    // visitor whose event was dead-lettered): finished as a retried DELETE would, journeys stopped and logs redacted.
    const erasures = await resumeInterruptedErasures(deps.store, deps.clock, new Date(deps.clock.now().getTime() - ERASURE_RESUME_GRACE_MS), {
      ...(deps.onErase && { onErase: deps.onErase }),
      ...(deps.onErasedWrite && { beforeComplete: deps.onErasedWrite }),
    });
    if (erasures.resumed > 0) metrics.addMetric('SweepErasuresResumed', MetricUnit.Count, erasures.resumed);
    if (erasures.failed > 0) metrics.addMetric('SweepErasuresFailed', MetricUnit.Count, erasures.failed);
    // Writes of an address's hold left open (a check that failed with nobody retrying, a writer that died): checked
    // again as their check would have (an erased customer's hold taken back), then closed.
    const open = await deps.store.recheckOpenHoldWrites(new Date(deps.clock.now().getTime() - OPEN_HOLD_WRITE_GRACE_MS), deps.clock.now());
    if (open.checked > 0) metrics.addMetric('SweepOpenHoldWritesChecked', MetricUnit.Count, open.checked);
    if (open.failed > 0) metrics.addMetric('SweepOpenHoldWritesFailed', MetricUnit.Count, open.failed);
    const openAny = open.checked + open.failed > 0;
    // Journey runs whose end was never reported (a lost status-change event): ended, their locks freed.
    const runs = await options.reconcile?.();
    if (runs) {
      metrics.addMetric('SweepRunsChecked', MetricUnit.Count, runs.checked);
      metrics.addMetric('SweepRunsEnded', MetricUnit.Count, runs.ended);
      if (runs.failed > 0) metrics.addMetric('SweepRunsFailed', MetricUnit.Count, runs.failed);
      if (runs.corrected) metrics.addMetric('SweepRunsCorrected', MetricUnit.Count, runs.corrected);
    }
    const resumedAny = erasures.resumed + erasures.failed > 0;
    logger.info('sweep finished', { due: due.length, changed, derived, failed: failed.length, ...(runs && { runs }), ...(resumedAny && { erasures }), ...(openAny && { openHoldWrites: open }) });
    if (failed.length > 0) throw new Error(`sweep: ${failed.length} of ${due.length} due customers could not be re-evaluated; they stay due and are retried`);
    if (runs && runs.failed > 0) throw new Error(`sweep: ${runs.failed} journey runs could not be reconciled; they stay due and are retried`);
    if (erasures.failed > 0) throw new Error(`sweep: ${erasures.failed} interrupted erasures could not be finished; they are retried`);
    return { due: due.length, changed, derived, ...(runs && { runs }), ...(resumedAny && { erasures }), ...(openAny && { openHoldWrites: open }) };
  };
  return instrument(handler, o);
}

/** The customer API Lambda (HTTP API v2, IAM-authorised in AWS). */
export function createCustomerApiHandler(deps: Parameters<typeof createCustomerApi>[0], options: ProfileHandlerOptions = {}) {
  const o = observability('rapport-customers', options);
  const { logger } = o;
  const api = createCustomerApi(deps);
  const handler = async (event: APIGatewayProxyEventV2, _context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    try {
      return await api({ method: event.requestContext.http.method, path: event.rawPath, query: new URLSearchParams(event.rawQueryString) });
    } catch (error) {
      logger.error('customer API failed', error as Error);
      return { statusCode: 503, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: 'unavailable', message: 'retry the request' }) };
    }
  };
  return instrument(handler, o, false); // the admin API publishes no metrics of its own
}
