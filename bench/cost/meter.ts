/**
 * The cost meter: counts, on a running embedded engine and without touching its
 * code, every AWS call the engine makes and the units AWS would bill for it.
 *
 * - API Gateway: the HTTP requests the driver sends (`meter.api`), and their size.
 * - Lambda: each function is timed around its handler. Bus rule targets (profile
 *   consumer, journey starter), the Step Functions step invoker and the run-ended
 *   callback are wrapped in place; the ingest function is the driver's HTTP call.
 *   Each function runs one invocation at a time ("lane"), so a measured wall time
 *   is one invocation's own, not the sum of everything sharing the event loop.
 * - DynamoDB: a middleware on the engine's client asks for ReturnConsumedCapacity
 *   (dynalite computes it as AWS does: 1 WRU per KB of the larger of the old and
 *   new item, 1 RRU per 4 KB strongly consistent, half that eventually
 *   consistent, Query sums item sizes) and adds what dynalite leaves out: GSI
 *   writes (KEYS_ONLY index items, 1 WRU each; 2 when an index key changes),
 *   failed conditional writes (AWS still bills them), the 0.5/1 RRU minimum of a
 *   Query that finds nothing.
 * - EventBridge: `bus.putEvents` is wrapped: calls, entries, 64 KB chunks.
 * - Step Functions: states entered per execution (`.states`); Task states are
 *   the step Lambda invocations.
 * - SES/SMS/webhooks: the outbox channels are wrapped.
 * Work is attributed to the Lambda function it ran in with AsyncLocalStorage.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import dc from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { HttpRequest } from '@smithy/types';
import { performance } from 'node:perf_hooks';
import { IDEMPOTENCY_TABLE, PROFILE_TABLE, type Engine } from '../../infra/embedded/engine';
import type { BusEvent } from '../../infra/embedded/event-bus';
import { IN_PROCESS_CHANNELS } from '../../infra/embedded/in-process';
import type { LocalExecution } from '../../infra/embedded/step-functions';
import { INGEST_EVENT_SOURCE, PROFILE_TABLE_LAYOUT as L, type BusEntry } from '../../shared';

export const FUNCTIONS = ['ingest', 'profile', 'starter', 'steps', 'runEnded', 'sweep', 'other'] as const;
export type Fn = (typeof FUNCTIONS)[number];

export interface FnUsage {
  invocations: number;
  /** Measured wall time minus the time spent waiting for the engine's local AWS stand-ins, each invocation rounded up to 1 ms as Lambda bills. */
  ms: number;
  /** Time spent waiting for the local stand-ins of AWS (dynalite, the bus API, the executor, the outbox), overlapping calls counted once: replaced by `AWS_CALL_MS` allowances. */
  localIoMs: number;
  /** The same, each call counted in full: `localIoMs / ioSumMs` is how much the calls overlapped (applied to the allowances). */
  ioSumMs: number;
  /** Bytes the function logged (Powertools JSON lines at the deployed level, INFO). */
  logBytes: number;
  dynamoCalls: number;
  putEventsCalls: number;
  sfnCalls: number;
  emails: number;
  webhooks: number;
}
export interface DynamoRow {
  calls: number;
  rru: number;
  wru: number;
  gsiWru: number;
  /** Conditional writes refused (still billed). */
  failed: number;
}
export interface Usage {
  api: { requests: number; billed: number; bytes: number };
  bus: { calls: number; entries: number; chunks: number; bytes: number; byFn: Record<Fn, { calls: number; entries: number; chunks: number }>; byType: Map<string, number> };
  fns: Record<Fn, FnUsage>;
  /** Key: `fn \t operation \t item kind`. */
  dynamo: Map<string, DynamoRow>;
  sfn: { executions: number; transitions: number; tasks: number; byJourney: Map<string, { executions: number; transitions: number; tasks: number }> };
  out: { email: number; sms: number; webhook: number };
}

const emptyFns = () => Object.fromEntries(FUNCTIONS.map((f) => [f, { invocations: 0, ms: 0, localIoMs: 0, ioSumMs: 0, logBytes: 0, dynamoCalls: 0, putEventsCalls: 0, sfnCalls: 0, emails: 0, webhooks: 0 }])) as Record<Fn, FnUsage>;
export function emptyUsage(): Usage {
  return {
    api: { requests: 0, billed: 0, bytes: 0 },
    bus: { calls: 0, entries: 0, chunks: 0, bytes: 0, byFn: Object.fromEntries(FUNCTIONS.map((f) => [f, { calls: 0, entries: 0, chunks: 0 }])) as Usage['bus']['byFn'], byType: new Map() },
    fns: emptyFns(),
    dynamo: new Map(),
    sfn: { executions: 0, transitions: 0, tasks: 0, byJourney: new Map() },
    out: { email: 0, sms: 0, webhook: 0 },
  };
}

