/** `rapport import <file.csv|file.ndjson>`: history into a running engine or a deployed ingest, in batches, resumable. */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { decodeWebhookSecret, signWebhook } from '../../../functions/ingest/signature';
import { ENV } from '../../../shared';
import type { Parsed } from '../commands';
import { csvCells, csvLine, ndjsonLine, type ImportEvent } from '../import-rows';
import { EXIT, UsageError, type Context, type ExitCode } from '../io';
import { secretOf } from './send';

const TIMEOUT_MS = 30_000;
const MAX_BATCH = 500;
/** Most batches in flight at once (--parallel). */
const MAX_PARALLEL = 16;

/** Lines whose events are grouped by customer before batching (`--window`, 0: none, the whole file in its order), in batch sizes: 20 batches' worth. */
const WINDOW_BATCHES = 20;

interface Checkpoint {
  file: string;
  /** Lines up to this one (1-based) are done. */
  line: number;
  imported: number;
  duplicates: number;
  rejected: Array<{ line: number; reason: string }>;
  /**
   * Of the window of lines after `line` (up to `to`, grouped as `size` lines and `batchSize` events per batch
   * made it), the first `batches` batches are done: their results are counted above. A resumed import groups
   * that window the same way and sends the rest.
   */
  window?: { size: number; batchSize: number; to: number; batches: number };
}

