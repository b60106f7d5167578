/**
 * Lean stand-ins for four AWS SDK middleware of the embedded engine's in-process DynamoDB client, used where the
 * middleware order cache (middleware-order.ts) builds a call's handler chain. Each does what the SDK's does for
 * this client, without the work whose result is the same on every call:
 *
 * - `endpointV2Middleware`: the client's endpoint is fixed (`inProcessClientConfig`: a custom endpoint, a provider
 *   that returns it whatever the parameters, no headers), so the endpoint parameters (region, FIPS, dual stack,
 *   account id: each an awaited provider, after a copy of the whole client configuration) are not worked out;
 *   the context gets the same `endpointV2`, `authSchemes` and `ENDPOINT_OVERRIDE` feature.
 * - `serializerMiddleware` / `deserializerMiddleware`: the SDK hands the protocol `{ ...config, ...context }`, a
 *   copy of the client's configuration (~80 properties) on every call, twice; the protocol only reads from it
 *   (`endpoint`, `streamCollector`, ...). Here it reads the same values from the call's context over a prototype
 *   of the configuration. The same protocol serialises and deserialises; errors are decorated as the SDK does.
 * - `retryMiddleware` (standard mode): an attempt that succeeds is not retried, so it does not need the retry
 *   token's promises: it gets the same headers, `$metadata.attempts`/`totalRetryDelay` and the same capacity refund
 *   (`recordSuccess` of a first token). Nor is one that fails with an error the strategy never retries (the SDK's
 *   own classification: neither throttling nor transient), which gets the SDK's one-attempt metadata. A first
 *   attempt that fails otherwise is handed to the SDK's own retry middleware, its first attempt answering that
 *   error: from there on every decision, retry, delay, token and error is the SDK's (throttling injected by
 *   faults.ts included).
 *
 * Each stand-in replaces only the SDK's own middleware (recognised by identity: the function the client's stack
 * holds, or the tags array of the SDK's options for the per-command endpoint middleware, which every command's
 * endpoint plugin gets with the client's configuration), only on a client configured as
 * `inProcessClientConfig` makes it; anything else runs unchanged. RAPPORT_DYNAMO_FAST_CALLS=0 runs none of them.
 * tests/unit/embedded/fast-calls.test.ts proves the answers, errors, metadata, retries and faults the same.
 *
 * An adapter of the embedded engine's DynamoDB (dynalite stands in for AWS's): no handler sees it.
 */
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Handler, HandlerExecutionContext } from '@smithy/types';
import { isFixedInProcessEndpoint } from './in-process';

type AnyMiddleware = (next: Handler<object, object>, context: HandlerExecutionContext) => Handler<object, object>;
/** A handler as these stand-ins see it (the SDK's handler types differ per step). */
type Next = (args: object) => Promise<object>;
const middleware = (f: (next: Next, context: HandlerExecutionContext) => Next) => f as unknown as AnyMiddleware;
type Options = Record<string, unknown>;

const require = createRequire(import.meta.url);
// The CommonJS modules the SDK clients load (an ESM import would load @smithy/core's other build, whose objects differ).
const smithy = {
  endpoints: require('@smithy/core/endpoints') as { endpointMiddlewareOptions: { tags: readonly string[] } },
  transport: require('@smithy/core/transport') as {
    HttpRequest: { isInstance(request: unknown): request is { headers: Record<string, string> } };
    HttpResponse: { isInstance(response: unknown): response is { headers?: Record<string, string>; statusCode: number } };
    toEndpointV1(endpoint: unknown): unknown;
  },
  retry: require('@smithy/core/retry') as {
    StandardRetryStrategy: new (...args: never[]) => StandardStrategy;
    isThrottlingError(error: unknown): boolean;
    isTransientError(error: unknown): boolean;
  },
};
const SMITHY_CONTEXT_KEY = '__smithy_context';

interface StandardStrategy {
  acquireInitialRetryToken(scope: string): Promise<unknown>;
  recordSuccess(token: unknown): void;
}

interface ClientConfig {
  protocol: {
    serializeRequest(operation: object, input: unknown, context: object): Promise<unknown>;
    deserializeResponse(operation: object, context: object, response: unknown): Promise<unknown>;
  };
  endpoint?: () => Promise<unknown>;
  endpointProvider: (params: object, context: object) => { url: URL };
  isCustomEndpoint?: boolean;
  retryStrategy: () => Promise<unknown>;
  maxAttempts: () => Promise<number>;
}