/** Add `b` into `a` (for totals over several samples). */
export function addUsage(a: Usage, b: Usage): Usage {
  a.api.requests += b.api.requests;
  a.api.billed += b.api.billed;
  a.api.bytes += b.api.bytes;
  for (const k of ['calls', 'entries', 'chunks', 'bytes'] as const) a.bus[k] += b.bus[k];
  for (const f of FUNCTIONS) {
    for (const k of ['calls', 'entries', 'chunks'] as const) a.bus.byFn[f][k] += b.bus.byFn[f][k];
    for (const k of Object.keys(a.fns[f]) as Array<keyof FnUsage>) a.fns[f][k] += b.fns[f][k];
  }
  for (const [t, n] of b.bus.byType) a.bus.byType.set(t, (a.bus.byType.get(t) ?? 0) + n);
  for (const [key, row] of b.dynamo) {
    const r = a.dynamo.get(key) ?? { calls: 0, rru: 0, wru: 0, gsiWru: 0, failed: 0 };
    for (const k of Object.keys(r) as Array<keyof DynamoRow>) r[k] += row[k];
    a.dynamo.set(key, r);
  }
  for (const k of ['executions', 'transitions', 'tasks'] as const) a.sfn[k] += b.sfn[k];
  for (const [j, s] of b.sfn.byJourney) {
    const r = a.sfn.byJourney.get(j) ?? { executions: 0, transitions: 0, tasks: 0 };
    r.executions += s.executions;
    r.transitions += s.transitions;
    r.tasks += s.tasks;
    a.sfn.byJourney.set(j, r);
  }
  for (const k of ['email', 'sms', 'webhook'] as const) a.out[k] += b.out[k];
  return a;
}

/**
 * The part of a sample made by some functions: their invocations, DynamoDB
 * calls and PutEvents entries; the API requests go with the ingest function,
 * executions and sends with the journey step function.
 */
export function restrict(u: Usage, fns: readonly Fn[]): Usage {
  const keep = new Set<Fn>(fns);
  const r = emptyUsage();
  if (keep.has('ingest')) r.api = { ...u.api };
  for (const f of keep) {
    r.fns[f] = { ...u.fns[f] };
    const b = u.bus.byFn[f];
    r.bus.byFn[f] = { ...b };
    r.bus.calls += b.calls;
    r.bus.entries += b.entries;
    r.bus.chunks += b.chunks;
  }
  // Entry bytes are not kept per function: share them by entries.
  r.bus.bytes = u.bus.entries > 0 ? (u.bus.bytes * r.bus.entries) / u.bus.entries : 0;
  for (const [key, row] of u.dynamo) if (keep.has(key.split('\t')[0] as Fn)) r.dynamo.set(key, { ...row });
  if (keep.has('steps')) {
    r.sfn = { ...u.sfn, byJourney: new Map(u.sfn.byJourney) };
    r.out = { ...u.out };
  }
  return r;
}

interface Invocation {
  fn: Fn;
  /** Waiting time, overlapping calls counted once. */
  ioMs: number;
  ioSumMs: number;
  inFlight: number;
  since: number;
}
const newInvocation = (fn: Fn): Invocation => ({ fn, ioMs: 0, ioSumMs: 0, inFlight: 0, since: 0 });

