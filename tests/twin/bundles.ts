/**
 * The twin runs what deploys: the step Lambda's handler from the bundle `cdk synth` produces (esbuild through
 * `rapportFunction`, minified as in AWS), instead of the TypeScript sources. Bundled once per twin run (global
 * setup); loaded in a test worker by Node's own `import`, as the Lambda runtime loads it, with the environment
 * the synthesized template gives the function. Its AWS SDK clients (inside the bundle) reach a local endpoint:
 * DynamoDB, EventBridge and Step Functions calls are authorised by the function's role in the template and
 * served by the engine (DynamoDB calls may be failed on purpose); SES, Secrets Manager and the outbound
 * webhooks are answered by the test.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AwsCallAuthorizer } from '../../infra/embedded/authorization';
import type { Engine } from '../../infra/embedded/engine';
import type { BusEntry } from '../../shared';
import type { StepLambdaHandler } from '../../infra/embedded/journeys';
import type { VirtualClock } from '../../infra/embedded/virtual-time';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { Deployed, TWIN_STAGE, type CfnTemplate } from './template';

const REPO = path.join(import.meta.dirname, '..', '..');
/** The config and templates the bundle carries: the repository's, as `cdk synth` of `infra/cdk/app.ts` bundles them by default. */
const CONFIG_DIR = path.join(REPO, 'workflows');
const TEMPLATES_DIR = path.join(REPO, 'workflows', 'templates');

/**
 * Bundle the step function as synth does: `rapportFunction` (the esbuild options every Rapport function is
 * bundled with) in a stack of its own, so only this function is bundled (a second, not the 20 s of all seven).
 * Returns the bundle's folder (index.mjs, config/, templates/), under `into`.
 */
export async function bundleStepFunction(into: string): Promise<string> {
  process.env.CDK_DOCKER = '/nonexistent/docker-must-not-run';
  const [{ App, Stack }, logs, { rapportFunction }, { JOURNEYS, PROFILE }] = await Promise.all([
    import('aws-cdk-lib'),
    import('aws-cdk-lib/aws-logs'),
    import('../../infra/cdk/function'),
    import('../../infra/cdk/defaults'),
  ]);
  const outdir = mkdtempSync(path.join(into, 'cdk.out-'));
  const app = new App({ outdir });
  const stack = new Stack(app, `Rapport-${TWIN_STAGE}-bundles`);
  rapportFunction(stack, 'JourneyStepFunction', {
    stageName: TWIN_STAGE,
    description: 'the twin: the step function bundled as synth bundles it',
    ...JOURNEYS.step,
    logGroup: new logs.LogGroup(stack, 'JourneyStepLogs'),
    environment: {},
    bundledFiles: [
      { folder: PROFILE.bundledConfigFolder, files: PROFILE.configFiles.map((file) => path.join(CONFIG_DIR, file)) },
      { folder: JOURNEYS.bundledTemplatesFolder, files: readdirSync(TEMPLATES_DIR).filter((f) => f.endsWith('.liquid')).map((f) => path.join(TEMPLATES_DIR, f)) },
    ],
  });
  const assembly = app.synth();
  const assets = readdirSync(assembly.directory).filter((name) => name.startsWith('asset.'));
  if (assets.length !== 1) throw new Error(`expected the step function's code asset alone, found ${assets.join(', ') || 'none'}`);
  return path.join(assembly.directory, assets[0]!);
}

