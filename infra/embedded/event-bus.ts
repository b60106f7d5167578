import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DeliveryCursors } from './delivery-cursors';
import type { VirtualClock } from './virtual-time';
import { busEntrySize, matchesEventPattern, PUT_EVENTS_MAX_BYTES, PUT_EVENTS_MAX_ENTRIES, type BusEntry, type EventPattern } from '../../shared';

/** An event as EventBridge delivers it to targets. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface BusRule {
  name: string;
  pattern: EventPattern;
  /** Invoked once per matching event (at least once: again after a crash, see `resume`); `delivery.rule` is this rule's name. */
  target: (event: BusEvent, delivery: { rule: string }) => Promise<void> | void;
}

/** Decides, per entry, whether PutEvents reports it failed (tests inject faults with it). */
export type EntryFault = (entry: BusEntry, index: number) => { ErrorCode: string; ErrorMessage: string } | undefined;

export interface PutEventsResponse {
  FailedEntryCount: number;
  Entries: Array<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }>;
}

const ACCOUNT = '000000000000';
const REGION = 'local';
const SEQ_PREFIX = '{"seq":';

/**
 * The embedded engine's EventBridge: an in-process bus that routes each entry to
 * the rules whose EventBridge pattern matches it, using the same matcher (and the
 * same patterns) the CDK stack deploys. It keeps the accepted events in order,
 * appended to `<dataDir>/bus/events.ndjson` when a data folder is given, each line
 * the event with its sequence number (`{"seq":N,...}`, stable when erasure rewrites
 * the file). Delivery is at least once across crashes: each rule has a cursor over
 * the log (`<dataDir>/bus/cursors.json`, see DeliveryCursors) and `resume` delivers
 * again what a rule had not finished.
 */
/**
 * EventBridge's delivery as AWS documents it, for the AWS twin (see `EngineOptions.twin`): at least once
 * (a delivery sometimes happens twice), in no order across events and targets (each delivery after its own
 * delay, which also stands for the target's cold start). Drawn from a seeded PRNG on virtual time, so a run
 * is the same every time for a seed.
 */
export interface TwinDelivery {
  clock: VirtualClock;
  /** Draws the delays and duplicates: `prng(seed)`. */
  random: () => number;
  /** Each delivery waits a uniform 0..maxDelayMs of virtual time. */
  maxDelayMs: number;
  /** The chance that a delivery to a target happens twice (each copy after its own delay). */
  duplicateProbability: number;
  /**
   * The chance that an AWS service event EventBridge delivers best-effort (Step Functions' "Execution Status
   * Change") is lost. Customer events, put with PutEvents, are never lost: delivery of those is at least once.
   */
  lossProbability: number;
  /** Draws the losses: a stream apart from `random`, so losses leave a seed's delays and duplicates as they were. */
  lossRandom: () => number;
  /**
   * Best-effort service events that are not lost arrive late and sometimes twice, as EventBridge delivers them
   * (see `deliverServiceEvent`): each copy after 0..maxDelayMs, a second copy with duplicateProbability. Drawn
   * from `random`, a stream of their own. Both 0: delivered at once, once.
   */
  serviceEvents: { maxDelayMs: number; duplicateProbability: number; random: () => number };
}

export class LocalEventBus {
  readonly rules: BusRule[] = [];
  readonly log: BusEvent[] = [];
  fault: EntryFault | undefined;
  /** PutEvents calls received, for tests and benchmarks. */
  putEventsCalls = 0;
  /** PutEvents calls received, by the `Source` of their first entry (rapport.ingest, rapport.profile, ...). */
  readonly callsBySource = new Map<string, number>();
  #logFile: string | undefined;
  #pending = new Set<Promise<void>>();
  #maxLog: number;
  #lastSeq = 0;
  #cursors: DeliveryCursors;
  #resumed = false;
  readonly #twin: TwinDelivery | undefined;
  /** Deliveries made a second time by the twin's at-least-once (tests check the twin did duplicate). */
  twinDuplicates = 0;
  /** Best-effort service events the twin lost (see `deliversBestEffort`). */
  twinLost = 0;
  /** Best-effort service events the twin delivered twice (see `deliverServiceEvent`). */
  twinServiceDuplicates = 0;