/** One function invocation at a time: wall time measured inside is that invocation's alone. */
class Lane {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(body: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(body);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

type AttributeValue = { S?: string; N?: string; B?: unknown; BOOL?: boolean; NULL?: boolean; M?: Record<string, AttributeValue>; L?: AttributeValue[]; SS?: string[]; NS?: string[]; BS?: unknown[] };
type Item = Record<string, AttributeValue>;
interface DynamoInput {
  TableName?: string;
  Key?: Item;
  Item?: Item;
  IndexName?: string;
  ConsistentRead?: boolean;
  KeyConditionExpression?: string;
  ExpressionAttributeValues?: Item;
  UpdateExpression?: string;
  RequestItems?: Record<string, unknown[]>;
}
interface Capacity {
  CapacityUnits?: number;
}

/** DynamoDB item size as AWS counts it: attribute names plus values (numbers ~1 byte per 2 digits + 1). */
export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}
function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return Math.ceil(v.N.replace(/^-|\.|e.*$/gi, '').length / 2) + 1;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.M) return 3 + Object.keys(v.M).length + itemSize(v.M);
  if (v.L) return 3 + v.L.reduce((n, x) => n + 1 + valueSize(x), 0);
  if (v.SS) return v.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (v.NS) return v.NS.reduce((n, s) => n + Math.ceil(s.length / 2) + 1, 0);
  if (v.B !== undefined) return Buffer.from(v.B as Uint8Array).length;
  return 0;
}

const ITEM_KINDS: Record<string, string> = { P: 'profile', E: 'timeline event', R: 'journey run', L: 'journey lock', M: 'message record', W: 'wait (task token)', STATS: 'journey stats', A: 'alias', X: 'tombstone' };
/** What an operation touches: the idempotency record, or the profile table's item kind from its sort key. */
function itemKind(input: DynamoInput): string {
  if (input.TableName === IDEMPOTENCY_TABLE) return 'idempotency record';
  if (input.IndexName) return `index ${input.IndexName}`;
  let sk = input.Key?.[L.sortKey]?.S ?? input.Item?.[L.sortKey]?.S;
  if (sk === undefined && input.KeyConditionExpression) {
    // The sort-key value of a Query is the one that is not the partition key (`C#...`, `J#...`).
    const values = Object.values(input.ExpressionAttributeValues ?? {}).map((v) => v.S).filter((s): s is string => s !== undefined);
    sk = values.find((s) => !/^[CJAX]#/.test(s)) ?? '';
  }
  if (sk === undefined) return input.RequestItems ? 'batch' : '?';
  const prefix = sk.split('#')[0] ?? sk;
  return ITEM_KINDS[prefix] ?? (prefix || 'partition');
}

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);
const CAPACITY_OPS = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'BatchGetItem', 'BatchWriteItem']);
const INDEXES = [L.dueIndex, L.lastOrderIndex];

export interface MeterOptions {
  /** One invocation at a time per function (honest per-invocation wall time). @default true */
  lanes?: boolean;
}

export class Meter {
  usage = emptyUsage();
  /** UpdateItem calls that set a GSI key (none expected: their index writes are not counted). */
  unmodelledIndexUpdates = 0;
  /** Lanes are on while measuring; warm-ups may run without them (faster, nothing is recorded anyway). */
  lanes: boolean;
  readonly #engine: Engine;
  readonly #als = new AsyncLocalStorage<Invocation>();
  /** Local AWS waits of the ingest function (its HTTP calls carry no async context: the driver sends one request at a time). */
  #apiInv = newInvocation('ingest');
  readonly #httpStarted = new WeakMap<ClientRequest | HttpRequest, { t0: number; inv: Invocation }>();
  readonly #lanes = new Map<Fn, Lane>();
  /** Index keys of every profile-table item written so far (to tell GSI inserts, moves and deletes apart). */
  readonly #indexKeys = new Map<string, Array<string | undefined>>();
  /** Functions that opened a PutEvents HTTP request, in order (the local bus API loses the async context). */
  readonly #busCallers: Fn[] = [];
  #seenExecutions = new Set<string>();
  #unsubscribe: () => void = () => undefined;

  constructor(engine: Engine, options: MeterOptions = {}) {
    this.#engine = engine;
    this.lanes = options.lanes ?? true;
    this.#attach();
  }

  /** Start a new sample: forget what was counted (call when nothing is in flight). */
  reset(): void {
    this.usage = emptyUsage();
    this.#seenExecutions = new Set(this.#engine.journeys.sfn.executions.keys());
    this.#busCallers.length = 0;
  }

