import dc from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { HttpHandlerOptions, HttpRequest, HttpResponse, Identity, RequestHandler } from '@smithy/types';

/**
 * In-process transport for the embedded engine's AWS SDK clients: the same clients, commands,
 * serialisers and middleware as against AWS, but the request handler hands each request to the
 * local service's Node request listener (dynalite, the bus's EventBridge API) with in-memory
 * request/response objects: no socket, no HTTP parser, no SigV4 signature.
 */

/** A Node HTTP request listener, as `http.createServer` takes it. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Diagnostics channels of in-process calls, as Node's `http.client.request.start` / `http.client.response.finish`
 * are for socket calls (the cost meter counts and times AWS calls with them): each message is `{ request }`,
 * the SDK's HttpRequest; `finish` is published when the call has answered or failed.
 */
export const IN_PROCESS_CHANNELS = { start: 'rapport.in-process.request.start', finish: 'rapport.in-process.request.finish' } as const;
const startChannel = dc.channel(IN_PROCESS_CHANNELS.start);
const finishChannel = dc.channel(IN_PROCESS_CHANNELS.finish);

/**
 * A request a local service answers without its request listener (see dynalite-direct.ts): called when the request
 * would have reached the listener (it may throw, as the listener may), it returns the work the listener would have
 * done once the body arrived, which answers through `respond`.
 */
export type DirectCall = (respond: (response: HttpResponse) => void) => () => void;
/** The direct call for a request, or undefined for the listener. `authorized`: the request will carry the fixed Authorization header. */
export type DirectRoute = (request: HttpRequest, authorized: boolean) => DirectCall | undefined;

/** The HttpHandler the AWS SDK v3 clients accept as `requestHandler`. */
export class InProcessHttpHandler implements RequestHandler<HttpRequest, HttpResponse, HttpHandlerOptions> {
  readonly metadata = { handlerProtocol: 'in-process' };

  /**
   * @param listener the service's request listener
   * @param fixedHeaders headers added to every request that lacks them (e.g. the Authorization
   *   header dynalite requires to be present, though it never verifies it)
   * @param direct the requests the service answers without its listener, the same way (see `DirectCall`)
   */
  constructor(
    private readonly listener: RequestListener,
    private readonly fixedHeaders: Readonly<Record<string, string>> = {},
    private readonly direct?: DirectRoute,
  ) {}

  handle(request: HttpRequest, options: HttpHandlerOptions = {}): Promise<{ response: HttpResponse }> {
    if (options.abortSignal?.aborted) return Promise.reject(abortError());
    if (!startChannel.hasSubscribers && !finishChannel.hasSubscribers) return this.#handle(request);
    startChannel.publish({ request });
    const done = () => finishChannel.publish({ request });
    const call = this.#handle(request);
    call.then(done, done);
    return call;
  }

  #handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    const direct = this.direct?.(request, this.#fixedAuthorization(request));
    if (direct) return this.#handleDirect(direct);
    return new Promise((resolve, reject) => {
      const req = fakeRequest(request, this.fixedHeaders);
      const res = new FakeResponse((response) => resolve({ response }));
      try {
        this.listener(req as unknown as IncomingMessage, res as unknown as ServerResponse);
      } catch (error) {
        return reject(asError(error));
      }
      // The listener subscribes to 'data'/'end' synchronously; the body then arrives as from a socket.
      process.nextTick(() => {
        try {
          const body = requestBody(request.body);
          if (body.length > 0) req.emit('data', body);
          req.emit('end');
        } catch (error) {
          // A listener that throws would take an HTTP server's process down; here the call fails.
          reject(asError(error));
        }
      });
    });
  }

  /** The same steps as `#handle`: the call is let in at once, its work is done on the next tick, as the body's arrival would start it. */
  #handleDirect(call: DirectCall): Promise<{ response: HttpResponse }> {
    return new Promise((resolve, reject) => {
      let work: () => void;
      try {
        work = call((response) => resolve({ response }));
      } catch (error) {
        return reject(asError(error));
      }
      process.nextTick(() => {
        try {
          work();
        } catch (error) {
          reject(asError(error));
        }
      });
    });
  }

  /** Whether the request goes out with the fixed Authorization header (it has none of its own). */
  #fixedAuthorization(request: HttpRequest): boolean {
    if (this.fixedHeaders.authorization === undefined) return false;
    for (const name of Object.keys(request.headers)) if (name.toLowerCase() === 'authorization') return false;
    return true;
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {}
}

