import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { ExecutionDoesNotExist } from '@aws-sdk/client-sfn';
import type { ExecutionInput, Executions, ExecutionState } from '../../functions/journeys/executions';
import { ExecutionJournal, type SavedExecution } from './execution-journal';
import type { VirtualClock } from './virtual-time';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Retrier = { ErrorEquals?: string[]; MaxAttempts?: number; IntervalSeconds?: number; BackoffRate?: number; MaxDelaySeconds?: number; JitterStrategy?: 'FULL' | 'NONE' };
type StateDefinition = { Type: string; Resource?: string; Seconds?: number; TimestampPath?: string; Timestamp?: string; SecondsPath?: string; TimeoutSeconds?: number; Retry?: Retrier[] };
export interface AslDefinition {
  StartAt: string;
  States: Record<string, StateDefinition & Record<string, unknown>>;
}

/** Invokes the step Lambda with a state's Payload (the embedded engine calls the same handler AWS does). */
export type StepInvoker = (payload: Record<string, unknown>) => Promise<Json>;

/** Node timers hold at most 2^31-1 ms (~24.8 days); longer ones fire at once. */
const NODE_TIMER_MAX_SECONDS = 2_147_483;
/**
 * A Wait or callback task that waits longer than this in real time (20 days) fails with REARM_ERROR,
 * which a retrier added to the executor's copy retries at once: the same wait goes on under a new
 * executor timer (those hold 24.8 days), so a wait of up to a year works at real time.
 */
const REARM_MS = 20 * 86_400_000;
const REARM_ERROR = 'Rapport.Rearm';
/** How long an ended execution stays listed (Step Functions keeps execution history 90 days). */
const HISTORY_DAYS = 90;

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
  /** Data folder: executions are journaled there (`executions/journal.ndjson`) and `resume()` goes on with them. Absent: in memory. */
  dataDir?: string;
}

/**
 * Step Functions on a laptop: runs the compiled ASL with aws-local-stepfunctions.
 * What the local executor lacks is supplied here, around the same definition:
 * `.waitForTaskToken` tasks get a token and wait for `sendTaskSuccess` or their
 * TimeoutSeconds (on the journey clock, failing with States.Timeout as AWS does);
 * Wait states sleep their Seconds or TimestampPath on the journey clock (timers chained
 * past Node's 24.8 days); names are unique, so a second start with a name is a no-op, as
 * StartExecution is.
 *
 * With a data folder every execution is durable (see ExecutionJournal): each state entered
 * is journaled with its raw input, as are a Wait's due time, a callback token and its
 * deadline, and retries spent. `resume()` (at engine start) runs the same definition again
 * from the saved state and input (a copy with StartAt moved there), with the Wait's or the
 * token's original due time; `close()` suspends the executions instead of stopping them.
 * A step cut off by a crash runs again: steps are idempotent per execution and step.
 */
export class LocalStepFunctions implements Executions {
  readonly executions = new Map<string, LocalExecution>();
  readonly #machines = new Map<string, { definition: AslDefinition; machine: StateMachine; hash: string | undefined }>();
  readonly #aborts = new Map<string, () => void>();
  readonly #tokens = new Map<string, { resolve: (output: Json) => void; abandon: () => void; execution: string }>();
  /** Tokens of resumed executions whose task has not run yet: an event for one is kept for it. */
  readonly #pendingTokens = new Map<string, string>();
  readonly #running = new Set<Promise<unknown>>();
  /** Executions `close()` aborted to resume them at the next start: not ended. */
  readonly #suspended = new Set<string>();
  readonly #journal: ExecutionJournal | undefined;

  constructor(private readonly options: LocalStepFunctionsOptions) {
    this.#journal = options.dataDir ? new ExecutionJournal(join(options.dataDir, 'executions')) : undefined;
  }