  /** The sample so far, with Step Functions executions started since `reset` (call after they have ended). */
  collect(): Usage {
    const u = this.usage;
    const types = new Map(this.#engine.journeys.compiled.map((j) => [j.id, (j.definition as unknown as { States: Record<string, { Type: string }> }).States]));
    for (const [name, execution] of this.#engine.journeys.sfn.executions) {
      if (this.#seenExecutions.has(name)) continue;
      this.#seenExecutions.add(name);
      const states = types.get(execution.journeyId) ?? {};
      const tasks = execution.states.filter((s) => states[s]?.Type === 'Task').length;
      const j = u.sfn.byJourney.get(execution.journeyId) ?? { executions: 0, transitions: 0, tasks: 0 };
      j.executions++;
      j.transitions += execution.states.length;
      j.tasks += tasks;
      u.sfn.byJourney.set(execution.journeyId, j);
      u.sfn.executions++;
      u.sfn.transitions += execution.states.length;
      u.sfn.tasks += tasks;
    }
    return u;
  }

  /** Executions started since `reset`, for path checks. */
  executionsSinceReset(): LocalExecution[] {
    return [...this.#engine.journeys.sfn.executions.entries()].filter(([name]) => !this.#seenExecutions.has(name)).map(([, e]) => e);
  }

  /** One HTTP request to the API (API Gateway + one ingest invocation), timed by the caller's wall clock. */
  async api<T>(bodyBytes: number, call: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    this.#apiInv = newInvocation('ingest');
    try {
      return await call();
    } finally {
      const u = this.usage;
      u.api.requests++;
      u.api.billed += Math.max(1, Math.ceil(bodyBytes / 524_288));
      u.api.bytes += bodyBytes;
      u.fns.ingest.invocations++;
      u.fns.ingest.ms += Math.ceil(Math.max(0, performance.now() - t0 - this.#apiInv.ioMs));
      u.fns.ingest.localIoMs += this.#apiInv.ioMs;
      u.fns.ingest.ioSumMs += this.#apiInv.ioSumMs;
    }
  }

  /** A log line written now: counted for the function whose invocation wrote it (none: the ingest function's). */
  log(bytes: number): void {
    this.usage.fns[this.#fn() ?? 'ingest'].logBytes += bytes;
  }

  /** Run `body` as one invocation of `fn`. */
  invoke<T>(fn: Fn, body: () => Promise<T>): Promise<T> {
    const timed = async () => {
      const t0 = performance.now();
      const inv = newInvocation(fn);
      try {
        return await this.#als.run(inv, body);
      } finally {
        const u = this.usage.fns[fn];
        u.invocations++;
        u.ms += Math.ceil(Math.max(0, performance.now() - t0 - inv.ioMs));
        u.localIoMs += inv.ioMs;
        u.ioSumMs += inv.ioSumMs;
      }
    };
    if (!this.lanes) return timed();
    let lane = this.#lanes.get(fn);
    if (!lane) this.#lanes.set(fn, (lane = new Lane()));
    return lane.run(timed);
  }

  detach(): void {
    this.#unsubscribe();
  }

  #fn(): Fn | undefined {
    return this.#als.getStore()?.fn;
  }

  /** Time an in-process stand-in of an AWS call, as waiting time of the invocation making it. */
  async #timed<T>(call: () => Promise<T>): Promise<T> {
    const inv = this.#ioStart();
    const t0 = performance.now();
    try {
      return await call();
    } finally {
      this.#ioEnd(inv, t0);
    }
  }

  /** A wait begins in the current invocation (none: the ingest function's). */
  #ioStart(): Invocation {
    const inv = this.#als.getStore() ?? this.#apiInv;
    if (inv.inFlight++ === 0) inv.since = performance.now();
    return inv;
  }

  #ioEnd(inv: Invocation, t0: number): void {
    const now = performance.now();
    inv.ioSumMs += now - t0;
    if (--inv.inFlight === 0) inv.ioMs += now - inv.since;
  }

  #attach(): void {
    const engine = this.#engine;

    // Lambda targets of the bus rules: profile consumer, journey starter (one invocation per matching event and rule).
    for (const rule of engine.bus.rules) {
      const fn: Fn = rule.name === 'profile-consumer' ? 'profile' : rule.name.startsWith('journey-') ? 'starter' : 'other';
      const target = rule.target;
      rule.target = (event: BusEvent, delivery) => this.invoke(fn, async () => target(event, delivery));
    }

    // Step Lambda (each Task state) and run-ended Lambda (each execution end): the executor's callbacks.
    const options = (engine.journeys.sfn as unknown as { options: { invokeStep: (p: Record<string, unknown>) => Promise<unknown>; onEnd?: (e: LocalExecution) => void | Promise<void> } }).options;
    const invokeStep = options.invokeStep;
    options.invokeStep = (payload) => this.invoke('steps', () => invokeStep(payload)) as never;
    const onEnd = options.onEnd;
    if (onEnd) options.onEnd = (execution) => this.invoke('runEnded', async () => onEnd(execution));

    // Step Functions API calls (free for Standard workflows; they only cost the caller's time).
    const sfn = engine.journeys.sfn;
    for (const method of ['start', 'stop', 'sendTaskSuccess'] as const) {
      const original = sfn[method].bind(sfn) as (...args: unknown[]) => Promise<unknown>;
      (sfn as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        this.usage.fns[this.#fn() ?? 'other'].sfnCalls++;
        return this.#timed(() => original(...args));
      };
    }

    // Channels: SES email, SMS, outbound webhooks.
    const outbox = engine.outbox;
    for (const channel of ['email', 'sms', 'webhook'] as const) {
      const original = outbox[channel].bind(outbox) as (m: unknown) => Promise<unknown>;
      (outbox as unknown as Record<string, unknown>)[channel] = (message: unknown) => {
        const u = this.usage.fns[this.#fn() ?? 'other'];
        if (channel === 'email') u.emails++;
        if (channel === 'webhook') u.webhooks++;
        this.usage.out[channel]++;
        return this.#timed(() => original(message));
      };
    }

    // PutEvents: who opened the request (the ingest function runs in the HTTP server's context, so it has none).
    // Every HTTP call to a local AWS stand-in (dynalite, the bus API) is waiting time, replaced by an allowance.
    // The engine's own clients reach dynalite and the bus in process (in-process.ts), which publishes the same two moments.
    const onRequest = (message: unknown) => {
      const request = (message as { request: ClientRequest | HttpRequest }).request;
      this.#httpStarted.set(request, { t0: performance.now(), inv: this.#ioStart() });
      const target = 'getHeader' in request ? request.getHeader('x-amz-target') : request.headers['x-amz-target'];
      if (target !== 'AWSEvents.PutEvents') return;
      const fn = this.#fn() ?? 'ingest';
      this.usage.fns[fn].putEventsCalls++;
      if (fn !== 'ingest') this.#busCallers.push(fn);
    };
    const onResponse = (message: unknown) => {
      const request = (message as { request: ClientRequest | HttpRequest }).request;
      const started = this.#httpStarted.get(request);
      if (!started) return;
      this.#httpStarted.delete(request);
      this.#ioEnd(started.inv, started.t0);
    };
    dc.subscribe('http.client.request.start', onRequest);
    dc.subscribe('http.client.response.finish', onResponse);
    dc.subscribe('http.client.request.error', onResponse);
    dc.subscribe(IN_PROCESS_CHANNELS.start, onRequest);
    dc.subscribe(IN_PROCESS_CHANNELS.finish, onResponse);
    this.#unsubscribe = () => {
      dc.unsubscribe(IN_PROCESS_CHANNELS.start, onRequest);
      dc.unsubscribe(IN_PROCESS_CHANNELS.finish, onResponse);
      dc.unsubscribe('http.client.request.start', onRequest);
      dc.unsubscribe('http.client.response.finish', onResponse);
      dc.unsubscribe('http.client.request.error', onResponse);
    };

    const putEvents = engine.bus.putEvents.bind(engine.bus);
    engine.bus.putEvents = (entries: readonly BusEntry[]) => {
      const u = this.usage;
      const fn: Fn = entries[0]?.Source === INGEST_EVENT_SOURCE ? 'ingest' : (this.#busCallers.shift() ?? this.#fn() ?? 'other');
      u.bus.calls++;
      u.bus.byFn[fn].calls++;
      for (const e of entries) {
        // PutEvents entry size: Time (14 bytes when set) + Source + DetailType + Detail + Resources, UTF-8.
        const bytes = (e.Time ? 14 : 0) + Buffer.byteLength(e.Source) + Buffer.byteLength(e.DetailType) + Buffer.byteLength(e.Detail) + (e.Resources ?? []).reduce((n, r) => n + Buffer.byteLength(r), 0);
        const chunks = Math.max(1, Math.ceil(bytes / 65_536));
        u.bus.entries++;
        u.bus.chunks += chunks;
        u.bus.bytes += bytes;
        u.bus.byFn[fn].entries++;
        u.bus.byFn[fn].chunks += chunks;
        const type = `${e.Source === INGEST_EVENT_SOURCE ? 'ingest' : 'derived'}: ${e.DetailType}`;
        u.bus.byType.set(type, (u.bus.byType.get(type) ?? 0) + 1);
      }
      return putEvents(entries);
    };

    // DynamoDB: ask for consumed capacity (before the Document client marshals: the field passes through) ...
    const stack = engine.dynamo.client.middlewareStack;
    stack.add(
      (next, context) => async (args) => {
        const op = (context.commandName ?? '').replace(/Command$/, '');
        const input = args.input as Record<string, unknown>;
        if (CAPACITY_OPS.has(op) && input.ReturnConsumedCapacity === undefined) return next({ ...args, input: { ...input, ReturnConsumedCapacity: 'INDEXES' } });
        return next(args);
      },
      { step: 'initialize', name: 'costMeterAskCapacity', priority: 'low' },
    );
    // ... and read it after serialisation, where the input is marshalled (item sizes, index keys).
    stack.add(
      (next, context) => async (args) => {
        const op = (context.commandName ?? '?').replace(/Command$/, '');
        const input = args.input as DynamoInput;
        const fn: Fn = this.#fn() ?? (input.TableName === IDEMPOTENCY_TABLE ? 'ingest' : 'other');
        try {
          const result = await next(args);
          this.#record(fn, op, input, (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity, false);
          return result;
        } catch (error) {
          if ((error as Error).name === 'ConditionalCheckFailedException') this.#record(fn, op, input, undefined, true);
          throw error;
        }
      },
      { step: 'build', name: 'costMeterRecordCapacity' },
    );
  }

  #record(fn: Fn, op: string, input: DynamoInput, consumed: Capacity | Capacity[] | undefined, failed: boolean): void {
    const u = this.usage;
    u.fns[fn].dynamoCalls++;
    const key = `${fn}\t${op}\t${itemKind(input)}`;
    const row = u.dynamo.get(key) ?? { calls: 0, rru: 0, wru: 0, gsiWru: 0, failed: 0 };
    row.calls++;
    const read = READS.has(op);
    let units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
    if (failed) {
      // A refused conditional write is billed like the write (estimate: the size of what was to be written).
      row.failed++;
      units = input.Item ? Math.max(1, Math.ceil(itemSize(input.Item) / 1024)) : 1;
    } else if (consumed === undefined) {
      units = read ? 1 : input.Item ? Math.max(1, Math.ceil(itemSize(input.Item) / 1024)) : 1;
    }
    // Every read bills at least 1 RRU (strongly consistent) or 0.5 (eventually), even when it finds nothing.
    if (read) units = Math.max(units, input.ConsistentRead ? 1 : 0.5);
    if (read) row.rru += units;
    else row.wru += units;
    if (!failed && input.TableName === PROFILE_TABLE) row.gsiWru += this.#indexWrites(op, input);
    u.dynamo.set(key, row);
  }

  /** GSI writes of a profile-table write: 1 to add or remove an index item, 2 to move it (index key changed). KEYS_ONLY items are < 1 KB. */
  #indexWrites(op: string, input: DynamoInput): number {
    if (op !== 'PutItem' && op !== 'DeleteItem' && op !== 'UpdateItem') return 0;
    const keyItem = input.Item ?? input.Key;
    if (!keyItem) return 0;
    const id = `${keyItem[L.partitionKey]?.S}|${keyItem[L.sortKey]?.S}`;
    const before = this.#indexKeys.get(id) ?? INDEXES.map(() => undefined);
    let after: Array<string | undefined>;
    if (op === 'PutItem') after = INDEXES.map((i) => (input.Item?.[i.partitionKey]?.S !== undefined ? `${input.Item[i.partitionKey]!.S}|${input.Item[i.sortKey]?.S}` : undefined));
    else if (op === 'DeleteItem') after = INDEXES.map(() => undefined);
    else {
      // Profiles are written whole (PutItem); an UpdateItem that names an index key is counted as unmodelled.
      const names = Object.values((input as { ExpressionAttributeNames?: Record<string, string> }).ExpressionAttributeNames ?? {});
      if (INDEXES.some((i) => names.includes(i.partitionKey) || names.includes(i.sortKey))) this.unmodelledIndexUpdates++;
      return 0;
    }
    if (after.every((k) => k === undefined)) this.#indexKeys.delete(id);
    else this.#indexKeys.set(id, after);
    return INDEXES.reduce((n, _, i) => n + (before[i] === after[i] ? 0 : before[i] !== undefined && after[i] !== undefined ? 2 : 1), 0);
  }
}