/** A temporary folder for the twin's bundles, and its removal. */
export function bundlesFolder(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'rapport-twin-bundles-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One DynamoDB call of the bundled function at the endpoint: fail it with this error, or let it through. */
export type EndpointFault = (call: { operation: string; body: Record<string, unknown> }) => 'InternalServerError' | undefined;

export interface TwinEndpoint {
  url: string;
  /** SES SendEmail requests received (the raw JSON bodies). */
  emails: Array<Record<string, unknown>>;
  /** Calls the endpoint does not serve (`x-amz-target` or method and path): a test expects none. */
  unexpected: string[];
  /** Calls served, by `x-amz-target` (or method and path). */
  served: Map<string, number>;
  close(): Promise<void>;
}

/**
 * The AWS endpoint of a bundled function, serving the engine's: DynamoDB (authorised as `functionName`, then
 * faulted or forwarded to the engine's dynalite over HTTP), EventBridge PutEvents (authorised, onto the engine's
 * bus) and Step Functions SendTaskSuccess (authorised, to the engine's executions); SES v2 SendEmail (recorded,
 * accepted) and Secrets Manager GetSecretValue (one fixed secret, a base64 key: unsubscribe and webhook keys).
 */
export async function twinEndpoint(options: { functionName: string; engine: () => Engine; authorize?: AwsCallAuthorizer; fault?: EndpointFault }): Promise<TwinEndpoint> {
  const emails: TwinEndpoint['emails'] = [];
  const unexpected: string[] = [];
  const served = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      const name = target || `${req.method} ${req.url}`;
      served.set(name, (served.get(name) ?? 0) + 1);
      const answer = (status: number, json: unknown, contentType = 'application/x-amz-json-1.0') => {
        res.writeHead(status, { 'content-type': contentType });
        res.end(JSON.stringify(json));
      };
      if (target.startsWith('DynamoDB_20120810.')) {
        const operation = target.slice('DynamoDB_20120810.'.length);
        const input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
        const denial = await options.authorize?.({ functionName: options.functionName, service: 'dynamodb', operation, input });
        if (denial) return answer(400, { __type: 'com.amazon.coral.service#AccessDeniedException', Message: denial.message });
        const fault = options.fault?.({ operation, body: input });
        if (fault) return answer(500, { __type: `com.amazonaws.dynamodb.v20120810#${fault}`, message: 'injected by the twin' });
        return forward(options.engine().dynamo.endpoint, req, body, res);
      }
      if (target === 'AWSEvents.PutEvents') {
        const input = JSON.parse(body.toString('utf8')) as { Entries: Array<BusEntry & { Time?: number | string }> };
        const denial = await options.authorize?.({ functionName: options.functionName, service: 'events', operation: 'PutEvents', input });
        if (denial) return answer(400, { __type: 'AccessDeniedException', message: denial.message }, 'application/x-amz-json-1.1');
        // The SDK sends Time as epoch seconds.
        const entries = input.Entries.map((e) => ({ ...e, ...(e.Time !== undefined && { Time: typeof e.Time === 'number' ? new Date(e.Time * 1000) : new Date(e.Time) }) }));
        return answer(200, options.engine().bus.putEvents(entries), 'application/x-amz-json-1.1');
      }
      if (target === 'AWSStepFunctions.SendTaskSuccess') {
        const { taskToken, output } = JSON.parse(body.toString('utf8')) as { taskToken: string; output: string };
        const sfn = options.engine().journeys.sfn;
        const owner = sfn.executionOfToken(taskToken);
        const denial = owner && (await options.authorize?.({ functionName: options.functionName, service: 'states', operation: 'SendTaskSuccess', ...owner }));
        if (denial) return answer(400, { __type: 'AccessDeniedException', message: denial.message });
        if (await sfn.sendTaskSuccess(taskToken, JSON.parse(output) as Record<string, unknown>)) return answer(200, {});
        return answer(400, { __type: 'com.amazonaws.swf.service.v2.model#TaskTimedOut', message: 'Task Timed Out' });
      }
      if (target === 'secretsmanager.GetSecretValue') {
        return answer(200, { ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:twin', Name: 'twin', SecretString: 'dHdpbnNlY3JldGtleWZvcnR3aW50ZXN0czEyMzQ1Ng' }, 'application/x-amz-json-1.1');
      }
      if (req.method === 'POST' && req.url === '/v2/email/outbound-emails') {
        emails.push(JSON.parse(body.toString('utf8')) as Record<string, unknown>);
        return answer(200, { MessageId: `twin-${emails.length}` }, 'application/json');
      }
      unexpected.push(name);
      answer(400, { __type: 'UnexpectedCall', message: `the twin's endpoint does not serve ${name}` });
    })().catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    emails,
    unexpected,
    served,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The bundled step function's handler, loaded as Lambda loads it (Node's own `import`, not Vite's) after its
 * environment is set: the template's variables for the function, resolved as deployed, with `/var/task` the
 * bundle's folder, what `overrides` returns on top, and every AWS service the function calls pointed at `endpoint`.
 * The environment is the process's: load one bundle per test file (each file has its own worker).
 */
export async function loadBundledStepHandler(
  bundleDir: string,
  template: CfnTemplate,
  endpoint: string,
  overrides: (env: Record<string, string>) => Record<string, string>,
): Promise<StepLambdaHandler> {
  const env = Object.fromEntries(Object.entries(stepVariables(template)).map(([name, value]) => [name, value.replace(/^\/var\/task(?=\/|$)/, bundleDir)]));
  Object.assign(process.env, env, overrides(env), {
    AWS_REGION: new Deployed(template).region,
    AWS_ACCESS_KEY_ID: 'twin',
    AWS_SECRET_ACCESS_KEY: 'twin',
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_ENDPOINT_URL_SESV2: endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint,
    AWS_ENDPOINT_URL_SFN: endpoint,
  });
  const { handler } = (await import(/* @vite-ignore */ pathToFileURL(path.join(bundleDir, 'index.mjs')).href)) as { handler: StepLambdaHandler };
  return handler;
}

/** Outbound webhooks the bundled function posted (see `interceptWebhooks`). */
export const webhooks: Array<{ url: string; body: string }> = [];

/**
 * Answer the bundled function's outbound webhooks here (recorded in `webhooks`, 200), as the receivers named in
 * the template would: `fetch` to those URLs only; anything else is fetched as before. Before the bundle loads,
 * which takes `fetch` as it is then.
 */
export function interceptWebhooks(template: CfnTemplate): void {
  const targets = stepVariables(template)[JOURNEY_ENV.OUTBOUND_WEBHOOK_TARGETS];
  const urls = new Set(Object.values(targets ? (JSON.parse(targets) as Record<string, { url: string }>) : {}).map((t) => t.url));
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!urls.has(url)) return realFetch(input, init);
    webhooks.push({ url, body: typeof init?.body === 'string' ? init.body : '' });
    return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

/** The clock of the invocation running (see `atEngineTime`): what `Date` answers inside it. */
const invocationClock = new AsyncLocalStorage<() => number>();
let dateInstalled = false;

/**
 * Run a bundled handler at the engine's time: inside it (and what it awaits), `new Date()` and `Date.now()`
 * read `clock` (a bundle reads the system clock; in the twin, time is virtual for every function). Elsewhere
 * `Date` is unchanged: the global is a proxy of it that differs only inside such an invocation. The Lambda
 * context's remaining time stays real (middy times the handler by it).
 */
export function atEngineTime(clock: () => VirtualClock, handler: StepLambdaHandler): StepLambdaHandler {
  if (!dateInstalled) {
    dateInstalled = true;
    const RealDate = Date;
    globalThis.Date = new Proxy(RealDate, {
      construct: (target, args, newTarget) => {
        const now = invocationClock.getStore();
        return Reflect.construct(target, args.length === 0 && now ? [now()] : args, newTarget) as object;
      },
      apply: (target, thisArg, args) => {
        const now = invocationClock.getStore();
        return now ? new RealDate(now()).toString() : (Reflect.apply(target, thisArg, args) as string);
      },
      get: (target, property, receiver) => (property === 'now' ? () => invocationClock.getStore()?.() ?? RealDate.now() : Reflect.get(target, property, receiver) as unknown),
    });
  }
  return (event, context) => {
    const real = { ...context, getRemainingTimeInMillis: () => invocationClock.exit(() => context.getRemainingTimeInMillis()) };
    return invocationClock.run(() => clock().now().getTime(), () => handler(event, real));
  };
}

/** The step function's environment variables in the template, resolved as deployed. */
function stepVariables(template: CfnTemplate): Record<string, string> {
  const deployed = new Deployed(template);
  const fnId = deployed
    .ofType('AWS::Lambda::Function')
    .find((id) => (deployed.resource(id).Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.POWERTOOLS_SERVICE_NAME === 'rapport-steps');
  if (!fnId) throw new Error('the template has no rapport-steps function');
  const variables = deployed.resolve((deployed.resource(fnId).Properties!.Environment as { Variables: Record<string, unknown> }).Variables) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(value)]));
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function forward(endpoint: string, req: IncomingMessage, body: Buffer, res: ServerResponse): void {
  const url = new URL(endpoint);
  const upstream = request({ host: url.hostname, port: url.port, method: req.method, path: req.url, headers: { ...req.headers, host: url.host } }, (answer) => {
    res.writeHead(answer.statusCode ?? 500, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', (error) => {
    res.writeHead(500);
    res.end(String(error));
  });
  upstream.end(body);
}