  /**
   * Register a journey's definition (and, with a data folder, keep it there by hash: runs resume on the definition they
   * started with). With its `version`, also under that version: a start naming it (`input.journeyVersion`) runs that
   * version's definition even after a reload registered another (an enrolment under way as the reload lands records
   * the run with the version it read, and must start that one).
   */
  register(journeyId: string, definition: AslDefinition, version?: number): void {
    const entry = { definition: structuredClone(definition), machine: this.#machine(definition), hash: this.#journal?.saveDefinition(definition) };
    this.#machines.set(journeyId, entry);
    if (version !== undefined) this.#machines.set(versionKey(journeyId, version), entry);
  }

  /**
   * The executor's machine: a copy of the definition (it mutates what it is given) where every
   * Wait is a Task whose handler sleeps on the journey clock, callback tasks carry no TimeoutSeconds
   * (enforced here, on the journey clock) and other timeouts are capped to what a Node timer holds.
   * A resume starts at the saved state, whose retriers keep only the attempts not yet spent.
   */
  #machine(definition: AslDefinition, resume?: { state: string; retried: number[] }): StateMachine {
    const copy = structuredClone(definition);
    if (resume) {
      copy.StartAt = resume.state;
      const state = copy.States[resume.state];
      if (state?.Retry) state.Retry = state.Retry.map((r, i) => ({ ...r, MaxAttempts: Math.max(0, (r.MaxAttempts ?? 3) - (resume.retried[i] ?? 0)) }));
    }
    for (const [name, state] of Object.entries(copy.States)) {
      const owned = state.Type === 'Wait' || (state.Resource ?? '').endsWith('.waitForTaskToken');
      if (state.Type === 'Wait') copy.States[name] = waitAsTask(state);
      if (owned) {
        // Timed here on the journey clock; the executor times every Task too (60 s unless told), in real time, so
        // its timer is set past the re-arm, which retries the task (same wait, same token) every REARM_MS real.
        const task = copy.States[name]!;
        task.TimeoutSeconds = NODE_TIMER_MAX_SECONDS;
        task.Retry = [{ ErrorEquals: [REARM_ERROR], IntervalSeconds: 1, MaxAttempts: 99_999_999, BackoffRate: 1 }, ...(task.Retry ?? [])];
      } else if (typeof state.TimeoutSeconds === 'number' && state.TimeoutSeconds > NODE_TIMER_MAX_SECONDS) state.TimeoutSeconds = NODE_TIMER_MAX_SECONDS;
    }
    // A resume's copy is the registered definition (validated then) with StartAt moved: the validator would call the states before it unreachable.
    return resume ? new StateMachine(copy as never, { validationOptions: { noValidate: true } }) : validatedMachine(copy);
  }

