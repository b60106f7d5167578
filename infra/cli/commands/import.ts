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

  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  const name = basename(file);
  const header = format === 'csv' ? csvCells(lines[0] ?? '').map((h) => h.trim()) : [];
  const first = format === 'csv' ? 2 : 1;
  if (format === 'csv' && !header.some((h) => h === 'userId' || h === 'user_id' || h === 'anonymousId')) throw new UsageError(`${positionals[0]}:1: the header names no userId (or user_id, anonymousId) column`);
  const total = lines.length;
  let batch: ImportEvent[] = [];
  let batches = 0;
  let lastLine = state.line;

  const flush = async (upTo: number): Promise<boolean> => {
    if (batch.length > 0) {
      const result = await post(batch.map((b) => b.event));
      if (result.kind === 'failed') {
        ctx.err(`the ingest refused the batch of lines ${batch[0]!.line}-${upTo}: ${result.message}; fix it and run again to resume`);
        return false;
      }
      const duplicates = new Set(result.duplicates);
      state.duplicates += duplicates.size;
      state.imported += result.accepted.filter((id) => !duplicates.has(id)).length;
      for (const r of result.rejected) state.rejected.push({ line: batch[r.index]!.line, reason: r.reason });
    }
    state.line = upTo;
    writeFileSync(checkpointFile, JSON.stringify(state));
    batch = [];
    batches++;
    const done = Math.min(upTo, total);
    const width = 30;
    const filled = Math.round((done / total) * width);
    ctx.err(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} lines, ${state.imported} imported, ${state.duplicates} duplicates, ${state.rejected.length} rejected`);
    return true;
  };

  for (let i = Math.max(first, state.line + 1); i <= lines.length; i++) {
    const text = lines[i - 1]!;
    lastLine = i;
    if (text.trim() === '') continue;
    const parsed = format === 'csv' ? csvLine(header, text, i, name) : ndjsonLine(text, i, name);
    if ('error' in parsed) state.rejected.push({ line: i, reason: parsed.error });
    else batch.push(...parsed.events);
    if (batch.length >= batchSize) {
      if (!(await flush(i))) return EXIT.failed;
      if (batches >= maxBatches) {
        ctx.err(`stopped after ${batches} batch(es) (--max-batches); run again to resume`);
        return EXIT.ok;
      }
    }
  }
  if (!(await flush(lastLine))) return EXIT.failed;
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
