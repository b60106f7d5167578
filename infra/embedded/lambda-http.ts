import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { invokeLambda } from './lambda-async';

/** Any HTTP API (v2) handler; `never` lets handlers with a narrower parsed event type fit. */
export type HttpLambda = (
  event: never,
  context: Context,
  options: { signal: AbortSignal },
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Call a Lambda handler the way an HTTP API (payload v2) would: the embedded
 * engine's HTTP adapter, so the handler code is the one that runs in AWS.
 */
export async function invokeHttpLambda(
  handler: HttpLambda,
  functionName: string,
  request: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer; sourceIp?: string },
): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> {
  const url = new URL(request.url, 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const now = new Date();
  const requestId = randomUUID();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: `${request.method} ${url.pathname}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: { method: request.method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: request.sourceIp ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId,
      routeKey: `${request.method} ${url.pathname}`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    // HTTP API passes binary bodies base64-encoded; we always do, so the handler sees the exact bytes.
    body: request.body.toString('base64'),
    isBase64Encoded: true,
  };
  const result = await invokeLambda<Awaited<ReturnType<HttpLambda>>>(functionName, 29_000, (context, o) => handler(event as never, context, o));
  const outHeaders: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) outHeaders[k] = String(v);
  return { statusCode: result.statusCode ?? 200, headers: outHeaders, body: result.body ?? '' };
}