  async start(journeyId: string, name: string, input: ExecutionInput): Promise<'started' | 'exists'> {
    if (this.executions.has(name)) return 'exists';
    const entry = (typeof input.journeyVersion === 'number' ? this.#machines.get(versionKey(journeyId, input.journeyVersion)) : undefined) ?? this.#machines.get(journeyId);
    if (!entry) throw new Error(`no state machine for journey "${journeyId}"`);
    const execution: LocalExecution = { journeyId, name, input, status: 'RUNNING', startedAt: this.options.now(), states: [] };
    this.executions.set(name, execution);
    this.#journal?.create({ name, journeyId, definition: entry.hash ?? '', status: 'RUNNING', startedAt: execution.startedAt.toISOString(), states: [], input: input as unknown as Json });
    this.#run(execution, entry.definition, entry.machine, input as unknown as Json);
    return 'started';
  }

  /**
   * Resume the executions saved in the data folder (call once, after every journey is registered):
   * running ones go on from the state they were in; ended ones whose end was not yet reported
   * (the engine died in between) are reported now. Returns how many were resumed.
   */
  resume(): number {
    if (!this.#journal) return 0;
    // History of ended executions is kept 90 days, as in Step Functions; the journal starts compact.
    this.#journal.prune(new Date(this.options.now().getTime() - HISTORY_DAYS * 86_400_000).toISOString());
    this.#journal.compact();
    let resumed = 0;
    for (const saved of [...this.#journal.records.values()]) {
      if (this.executions.has(saved.name)) continue;
      // An ended execution keeps no input (it would name the customer): ids only, for the API.
      const input = (saved.input as ExecutionInput | undefined) ?? { journeyId: saved.journeyId, journeyVersion: 0, customerId: '', trigger: { messageId: '', event: '', properties: {} } };
      const execution: LocalExecution = {
        journeyId: saved.journeyId,
        name: saved.name,
        input,
        status: saved.status,
        startedAt: new Date(saved.startedAt),
        ...(saved.stoppedAt !== undefined && { stoppedAt: new Date(saved.stoppedAt) }),
        ...(saved.error !== undefined && { error: saved.error }),
        states: [...saved.states],
      };
      this.executions.set(saved.name, execution);
      if (saved.status !== 'RUNNING') {
        if (!saved.reported) this.#track(this.#report(execution, saved.end));
        continue;
      }
      const definition = (this.#journal.definition(saved.definition) as AslDefinition | undefined) ?? this.#machines.get(saved.journeyId)?.definition;
      if (!definition || (saved.at && !definition.States[saved.at.state])) {
        execution.status = 'FAILED';
        execution.error = `States.Runtime: the definition execution ${saved.name} ran (${saved.definition}) is not in the data folder`;
        execution.stoppedAt = this.options.now();
        this.#journal.update(saved.name, { status: 'FAILED', error: execution.error, stoppedAt: execution.stoppedAt.toISOString() });
        this.#track(this.#report(execution, undefined));
        continue;
      }
      if (saved.token && saved.token.result === undefined) this.#pendingTokens.set(saved.token.token, saved.name);
      const machine = saved.at ? this.#machine(definition, { state: saved.at.state, retried: saved.retried ?? [] }) : this.#machine(definition);
      this.#run(execution, definition, machine, saved.at?.input ?? (input as unknown as Json), saved.at?.state);
      resumed++;
    }
    return resumed;
  }

  /**
   * Stop work for an engine stop: with a data folder, running executions are suspended (they resume
   * at the next start) and the journal is compacted; in memory they are stopped ('engine stopped').
   */
  async close(): Promise<void> {
    for (const execution of this.executions.values()) {
      if (execution.status !== 'RUNNING') continue;
      if (this.#journal) {
        this.#suspended.add(execution.name);
        this.#aborts.get(execution.name)?.();
      } else await this.stop(execution.journeyId, execution.name, 'engine stopped');
    }
    await this.idle();
    this.#journal?.compact();
  }

  /** Rewrite the journal compact (erasure: ended executions keep no input naming their customer). */
  compact(): void {
    this.#journal?.compact();
  }

  /** Run an execution from `stateName` (a resume; the start otherwise) with the state's raw input. */
  #run(execution: LocalExecution, definition: AslDefinition, machine: StateMachine, runInput: Json, resumedAt?: string): void {
    const name = execution.name;
    const journal = this.#journal;
    const stopped = () => execution.status !== 'RUNNING' || this.#suspended.has(name);
    const save = (patch: Parameters<ExecutionJournal['update']>[1]) => {
      if (journal && !stopped()) journal.update(name, patch);
    };
    // The saved record of the state the execution resumes in, for that state's first run only.
    let resuming = resumedAt;
    const savedFor = (stateName: string) => {
      if (stateName !== resuming) return undefined;
      resuming = undefined;
      return journal?.records.get(name);
    };
    // Consecutive failed attempts of each Task, for its Retry backoff on the journey clock.
    const failures = new Map<string, number>();
    const saved = resumedAt ? journal?.records.get(name) : undefined;
    if (resumedAt && saved?.failures) failures.set(resumedAt, saved.failures);
    // Retries each retrier of the current state spent before a resume (the executor counts from 0 again).
    let retriedBefore = saved?.retried ?? [];
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
    // Ending it also fails the sleeping handler, so the executor's own task timer is cleared and keeps no process alive.
    let sleeping: { cancel(): void; abandon(): void } | undefined;
    const sleepUntil = (due: number) =>
      waitFor(
        new Promise<void>((resolve, reject) => {
          const timer = this.#timer(due, resolve);
          sleeping = {
            cancel: () => timer.cancel(),
            abandon: () => {
              timer.cancel();
              reject(Object.assign(new Error(`execution ${name} ended while waiting`), { name: 'States.Aborted' }));
            },
          };
        }),
      );
    // What a Wait or callback task waits for, kept across its re-arms (see REARM_ERROR).
    const pending = new Map<string, Promise<Json>>();
    const rearming = new Set<string>();
    const rearmed = (stateName: string, work: () => Promise<Json>): Promise<Json> => {
      let waiting = pending.get(stateName);
      if (!waiting) {
        waiting = work();
        pending.set(stateName, waiting);
      }
      return new Promise<Json>((resolve, reject) => {
        const timer = setTimeout(() => {
          rearming.add(stateName);
          reject(Object.assign(new Error(`${stateName} waits on past ${REARM_MS / 86_400_000} real days: re-armed`), { name: REARM_ERROR }));
        }, REARM_MS);
        const settle = () => {
          clearTimeout(timer);
          pending.delete(stateName);
        };
        waiting.then(
          (value) => {
            settle();
            resolve(value);
          },
          (error: unknown) => {
            settle();
            reject(error as Error);
          },
        );
      });
    };
    // A handler runs once the executor's StateEntered for it is journaled (the event log is read a microtask later).
    const entered = journal ? () => new Promise<void>((resolve) => setImmediate(resolve)) : async () => undefined;
    const alive = () => {
      if (stopped()) throw Object.assign(new Error(`execution ${name} has ended`), { name: 'States.Aborted' });
    };
    for (const [stateName, state] of Object.entries(definition.States)) {
      if (state.Type === 'Wait') {
        handlers[stateName] = async (stateInput) => {
          await entered();
          alive();
          return rearmed(stateName, async () => {
            const due = savedFor(stateName)?.wait?.due ?? waitDue(stateName, state, stateInput, this.options.now().getTime());
            save({ wait: { due } });
            await sleepUntil(due);
            return stateInput;
          });
        };
        continue;
      }
      if (state.Type !== 'Task') continue;
      const waitsForToken = (state.Resource ?? '').endsWith('.waitForTaskToken');
      handlers[stateName] = async (taskInput) => {
        await entered();
        alive();
        const resumedHere = savedFor(stateName);
        const failed = rearming.delete(stateName) || pending.has(stateName) ? 0 : (failures.get(stateName) ?? 0);
        const retrier = state.Retry?.[0];
        // The Retry backoff before this attempt: the one a crash cut short, or on virtual time (the executor's own interval is 0 then).
        if (resumedHere?.wait?.backoff) await sleepUntil(resumedHere.wait.due);
        else if (virtual && failed > 0 && retrier) {
          const due = virtual.now().getTime() + backoffMs(retrier, failed, `${name}/${stateName}/${failed}`);
          save({ wait: { due, backoff: true } });
          await sleepUntil(due);
        }
        alive();
        try {
          const payload = { ...((taskInput as { Payload?: Record<string, Json> }).Payload ?? {}) };
          const output = waitsForToken
            ? await rearmed(stateName, () => this.#awaitToken(execution, payload, state.TimeoutSeconds, waitFor, resumedHere?.token))
            : { Payload: await this.#invoke(payload) };
          failures.delete(stateName);
          return output;
        } catch (error) {
          if ((error as Error).name === REARM_ERROR) throw error;
          failures.set(stateName, (failures.get(stateName) ?? 0) + 1);
          save({ failures: failures.get(stateName) });
          throw error;
        }
      };
    }
    const scale = this.options.timeScale;
    // Retry backoff (IntervalSeconds x BackoffRate^n, capped, FULL jitter) on the journey clock, as Wait states are.
    const retryMs = new Proxy({} as Record<string, number>, {
      get: (_target, stateName) => {
        if (typeof stateName !== 'string') return undefined;
        if (rearming.has(stateName)) return 0;
        const retrier = definition.States[stateName]?.Retry?.[0];
        if (!retrier) return undefined;
        if (virtual) return 0;
        const n = Math.max(0, (failures.get(stateName) ?? 1) - 1);
        const seconds = Math.min((retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** n, retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
        const ms = (retrier.JitterStrategy === 'FULL' ? Math.random() : 1) * seconds * 1000;
        save({ wait: { due: this.options.now().getTime() + ms, backoff: true } });
        return ms / scale;
      },
    });

    const run = machine.run(runInput, {
      overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: retryMs },
      context: { Execution: { Id: `local:${name}`, Name: name, StartTime: execution.startedAt.toISOString(), Input: execution.input as unknown as Json }, Task: { Token: 'set-per-task' } } as never,
      noThrowOnAbort: true,
    });
    this.#aborts.set(name, run.abort);
    let reentering = resumedAt !== undefined;
    void (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === 'StateEntered') {
          // A resume enters its saved state again: it was journaled (and counted) before the crash.
          if (reentering) {
            reentering = false;
            continue;
          }
          execution.states.push(event.state.name);
          retriedBefore = [];
          save({ enter: event.state.name, at: { state: event.state.name, input: event.state.input }, failures: undefined, retried: undefined, wait: undefined, token: undefined });
        } else if (event.type === 'StateRetried' && journal) {
          const retriers = definition.States[event.state.name]?.Retry ?? [];
          const i = retriers.findIndex((r) => JSON.stringify((r as { ErrorEquals?: unknown }).ErrorEquals) === JSON.stringify((event.retry.retrier as { ErrorEquals?: unknown }).ErrorEquals));
          const retried = [...(journal.records.get(name)?.retried ?? [])];
          if (i >= 0) retried[i] = (retriedBefore[i] ?? 0) + event.retry.attempt;
          save({ retried });
        }
      }
    })().catch(() => undefined);
    const done = run.result
      .then((output) => {
        if (this.#suspended.has(name)) return;
        if (execution.status === 'RUNNING') {
          execution.status = output === null ? 'ABORTED' : 'SUCCEEDED';
          execution.output = output;
        }
      })
      .catch((error: unknown) => {
        if (this.#suspended.has(name)) return;
        execution.status = 'FAILED';
        execution.error = `${(error as Error).name}: ${(error as Error).message}`;
      })
      .then(async () => {
        this.#aborts.delete(name);
        // A stopped execution's callback tasks end too: their timers (ours on the journey clock, the
        // executor's own in real milliseconds) would otherwise keep the process alive for days.
        for (const [token, t] of this.#tokens) {
          if (t.execution !== name) continue;
          this.#tokens.delete(token);
          t.abandon();
        }
        if (this.#suspended.has(name)) return;
        execution.stoppedAt = this.options.now();
        const end = (execution.output as { end?: Json } | null | undefined)?.end;
        journal?.update(name, {
          status: execution.status,
          stoppedAt: execution.stoppedAt.toISOString(),
          ...(execution.error !== undefined && { error: execution.error }),
          ...(end !== undefined && { end }),
          at: undefined,
          wait: undefined,
          token: undefined,
          failures: undefined,
          retried: undefined,
        });
        // A report that failed (the run-ended function failing past its retries) stays unreported: it is
        // reported again at the next start, and the reconciling sweep ends the run meanwhile.
        await this.#report(execution, end).catch(() => undefined);
      })
      .finally(() => {
        this.#running.delete(done);
        ended = true;
        sleeping?.abandon();
        release();
      });
    this.#running.add(done);
  }

  /** The run-ended bookkeeping (onEnd), then the end marked reported: an end the engine died before reporting is reported at the next start. */
  async #report(execution: LocalExecution, end: Json | undefined): Promise<void> {
    if (execution.output === undefined && end !== undefined) execution.output = { end };
    await this.options.onEnd?.(execution);
    this.#journal?.update(execution.name, { reported: true });
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.#running.delete(tracked));
    this.#running.add(tracked);
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

  /**
   * As DescribeExecution: the status of an execution, a succeeded one's output and an ended one's stop time; undefined for one never
   * started, or ended over 90 days ago (the journal keeps that much history, as Step Functions does).
   */
  async describe(_journeyId: string, name: string): Promise<ExecutionState | undefined> {
    const execution = this.executions.get(name);
    if (!execution) return undefined;
    // Suspended by close(): it resumes at the next start, so it is still running.
    const status = this.#suspended.has(name) ? 'RUNNING' : execution.status;
    return {
      status,
      ...(status === 'SUCCEEDED' && execution.output !== undefined && { output: execution.output }),
      ...(status !== 'RUNNING' && execution.stoppedAt !== undefined && { stoppedAt: execution.stoppedAt }),
    };
  }

  /** Resume a callback task. Its output is journaled first: a crash right after still resumes the run with it. */
  async sendTaskSuccess(token: string, output: Record<string, unknown>): Promise<boolean> {
    const waiting = this.#tokens.get(token);
    const name = waiting?.execution ?? this.#pendingTokens.get(token);
    if (name === undefined) return false;
    const saved = this.#journal?.records.get(name)?.token;
    if (saved?.token === token) this.#journal?.update(name, { token: { ...saved, result: output as Json } });
    if (!waiting) {
      // A resumed execution whose task has not run yet: it finds the output in the journal.
      this.#pendingTokens.delete(token);
      return saved?.token === token;
    }
    this.#tokens.delete(token);
    waiting.resolve(output as Json);
    return true;
  }

  /** The execution a task token was given to (waiting or resumed), as Step Functions reads it from the token. */
  executionOfToken(token: string): { journeyId: string; executionName: string } | undefined {
    const name = this.#tokens.get(token)?.execution ?? this.#pendingTokens.get(token);
    const execution = name === undefined ? undefined : this.executions.get(name);
    return execution && { journeyId: execution.journeyId, executionName: execution.name };
  }

  /**
   * Invoke the step Lambda, tracked: an execution stopped mid-step ends at once, but its
   * invocation runs on, and `idle()` (so the engine's stop) must wait for it.
   */
  #invoke(payload: Record<string, Json>): Promise<Json> {
    const invocation = this.options.invokeStep(payload);
    this.#track(invocation);
    return invocation;
  }

  /** Resolves when no execution is running (waits included) and no step invocation is in flight: for tests and the simulator. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  /**
   * A callback task: a token (the saved one on a resume), the step invoked with it (unless it was
   * before the crash), then its output from `sendTaskSuccess` or States.Timeout at the deadline
   * (TimeoutSeconds after the task began, on the journey clock; kept across a resume).
   */
  #awaitToken(
    execution: LocalExecution,
    payload: Record<string, Json>,
    timeoutSeconds: number | undefined,
    waitFor: <T>(p: Promise<T>) => Promise<T>,
    saved: SavedExecution['token'] | undefined,
  ): Promise<Json> {
    const token = saved?.token ?? `${execution.name}:${randomUUID()}`;
    this.#pendingTokens.delete(token);
    const result = saved?.token === token ? this.#journal?.records.get(execution.name)?.token?.result : undefined;
    if (result !== undefined) return Promise.resolve(result);
    const deadline = saved ? saved.deadline : timeoutSeconds === undefined ? undefined : this.options.now().getTime() + timeoutSeconds * 1000;
    const record = { token, ...(deadline !== undefined && { deadline }), ...(saved?.invoked && { invoked: true }) };
    if (!saved) this.#journal?.update(execution.name, { token: record });
    const waiting = new Promise<Json>((resolve, reject) => {
      const expire = () => {
        if (!this.#tokens.delete(token)) return;
        reject(Object.assign(new Error(`no event within ${timeoutSeconds} s`), { name: 'States.Timeout' }));
      };
      const timer = deadline === undefined ? undefined : this.#timer(deadline, expire);
      this.#tokens.set(token, {
        execution: execution.name,
        resolve: (output) => {
          timer?.cancel();
          resolve(output);
        },
        abandon: () => {
          timer?.cancel();
          reject(Object.assign(new Error(`execution ${execution.name} ended while waiting for its task token`), { name: 'States.Aborted' }));
        },
      });
      // The step registers the wait (in AWS too, a callback task's Lambda runs once): not again after a resume.
      if (record.invoked) return;
      // The step's own work holds virtual time (the execution let go of it to wait for the token): a wait that
      // resumes itself at once (an event handled before it) must not find its timeout fired meanwhile.
      const invoking = this.#invoke({ ...payload, taskToken: token });
      void this.options.virtual?.track(invoking).catch(() => undefined);
      invoking
        .then(() => {
          const current = this.#journal?.records.get(execution.name)?.token;
          if (current?.token === token && execution.status === 'RUNNING') this.#journal?.update(execution.name, { token: { ...current, invoked: true } });
        })
        .catch((error: unknown) => {
          timer?.cancel();
          this.#tokens.delete(token);
          reject(error as Error);
        });
    });
    return waitFor(waiting);
  }

  /** A timer on the journey clock: virtual, or real time divided by the scale (chained past Node's limit). */
  #timer(due: number, fire: () => void): { cancel(): void } {
    const virtual = this.options.virtual;
    if (virtual) return virtual.schedule(due, fire);
    // Wake a little after the instant, never before it: Node timers and a scaled clock are
    // coarse (1 ms real = `scale` ms simulated), and waking early would find e.g. quiet
    // hours not yet over and defer the send a second time.
    const left = due - this.options.now().getTime();
    const timer = longTimeout(fire, left <= 0 ? 0 : Math.ceil(left / this.options.timeScale) + 2);
    return { cancel: () => timer.clear() };
  }
}

/** A Wait state as the Task the executor runs in its place (same transitions and paths). */
/** How the executor's copy of a definition is validated (its Resources are local, its paths rewritten). */
const VALIDATION = { checkArn: false, checkPaths: false } as const;
/** Keys (see `validationKey`) of definitions the validator accepted in this process. */
const accepted = new Set<string>();

/**
 * The executor's machine for a copy of a registered definition, validated as aws-local-stepfunctions validates
 * (asl-validator, which compiles its JSON schemas afresh on each call: ~150 ms of CPU a definition, most of an
 * engine's start). A definition is validated once: one the validator accepted is remembered by the SHA-256 of
 * its JSON and the validator's version, in this process and in `node_modules/.cache/rapport-asl-valid/` for the
 * next ones (every test file starts engines on the same journeys); an invalid one is never remembered and fails
 * every time, as before.
 */
function validatedMachine(copy: AslDefinition): StateMachine {
  const key = validationKey(copy);
  if (accepted.has(key) || (VALID_CACHE !== undefined && existsSync(join(VALID_CACHE, key)))) {
    accepted.add(key);
    return new StateMachine(copy as never, { validationOptions: { noValidate: true } });
  }
  const machine = new StateMachine(copy as never, { validationOptions: VALIDATION }); // throws if invalid
  accepted.add(key);
  if (VALID_CACHE !== undefined) {
    try {
      mkdirSync(VALID_CACHE, { recursive: true });
      writeFileSync(join(VALID_CACHE, key), '');
    } catch {
      // A read-only install: the next process validates again.
    }
  }
  return machine;
}

function validationKey(copy: AslDefinition): string {
  return createHash('sha256').update(`${VALIDATOR_VERSION}\n${JSON.stringify(VALIDATION)}\n${JSON.stringify(copy)}`).digest('hex');
}

/** The versions of aws-local-stepfunctions and the asl-validator it calls, as installed. */
const VALIDATOR_VERSION = (() => {
  const executor = createRequire(import.meta.url).resolve('aws-local-stepfunctions');
  const validator = createRequire(executor).resolve('asl-validator');
  return `aws-local-stepfunctions@${packageOf(executor).version} asl-validator@${packageOf(validator).version}`;
})();

/** The package.json of the package a resolved file belongs to. */
function packageOf(file: string): { name: string; version: string } {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
    if (parsed.name && parsed.version) return { name: parsed.name, version: parsed.version };
  }
  throw new Error(`no package.json above ${file}`);
}

/** node_modules/.cache/rapport-asl-valid of the node_modules aws-local-stepfunctions is installed in, if any. */
const VALID_CACHE = (() => {
  const executor = createRequire(import.meta.url).resolve('aws-local-stepfunctions');
  const at = executor.lastIndexOf(`${sep}node_modules${sep}`);
  return at === -1 ? undefined : join(executor.slice(0, at), 'node_modules', '.cache', 'rapport-asl-valid');
})();

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

/** A journey version's registration, beside the journey's latest (`journeyId`): journey ids have no newline. */
const versionKey = (journeyId: string, version: number) => `${journeyId}\nv${version}`;