export async function execute({ values, positionals }: Parsed, ctx: Context): Promise<ExitCode> {
  const file = resolve(ctx.cwd, positionals[0]!);
  if (!existsSync(file)) throw new UsageError(`no file ${positionals[0]}`);
  const format = /\.csv$/i.test(file) ? 'csv' : /\.(nd)?jsonl?$/i.test(file) || /\.ndjson$/i.test(file) ? 'ndjson' : undefined;
  if (!format) throw new UsageError(`${positionals[0]}: expected a .csv or .ndjson file`);
  let batchSize = Number(values['batch-size'] ?? 500);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) throw new UsageError(`--batch-size: expected a whole number from 1 to ${MAX_BATCH}`);
  let windowSize = values.window === undefined ? WINDOW_BATCHES * batchSize : Number(values.window);
  if (!Number.isInteger(windowSize) || windowSize < 0) throw new UsageError('--window: expected a whole number of lines (0: the file in its order)');
  const maxBatches = values['max-batches'] === undefined ? Infinity : Number(values['max-batches']);
  const post = poster(values, ctx);

  const checkpointFile = resolve(ctx.cwd, typeof values.checkpoint === 'string' ? values.checkpoint : `${file}.import-checkpoint.json`);
  let state: Checkpoint = { file, line: 0, imported: 0, duplicates: 0, rejected: [] };
  if (existsSync(checkpointFile)) {
    state = JSON.parse(readFileSync(checkpointFile, 'utf8')) as Checkpoint;
    ctx.err(`resuming after line ${state.line} (checkpoint ${checkpointFile})`);
    if (state.window) {
      // The window begun is grouped again as it was, so the batches already sent are known and skipped.
      if (state.window.size !== windowSize || state.window.batchSize !== batchSize) ctx.err(`the window begun is finished with the checkpoint's --window ${state.window.size} --batch-size ${state.window.batchSize}`);
      windowSize = state.window.size;
      batchSize = state.window.batchSize;
    }
  }

  const parallel = Number(values.parallel ?? 1);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > MAX_PARALLEL) throw new UsageError(`--parallel: expected a whole number from 1 to ${MAX_PARALLEL}`);

  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  const name = basename(file);
  const header = format === 'csv' ? csvCells(lines[0] ?? '').map((h) => h.trim()) : [];
  const first = format === 'csv' ? 2 : 1;
  if (format === 'csv' && !header.some((h) => h === 'userId' || h === 'user_id' || h === 'anonymousId')) throw new UsageError(`${positionals[0]}:1: the header names no userId (or user_id, anonymousId) column`);
  const total = lines.length;

  /**
   * The file is read a window of lines at a time (`--window`); a window's events are grouped by customer (each
   * customer's in file order) and packed into batches of whole customers where they fit, so the engine applies a
   * customer's events of a batch together. Batches go out `parallel` at a time; their results are taken in the
   * order sent, so the checkpoint only ever covers lines whose window was accepted whole, and, of the window
   * begun, how many of its batches were (`Checkpoint.window`). Lines refused while reading travel with their
   * window's last batch, so a resumed import does not report them twice.
   */
  interface Batch {
    events: ImportEvent[];
    /** Lines refused before posting (not JSON, no id...). */
    refused: Array<{ line: number; reason: string }>;
    /** The window's last line, and this batch's number in it (1-based); `last`: the window is done with it. */
    window: { to: number; index: number; last: boolean };
    result?: Promise<PostResult>;
  }
  const inFlight: Batch[] = [];
  let failed = false;
  let batches = 0;

  const progress = () => {
    const done = Math.min(state.line, total);
    const width = 30;
    const filled = Math.round((done / total) * width);
    ctx.err(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} lines, ${state.imported} imported, ${state.duplicates} duplicates, ${state.rejected.length} rejected`);
  };

  /** Take the oldest batch's result into the state and the checkpoint; false when the ingest refused it. */
  const settleOldest = async (): Promise<boolean> => {
    const batch = inFlight.shift()!;
    const result = batch.result ? await batch.result : undefined;
    if (result?.kind === 'failed') {
      ctx.err(`the ingest refused a batch of lines ${Math.min(...batch.events.map((e) => e.line))}-${Math.max(...batch.events.map((e) => e.line))}: ${result.message}; fix it and run again to resume`);
      return false;
    }
    state.rejected.push(...batch.refused);
    if (result) {
      const duplicates = new Set(result.duplicates);
      state.duplicates += duplicates.size;
      state.imported += result.accepted.filter((id) => !duplicates.has(id)).length;
      for (const r of result.rejected) state.rejected.push({ line: batch.events[r.index]!.line, reason: r.reason });
    }
    if (batch.window.last) {
      state.line = batch.window.to;
      delete state.window;
    } else state.window = { size: windowSize, batchSize, to: batch.window.to, batches: batch.window.index };
    writeFileSync(checkpointFile, JSON.stringify(state));
    batches++;
    progress();
    return true;
  };

  /** A batch's request; never rejects (a batch awaited later must not fail unobserved). */
  const send = (batch: Batch): Promise<PostResult> => post(batch.events.map((b) => b.event)).catch((error: unknown) => ({ kind: 'failed', message: (error as Error).message }));

  /** The batches of the window of lines `from`..`to` (at least one, maybe empty, which carries the refused lines). */
  const windowBatches = (from: number, to: number): Batch[] => {
    const byCustomer = new Map<string, ImportEvent[]>();
    const refused: Batch['refused'] = [];
    for (let i = from; i <= to; i++) {
      const text = lines[i - 1]!;
      if (text.trim() === '') continue;
      const parsed = format === 'csv' ? csvLine(header, text, i, name) : ndjsonLine(text, i, name);
      if ('error' in parsed) refused.push({ line: parsed.line, reason: parsed.error });
      else {
        for (const e of parsed.events) {
          // --window 0: one group, the file's order.
          const key = windowSize === 0 ? '' : customerOf(e);
          const group = byCustomer.get(key);
          if (group) group.push(e);
          else byCustomer.set(key, [e]);
        }
      }
    }
    const packed: ImportEvent[][] = [];
    let current: ImportEvent[] = [];
    for (const group of byCustomer.values()) {
      if (current.length > 0 && current.length + group.length > batchSize) {
        packed.push(current);
        current = [];
      }
      for (const e of group) {
        current.push(e);
        if (current.length === batchSize) {
          packed.push(current);
          current = [];
        }
      }
    }
    if (current.length > 0 || packed.length === 0) packed.push(current);
    return packed.map((events, i) => ({ events, refused: i === packed.length - 1 ? refused : [], window: { to, index: i + 1, last: i === packed.length - 1 } }));
  };

  let dispatched = 0;
  let stoppedEarly = false;
  windows: for (let from = Math.max(first, state.line + 1); from <= lines.length; from += windowSize || lines.length) {
    const to = windowSize === 0 ? lines.length : Math.min(from + windowSize - 1, lines.length);
    const skip = state.window?.to === to ? state.window.batches : 0;
    for (const batch of windowBatches(from, to).slice(skip)) {
      if (dispatched >= maxBatches) {
        stoppedEarly = true;
        break windows;
      }
      dispatched++;
      if (batch.events.length > 0) batch.result = send(batch);
      inFlight.push(batch);
      while (inFlight.length >= parallel) {
        if (!(await settleOldest())) {
          failed = true;
          break windows;
        }
      }
    }
  }
  // Every batch still out is awaited (none is left unobserved), but the state stops at the first refused one.
  while (inFlight.length > 0) {
    if (failed) {
      await Promise.allSettled(inFlight.splice(0).flatMap((b) => (b.result ? [b.result] : [])));
      break;
    }
    if (!(await settleOldest())) failed = true;
  }
  if (failed) return EXIT.failed;
  if (stoppedEarly) {
    ctx.err(`stopped after ${batches} batch(es) (--max-batches); run again to resume`);
    return EXIT.ok;
  }
  rmSync(checkpointFile, { force: true });

  ctx.out(`imported ${state.imported}, duplicates ${state.duplicates}, rejected ${state.rejected.length}`);
  for (const r of state.rejected.sort((a, b) => a.line - b.line)) ctx.out(`  line ${r.line}: ${r.reason}`);
  return state.rejected.length > 0 ? EXIT.failed : EXIT.ok;
}

/** The customer an event is for, to group by: the userId named, else the visitor. */
function customerOf({ event, line }: ImportEvent): string {
  return typeof event.userId === 'string' ? `u:${event.userId}` : typeof event.anonymousId === 'string' ? `a:${event.anonymousId}` : `line:${line}`;
}

type PostResult = { kind: 'ok'; accepted: string[]; duplicates: string[]; rejected: Array<{ index: number; reason: string }> } | { kind: 'failed'; message: string };

/** Posts a batch: signed to <url>/v1/events, or with a write key to <url>/v1/batch; retries 5xx and network errors. */
function poster(values: Parsed['values'], ctx: Context): (events: unknown[]) => Promise<PostResult> {
  const given = typeof values.engine === 'string' ? values.engine : typeof values.url === 'string' ? values.url : `http://127.0.0.1:${ctx.env[ENV.PORT] ?? 3000}`;
  const base = given.endsWith('/') ? given : `${given}/`;
  const writeKey = typeof values['write-key'] === 'string' ? values['write-key'] : ctx.env.RAPPORT_WRITE_KEY;
  let request: (body: string) => { url: URL; headers: Record<string, string> };
  try {
    if (writeKey) {
      const url = new URL('v1/batch', base);
      const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
      request = () => ({ url, headers: { 'content-type': 'application/json', authorization: auth } });
    } else {
      const url = new URL('v1/events', base);
      const secret = secretOf(values, ctx);
      const key = decodeWebhookSecret(secret.value);
      request = (body) => {
        const id = `imp_${randomUUID()}`;
        const timestamp = Math.floor(Date.now() / 1000);
        return { url, headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(key, id, timestamp, body) } };
      };
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--url/--engine: ${(error as Error).message}`);
  }
  return async (events) => {
    const body = JSON.stringify({ batch: events });
    for (let attempt = 1; ; attempt++) {
      const { url, headers } = request(body);
      let response: Response;
      try {
        response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
      } catch (error) {
        if (attempt < 4) {
          await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
          continue;
        }
        return { kind: 'failed', message: `could not reach ${url.origin} (${(error as Error).message})` };
      }
      const answer = (await response.json().catch(() => ({}))) as { accepted?: string[]; duplicates?: string[]; rejected?: Array<{ index: number; problems?: Array<{ path: string; message: string }> }>; message?: string; error?: string };
      if (response.status >= 500 && attempt < 4) {
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
        continue;
      }
      if (response.status === 202 || (response.status === 400 && answer.error === 'invalid_events' && Array.isArray(answer.rejected) && answer.rejected.every((r) => r.index >= 0))) {
        return {
          kind: 'ok',
          accepted: answer.accepted ?? [],
          duplicates: answer.duplicates ?? [],
          rejected: (answer.rejected ?? []).map((r) => ({ index: r.index, reason: (r.problems ?? []).map((p) => `${p.path} ${p.message}`).join('; ') })),
        };
      }
      return { kind: 'failed', message: `${response.status} ${answer.error ?? ''} ${answer.message ?? ''}`.trim() };
    }
  };
}
