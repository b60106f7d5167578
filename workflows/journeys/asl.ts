/**
 * The subset of the Amazon States Language (JSONPath) the compiler emits, and
 * the runtime contract's fixed parts: resource ARNs, retry policy, state names.
 */

export interface RetryPolicy {
  ErrorEquals: string[];
  IntervalSeconds: number;
  MaxAttempts: number;
  BackoffRate: number;
  MaxDelaySeconds: number;
  JitterStrategy: 'FULL' | 'NONE';
}

export interface Catcher {
  ErrorEquals: string[];
  ResultPath: string;
  Next: string;
}

interface StateBase {
  Comment?: string;
}

export interface TaskState extends StateBase {
  Type: 'Task';
  Resource: string;
  Parameters: { FunctionName: string; Payload: Record<string, unknown> };
  ResultSelector?: Record<string, string>;
  ResultPath: string;
  TimeoutSeconds?: number;
  Retry: RetryPolicy[];
  Catch: Catcher[];
  Next: string;
}

export interface ChoiceRule {
  Variable: string;
  StringEquals: string;
  Next: string;
}

export interface ChoiceState extends StateBase {
  Type: 'Choice';
  Choices: ChoiceRule[];
  Default: string;
}

export type WaitState = StateBase & { Type: 'Wait'; Next: string } & ({ Seconds: number } | { TimestampPath: string });

export interface SucceedState extends StateBase {
  Type: 'Succeed';
}

export interface FailState extends StateBase {
  Type: 'Fail';
  Error: string;
  Cause: string;
}

/**
 * An `exit` step, or the holdout group's end: ends the run (End) and puts its outcome in the
 * execution's output (`$.end`). A holdout's carries `holdSeconds`: how long its customer stays
 * held (a goal in that time counts as the holdout's conversion).
 */
export interface ExitState extends StateBase {
  Type: 'Pass';
  Result: { outcome: 'exited' | 'converted'; reason?: string } | { outcome: 'holdout'; holdSeconds: number };
  ResultPath: '$.end';
  End: true;
}

export type State = TaskState | ChoiceState | WaitState | SucceedState | ExitState | FailState;

export interface StateMachineDefinition {
  Comment: string;
  StartAt: string;
  States: Record<string, State>;
}

/** Optimised Lambda integration: the step Lambda's return value arrives as `$.Payload`. */
export const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
/** Callback pattern: the run pauses until SendTaskSuccess with the token (or the task's TimeoutSeconds). */
export const LAMBDA_INVOKE_WAIT_FOR_TOKEN = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/**
 * Transient Lambda errors (the set AWS recommends retrying for the Lambda
 * integration, the invoke's client-side timeout included), a provider outage
 * (`ChannelUnavailableError`) and a transient failure inside the step
 * (`TransientStepError`: throttling, 5xx, a write conflict) are retried with
 * backoff. A retried send is safe: it is claimed before the provider is called.
 */
export const RETRYABLE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
  'ChannelUnavailableError',
  'TransientStepError',
];
/** 2 s doubling, capped at 5 min, 8 attempts: about 15 minutes before the run fails. */
export const STEP_RETRY: RetryPolicy = {
  ErrorEquals: RETRYABLE_ERRORS,
  IntervalSeconds: 2,
  MaxAttempts: 8,
  BackoffRate: 2,
  MaxDelaySeconds: 300,
  JitterStrategy: 'FULL',
};

/** Names of the states the compiler adds; step ids are kebab-case, so they never collide. */
export const STATE = {
  end: 'End',
  holdout: 'Holdout',
  failed: 'Failed',
  /** The Choice after a step's Task: `<stepId>.route`. */
  route: (stepId: string) => `${stepId}.route`,
  /** The Wait after a waitUntil Task or a deferred send: `<stepId>.wait`. */
  wait: (stepId: string) => `${stepId}.wait`,
} as const;

/** Error of the `Failed` state: a step failed after its retries (or returned a route the compiler did not expect). */
export const STEP_FAILED_ERROR = 'Rapport.StepFailed';

/** Where each step Lambda's result lands (`ResultSelector` keeps only its Payload, under `result`). */
export const RESULT = {
  status: '$.last.result.status',
  until: '$.last.result.until',
  next: '$.last.result.next',
} as const;
