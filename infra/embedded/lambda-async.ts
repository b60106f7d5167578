import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { BusEvent } from './event-bus';

export type EventLambda = (event: never, context: Context, options: { signal: AbortSignal }) => Promise<unknown>;

export interface DeadLetter {
  functionName: string;
  event: BusEvent;
  error: string;
  attempts: number;
  at: string;
}

export function lambdaContext(functionName: string, timeoutMs = 60_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * A bus rule target that invokes a Lambda handler the way EventBridge does:
 * asynchronously, retried on failure (here after 50 ms, 100 ms, ... instead of
 * minutes), and after the last attempt sent to the dead-letter list.
 */
export function asyncLambdaTarget(
  handler: EventLambda,
  functionName: string,
  options: { retryAttempts?: number; baseDelayMs?: number; deadLetters: DeadLetter[] },
): (event: BusEvent) => Promise<void> {
  const attempts = (options.retryAttempts ?? 2) + 1;
  const base = options.baseDelayMs ?? 50;
  return async (event) => {
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await handler(event as never, lambdaContext(functionName), { signal: AbortSignal.timeout(60_000) });
        return;
      } catch (error) {
        lastError = error;
        if (attempt < attempts) await new Promise((r) => setTimeout(r, base * 2 ** (attempt - 1)));
      }
    }
    options.deadLetters.push({ functionName, event, error: String((lastError as Error)?.message ?? lastError), attempts, at: new Date().toISOString() });
  };
}
