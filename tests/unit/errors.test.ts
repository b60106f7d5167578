import { ConditionalCheckFailedException, InternalServerError, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { EventBridgeServiceException } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { DerivedEventsUnpublishedError } from '../../functions/profile/consumer';
import { VersionConflictError } from '../../functions/profile';
import { SendOutcomeUnknownError, TemplateRenderError } from '../../functions/journeys/steps';
import { isTransientError } from '../../shared';

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

describe('isTransientError (what a journey step is retried on)', () => {
  it('retries throttling, 5xx, dropped connections and retryable Rapport errors', () => {
    expect(isTransientError(new ProvisionedThroughputExceededException({ message: 'slow down', ...meta(400) }))).toBe(true);
    expect(isTransientError(new InternalServerError({ message: 'oops', ...meta(500) }))).toBe(true);
    expect(isTransientError(new EventBridgeServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', ...meta(400) }))).toBe(true);
    expect(isTransientError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransientError(new VersionConflictError('lost the race'))).toBe(true);
    expect(isTransientError(new DerivedEventsUnpublishedError('1 derived event could not be published'))).toBe(true);
  });

  it('does not retry what would fail again: a failed condition, a validation error, a bad template, an unknown send outcome', () => {
    expect(isTransientError(new ConditionalCheckFailedException({ message: 'The conditional request failed', ...meta(400) }))).toBe(false);
    expect(isTransientError(Object.assign(new Error('One or more parameter values were invalid'), { name: 'ValidationException', $fault: 'client', ...meta(400) }))).toBe(false);
    expect(isTransientError(new TemplateRenderError('unknown filter'))).toBe(false);
    expect(isTransientError(new SendOutcomeUnknownError('may have gone out'))).toBe(false);
    expect(isTransientError(new TypeError('x is undefined'))).toBe(false);
    expect(isTransientError('a string')).toBe(false);
  });
});
