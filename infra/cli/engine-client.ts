/** How CLI commands talk to a running engine's HTTP API (`--engine`, default http://127.0.0.1:$PORT). */
import { ENV } from '../../shared';
import type { Values } from './commands';
import { EXIT, UsageError, type Context, type ExitCode } from './io';

const TIMEOUT_MS = 60_000;

/** The engine's base URL from `--engine`, or the local default; a usage error naming the option if it is not a URL. */
export function engineBase(values: Values, ctx: Context, command: string): URL {
  const given = typeof values.engine === 'string' ? values.engine : `http://127.0.0.1:${ctx.env[ENV.PORT] ?? 3000}`;
  try {
    return new URL(given.endsWith('/') ? given : `${given}/`);
  } catch {
    throw new UsageError(`--engine: expected a URL like http://127.0.0.1:3000, got ${JSON.stringify(given)}`, command);
  }
}

/** No answer to use: the exit code, why already printed. */
export class Exit {
  constructor(readonly code: ExitCode) {}
}

/** The engine's JSON answer, or an Exit after printing why there is none. */
export async function call(ctx: Context, url: URL, body: string | undefined): Promise<unknown> {
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
