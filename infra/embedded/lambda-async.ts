import { randomUUID } from 'node:crypto';
import { InvokeStore } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';
import type { AwsCallAuthorizer } from './authorization';
import type { DeadLetterSink } from './dead-letters';
import type { BusEvent } from './event-bus';
import type { VirtualClock } from './virtual-time';

export type EventLambda = (event: never, context: Context, options: { signal: AbortSignal }) => Promise<unknown>;

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
 * The engine runs many invocations at once in one process, as Lambda's
 * multi-concurrency runtime does: Powertools then keeps each invocation's log
 * keys (correlation id, customer id), metrics and trace apart through the
 * Lambda InvokeStore (AsyncLocalStorage). `runtime()` switches that on for
 * the process; `invokeLambda` runs one invocation in its own store.
 */
const REQUEST_ID = Symbol.for('_AWS_LAMBDA_REQUEST_ID');
/** The function an invocation runs as (its store's key): whose role an AWS call it makes is authorised against. */
const FUNCTION_NAME = Symbol('rapport.functionName');
let store: Awaited<ReturnType<typeof InvokeStore.getInstanceAsync>> | undefined;
let storeLoading: ReturnType<typeof InvokeStore.getInstanceAsync> | undefined;
export function lambdaRuntime() {
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '1000';
  return (storeLoading ??= InvokeStore.getInstanceAsync(true).then((s) => (store = s)));
}

/** The name of the function whose invocation the caller runs in; undefined outside any (the engine's own work). */
export function invokingFunction(): string | undefined {
  return store?.get<string>(FUNCTION_NAME);
}

/** Invoke a handler as Lambda would: a fresh context (request id, deadline) and its own invocation store. */
export async function invokeLambda<T = unknown>(functionName: string, timeoutMs: number, call: (context: Context, options: { signal: AbortSignal }) => unknown): Promise<T> {
  const context = lambdaContext(functionName, timeoutMs);
  const store = await lambdaRuntime();
  return store.run({ [REQUEST_ID]: context.awsRequestId, [FUNCTION_NAME]: functionName }, async () => (await call(context, { signal: AbortSignal.timeout(timeoutMs) })) as T);
}

/**
 * A bus rule target that invokes a Lambda handler the way EventBridge does:
 * asynchronously, retried on failure (here after 50 ms, 100 ms, ... instead of
 * minutes), and after the last attempt sent to the dead-letter list.
 */
export function asyncLambdaTarget(
  handler: EventLambda,
  functionName: string,
  options: {
    retryAttempts?: number;
    baseDelayMs?: number;
    deadLetters: DeadLetterSink;
    /**
     * On virtual time: each attempt holds the clock while it runs, and the backoff between attempts is a timer
     * on the clock (the delivery lets time move while it waits, as Lambda's retry minutes later would).
     */
    clock?: VirtualClock;
    /** Authorises the send to the dead-letter queue, which Lambda makes with the function's role (see EngineOptions.authorize). */
    authorize?: AwsCallAuthorizer;
  },
): (event: BusEvent, delivery?: { rule: string }) => Promise<void> {
  const attempts = (options.retryAttempts ?? 2) + 1;
  const base = options.baseDelayMs ?? 50;
  const clock = options.clock;
  return async (event, delivery) => {
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const invocation = invokeLambda(functionName, 60_000, (context, o) => handler(event as never, context, o));
        await (clock ? clock.track(invocation) : invocation);
        return;
      } catch (error) {
        lastError = error;
        const delay = base * 2 ** (attempt - 1);
        if (attempt < attempts) await (clock ? clock.sleep(delay) : new Promise((r) => setTimeout(r, delay)));
      }
    }
    // Lambda sends the event to the on-failure destination with the function's role; refused, the event is lost (as in AWS).
    const sending = options.authorize && Promise.resolve(options.authorize({ functionName, service: 'sqs', operation: 'SendMessage', destination: 'on-failure' }));
    const refused = sending && (await (clock ? clock.track(sending) : sending));
    if (refused) {
      console.error(`${functionName}: the failed event ${event.id} is lost: its dead-letter send was refused: ${refused.message}`);
      return;
    }
    options.deadLetters.add({ ...(delivery && { rule: delivery.rule }), functionName, event, error: String((lastError as Error)?.message ?? lastError), attempts, at: (clock?.now() ?? new Date()).toISOString() });
  };
}
