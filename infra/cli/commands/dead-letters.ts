/** `rapport dead-letters [list|redrive]`: a running engine's dead letters, listed or redriven. */
import { ENV } from '../../../shared';
import type { Parsed } from '../commands';
import { EXIT, UsageError, type Context, type ExitCode } from '../io';

const TIMEOUT_MS = 60_000;

interface Letter {
  id: string;
  rule?: string;
  functionName: string;
  event: { 'detail-type': string; detail: { userId?: string; anonymousId?: string; messageId?: string } };
  error: string;
  attempts: number;
  at: string;
}

interface RedriveAnswer {
  redriven: Array<{ id: string; outcome: 'delivered' | 'dead-lettered again'; newId?: string }>;
  notFound: string[];
  noRule: string[];
}

export async function execute({ values, positionals }: Parsed, ctx: Context): Promise<ExitCode> {
  const action = positionals[0] ?? 'list';
  if (action !== 'list' && action !== 'redrive') throw new UsageError(`unknown action ${JSON.stringify(action)}: expected list or redrive`, 'dead-letters');
  const given = typeof values.engine === 'string' ? values.engine : `http://127.0.0.1:${ctx.env[ENV.PORT] ?? 3000}`;
  let base: URL;
  try {
    base = new URL(given.endsWith('/') ? given : `${given}/`);
  } catch {
    throw new UsageError(`--engine: expected a URL like http://127.0.0.1:3000, got ${JSON.stringify(given)}`, 'dead-letters');
  }
  const ids = typeof values.ids === 'string' ? values.ids.split(',').map((s) => s.trim()) : undefined;
  if (ids && (action !== 'redrive' || ids.some((id) => id === ''))) {
    throw new UsageError(action !== 'redrive' ? '--ids goes with redrive' : '--ids: expected dead-letter ids separated by commas, e.g. dl-1,dl-4', 'dead-letters');
  }

  const answer = await call(ctx, action === 'list' ? new URL('v1/admin/dead-letters', base) : new URL('v1/admin/dead-letters/redrive', base), action === 'redrive' ? JSON.stringify(ids ? { ids } : {}) : undefined);
  if (answer instanceof Exit) return answer.code;

  if (action === 'list') {
    const { deadLetters } = answer as { deadLetters: Letter[] };
    for (const l of deadLetters) {
      const who = l.event.detail.userId ?? l.event.detail.anonymousId ?? '-';
      ctx.out(`${l.id}  ${l.at}  ${l.rule ?? l.functionName}  ${l.event['detail-type']}  ${who}  ${l.event.detail.messageId ?? '-'}  after ${l.attempts} attempts: ${l.error}`);
    }
    ctx.out(`${deadLetters.length} dead letter${deadLetters.length === 1 ? '' : 's'}`);
    return EXIT.ok;
  }
  const { redriven, notFound, noRule } = answer as RedriveAnswer;
  for (const r of redriven) ctx.out(r.outcome === 'delivered' ? `${r.id}  delivered` : `${r.id}  dead-lettered again, now ${r.newId}`);
  for (const id of notFound) ctx.err(`${id}: no such dead letter (or it is being redriven)`);
  for (const id of noRule) ctx.err(`${id}: its bus rule no longer exists (journey removed?); left in place`);
  const delivered = redriven.filter((r) => r.outcome === 'delivered').length;
  ctx.out(`${delivered} of ${redriven.length} redriven dead letters delivered`);
  return delivered === redriven.length && notFound.length === 0 && noRule.length === 0 ? EXIT.ok : EXIT.failed;
}

/** No answer to use: the exit code, why already printed. */
class Exit {
  constructor(readonly code: ExitCode) {}
}

/** The engine's JSON answer, or an Exit after printing why there is none. */
async function call(ctx: Context, url: URL, body: string | undefined): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { method: body === undefined ? 'GET' : 'POST', ...(body !== undefined && { body, headers: { 'content-type': 'application/json' } }), signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = (error as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : (cause?.code ?? cause?.message ?? (error as Error).message);
    ctx.err(`could not reach the engine at ${url.origin} (${why}). Is it running? Start it with \`npm start\`.`);
    return new Exit(EXIT.unreachable);
  }
  const text = await response.text();
  if (!response.ok) {
    ctx.err(`${response.status} ${response.statusText}: ${text}`);
    return new Exit(EXIT.failed);
  }
  return JSON.parse(text) as unknown;
}
