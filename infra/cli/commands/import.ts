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

interface Checkpoint {
  file: string;
  /** Lines up to this one (1-based) are done. */
  line: number;
  imported: number;
  duplicates: number;
  rejected: Array<{ line: number; reason: string }>;
}

export async function execute({ values, positionals }: Parsed, ctx: Context): Promise<ExitCode> {
  const file = resolve(ctx.cwd, positionals[0]!);
  if (!existsSync(file)) throw new UsageError(`no file ${positionals[0]}`);
  const format = /\.csv$/i.test(file) ? 'csv' : /\.(nd)?jsonl?$/i.test(file) || /\.ndjson$/i.test(file) ? 'ndjson' : undefined;
  if (!format) throw new UsageError(`${positionals[0]}: expected a .csv or .ndjson file`);
  const batchSize = Number(values['batch-size'] ?? 500);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) throw new UsageError(`--batch-size: expected a whole number from 1 to ${MAX_BATCH}`);
  const maxBatches = values['max-batches'] === undefined ? Infinity : Number(values['max-batches']);
  const post = poster(values, ctx);

  const checkpointFile = resolve(ctx.cwd, typeof values.checkpoint === 'string' ? values.checkpoint : `${file}.import-checkpoint.json`);
  let state: Checkpoint = { file, line: 0, imported: 0, duplicates: 0, rejected: [] };
  if (existsSync(checkpointFile)) {
    state = JSON.parse(readFileSync(checkpointFile, 'utf8')) as Checkpoint;
    ctx.err(`resuming after line ${state.line} (checkpoint ${checkpointFile})`);
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
   * Batches go out `parallel` at a time; their results are taken in file order, so the checkpoint
   * only ever covers lines whose batch (and every batch before it) was accepted. Lines refused while
   * reading travel with their batch, so a resumed import does not report them twice.
   */
  interface Batch {
    events: ImportEvent[];
    /** Lines refused before posting (not JSON, no id...). */
    refused: Array<{ line: number; reason: string }>;
    upTo: number;
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
      ctx.err(`the ingest refused the batch of lines ${batch.events[0]!.line}-${batch.upTo}: ${result.message}; fix it and run again to resume`);
      return false;
    }
    state.rejected.push(...batch.refused);
    if (result) {
      const duplicates = new Set(result.duplicates);
      state.duplicates += duplicates.size;
      state.imported += result.accepted.filter((id) => !duplicates.has(id)).length;
      for (const r of result.rejected) state.rejected.push({ line: batch.events[r.index]!.line, reason: r.reason });
    }
    state.line = batch.upTo;
    writeFileSync(checkpointFile, JSON.stringify(state));
    batches++;
    progress();
    return true;
  };

  /** A batch's request; never rejects (a batch awaited later must not fail unobserved). */
  const send = (batch: Batch): Promise<PostResult> => post(batch.events.map((b) => b.event)).catch((error: unknown) => ({ kind: 'failed', message: (error as Error).message }));

  /** Send a batch; with `parallel` batches out, first wait for the oldest. */
  const dispatch = async (batch: Batch): Promise<boolean> => {
    if (batch.events.length > 0) batch.result = send(batch);
    inFlight.push(batch);
    while (inFlight.length >= parallel) if (!(await settleOldest())) return false;
    return true;
  };

  let current: Batch = { events: [], refused: [], upTo: state.line };
  let dispatched = 0;
  for (let i = Math.max(first, state.line + 1); i <= lines.length && dispatched < maxBatches; i++) {
    const text = lines[i - 1]!;
    current.upTo = i;
    if (text.trim() === '') continue;
    const parsed = format === 'csv' ? csvLine(header, text, i, name) : ndjsonLine(text, i, name);
    if ('error' in parsed) current.refused.push({ line: i, reason: parsed.error });
    else current.events.push(...parsed.events);
    if (current.events.length >= batchSize) {
      dispatched++;
      if (!(await dispatch(current))) {
        failed = true;
        break;
      }
      current = { events: [], refused: [], upTo: i };
    }
  }
  const stoppedEarly = dispatched >= maxBatches && current.upTo < lines.length;
  if (!failed && !stoppedEarly) {
    current.upTo = Math.max(current.upTo, lines.length);
    inFlight.push({ ...current, ...(current.events.length > 0 && { result: send(current) }) });
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
