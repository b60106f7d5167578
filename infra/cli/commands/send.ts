/** `rapport send`: one signed sample event (or a file of them) to a running engine. */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { decodeWebhookSecret, signWebhook } from '../../../functions/ingest/signature';
import { ENV } from '../../../shared';
import type { Parsed } from '../commands';
import { EXIT, UsageError, type Context, type ExitCode } from '../io';

const TIMEOUT_MS = 10_000;

export async function execute({ values }: Parsed, ctx: Context): Promise<ExitCode> {
  const base = typeof values.url === 'string' ? values.url : `http://127.0.0.1:${ctx.env[ENV.PORT] ?? 3000}`;
  let url: URL;
  try {
    url = new URL('/v1/events', base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw new UsageError(`--url: expected a URL like http://127.0.0.1:3000, got ${JSON.stringify(base)}`);
  }
  const secret = secretOf(values, ctx);
  let key: Buffer;
  try {
    key = decodeWebhookSecret(secret.value);
  } catch (error) {
    throw new UsageError(`${secret.from}: ${(error as Error).message}`);
  }
  const body = JSON.stringify(bodyOf(values, ctx));

  const id = typeof values.id === 'string' ? values.id : `msg_${randomUUID()}`;
  const timestamp = Math.floor(Date.now() / 1000);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(key, id, timestamp, body) },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = (error as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : (cause?.code ?? cause?.message ?? (error as Error).message);
    ctx.err(`could not reach the engine at ${url.origin} (${why}). Is it running? Start it with \`npm start\`.`);
    return EXIT.unreachable;
  }
  const text = await response.text();
  ctx.out(`${response.status} ${response.statusText}`.trim());
  let pretty = text;
  try {
    pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: print as it came
  }
  if (pretty !== '') ctx.out(pretty);
  return response.ok ? EXIT.ok : EXIT.failed;
}

export function secretOf(values: Parsed['values'], ctx: Context): { value: string; from: string } {
  if (typeof values.secret === 'string') return { value: values.secret, from: '--secret' };
  const fromEnv = ctx.env[ENV.WEBHOOK_SECRET];
  if (fromEnv) return { value: fromEnv, from: ENV.WEBHOOK_SECRET };
  const saved = devCredential(ctx, 'webhookSecret');
  if (saved) return saved;
  throw new UsageError(`no webhook secret: pass --secret whsec_..., set ${ENV.WEBHOOK_SECRET}, or start the engine once (\`npm start\` keeps it in ${devCredentialsFile(ctx)})`);
}

/** Where `npm start` keeps its development credentials: <data>/dev-credentials.json, $RAPPORT_DATA_DIR else .rapport. */
const devCredentialsFile = (ctx: Context) => join(ctx.env[ENV.DATA_DIR] || '.rapport', 'dev-credentials.json');

/**
 * A credential `npm start` keeps in its data folder's dev-credentials.json (the webhook secret, the unsubscribe
 * secret), and the file it came from: $RAPPORT_DATA_DIR, else .rapport here or in a folder above (the repository's root).
 */
export function devCredential(ctx: Context, key: 'webhookSecret' | 'unsubscribeSecret'): { value: string; from: string } | undefined {
  const file = devCredentialsFile(ctx);
  const candidates = ctx.env[ENV.DATA_DIR] ? [resolve(ctx.cwd, file)] : ancestors(ctx.cwd).map((dir) => join(dir, file));
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    try {
      const saved = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      if (typeof saved[key] === 'string') return { value: saved[key], from: path };
    } catch {
      // not JSON: as if it were not there
    }
  }
  return undefined;
}

/** The folder and every folder above it. */
function ancestors(dir: string): string[] {
  const out = [resolve(dir)];
  while (dirname(out.at(-1)!) !== out.at(-1)) out.push(dirname(out.at(-1)!));
  return out;
}

function bodyOf(values: Parsed['values'], ctx: Context): unknown {
  if (typeof values.file === 'string') {
    const file = resolve(ctx.cwd, values.file);
    if (!existsSync(file)) throw new UsageError(`--file: no file ${values.file}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new UsageError(`--file ${values.file}: not JSON (${(error as Error).message})`);
    }
    return Array.isArray(parsed) ? { batch: parsed } : parsed;
  }
  let props: Record<string, unknown> = {};
  if (typeof values.props === 'string') {
    try {
      props = JSON.parse(values.props) as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`--props: not JSON (${(error as Error).message}); expected an object like '{"method":"email"}'`);
    }
    if (props === null || typeof props !== 'object' || Array.isArray(props)) throw new UsageError(`--props: expected a JSON object like '{"method":"email"}', got ${values.props}`);
  }
  const user = String(values.user);
  if (values.type === 'track') return { type: 'track', userId: user, event: String(values.event), properties: props };
  if (values.type === 'identify') return { type: 'identify', userId: user, traits: props };
  throw new UsageError(`--type: expected track or identify, got ${JSON.stringify(values.type)} (use --file for other event types)`);
}
