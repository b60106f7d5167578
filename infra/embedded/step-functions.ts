import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { ExecutionDoesNotExist } from '@aws-sdk/client-sfn';
import type { ExecutionInput, Executions } from '../../functions/journeys/executions';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Retrier = { IntervalSeconds?: number; BackoffRate?: number; MaxDelaySeconds?: number; JitterStrategy?: 'FULL' | 'NONE' };
type StateDefinition = { Type: string; Resource?: string; Seconds?: number; TimestampPath?: string; TimeoutSeconds?: number; Retry?: Retrier[] };
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
    for (const state of Object.values(copy.States)) {
      if (typeof state.TimeoutSeconds === 'number' && state.TimeoutSeconds > NODE_TIMER_MAX_SECONDS) state.TimeoutSeconds = NODE_TIMER_MAX_SECONDS;
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
    for (const [stateName, state] of Object.entries(entry.definition.States)) {
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
        return this.#awaitToken(execution, payload, state.TimeoutSeconds);
      };
      handlers[stateName] = async (taskInput) => {
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
      .finally(() => this.#running.delete(done));
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

  #awaitToken(execution: LocalExecution, payload: Record<string, Json>, timeoutSeconds: number | undefined): Promise<Json> {
    const token = `${execution.name}:${randomUUID()}`;
    return new Promise<Json>((resolve, reject) => {
      const timer =
        timeoutSeconds !== undefined
          ? longTimeout(() => {
              if (!this.#tokens.delete(token)) return;
              reject(Object.assign(new Error(`no event within ${timeoutSeconds} s`), { name: 'States.Timeout' }));
            }, (timeoutSeconds * 1000) / this.options.timeScale)
          : undefined;
      this.#tokens.set(token, {
        execution: execution.name,
        resolve: (output) => {
          timer?.clear();
          resolve(output);
        },
        abandon: () => {
          timer?.clear();
          reject(Object.assign(new Error(`execution ${execution.name} ended while waiting for its task token`), { name: 'States.Aborted' }));
        },
      });
      this.#invoke({ ...payload, taskToken: token }).catch((error: unknown) => {
        timer?.clear();
        this.#tokens.delete(token);
        reject(error as Error);
      });
    });
  }
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
