import type { Context } from 'aws-lambda';
import { instrument, observability, type ObservabilityOptions } from '../observability';
import { handleSesFeedback, type FeedbackDeps, type FeedbackOutcome } from './service';
import type { SesEvent } from './ses-event';

/** The SES feedback function's handler: target of the rule for SES events (AWS: on the default bus). */
export function createSesFeedbackHandler(deps: FeedbackDeps, options: ObservabilityOptions = {}) {
  const o = observability('rapport-ses-feedback', options);
  const handler = async (event: SesEvent, _context: Context): Promise<FeedbackOutcome> => {
    const outcome = await handleSesFeedback(event, deps);
    // Ids only: the SES event holds the recipient's address, which stays out of the logs.
    if (outcome.status === 'dropped') o.logger.info('SES feedback dropped', { reason: outcome.reason, detailType: event['detail-type'] });
    else if (outcome.status === 'erased-life') o.logger.info('SES feedback on an erased life published for a new one', { kind: outcome.kind, customerId: outcome.customerId });
    else o.logger.info('SES feedback applied', { kind: outcome.kind, customerId: outcome.customerId, suppressed: outcome.suppressed, recorded: outcome.recorded });
    return outcome;
  };
  return instrument(handler, o, false);
}