/**
 * The AWS SDK's read of the shared config files (~/.aws/config and ~/.aws/credentials, or AWS_CONFIG_FILE and
 * AWS_SHARED_CREDENTIALS_FILE), started when this module loads, outside any engine. The SDK reads each file once
 * per process and keeps the read's promise for good (@smithy/core's config `readFile`). Where a file is missing
 * (CI, a bare machine) that promise is rejected with ENOENT, and the Error's async stack trace holds the closures
 * of the calls that were waiting for the read: made by the first in-process client's configuration lookups (its
 * retry mode, ...), they hold that client's configuration, its request handler and so the local service's store.
 * A process that starts engine after engine (test files sharing a worker) then kept its first engine's whole
 * dynalite store (every item) until it exited. Read here first, the kept stack holds no engine; clients of local
 * services made after `sharedConfigFilesRead` settles find the read done. (tests/unit/embedded/stopped-engine-collected.test.ts)
 */
const smithyConfig = createRequire(import.meta.url)('@smithy/core/config') as { loadSharedConfigFiles(): Promise<unknown> };
export const sharedConfigFilesRead: Promise<void> = smithyConfig.loadSharedConfigFiles().then(
  () => undefined,
  () => undefined,
);

/** Signs nothing: local services check no signature, and SigV4 is a large share of a local call's cost. */
const noSigner = { sign: (request: HttpRequest, _identity: Identity) => Promise.resolve(request) };
const anonymous = (): Promise<Identity> => Promise.resolve({});

/** The endpoint providers `inProcessClientConfig` makes: each answers its one endpoint whatever it is asked (see sdk-shortcuts.ts). */
const fixedEndpointProviders = new WeakSet<object>();
/** Whether `provider` is one of `inProcessClientConfig`'s fixed endpoint providers. */
export function isFixedInProcessEndpoint(provider: unknown): boolean {
  return typeof provider === 'function' && fixedEndpointProviders.has(provider);
}

/**
 * Client configuration for an AWS SDK v3 client of a local service reached in process: the service's
 * request listener as its transport and no request signing. `endpoint` only names the service in
 * requests (nothing connects to it).
 */
export function inProcessClientConfig(listener: RequestListener, options: { service: string; fixedHeaders?: Record<string, string>; direct?: DirectRoute }) {
  const endpoint = `http://${options.service}.in-process`;
  const url = new URL(endpoint);
  const endpointProvider = () => ({ url });
  fixedEndpointProviders.add(endpointProvider);
  return {
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    endpoint,
    // The one endpoint there is, without evaluating the service's endpoint rule set on every call.
    endpointProvider,
    requestHandler: new InProcessHttpHandler(listener, options.fixedHeaders, options.direct),
    httpAuthSchemeProvider: () => [{ schemeId: 'smithy.api#noAuth' }],
    httpAuthSchemes: [{ schemeId: 'smithy.api#noAuth', identityProvider: () => anonymous, signer: noSigner }],
  };
}

/**
 * Middleware of an SDK client that only dress a request for the network and AWS's logs: its
 * Content-Length, Host and User-Agent headers, the recursion-detection trace header, and the
 * client's request/response logger (a no-op logger that still walks every input for sensitive
 * fields). Serialisation, retries (and faults.ts, inside them), auth and deserialisation stay.
 */
