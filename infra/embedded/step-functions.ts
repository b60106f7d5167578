import { createHash, randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { ExecutionDoesNotExist } from '@aws-sdk/client-sfn';
import type { ExecutionInput, Executions } from '../../functions/journeys/executions';
import type { VirtualClock } from './virtual-time';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Retrier = { IntervalSeconds?: number; BackoffRate?: number; MaxDelaySeconds?: number; JitterStrategy?: 'FULL' | 'NONE' };
type StateDefinition = { Type: string; Resource?: string; Seconds?: number; TimestampPath?: string; Timestamp?: string; SecondsPath?: string; TimeoutSeconds?: number; Retry?: Retrier[] };
export interface AslDefinition {
  StartAt: string;
  States: Record<string, StateDefinition & Record<string, unknown>>;
}

/** Invokes the step Lambda with a state's Payload (the embedded engine calls the same handler AWS does). */
export type StepInvoker = (payload: Record<string, unknown>) => Promise<Json>;

/** Node timers hold at most 2^31-1 ms (~24.8 days); longer ones fire at once. */
const NODE_TIMER_MAX_SECONDS = 2_147_483;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';

export interface LocalExecution {
  journeyId: string;
  name: string;
  input: ExecutionInput;
  status: ExecutionStatus;
  startedAt: Date;
  stoppedAt?: Date;
  output?: unknown;
  error?: string;
  /** States entered, in order (each entry is one billed transition in AWS). */
  states: string[];
}

export interface LocalStepFunctionsOptions {
  /** Journey clock speed: with 86400 a day of Wait passes in a second. */
  timeScale: number;
  /** The engine's (scaled) clock, for waits until a timestamp. */
  now: () => Date;
  invokeStep: StepInvoker;
  /**
   * Run on virtual time: Wait states, retry backoffs and callback timeouts become
   * timers on this clock, and each execution holds it still while it works (so
   * the clock jumps only when every execution waits). `timeScale` is then unused.
   */
  virtual?: VirtualClock;
  onEnd?: (execution: LocalExecution) => void | Promise<void>;
}

/**
 * Step Functions on a laptop: runs the compiled ASL with aws-local-stepfunctions.
 * What the local executor lacks is supplied here, around the same definition:
 * `.waitForTaskToken` tasks get a token and wait for `sendTaskSuccess` or their
 * TimeoutSeconds (on the journey clock, failing with States.Timeout as AWS does);
 * Wait states sleep their Seconds or TimestampPath on the journey clock; names
 * are unique, so a second start with a name is a no-op, as StartExecution is.
 */
export class LocalStepFunctions implements Executions {
  readonly executions = new Map<string, LocalExecution>();
  readonly #machines = new Map<string, { definition: AslDefinition; machine: StateMachine }>();
  readonly #aborts = new Map<string, () => void>();
  readonly #tokens = new Map<string, { resolve: (output: Json) => void; abandon: () => void; execution: string }>();
  readonly #running = new Set<Promise<unknown>>();

  constructor(private readonly options: LocalStepFunctionsOptions) {}

  /**
   * Register a journey's definition. The executor gets a copy (it mutates what it
   * is given) with task timeouts capped to what a Node timer can hold; the real
   * timeouts, on the journey clock, are enforced here from the original.
   */
  register(journeyId: string, definition: AslDefinition): void {
    const copy = structuredClone(definition);
    for (const [name, state] of Object.entries(copy.States)) {
      if (typeof state.TimeoutSeconds === 'number' && state.TimeoutSeconds > NODE_TIMER_MAX_SECONDS) state.TimeoutSeconds = NODE_TIMER_MAX_SECONDS;
      // On virtual time a Wait is a Task whose handler sleeps on the clock (the executor's own Wait sleeps in real time).
      if (this.options.virtual && state.Type === 'Wait') copy.States[name] = waitAsTask(state);
    }
    const machine = new StateMachine(copy as never, { validationOptions: { checkArn: false, checkPaths: false } });
    this.#machines.set(journeyId, { definition: structuredClone(definition), machine });
  }

  async start(journeyId: string, name: string, input: ExecutionInput): Promise<'started' | 'exists'> {
    if (this.executions.has(name)) return 'exists';
    const entry = this.#machines.get(journeyId);
    if (!entry) throw new Error(`no state machine for journey "${journeyId}"`);
    const execution: LocalExecution = { journeyId, name, input, status: 'RUNNING', startedAt: this.options.now(), states: [] };
    this.executions.set(name, execution);

    // The last `until` a Task returned (waitUntil, deferred send): the next TimestampPath Wait sleeps until then.
    let lastUntil: string | undefined;
    // Consecutive failed attempts of each Task, for its Retry backoff on the journey clock.
    const failures = new Map<string, number>();
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    const virtual = this.options.virtual;
    // On virtual time the execution holds the clock while it works, and lets go only while it waits.
    let release = virtual?.begin() ?? (() => undefined);
    let ended = false;
    const waitFor = async <T>(blocked: Promise<T>): Promise<T> => {
      release();
      try {
        return await blocked;
      } finally {
        if (!ended) release = virtual?.begin() ?? (() => undefined);
      }
    };
    // The timer of the Wait or backoff the execution sleeps in: cancelled if it ends first, so a stopped run's wait does not move the clock.
    let sleeping: { cancel(): void } | undefined;
    const sleepUntil = (clock: VirtualClock, due: number) =>
      waitFor(
        new Promise<void>((resolve) => {
          sleeping = clock.schedule(due, resolve);
        }),
      );
    for (const [stateName, state] of Object.entries(entry.definition.States)) {
      if (virtual && state.Type === 'Wait') {
        handlers[stateName] = async (stateInput) => {
          await sleepUntil(virtual, waitDue(stateName, state, stateInput, virtual.now().getTime()));
          return stateInput;
        };
        continue;
      }
      if (state.Type !== 'Task') continue;
      const waitsForToken = (state.Resource ?? '').endsWith('.waitForTaskToken');
      const attempt = async (taskInput: Json): Promise<Json> => {
        const payload = { ...((taskInput as { Payload?: Record<string, Json> }).Payload ?? {}) };
        if (!waitsForToken) {
          const result = await this.#invoke(payload);
          const until = (result as { until?: string } | null)?.until;
          if (typeof until === 'string') lastUntil = until;
          return { Payload: result };
        }
        return this.#awaitToken(execution, payload, state.TimeoutSeconds, waitFor);
      };
      handlers[stateName] = async (taskInput) => {
        const failed = failures.get(stateName) ?? 0;
        const retrier = state.Retry?.[0];
        // The Retry backoff before this attempt, on virtual time (the executor's own interval is 0 then).
        if (virtual && failed > 0 && retrier) await sleepUntil(virtual, virtual.now().getTime() + backoffMs(retrier, failed, `${name}/${stateName}/${failed}`));
        try {
          const output = await attempt(taskInput);
          failures.delete(stateName);
          return output;
        } catch (error) {
          failures.set(stateName, (failures.get(stateName) ?? 0) + 1);
          throw error;
        }
      };
    }
    const scale = this.options.timeScale;
    // Retry backoff (IntervalSeconds x BackoffRate^n, capped, FULL jitter) on the journey clock, as Wait states are.
    const retryMs = new Proxy({} as Record<string, number>, {
      get: (_target, stateName) => {
        if (typeof stateName !== 'string') return undefined;
        const retrier = entry.definition.States[stateName]?.Retry?.[0];
        if (!retrier) return undefined;
        if (virtual) return 0;
        const n = Math.max(0, (failures.get(stateName) ?? 1) - 1);
        const seconds = Math.min((retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** n, retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
        return ((retrier.JitterStrategy === 'FULL' ? Math.random() : 1) * seconds * 1000) / scale;
      },
    });
    const waitMs = new Proxy({} as Record<string, number>, {
      get: (_target, stateName) => {
        if (typeof stateName !== 'string') return undefined;
        const state = entry.definition.States[stateName];
        if (!state || state.Type !== 'Wait') return undefined;
        if (typeof state.Seconds === 'number') return Math.max(0, (state.Seconds * 1000) / scale);
        if (!lastUntil) return 0;
        // Wake a little after the instant, never before it: Node timers and a scaled clock are
        // coarse (1 ms real = `scale` ms simulated), and waking early would find e.g. quiet
        // hours not yet over and defer the send a second time.
        const left = new Date(lastUntil).getTime() - this.options.now().getTime();
        return left <= 0 ? 0 : Math.ceil(left / scale) + 2;
      },
    });

    const run = entry.machine.run(input as unknown as Json, {
      overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: waitMs, retryIntervalOverrides: retryMs },
      context: { Execution: { Id: `local:${name}`, Name: name, StartTime: execution.startedAt.toISOString(), Input: input as unknown as Json }, Task: { Token: 'set-per-task' } } as never,
      noThrowOnAbort: true,
    });
    this.#aborts.set(name, run.abort);
    void (async () => {
      for await (const event of run.eventLogs) if (event.type === 'StateEntered') execution.states.push(event.state.name);
    })().catch(() => undefined);
    const done = run.result
      .then((output) => {
        if (execution.status === 'RUNNING') {
          execution.status = output === null ? 'ABORTED' : 'SUCCEEDED';
          execution.output = output;
        }
      })
      .catch((error: unknown) => {
        execution.status = 'FAILED';
        execution.error = `${(error as Error).name}: ${(error as Error).message}`;
      })
      .then(async () => {
        execution.stoppedAt = this.options.now();
        this.#aborts.delete(name);
        // A stopped execution's callback tasks end too: their timers (ours on the journey clock, the
        // executor's own in real milliseconds) would otherwise keep the process alive for days.
        for (const [token, t] of this.#tokens) {
          if (t.execution !== name) continue;
          this.#tokens.delete(token);
          t.abandon();
        }
        await this.options.onEnd?.(execution);
      })
      .finally(() => {
        this.#running.delete(done);
        ended = true;
        sleeping?.cancel();
        release();
      });
    this.#running.add(done);
    return 'started';
  }

  /** As AWS: a no-op for an execution that has ended, `ExecutionDoesNotExist` (the SDK's error) for one never started. */
  async stop(journeyId: string, name: string, cause: string): Promise<void> {
    const execution = this.executions.get(name);
    if (!execution) {
      throw new ExecutionDoesNotExist({ message: `Execution Does Not Exist: 'arn:aws:states:local:000000000000:execution:Rapport-${journeyId}:${name}'`, $metadata: { httpStatusCode: 400 } });
    }
    if (execution.status !== 'RUNNING') return;
    execution.status = 'ABORTED';
    execution.error = cause;
    this.#aborts.get(name)?.();
  }

  async sendTaskSuccess(token: string, output: Record<string, unknown>): Promise<boolean> {
    const waiting = this.#tokens.get(token);
    if (!waiting) return false;
    this.#tokens.delete(token);
    waiting.resolve(output as Json);
    return true;
  }

  /**
   * Invoke the step Lambda, tracked: an execution stopped mid-step ends at once, but its
   * invocation runs on, and `idle()` (so the engine's stop) must wait for it.
   */
  #invoke(payload: Record<string, Json>): Promise<Json> {
    const invocation = this.options.invokeStep(payload);
    const tracked = invocation.catch(() => undefined).finally(() => this.#running.delete(tracked));
    this.#running.add(tracked);
    return invocation;
  }

  /** Resolves when no execution is running (waits included) and no step invocation is in flight: for tests and the simulator. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  #awaitToken(execution: LocalExecution, payload: Record<string, Json>, timeoutSeconds: number | undefined, waitFor: <T>(p: Promise<T>) => Promise<T>): Promise<Json> {
    const token = `${execution.name}:${randomUUID()}`;
    const virtual = this.options.virtual;
    const waiting = new Promise<Json>((resolve, reject) => {
      const expire = () => {
        if (!this.#tokens.delete(token)) return;
        reject(Object.assign(new Error(`no event within ${timeoutSeconds} s`), { name: 'States.Timeout' }));
      };
      const timer =
        timeoutSeconds === undefined
          ? undefined
          : virtual
            ? virtual.schedule(virtual.now().getTime() + timeoutSeconds * 1000, expire)
            : longTimeout(expire, (timeoutSeconds * 1000) / this.options.timeScale);
      const clear = () => (timer && 'cancel' in timer ? timer.cancel() : timer?.clear());
      this.#tokens.set(token, {
        execution: execution.name,
        resolve: (output) => {
          clear();
          resolve(output);
        },
        abandon: () => {
          clear();
          reject(Object.assign(new Error(`execution ${execution.name} ended while waiting for its task token`), { name: 'States.Aborted' }));
        },
      });
      this.#invoke({ ...payload, taskToken: token }).catch((error: unknown) => {
        clear();
        this.#tokens.delete(token);
        reject(error as Error);
      });
    });
    return waitFor(waiting);
  }
}

/** A Wait state as the Task the virtual-time executor runs in its place (same transitions and paths). */
function waitAsTask(state: StateDefinition & Record<string, unknown>): StateDefinition & Record<string, unknown> {
  const { Type: _type, Seconds: _s, SecondsPath: _sp, Timestamp: _t, TimestampPath: _tp, Comment, ...rest } = state;
  return { ...rest, Type: 'Task', Resource: 'arn:aws:states:::rapport-local:wait', ...(typeof Comment === 'string' && { Comment }) };
}

/**
 * When a Wait state ends, from its Seconds, SecondsPath, Timestamp or TimestampPath read
 * from the state's input as AWS does; a path that holds no valid value fails the
 * state with States.Runtime (AWS fails the execution the same way).
 */
function waitDue(stateName: string, state: StateDefinition, input: Json, now: number): number {
  if (typeof state.Seconds === 'number') return now + state.Seconds * 1000;
  if (typeof state.Timestamp === 'string') return Date.parse(state.Timestamp);
  const path = state.SecondsPath ?? state.TimestampPath;
  const value = path ? readPath(input, path) : undefined;
  if (state.SecondsPath !== undefined && typeof value === 'number' && value >= 0) return now + value * 1000;
  if (state.TimestampPath !== undefined && typeof value === 'string' && Number.isFinite(Date.parse(value))) return Date.parse(value);
  throw Object.assign(new Error(`Wait state ${stateName}: ${path ?? 'no time'} does not hold a ${state.SecondsPath ? 'number of seconds' : 'timestamp'} (got ${JSON.stringify(value)})`), {
    name: 'States.Runtime',
  });
}

/** A reference path (`$.a.b`), as Wait's SecondsPath/TimestampPath use. */
function readPath(input: Json, path: string): Json | undefined {
  if (!path.startsWith('$')) return undefined;
  let at: Json | undefined = input;
  for (const key of path.slice(1).split('.').filter(Boolean)) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = at[key];
  }
  return at;
}

/** Retry backoff before attempt `failed + 1`: IntervalSeconds x BackoffRate^(failed-1), capped, with FULL jitter drawn from `seed` (the same every run). */
function backoffMs(retrier: Retrier, failed: number, seed: string): number {
  const seconds = Math.min((retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** Math.max(0, failed - 1), retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
  const jitter = retrier.JitterStrategy === 'FULL' ? createHash('sha256').update(seed).digest().readUInt32BE(0) / 2 ** 32 : 1;
  return Math.round(jitter * seconds * 1000);
}

/** setTimeout for any delay (chained below Node's 24.8-day limit). */
function longTimeout(fn: () => void, ms: number): { clear(): void } {
  let handle: ReturnType<typeof setTimeout>;
  const due = Date.now() + ms;
  const arm = () => {
    const left = due - Date.now();
    handle = left > NODE_TIMER_MAX_SECONDS * 1000 ? setTimeout(arm, NODE_TIMER_MAX_SECONDS * 1000) : setTimeout(fn, Math.max(0, left));
  };
  arm();
  return { clear: () => clearTimeout(handle) };
}