  constructor(options: { dataDir?: string; maxLog?: number; cursorFlushEveryMs?: number; twin?: TwinDelivery } = {}) {
    this.#maxLog = options.maxLog ?? 100_000;
    this.#twin = options.twin;
    const dir = options.dataDir ? join(options.dataDir, 'bus') : undefined;
    if (dir) mkdirSync(dir, { recursive: true });
    this.#cursors = new DeliveryCursors({
      ...(dir && { file: join(dir, 'cursors.json') }),
      ...(options.cursorFlushEveryMs !== undefined && { flushEveryMs: options.cursorFlushEveryMs }),
      current: () => ({ rules: this.rules.map((r) => r.name), lastSeq: this.#lastSeq }),
    });
    if (dir) {
      this.#logFile = join(dir, 'events.ndjson');
      if (existsSync(this.#logFile)) {
        // Reload the tail of the log so `GET /v1/bus/events` survives a restart (redelivery is `resume`'s).
        const lines = this.#readLog();
        for (const { line } of lines.slice(-this.#maxLog)) this.log.push(parseLine(line).event);
        this.#lastSeq = lines.at(-1)?.seq ?? 0;
      }
    }
    // Sequence numbers never go back, even when erasure removed the log's last lines.
    this.#lastSeq = Math.max(this.#lastSeq, this.#cursors.highest);
  }

  addRule(rule: BusRule): void {
    if (this.rules.some((r) => r.name === rule.name)) throw new Error(`a bus rule named ${JSON.stringify(rule.name)} exists already (rule names key the delivery cursors)`);
    this.rules.push(rule);
  }

  /**
   * Replaces the rule of that name (a journey a reload changed: its trigger pattern may differ), keeping its place in
   * the log: deliveries under way finish, and what they leave undelivered at a crash is redelivered at the next start.
   */
  replaceRule(rule: BusRule): void {
    const at = this.rules.findIndex((r) => r.name === rule.name);
    if (at < 0) throw new Error(`no bus rule named ${JSON.stringify(rule.name)} to replace`);
    this.rules[at] = rule;
  }

  /**
   * Removes a rule (a journey a reload removed): events put from now on no longer go to it; deliveries
   * under way finish. Its cursor is forgotten: a rule added again under the name, now or after a restart, begins at
   * the end of the log.
   */
  removeRule(name: string): boolean {
    const at = this.rules.findIndex((r) => r.name === name);
    if (at < 0) return false;
    this.rules.splice(at, 1);
    this.#cursors.forget(name);
    return true;
  }

  /**
   * Once every rule is added: deliver again each event of the log past a rule's stored cursor that
   * matches its pattern (the engine died before that delivery finished). A rule without a stored cursor
   * (a new journey, a first start) begins at the end of the log. Returns how many deliveries it started.
   */
  resume(): number {
    if (this.#resumed) throw new Error('the bus resumed already');
    this.#resumed = true;
    const behind = this.rules.map((rule) => ({ rule, after: this.#cursors.stored(rule.name) })).filter((r): r is { rule: BusRule; after: number } => r.after !== undefined && r.after < this.#lastSeq);
    let started = 0;
    if (behind.length > 0 && this.#logFile && existsSync(this.#logFile)) {
      const from = Math.min(...behind.map((r) => r.after));
      for (const { seq, line } of this.#readLog()) {
        if (seq <= from) continue;
        const { event } = parseLine(line);
        for (const { rule, after } of behind) {
          if (seq > after && matchesEventPattern(rule.pattern, event)) {
            void this.#deliver(rule, event, seq);
            started++;
          }
        }
      }
    }
    // The cursors exist on disk from now on: a crash before the first timed write still finds them.
    this.#cursors.flush();
    return started;
  }

  putEvents(entries: readonly BusEntry[]): PutEventsResponse {
    // EventBridge refuses the whole call over its limits; so does the local bus, so code that would fail in AWS fails here.
    if (entries.length === 0 || entries.length > PUT_EVENTS_MAX_ENTRIES) throw new Error(`PutEvents takes 1 to ${PUT_EVENTS_MAX_ENTRIES} entries, got ${entries.length}`);
    const bytes = entries.reduce((n, e) => n + busEntrySize(e), 0);
    if (bytes > PUT_EVENTS_MAX_BYTES) throw new Error(`Total size of the entries in the request is over the limit: ${bytes} bytes, at most ${PUT_EVENTS_MAX_BYTES}`);
    this.putEventsCalls++;
    const source = entries[0]?.Source ?? '';
    this.callsBySource.set(source, (this.callsBySource.get(source) ?? 0) + 1);
    const results: PutEventsResponse['Entries'] = [];
    const accepted: Array<{ event: BusEvent; seq: number }> = [];
    let failed = 0;
    entries.forEach((entry, index) => {
      const fault = this.fault?.(entry, index);
      if (fault) {
        failed++;
        results.push(fault);
        return;
      }
      const event: BusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.DetailType,
        source: entry.Source,
        account: ACCOUNT,
        time: (entry.Time ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: REGION,
        resources: entry.Resources ?? [],
        detail: JSON.parse(entry.Detail),
      };
      accepted.push({ event, seq: ++this.#lastSeq });
      results.push({ EventId: event.id });
    });
    // On the log (one append per call) before any target sees them, and before PutEvents answers.
    this.#record(accepted);
    for (const { event, seq } of accepted) this.#route(event, seq);
    return { FailedEntryCount: failed, Entries: results };
  }

  /**
   * Deliver a logged event to one rule again, outside the cursors (a dead letter's redrive). Resolves when the
   * delivery has finished; `undefined` when no rule has that name.
   */
  redeliver(ruleName: string, event: BusEvent): Promise<void> | undefined {
    const rule = this.rules.find((r) => r.name === ruleName);
    return rule && this.#deliver(rule, event);
  }

  /** Remove events from the log (and its file), e.g. when a customer is erased. Returns how many. */
  forget(predicate: (event: BusEvent) => boolean): number {
    const kept = this.log.filter((e) => !predicate(e));
    const removed = this.log.length - kept.length;
    this.log.splice(0, this.log.length, ...kept);
    // The file holds more than the in-memory tail (maxLog): look through all of it.
    if (this.#logFile && existsSync(this.#logFile)) {
      const lines = readFileSync(this.#logFile, 'utf8').split('\n').filter(Boolean);
      const rest = lines.filter((line) => !predicate(parseLine(line).event));
      if (rest.length < lines.length) writeFileSync(this.#logFile, rest.map((l) => `${l}\n`).join(''));
    }
    return removed;
  }

  /**
   * Whether a best-effort AWS service event (Step Functions' "Execution Status Change") reaches its targets:
   * always on the kind bus; on the twin, lost with the seeded `lossProbability`, as EventBridge may lose one.
   */
  deliversBestEffort(): boolean {
    const twin = this.#twin;
    if (!twin || twin.lossProbability <= 0 || twin.lossRandom() >= twin.lossProbability) return true;
    this.twinLost++;
    return false;
  }

  /**
   * Deliver a best-effort AWS service event (a Step Functions status change) to its one target. On the kind bus,
   * and on a twin without service delays or duplicates: now, awaited (a failure is the caller's). On the twin:
   * maybe lost (`deliversBestEffort`), else once or twice, each copy after its own delay on the virtual clock,
   * to `twinTarget` (which retries as Lambda's async invocation does); it returns at once, as PutEvents does.
   */
  async deliverServiceEvent(
    event: BusEvent,
    ruleName: string,
    target: (event: BusEvent) => Promise<unknown>,
    twinTarget: (event: BusEvent, delivery: { rule: string }) => Promise<unknown> = target,
  ): Promise<void> {
    if (!this.deliversBestEffort()) return;
    const service = this.#twin?.serviceEvents;
    if (!this.#twin || !service || (service.maxDelayMs <= 0 && service.duplicateProbability <= 0)) {
      await target(event);
      return;
    }
    const { clock } = this.#twin;
    const copies = service.random() < service.duplicateProbability ? 2 : 1;
    if (copies === 2) this.twinServiceDuplicates++;
    const rule: BusRule = { name: ruleName, pattern: {}, target: (e, delivery) => twinTarget(e, delivery).then(() => undefined) };
    for (let i = 0; i < copies; i++) {
      const at = clock.now().getTime() + Math.floor(service.random() * (service.maxDelayMs + 1));
      clock.schedule(at, () => void this.#deliver(rule, event));
    }
  }

  /** Resolves when every target invoked so far has finished (and their cursors are written). */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    if (this.#resumed) this.#cursors.flush();
  }

  /** After `drain`, when the engine stops: the cursors are written and nothing writes them again. */
  close(): void {
    if (this.#resumed) this.#cursors.flush();
    this.#cursors.close();
  }

  #record(accepted: ReadonlyArray<{ event: BusEvent; seq: number }>): void {
    if (accepted.length === 0) return;
    for (const { event } of accepted) this.log.push(event);
    if (this.log.length > this.#maxLog) this.log.splice(0, this.log.length - this.#maxLog);
    if (this.#logFile) appendFileSync(this.#logFile, accepted.map(({ event, seq }) => `${SEQ_PREFIX}${seq},${JSON.stringify(event).slice(1)}\n`).join(''));
  }

  #route(event: BusEvent, seq: number): void {
    for (const rule of this.rules) {
      if (!matchesEventPattern(rule.pattern, event)) continue;
      if (this.#twin) this.#deliverAsAws(this.#twin, rule, event, seq);
      else void this.#deliver(rule, event, seq);
    }
  }

  /** The twin's delivery: once or twice, each after a random delay on the virtual clock; the cursor moves once all are done. */
  #deliverAsAws(twin: TwinDelivery, rule: BusRule, event: BusEvent, seq: number): void {
    const copies = twin.random() < twin.duplicateProbability ? 2 : 1;
    if (copies === 2) this.twinDuplicates++;
    this.#cursors.begin(rule.name, seq);
    let left = copies;
    for (let i = 0; i < copies; i++) {
      const at = twin.clock.now().getTime() + Math.floor(twin.random() * (twin.maxDelayMs + 1));
      twin.clock.schedule(at, () => {
        void this.#deliver(rule, event).finally(() => {
          if (--left === 0) this.#cursors.end(rule.name, seq);
        });
      });
    }
  }

  /** One delivery to one rule; with `seq`, it holds the rule's cursor until it finishes. */
  #deliver(rule: BusRule, event: BusEvent, seq?: number): Promise<void> {
    if (seq !== undefined) this.#cursors.begin(rule.name, seq);
    const delivery = Promise.resolve()
      .then(() => rule.target(event, { rule: rule.name }))
      .catch((error: unknown) => console.error(`rule ${rule.name}: target failed for event ${event.id}:`, error))
      .finally(() => {
        this.#pending.delete(delivery);
        if (seq !== undefined) this.#cursors.end(rule.name, seq);
      });
    this.#pending.add(delivery);
    return delivery;
  }

  /** The log file's lines with their sequence numbers; a log written before they existed is numbered once, in place. */
  #readLog(): Array<{ seq: number; line: string }> {
    const lines = readFileSync(this.#logFile!, 'utf8').split('\n').filter(Boolean);
    if (lines.every((line) => line.startsWith(SEQ_PREFIX))) return lines.map((line) => ({ seq: seqOf(line), line }));
    const numbered = lines.map((line, i) => ({ seq: i + 1, line: `${SEQ_PREFIX}${i + 1},${JSON.stringify(parseLine(line).event).slice(1)}` }));
    writeFileSync(this.#logFile!, numbered.map(({ line }) => `${line}\n`).join(''));
    return numbered;
  }
}

function seqOf(line: string): number {
  return Number.parseInt(line.slice(SEQ_PREFIX.length, line.indexOf(',', SEQ_PREFIX.length)), 10);
}

/** A log line: the event, and its sequence number when the line has one. */
function parseLine(line: string): { seq?: number; event: BusEvent } {
  const { seq, ...event } = JSON.parse(line) as BusEvent & { seq?: number };
  return { ...(seq !== undefined && { seq }), event };
}

/**
 * The bus's EventBridge JSON protocol (`AWSEvents.PutEvents`) as a Node request listener, so the
 * functions' real `EventBridgeClient` publishes to it unchanged: in process (see in-process.ts) or
 * over HTTP (`serveEventBridgeApi`).
 */
export function eventBridgeApiListener(bus: LocalEventBus): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      const target = req.headers['x-amz-target'];
      if (target !== 'AWSEvents.PutEvents') {
        return reply(400, { __type: 'UnknownOperationException', message: `the local bus implements AWSEvents.PutEvents only, not ${String(target)}` });
      }
      try {
        const { Entries } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Entries: Array<BusEntry & { Time?: number | string }> };
        const entries = Entries.map((e) => ({ ...e, ...(e.Time !== undefined && { Time: toDate(e.Time) }) }));
        reply(200, bus.putEvents(entries));
      } catch (error) {
        reply(400, { __type: 'ValidationException', message: (error as Error).message });
      }
    });
  };
}

/** Serve the bus's EventBridge API over HTTP on 127.0.0.1 (a free port). */
export async function serveEventBridgeApi(bus: LocalEventBus): Promise<{ endpoint: string; server: Server }> {
  const server = createServer(eventBridgeApiListener(bus));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, server };
}

/** The SDK sends `Time` as epoch seconds. */
function toDate(value: number | string): Date {
  return typeof value === 'number' ? new Date(value * 1000) : new Date(value);
}
