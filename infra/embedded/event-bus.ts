import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
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
  target: (event: BusEvent) => Promise<void> | void;
}

/** Decides, per entry, whether PutEvents reports it failed (tests inject faults with it). */
export type EntryFault = (entry: BusEntry, index: number) => { ErrorCode: string; ErrorMessage: string } | undefined;

export interface PutEventsResponse {
  FailedEntryCount: number;
  Entries: Array<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }>;
}

const ACCOUNT = '000000000000';
const REGION = 'local';

/**
 * The embedded engine's EventBridge: an in-process bus that routes each entry to
 * the rules whose EventBridge pattern matches it, using the same matcher (and the
 * same patterns) the CDK stack deploys. It keeps the accepted events in order,
 * appended to `<dataDir>/bus/events.ndjson` when a data folder is given.
 */
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

  constructor(options: { dataDir?: string; maxLog?: number } = {}) {
    this.#maxLog = options.maxLog ?? 100_000;
    if (options.dataDir) {
      mkdirSync(join(options.dataDir, 'bus'), { recursive: true });
      this.#logFile = join(options.dataDir, 'bus', 'events.ndjson');
      if (existsSync(this.#logFile)) {
        // Reload the tail of the log so `GET /v1/bus/events` survives a restart (no re-delivery to rules).
        const lines = readFileSync(this.#logFile, 'utf8').split('\n').filter(Boolean).slice(-this.#maxLog);
        for (const line of lines) this.log.push(JSON.parse(line) as BusEvent);
      }
    }
  }

  addRule(rule: BusRule): void {
    this.rules.push(rule);
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
      this.#record(event);
      this.#route(event);
      results.push({ EventId: event.id });
    });
    return { FailedEntryCount: failed, Entries: results };
  }

  /** Remove events from the log (and its file), e.g. when a customer is erased. Returns how many. */
  forget(predicate: (event: BusEvent) => boolean): number {
    const kept = this.log.filter((e) => !predicate(e));
    const removed = this.log.length - kept.length;
    this.log.splice(0, this.log.length, ...kept);
    if (this.#logFile && removed > 0) {
      const lines = readFileSync(this.#logFile, 'utf8').split('\n').filter(Boolean);
      const rest = lines.filter((line) => !predicate(JSON.parse(line) as BusEvent));
      writeFileSync(this.#logFile, rest.map((l) => `${l}\n`).join(''));
    }
    return removed;
  }

  /** Resolves when every target invoked so far has finished. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #record(event: BusEvent): void {
    this.log.push(event);
    if (this.log.length > this.#maxLog) this.log.splice(0, this.log.length - this.#maxLog);
    if (this.#logFile) appendFileSync(this.#logFile, `${JSON.stringify(event)}\n`);
  }

  #route(event: BusEvent): void {
    for (const rule of this.rules) {
      if (!matchesEventPattern(rule.pattern, event)) continue;
      const delivery = Promise.resolve()
        .then(() => rule.target(event))
        .catch((error: unknown) => console.error(`rule ${rule.name}: target failed for event ${event.id}:`, error))
        .finally(() => this.#pending.delete(delivery));
      this.#pending.add(delivery);
    }
  }
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