/** An addition to a stack, as middleware-order.ts records it. */
export interface StackAddition {
  middleware: AnyMiddleware;
  options: Options;
}
/** The stand-in for an addition, or undefined to run it as it is. */
export type Substitute = (addition: StackAddition) => AnyMiddleware | undefined;

const smithyContext = (context: HandlerExecutionContext) => ((context as Record<string, unknown>)[SMITHY_CONTEXT_KEY] ??= {}) as Record<string, unknown>;
const operationOf = (context: HandlerExecutionContext) => {
  const [, namespace, name, traits, input, output] = (smithyContext(context).operationSchema ?? []) as unknown[];
  return { name, namespace, traits, input, output };
};
/** What the SDK's `{ ...config, ...context }` reads as: the context's own values over the configuration's. */
const serdeContext = (config: object, context: HandlerExecutionContext) => Object.assign(Object.create(config) as object, context);

function setFeature(context: HandlerExecutionContext, feature: string, value: string): void {
  const smithy = context as { __smithy_context?: { features?: Record<string, string> } };
  if (!smithy.__smithy_context) smithy.__smithy_context = { features: {} };
  else if (!smithy.__smithy_context.features) smithy.__smithy_context.features = {};
  smithy.__smithy_context.features![feature] = value;
}

function endpointMiddleware(config: ClientConfig): AnyMiddleware {
  return middleware((next, context) => (args) => {
    if (config.isCustomEndpoint) setFeature(context, 'ENDPOINT_OVERRIDE', 'N');
    const endpoint = config.endpointProvider({}, context);
    const ctx = context as Record<string, unknown>;
    ctx.endpointV2 = endpoint;
    ctx.authSchemes = (endpoint as { properties?: { authSchemes?: unknown } }).properties?.authSchemes;
    return next({ ...args });
  });
}

function serializerMiddleware(config: ClientConfig): AnyMiddleware {
  return middleware((next, context) => async (args) => {
    const endpointV2 = (context as { endpointV2?: unknown }).endpointV2;
    const endpoint = endpointV2 ? () => Promise.resolve(smithy.transport.toEndpointV1(endpointV2)) : config.endpoint;
    const ctx = serdeContext(config, context) as Record<string, unknown>;
    ctx.endpoint = endpoint;
    const request = await config.protocol.serializeRequest(operationOf(context), (args as { input: unknown }).input, ctx);
    return next({ ...args, request });
  });
}

function deserializerMiddleware(config: ClientConfig): AnyMiddleware {
  return middleware((next, context) => async (args) => {
    const { response } = (await next(args)) as { response: unknown };
    try {
      const parsed = await config.protocol.deserializeResponse(operationOf(context), serdeContext(config, context), response);
      return { response, output: parsed };
    } catch (caught) {
      // As the SDK's schemaDeserializationMiddleware decorates a deserialisation error.
      const error = caught as Error & { $metadata?: unknown; $responseBodyText?: unknown; $response?: { body?: unknown } };
      Object.defineProperty(error, '$response', { value: response, enumerable: false, writable: false, configurable: false });
      if (!('$metadata' in error)) {
        const hint = 'Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.';
        try {
          error.message += '\n  ' + hint;
        } catch {
          const logger = context.logger as { constructor?: { name?: string }; warn?: (message: string) => void } | undefined;
          if (!logger || logger.constructor?.name === 'NoOpLogger') console.warn(hint);
          else logger.warn?.(hint);
        }
        if (typeof error.$responseBodyText !== 'undefined' && error.$response) error.$response.body = error.$responseBodyText;
        try {
          if (smithy.transport.HttpResponse.isInstance(response)) {
            const { headers = {}, statusCode } = response;
            const entries = Object.entries(headers);
            const find = (pattern: RegExp) => entries.find(([k]) => pattern.test(k))?.[1];
            error.$metadata = {
              httpStatusCode: statusCode,
              requestId: find(/^x-[\w-]+-request-?id$/),
              extendedRequestId: find(/^x-[\w-]+-id-2$/),
              cfId: find(/^x-[\w-]+-cf-id$/),
            };
          }
        } catch {
          // As the SDK: metadata is best effort.
        }
      }
      throw error;
    }
  });
}

