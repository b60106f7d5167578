import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import type { DirectCall } from './in-process';

/**
 * dynalite's request listener, without the request it listens to. For each request the engine's in-process client
 * sends, dynalite's listener (dynalite/index.js `httpHandler`) reads the body from a stream, parses the URL's query,
 * checks the Authorization header's shape, draws a request id from the system's random source, then validates and
 * runs the action and answers with `sendData`. `dynaliteDirect` takes the same steps on the HttpRequest itself:
 * dynalite's own validation and action modules, the same store, the same answer (status, headers, body bytes, CRC32),
 * a request id of the same form drawn from a pooled random buffer.
 *
 * It takes only requests whose every check the listener would pass the same way: POST, JSON 1.0 content type, a
 * `DynamoDB_20120810` target dynalite serves, no query, no Origin, an Authorization header to come from the fixed
 * unsigned ones (see in-process.ts), a body that parses as JSON within dynalite's size limit. Any other request is
 * declined (undefined) and goes to the listener, which answers it as before.
 *
 * An adapter of the embedded engine's DynamoDB (dynalite stands in for AWS's): no handler sees it.
 */

const dynaliteRequire = createRequire(createRequire(import.meta.url).resolve('dynalite'));

interface ValidationModule {
  types: unknown;
  custom?: unknown;
}
interface Validations {
  checkTypes(data: unknown, types: unknown): Record<string, unknown>;
  checkValidations(data: unknown, types: unknown, custom: unknown, store: unknown): void;
  toLowerFirst(name: string): string;
}
type Action = (store: unknown, data: unknown, done: (error: (Error & { statusCode?: number; body?: unknown }) | null | undefined, data?: unknown) => void) => void;

const validations = dynaliteRequire('./validations') as Validations;
const crc32 = dynaliteRequire('buffer-crc32') as { unsigned(body: string): number };

/** The operations dynalite 4 serves (its index.js `validOperations`), under the API version the SDK sends. */
const OPERATIONS = [
  'BatchGetItem',
  'BatchWriteItem',
  'CreateTable',
  'DeleteItem',
  'DeleteTable',
  'DescribeTable',
  'DescribeTimeToLive',
  'GetItem',
  'ListTables',
  'PutItem',
  'Query',
  'Scan',
  'TagResource',
  'UntagResource',
  'ListTagsOfResource',
  'UpdateItem',
  'UpdateTable',
] as const;
const TARGET_PREFIX = 'DynamoDB_20120810.';
/** dynalite's MAX_REQUEST_BYTES: a larger body is answered 413 by the listener. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

const operations = new Map(
  OPERATIONS.map((operation) => {
    const name = validations.toLowerFirst(operation);
    return [operation, { action: dynaliteRequire(`./actions/${name}`) as Action, validation: dynaliteRequire(`./validations/${name}`) as ValidationModule }];
  }),
);

/** Random bytes drawn 39 × 256 at a time: one draw from the system per 256 request ids. */
let pool = Buffer.alloc(0);
let poolAt = 0;
/** dynalite's `rand52CharId`: 39 random bytes as base64, upper-cased, `+` and `/` as `0`. */
function requestId(): string {
  if (poolAt + 39 > pool.length) {
    pool = randomBytes(39 * 256);
    poolAt = 0;
  }
  const bytes = pool.subarray(poolAt, (poolAt += 39));
  return bytes.toString('base64').toUpperCase().replace(/\+|\//g, '0');
}


/** dynalite's `sendData`: the JSON body, its CRC32, type and length, after the request id the listener set first. */
function answer(id: string, data: unknown, statusCode: number): HttpResponse {
  const json = JSON.stringify(data);
  return {
    statusCode,
    headers: {
      'x-amzn-requestid': id,
      'x-amz-crc32': String(crc32.unsigned(json)),
      'content-type': 'application/x-amz-json-1.0',
      'content-length': String(Buffer.byteLength(json, 'utf8')),
    },
    body: Buffer.from(json, 'utf8'),
  };
}

/**
 * The direct path for `store` (the store dynalite's listener was bound to): a call for a request the listener would
 * answer through validation and action, undefined for any other. `authorized` says the request will carry an
 * Authorization header the listener accepts (the in-process handler's fixed headers when the request has none).
 */
export function dynaliteDirect(store: unknown): (request: HttpRequest, authorized: boolean) => DirectCall | undefined {
  return (request, authorized) => {
    if (!authorized || request.method !== 'POST') return undefined;
    const headers = request.headers;
    let target: string | undefined;
    let contentType: string | undefined;
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase();
      if (lower === 'x-amz-target') target = headers[name];
      else if (lower === 'content-type') contentType = headers[name];
      else if (lower === 'origin') return undefined;
    }
    if (contentType?.split(';')[0]!.trim() !== 'application/x-amz-json-1.0') return undefined;
    if (target === undefined || !target.startsWith(TARGET_PREFIX)) return undefined;
    const operation = operations.get(target.slice(TARGET_PREFIX.length) as (typeof OPERATIONS)[number]);
    if (!operation) return undefined;
    if (request.query && Object.keys(request.query).length > 0) return undefined;
    const raw = request.body as unknown;
    const body = typeof raw === 'string' ? (raw.isWellFormed() ? raw : undefined) : raw instanceof Uint8Array && raw.byteLength <= MAX_REQUEST_BYTES ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString() : undefined;
    if (body === undefined || body === '' || Buffer.byteLength(body) > MAX_REQUEST_BYTES) return undefined;
    let data: unknown;
    try {
      data = JSON.parse(body);
    } catch {
      return undefined;
    }
    return (respond) => () => {
      const id = requestId();
      const { action, validation } = operation;
      try {
        data = validations.checkTypes(data, validation.types);
        validations.checkValidations(data, validation.types, validation.custom, store);
      } catch (error) {
        const e = error as { statusCode?: number; body?: unknown };
        if (e.statusCode) return respond(answer(id, e.body, e.statusCode));
        throw error;
      }
      action(store, data, (error, result) => {
        if (error?.statusCode) return respond(answer(id, error.body, error.statusCode));
        if (error) throw error;
        respond(answer(id, result, 200));
      });
    };
  };
}