export const TRANSPORT_ONLY_MIDDLEWARE = {
  loggerMiddleware: 'initialize',
  contentLengthMiddleware: 'build',
  getUserAgentMiddleware: 'build',
  hostHeaderMiddleware: 'build',
  recursionDetectionMiddleware: 'build',
} as const;

type Step = (typeof TRANSPORT_ONLY_MIDDLEWARE)[keyof typeof TRANSPORT_ONLY_MIDDLEWARE];
interface Stack {
  remove(name: string): boolean;
  add(middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>, options: { step: Step; name: string }): void;
}

/**
 * Replace `TRANSPORT_ONLY_MIDDLEWARE` of a client reaching a local service in process with
 * pass-throughs of the same names (middleware added relative to them, such as Powertools' user-agent
 * one, still finds its anchor); returns the client.
 */
export function withoutTransportMiddleware<C extends { middlewareStack: unknown }>(client: C): C {
  const stack = client.middlewareStack as Stack;
  for (const [name, step] of Object.entries(TRANSPORT_ONLY_MIDDLEWARE)) {
    stack.remove(name);
    stack.add((next) => next, { step, name });
  }
  return client;
}

/**
 * dynalite answers 400 MissingAuthenticationToken to a request without an Authorization header (it
 * checks the header's shape only); unsigned in-process requests carry this fixed one.
 */
export const DYNALITE_UNSIGNED_HEADERS: Readonly<Record<string, string>> = {
  authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=in-process',
  'x-amz-date': '20260101T000000Z',
};

function fakeRequest(request: HttpRequest, fixedHeaders: Readonly<Record<string, string>>) {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(fixedHeaders)) headers[name] ??= value;
  const pairs = Object.entries(request.query ?? {}).flatMap(([k, v]): Array<[string, string]> => (v === null ? [[k, '']] : typeof v === 'string' ? [[k, v]] : v.map((x) => [k, x])));
  const query = new URLSearchParams(pairs).toString();
  const req = new EventEmitter() as EventEmitter & { method: string; url: string; headers: IncomingHttpHeaders; socket: { remoteAddress: string }; resume(): void; pause(): void };
  req.method = request.method;
  req.url = `${request.path || '/'}${query ? `?${query}` : ''}`;
  req.headers = headers;
  req.socket = { remoteAddress: '127.0.0.1' };
  req.resume = () => undefined;
  req.pause = () => undefined;
  return req;
}

function requestBody(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError(`the in-process handler takes a string or bytes as request body, got ${Object.prototype.toString.call(body)} (streaming bodies are not supported)`);
}

/** The part of ServerResponse the local services use; `end` hands the response to the SDK. */
class FakeResponse {
  statusCode = 200;
  statusMessage = '';
  headersSent = false;
  finished = false;
  readonly #headers = new Map<string, string>();
  readonly #chunks: Buffer[] = [];

  constructor(private readonly done: (response: HttpResponse) => void) {}

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.#headers.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value as string | number));
    return this;
  }

  getHeader(name: string): string | undefined {
    return this.#headers.get(name.toLowerCase());
  }

  removeHeader(name: string): void {
    this.#headers.delete(name.toLowerCase());
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    this.statusCode = status;
    for (const [name, value] of Object.entries(headers ?? {})) if (value !== undefined) this.setHeader(name, value);
    this.headersSent = true;
    return this;
  }

  write(chunk: string | Uint8Array): boolean {
    this.headersSent = true;
    this.#chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
    return true;
  }

  end(chunk?: string | Uint8Array): this {
    if (this.finished) return this;
    if (chunk !== undefined) this.write(chunk);
    this.finished = true;
    this.headersSent = true;
    const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.done({ statusCode: this.statusCode, ...(this.statusMessage && { reason: this.statusMessage }), headers: Object.fromEntries(this.#headers), body });
    return this;
  }
}

function abortError(): Error {
  const error = new Error('Request aborted');
  error.name = 'AbortError';
  return error;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