/** The retry middleware's stand-in; `sdk` is the SDK's own, which takes over a call whose first error it would retry. */
function retryMiddleware(sdk: AnyMiddleware, strategy: StandardStrategy, firstToken: unknown, maxAttempts: number): AnyMiddleware {
  return middleware((next, context) => {
    // An abort signal races the SDK's token promises, a long poll takes other tokens: such a call goes the SDK's way.
    const ctx = context as { __smithy_context?: { abortSignal?: unknown }; __retryLongPoll?: unknown };
    if (ctx.__smithy_context?.abortSignal !== undefined || ctx.__retryLongPoll) return sdk(next as Handler<object, object>, context) as Next;
    return async (args) => {
      const request = (args as { request?: unknown }).request;
      if (smithy.transport.HttpRequest.isInstance(request)) {
        request.headers['amz-sdk-invocation-id'] = randomUUID();
        request.headers['amz-sdk-request'] = `attempt=1; max=${maxAttempts}`;
      }
      let first: unknown;
      try {
        const result = (await next(args)) as { output: { $metadata: { attempts?: number; totalRetryDelay?: number } } };
        strategy.recordSuccess(firstToken);
        result.output.$metadata.attempts = 1;
        result.output.$metadata.totalRetryDelay = 0;
        return result;
      } catch (error) {
        first = error;
      }
      // An error the standard strategy never retries (neither throttling nor transient: a failed condition, a
      // validation error): the SDK refuses a retry token and throws the error with one attempt and no delay.
      // (A streaming body the SDK refuses to retry differently: such a call goes the SDK's way.)
      const body = (request as { body?: unknown } | undefined)?.body;
      const streaming = body instanceof Readable || body instanceof ReadableStream;
      if (first instanceof Error && !streaming && !smithy.retry.isThrottlingError(first) && !smithy.retry.isTransientError(first)) {
        const error = first as Error & { $metadata?: { attempts?: number; totalRetryDelay?: number } };
        error.$metadata ??= {};
        error.$metadata.attempts = 1;
        error.$metadata.totalRetryDelay = 0;
        throw error;
      }
      // The SDK's retry middleware from its first attempt on, that attempt answering what this one did.
      let attempt = 0;
      const replay: Next = (again) => (attempt++ === 0 ? Promise.reject(first as Error) : next(again));
      return sdk(replay as Handler<object, object>, context)(args as never);
    };
  });
}

/**
 * The stand-ins for `client` (see the module comment), as middleware-order.ts's `substitute`; undefined when the
 * client is not configured as `inProcessClientConfig` makes it or does not retry in standard mode.
 */
export async function inProcessShortcuts(client: { config: unknown; middlewareStack: unknown }): Promise<Substitute | undefined> {
  const config = client.config as ClientConfig;
  if (!isFixedInProcessEndpoint(config.endpointProvider) || typeof config.endpoint !== 'function') return undefined;
  // The endpoint the SDK would resolve must be the provider's own: a custom endpoint with headers would change it.
  const custom = (await config.endpoint()) as { headers?: unknown } | undefined;
  if (custom?.headers !== undefined) return undefined;
  const strategy = await config.retryStrategy();
  if (!(strategy instanceof smithy.retry.StandardRetryStrategy)) return undefined;
  const firstToken = await strategy.acquireInitialRetryToken('');
  const maxAttempts = await config.maxAttempts();

  // The client's own serde and retry middleware, as its stack holds them now (later additions of the same names are someone else's).
  const own = new Map<AnyMiddleware, AnyMiddleware>();
  const recorder = {
    add: (sdk: AnyMiddleware, options: Options = {}) => {
      if (options.name === 'serializerMiddleware') own.set(sdk, serializerMiddleware(config));
      else if (options.name === 'deserializerMiddleware') own.set(sdk, deserializerMiddleware(config));
      else if (options.name === 'retryMiddleware') own.set(sdk, retryMiddleware(sdk, strategy, firstToken, maxAttempts));
    },
    addRelativeTo: () => undefined,
    identifyOnResolve: () => false,
  };
  (client.middlewareStack as { applyToStack(to: unknown): void }).applyToStack(recorder);
  if (own.size !== 3) return undefined;
  const endpoint = endpointMiddleware(config);
  // A stack copies the options of what it holds, but not their tags: the SDK's endpoint plugin is known by its tags array.
  const endpointTags = smithy.endpoints.endpointMiddlewareOptions.tags;
  return (addition) => (addition.options.tags === endpointTags ? endpoint : own.get(addition.middleware));
}
