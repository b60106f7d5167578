import { LAMBDA_INVOKE, RETRYABLE_ERRORS, type RetryPolicy } from '../journeys/asl';

/** The broadcast state machine's id in both homes (the engine's executor registers it under this name). */
export const BROADCAST_STATE_MACHINE = 'broadcasts';

/**
 * A page is retried as a journey step is (a provider outage, throttling, a transient AWS failure), for
 * longer: a broadcast outlives a provider's bad quarter of an hour. 2 s doubling, at most 5 minutes
 * apart, 20 attempts: about an hour and a half.
 */
export const PAGE_RETRY: RetryPolicy = {
  ErrorEquals: RETRYABLE_ERRORS,
  IntervalSeconds: 2,
  MaxAttempts: 20,
  BackoffRate: 2,
  MaxDelaySeconds: 300,
  JitterStrategy: 'FULL',
};

/**
 * The broadcast fan-out (JSONPath ASL, no `Assign`): wait for `at` if it has one, then loop
 * { the page Lambda: the next page of members (then of deferred recipients), each through the send
 * gateway; wait as it says (`waitSeconds`: the rate; `waitUntil`: the next deferred recipient due) }
 * until it says `done`. The state is the page Lambda's own output (ids and cursors only).
 *
 * Transitions: 1 (+1 with `at`) to start, then 2 per page (Page, Route), 3 with a Wait, and 1 to end.
 */
export function broadcastDefinition(pageFunctionArn: string): Record<string, unknown> {
  return {
    Comment: 'Rapport broadcast: a one-off message to a segment, page by page through the send gateway',
    StartAt: 'Scheduled',
    States: {
      Scheduled: {
        Type: 'Choice',
        Choices: [{ Variable: '$.at', IsPresent: true, Next: 'Wait for at' }],
        Default: 'Page',
      },
      'Wait for at': { Type: 'Wait', TimestampPath: '$.at', Next: 'Page' },
      Page: {
        Type: 'Task',
        Resource: LAMBDA_INVOKE,
        Parameters: { FunctionName: pageFunctionArn, 'Payload.$': '$' },
        OutputPath: '$.Payload',
        Retry: [PAGE_RETRY],
        Next: 'Route',
      },
      Route: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.done', IsPresent: true, Next: 'Done' },
          { Variable: '$.waitUntil', IsPresent: true, Next: 'Wait for due' },
          { Variable: '$.waitSeconds', IsPresent: true, Next: 'Pace' },
        ],
        Default: 'Page',
      },
      'Wait for due': { Type: 'Wait', TimestampPath: '$.waitUntil', Next: 'Page' },
      Pace: { Type: 'Wait', SecondsPath: '$.waitSeconds', Next: 'Page' },
      Done: { Type: 'Succeed' },
    },
  };
}
