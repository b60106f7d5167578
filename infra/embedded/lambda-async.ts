import { randomUUID } from 'node:crypto';
import { InvokeStore } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';
import { invocationDenied, type AwsCallAuthorizer } from './authorization';
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
 * How many invocations of one function the engine runs at once by default, as a function's reserved
 * concurrency caps it in AWS: further async events wait in the function's queue (Lambda's own event
 * queue) and start as invocations finish, so an invocation's 60 s timeout counts from its start, not
 * from its wait. Unbounded, a burst (ingest puts up to 500 events per request, each to several rules)
 * starts hundreds of invocations at once, which on a starved machine share the CPU until they time
 * out. The engine's functions, dynalite and the executor share one event loop, so running more at once
 * gains nothing once the CPU is busy: with 16, the slowest invocation of the duplicates reliability
 * test (4,000 deliveries, a third of a core) took 10.5 s, with 64 it took 41.5 s, and the whole run
 * was faster (260 s against 290 s).
 */
export const DEFAULT_FUNCTION_CONCURRENCY = 16;

/** At most `max` calls run at a time; the others wait, first come first served. */
export class ConcurrencyLimit {
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`a concurrency limit is a whole number of at least 1, got ${max}`);
  }

  /** Calls running now. */
  get running(): number {
    return this.#running;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    // A finished call hands its slot to the first waiter (the count stays), so a newcomer cannot take it in between.
    if (this.#running < this.max) this.#running++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await call();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/** One `ConcurrencyLimit` of `max` per function name: every rule that targets a function shares its limit. */
export function functionConcurrency(max = DEFAULT_FUNCTION_CONCURRENCY): (functionName: string) => ConcurrencyLimit {
  const limits = new Map<string, ConcurrencyLimit>();
  return (functionName) => {
    let limit = limits.get(functionName);
    if (!limit) limits.set(functionName, (limit = new ConcurrencyLimit(max)));
    return limit;
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
    /**
     * The function's concurrency (`functionConcurrency`): an attempt waits for a slot, then runs with its full
     * timeout. On virtual time the wait holds the clock too (queued work is work). @default unbounded
     */
    concurrency?: (functionName: string) => ConcurrencyLimit;
  },
): (event: BusEvent, delivery?: { rule: string }) => Promise<void> {
  const attempts = (options.retryAttempts ?? 2) + 1;
  const base = options.baseDelayMs ?? 50;
  const clock = options.clock;
  const limit = options.concurrency?.(functionName);
  return async (event, delivery) => {
    if (delivery && (await ruleInvocationRefused(functionName, event, delivery.rule, options))) return;
    const invoke = () => invokeLambda(functionName, 60_000, (context, o) => handler(event as never, context, o));
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        // The backoff below is outside the slot: a failed attempt frees it for the queue.
        const invocation = limit ? limit.run(invoke) : invoke();
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
    // On virtual time the letter's write and its check (dead-letter sink) hold the clock too: they are work.
    const adding = Promise.resolve(options.deadLetters.add({ ...(delivery && { rule: delivery.rule }), functionName, event, error: String((lastError as Error)?.message ?? lastError), attempts, at: (clock?.now() ?? new Date()).toISOString() }));
    await (clock ? clock.track(adding) : adding);
  };
}

/**
 * Whether EventBridge may invoke `functionName` for `rule` (the function's resource-based policy, authorised by
 * `authorize`; none: it may). Refused, the target never runs: EventBridge retries it (the policy does not change
 * meanwhile), then sends the event to the rule's dead-letter queue, which this does at once. Resolves true then.
 */
export async function ruleInvocationRefused(
  functionName: string,
  event: BusEvent,
  rule: string,
  options: { authorize?: AwsCallAuthorizer; deadLetters: DeadLetterSink; clock?: VirtualClock },
): Promise<boolean> {
  if (!options.authorize) return false;
  const judging = invocationDenied(options.authorize, functionName, { rule });
  const denial = await (options.clock ? options.clock.track(judging) : judging);
  if (!denial) return false;
  const adding = Promise.resolve(options.deadLetters.add({ rule, functionName, event, error: `EventBridge could not invoke ${functionName}: ${denial.message}`, attempts: 0, at: (options.clock?.now() ?? new Date()).toISOString() }));
  await (options.clock ? options.clock.track(adding) : adding);
  return true;
}
