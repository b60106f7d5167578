import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * What the embedded Step Functions keeps of one execution, enough to resume it after a crash:
 * the state it entered last with that state's raw input, the pending Wait or retry backoff's due
 * time, the callback token (and its deadline, and the output it got if it got one), and the retries
 * spent on the current state. An execution that ended keeps its status, times and states (for the API),
 * and no input: nothing in it names the customer once its end has been reported.
 */
export interface SavedExecution {
  name: string;
  journeyId: string;
  /** Hash of the definition it runs (a file under `definitions/`): a run finishes on the definition it started with. */
  definition: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  startedAt: string;
  stoppedAt?: string;
  error?: string;
  /** States entered, in order. */
  states: string[];
  /** The execution's input (ids only): kept while it runs and until its end has been reported. */
  input?: Json;
  /** The state entered last and its raw input (before InputPath/Parameters): where a resume starts. */
  at?: { state: string; input: Json };
  /** Consecutive failed attempts of the current state, and the retries each of its retriers has spent. */
  failures?: number;
  retried?: number[];
  /** Due time (ms since the epoch, journey clock) of the Wait or retry backoff the current state sleeps in. */
  wait?: { due: number; backoff?: boolean };
  /** The current state's callback token: its deadline (journey clock), whether the step was invoked with it, and the output it got. */
  token?: { token: string; deadline?: number; invoked?: boolean; result?: Json };
  /** The end, for the run-ended bookkeeping: kept until it has run (`reported`). */
  end?: Json;
  reported?: boolean;
}

type Patch = Partial<Omit<SavedExecution, 'name'>> & { enter?: string };

/**
 * The executions of the embedded Step Functions in a folder (`<data>/executions`): `journal.ndjson`, an
 * append-only journal of changes (one line per state entered, token, wait or end), folded into one
 * record per execution when read and rewritten compact at start and stop; definitions are kept by
 * content hash under `definitions/`. Appends are plain writes (no fsync): they survive the process
 * being killed, not the machine losing power.
 */
export class ExecutionJournal {
  readonly #file: string;
  readonly #definitions: string;
  #fd: number | undefined;
  readonly #records = new Map<string, SavedExecution>();

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.#definitions = join(dataDir, 'definitions');
    mkdirSync(this.#definitions, { recursive: true });
    this.#file = join(dataDir, 'journal.ndjson');
    if (existsSync(this.#file)) {
      for (const line of readFileSync(this.#file, 'utf8').split('\n')) {
        if (!line) continue;
        let parsed: Patch & { name: string };
        try {
          parsed = JSON.parse(line) as Patch & { name: string };
        } catch {
          continue; // the last line of a process killed mid-write
        }
        this.#fold(parsed.name, parsed);
      }
    }
  }

  /** Every execution saved, folded to its latest state. */
  get records(): ReadonlyMap<string, SavedExecution> {
    return this.#records;
  }

  /** Keep a definition (by content hash) so a run can resume on it after the journey changed; returns the hash. */
  saveDefinition(definition: unknown): string {
    const text = JSON.stringify(definition);
    const hash = createHash('sha256').update(text).digest('hex').slice(0, 32);
    const file = join(this.#definitions, `${hash}.json`);
    if (!existsSync(file)) writeAtomically(file, text);
    return hash;
  }

  definition(hash: string): unknown {
    const file = join(this.#definitions, `${hash}.json`);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown) : undefined;
  }

  /** A new execution (its whole record). */
  create(record: SavedExecution): void {
    this.#records.delete(record.name);
    this.update(record.name, { ...record, states: [...record.states] });
  }

  /** Change an execution: `enter` appends a state; an `undefined` field is removed. */
  update(name: string, patch: Patch): void {
    this.#fold(name, patch);
    // A field set to undefined is removed: written as null, which the fold reads as "remove".
    this.#append(JSON.stringify({ name, ...Object.fromEntries(Object.entries(patch).map(([k, v]) => [k, v === undefined ? null : (v as unknown)])) }));
  }

  /** Forget executions that ended (and were reported) before `before` (ISO time): Step Functions keeps history 90 days. */
  prune(before: string): void {
    for (const [name, r] of this.#records) if (r.status !== 'RUNNING' && r.reported && r.stoppedAt !== undefined && r.stoppedAt < before) this.#records.delete(name);
  }

  /** Rewrite the journal with one line per execution (ended ones without their input once reported). */
  compact(): void {
    this.close();
    const lines = [...this.#records.values()].map((r) => `${JSON.stringify(r)}\n`).join('');
    writeAtomically(this.#file, lines);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #append(line: string): void {
    this.#fd ??= openSync(this.#file, 'a');
    writeSync(this.#fd, `${line}\n`);
  }

  #fold(name: string, patch: Patch & { name?: string }): void {
    const record = this.#records.get(name) ?? ({ name, states: [] } as unknown as SavedExecution);
    for (const [key, value] of Object.entries(patch)) {
      if (key === 'name') continue;
      if (key === 'enter') record.states.push(value as string);
      else if (value === null || value === undefined) delete (record as unknown as Record<string, unknown>)[key];
      else (record as unknown as Record<string, unknown>)[key] = value;
    }
    if (record.status !== 'RUNNING' && record.reported) {
      delete record.input;
      delete record.at;
      delete record.token;
      delete record.wait;
      delete record.end;
    }
    this.#records.set(name, record);
  }
}

function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
