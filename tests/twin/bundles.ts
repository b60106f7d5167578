/**
 * The twin runs what deploys: the functions' handlers from the bundles `cdk synth` produces (esbuild through
 * `rapportFunction`, minified as in AWS), instead of the TypeScript sources. The step function alone is bundled
 * once per twin run (global setup, `bundleStepFunction`); a test that runs every function synthesizes the whole
 * stack with its bundles (`synthBundledStack`) and finds each function's code asset in the cloud assembly.
 * A bundle is loaded in a test worker by Node's own `import`, as the Lambda runtime loads it, with the
 * environment the synthesized template gives the function. Its AWS SDK clients (inside the bundle) reach a
 * local endpoint (`twinEndpoint`): every call (DynamoDB, EventBridge, Step Functions, SES, Secrets Manager) is
 * authorised by the calling function's role in the template; DynamoDB, EventBridge and Step Functions calls are
 * served by the engine (DynamoDB calls may be failed on purpose); SES emails land in the engine's outbox; Secrets
 * Manager and the outbound webhooks are answered by the test.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { Agent, createServer, request, type ClientRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { AwsCallAuthorizer } from '../../infra/embedded/authorization';
import type { Engine } from '../../infra/embedded/engine';
import { ENGINE_FUNCTIONS, type EngineFunctionName, type FunctionHandlers, type LambdaHandler } from '../../infra/embedded/functions';
import type { StepLambdaHandler } from '../../infra/embedded/journeys';
import { invokingFunction } from '../../infra/embedded/lambda-async';
import type { VirtualClock } from '../../infra/embedded/virtual-time';
import type { BusEntry } from '../../shared';
import { decodeTagValue } from '../../functions/feedback/ses-event';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { Deployed, TWIN_STAGE, twinStack, type CfnTemplate } from './template';

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

/** The whole stack, synthesized with its bundles: the template, and each function's bundle folder by its name. */
export interface BundledStack {
  template: CfnTemplate;
  bundles: Record<EngineFunctionName, string>;
}

/**
 * Synthesize the stack as `cdk synth` of `infra/cdk/app.ts` does, bundling every function (minified, keepNames
 * as `rapportFunction` sets it): the repository's config, journeys and templates, the twin's delivery settings.
 * Each function's bundle is its code asset in the cloud assembly (`asset.<hash>`, the hash its S3 key names),
 * found by the function's Powertools service name. Offline: esbuild runs locally, never Docker.
 */
export async function synthBundledStack(into: string): Promise<BundledStack> {
  process.env.CDK_DOCKER = '/nonexistent/docker-must-not-run';
  const { App } = await import('aws-cdk-lib');
  const outdir = mkdtempSync(path.join(into, 'cdk.out-'));
  const app = new App({ outdir });
  const stack = await twinStack(app, CONFIG_DIR);
  const assembly = app.synth();
  const template = assembly.getStackArtifact(stack.artifactId).template as CfnTemplate;
  const deployed = new Deployed(template);
  const bundles: Partial<Record<EngineFunctionName, string>> = {};
  for (const id of deployed.ofType('AWS::Lambda::Function')) {
    const props = deployed.resource(id).Properties ?? {};
    const service = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.POWERTOOLS_SERVICE_NAME;
    if (typeof service !== 'string' || !(ENGINE_FUNCTIONS as readonly string[]).includes(service)) continue;
    const key = (props.Code as { S3Key?: unknown } | undefined)?.S3Key;
    const folder = typeof key === 'string' ? path.join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`) : undefined;
    if (!folder || !existsSync(path.join(folder, 'index.mjs'))) throw new Error(`the assembly has no bundle for ${service} (${id}, code ${JSON.stringify(props.Code)})`);
    bundles[service as EngineFunctionName] = folder;
  }
  const missing = ENGINE_FUNCTIONS.filter((name) => !bundles[name]);
  if (missing.length > 0) throw new Error(`the template deploys no function for ${missing.join(', ')}`);
  return { template, bundles: bundles as Record<EngineFunctionName, string> };
}

/** One DynamoDB call of a bundled function at the endpoint: fail it with this error, or let it through. */
export type EndpointFault = (call: { functionName: string; operation: string; body: Record<string, unknown> }) => 'InternalServerError' | undefined;

export interface TwinEndpoint {
  url: string;
  /** SES SendEmail requests received (the raw JSON bodies). */
  emails: Array<Record<string, unknown>>;
  /** Calls the endpoint does not serve (`x-amz-target` or method and path): a test expects none. */
  unexpected: string[];
  /** Calls served, by `x-amz-target` (or method and path). */
  served: Map<string, number>;
  /** Calls refused by IAM, as `<function> <operation>`. */
  denied: string[];
  /** Calls served, by the function that made them. */
  callers: Map<string, number>;
  close(): Promise<void>;
}

/** The header that names the calling function to the endpoint (see `nameCallers`): what credentials tell AWS. */
const CALLER_HEADER = 'x-rapport-twin-caller';
const callerPorts = new Set<number>();

/**
 * Name the calling function on every request to the endpoints (ports) registered here: each bundle has its own
 * AWS SDK and HTTP agent, but all run in this process, and the invocation a request is made in knows its function
 * (the engine's invocation store). The SDK's agent is Node's `http.Agent`: its `addRequest` runs in the caller's
 * async context, before the headers are sent.
 */
function nameCallers(port: number): void {
  if (callerPorts.size === 0) {
    // Not in Node's typings, but the method every agent's request goes through (node:_http_agent).
    type AddRequest = (this: Agent, req: ClientRequest, options: { port?: number | string }) => void;
    const prototype = Agent.prototype as unknown as { addRequest: AddRequest };
    const addRequest = prototype.addRequest;
    prototype.addRequest = function addRequestNamingCaller(req, options) {
      const caller = invokingFunction();
      if (caller !== undefined && callerPorts.has(Number(options.port)) && !req.headersSent) req.setHeader(CALLER_HEADER, caller);
      addRequest.call(this, req, options);
    };
  }
  callerPorts.add(port);
}

/**
 * `arn:aws:states:<region>:<account>:stateMachine:Rapport-<stage>_<journey>[:<alias or version>]` (or
 * `:execution:...:<name>`): the journey and the qualifier (a state machine's) or the execution name.
 */
function stateMachineOf(arn: string): { journeyId: string; name: string } {
  const match = /:(?:stateMachine|execution):Rapport-[a-z0-9-]+_([^:]+)(?::(.+))?$/.exec(arn);
  if (!match) throw new Error(`the twin's endpoint cannot read the journey of ${arn}`);
  return { journeyId: match[1]!, name: match[2] ?? '' };
}

/**
 * The AWS endpoint of the bundled functions, serving the engine's. Each call is authorised as the function that
 * makes it (`functionName` when the request does not name one): DynamoDB (faulted, or forwarded to the engine's
 * dynalite over HTTP), EventBridge PutEvents (onto the engine's bus), Step Functions StartExecution,
 * StopExecution, DescribeExecution and SendTaskSuccess (the engine's executions, with AWS's answers: an unknown
 * execution is ExecutionDoesNotExist, a second start of a name with another input ExecutionAlreadyExists).
 * SES v2 SendEmail (authorised as `ses:SendEmail` on the identity and the configuration set) is an email in the
 * engine's outbox, whose id is the SES message id; Secrets Manager GetSecretValue (authorised on the secret's ARN)
 * answers `secret(id)`, else one fixed base64 key (unsubscribe and webhook keys).
 */
export async function twinEndpoint(options: {
  functionName?: string;
  engine: () => Engine;
  authorize?: AwsCallAuthorizer;
  fault?: EndpointFault;
  secret?: (secretId: string) => string | undefined;
  /**
   * The state machine aliases the template deploys (`Deployed.aliasArns`): a StartExecution through any other
   * qualifier is answered as Step Functions answers a missing alias. Absent: every qualifier is served.
   */
  aliasArns?: ReadonlySet<string>;
}): Promise<TwinEndpoint> {
  const emails: TwinEndpoint['emails'] = [];
  const unexpected: string[] = [];
  const denied: string[] = [];
  const served = new Map<string, number>();
  const callers = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      const name = target || `${req.method} ${req.url}`;
      served.set(name, (served.get(name) ?? 0) + 1);
      const functionName = String(req.headers[CALLER_HEADER] ?? options.functionName ?? '');
      if (functionName) callers.set(functionName, (callers.get(functionName) ?? 0) + 1);
      const answer = (status: number, json: unknown, contentType = 'application/x-amz-json-1.0') => {
        res.writeHead(status, { 'content-type': contentType });
        res.end(JSON.stringify(json));
      };
      const refuse = (operation: string, message: string, contentType?: string) => {
        denied.push(`${functionName} ${operation}`);
        answer(400, { __type: 'com.amazon.coral.service#AccessDeniedException', Message: message, message }, contentType);
      };
      const sfnError = (type: string, message: string) => answer(400, { __type: `com.amazonaws.swf.service.v2.model#${type}`, message });
      const input = () => JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      const authorised = target.startsWith('DynamoDB_') || target.startsWith('AWSEvents.') || target.startsWith('AWSStepFunctions.') || target.startsWith('secretsmanager.') || req.url === '/v2/email/outbound-emails';
      if (!functionName && authorised) {
        unexpected.push(`${name} (no calling function)`);
        return answer(400, { __type: 'UnexpectedCall', message: 'the twin cannot tell which function made this call' });
      }
      if (target.startsWith('DynamoDB_20120810.')) {
        const operation = target.slice('DynamoDB_20120810.'.length);
        const call = input();
        const denial = await options.authorize?.({ functionName, service: 'dynamodb', operation, input: call });
        if (denial) return refuse(operation, denial.message);
        const fault = options.fault?.({ functionName, operation, body: call });
        if (fault) return answer(500, { __type: `com.amazonaws.dynamodb.v20120810#${fault}`, message: 'injected by the twin' });
        return forward(options.engine().dynamo.endpoint, req, body, res);
      }
      if (target === 'AWSEvents.PutEvents') {
        const call = input() as { Entries: Array<BusEntry & { Time?: number | string }> };
        const denial = await options.authorize?.({ functionName, service: 'events', operation: 'PutEvents', input: call });
        if (denial) return refuse('PutEvents', denial.message, 'application/x-amz-json-1.1');
        // The SDK sends Time as epoch seconds.
        const entries = call.Entries.map((e) => ({ ...e, ...(e.Time !== undefined && { Time: typeof e.Time === 'number' ? new Date(e.Time * 1000) : new Date(e.Time) }) }));
        return answer(200, options.engine().bus.putEvents(entries), 'application/x-amz-json-1.1');
      }
      if (target.startsWith('AWSStepFunctions.')) {
        const operation = target.slice('AWSStepFunctions.'.length);
        const sfn = options.engine().journeys.sfn;
        const call = input();
        const judge = async (op: 'StartExecution' | 'StopExecution' | 'DescribeExecution' | 'SendTaskSuccess', journeyId: string, executionName: string, qualifier?: string) => {
          const denial = await options.authorize?.({ functionName, service: 'states', operation: op, journeyId, executionName, ...(qualifier && { qualifier }) });
          if (denial) refuse(op, denial.message);
          return !denial;
        };
        if (operation === 'SendTaskSuccess') {
          const { taskToken, output } = call as { taskToken: string; output: string };
          const owner = sfn.executionOfToken(taskToken);
          if (owner && !(await judge('SendTaskSuccess', owner.journeyId, owner.executionName))) return;
          if (await sfn.sendTaskSuccess(taskToken, JSON.parse(output) as Record<string, unknown>)) return answer(200, {});
          return sfnError('TaskTimedOut', 'Task Timed Out');
        }
        if (operation === 'StartExecution') {
          const { stateMachineArn, name: executionName, input: executionInput } = call as { stateMachineArn: string; name: string; input: string };
          const { journeyId, name: qualifier } = stateMachineOf(stateMachineArn);
          if (!(await judge('StartExecution', journeyId, executionName, qualifier))) return;
          if (qualifier && options.aliasArns && !options.aliasArns.has(stateMachineArn)) return sfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
          // An execution's ARN names its state machine, whichever alias or version it was started through.
          const unqualified = qualifier ? stateMachineArn.slice(0, -(qualifier.length + 1)) : stateMachineArn;
          const executionArn = `${unqualified.replace(':stateMachine:', ':execution:')}:${executionName}`;
          const existing = sfn.executions.get(executionName);
          // Standard workflows: a second start of a name with the same input is the same execution; with another, refused.
          if (existing) {
            if (JSON.stringify(existing.input) !== executionInput) return sfnError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
            return answer(200, { executionArn, startDate: existing.startedAt.getTime() / 1000 });
          }
          await sfn.start(journeyId, executionName, JSON.parse(executionInput) as never);
          return answer(200, { executionArn, startDate: (sfn.executions.get(executionName)?.startedAt.getTime() ?? 0) / 1000 });
        }
        if (operation === 'StopExecution' || operation === 'DescribeExecution') {
          const { executionArn, cause } = call as { executionArn: string; cause?: string };
          const { journeyId, name: executionName } = stateMachineOf(executionArn);
          if (!(await judge(operation, journeyId, executionName))) return;
          const missing = () => sfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
          if (operation === 'StopExecution') {
            if (!sfn.executions.has(executionName)) return missing();
            await sfn.stop(journeyId, executionName, cause ?? '');
            return answer(200, { stopDate: Date.now() / 1000 });
          }
          const state = await sfn.describe(journeyId, executionName);
          if (!state) return missing();
          const execution = sfn.executions.get(executionName);
          return answer(200, {
            executionArn,
            stateMachineArn: executionArn.replace(':execution:', ':stateMachine:').replace(/:[^:]+$/, ''),
            name: executionName,
            status: state.status,
            startDate: (execution?.startedAt.getTime() ?? 0) / 1000,
            ...(execution?.stoppedAt !== undefined && state.status !== 'RUNNING' && { stopDate: execution.stoppedAt.getTime() / 1000 }),
            input: JSON.stringify(execution?.input ?? {}),
            ...(state.output !== undefined && { output: JSON.stringify(state.output) }),
          });
        }
      }
      if (target === 'secretsmanager.GetSecretValue') {
        const call = input();
        const denial = await options.authorize?.({ functionName, service: 'secretsmanager', operation: 'GetSecretValue', input: call });
        if (denial) return refuse('GetSecretValue', denial.message, 'application/x-amz-json-1.1');
        const { SecretId } = call as { SecretId: string };
        const value = options.secret?.(SecretId) ?? 'dHdpbnNlY3JldGtleWZvcnR3aW50ZXN0czEyMzQ1Ng';
        return answer(200, { ARN: SecretId, Name: SecretId.split(':').at(-1), SecretString: value }, 'application/x-amz-json-1.1');
      }
      if (req.method === 'POST' && req.url === '/v2/email/outbound-emails') {
        const call = input();
        const denial = await options.authorize?.({ functionName, service: 'ses', operation: 'SendEmail', input: call });
        if (denial) {
          // SES v2 is a REST-JSON API: the error's type is a header, the status 403.
          denied.push(`${functionName} SendEmail`);
          res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' });
          return res.end(JSON.stringify({ message: denial.message }));
        }
        const request = call as unknown as SesSendEmail;
        emails.push(request as unknown as Record<string, unknown>);
        const { providerId } = await options.engine().outbox.email(emailOf(request));
        return answer(200, { MessageId: providerId }, 'application/json');
      }
      unexpected.push(name);
      answer(400, { __type: 'UnexpectedCall', message: `the twin's endpoint does not serve ${name}` });
    })().catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  nameCallers(port);
  return {
    url: `http://127.0.0.1:${port}`,
    emails,
    unexpected,
    served,
    denied,
    callers,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The SES v2 SendEmail request, as `sesRequest` writes it. */
interface SesSendEmail {
  Destination: { ToAddresses: string[] };
  Content: { Simple: { Subject: { Data: string }; Body: { Text: { Data: string }; Html?: { Data: string } }; Headers?: Array<{ Name: string; Value: string }> } };
  EmailTags?: Array<{ Name: string; Value: string }>;
}

/** The email a SendEmail request sends, as the engine's outbox keeps it (tags decoded as the feedback function decodes them). */
function emailOf(request: SesSendEmail) {
  const { Subject, Body, Headers = [] } = request.Content.Simple;
  return {
    to: request.Destination.ToAddresses[0]!,
    subject: Subject.Data,
    text: Body.Text.Data,
    ...(Body.Html && { html: Body.Html.Data }),
    headers: Object.fromEntries(Headers.map((h) => [h.Name, h.Value])),
    tags: Object.fromEntries((request.EmailTags ?? []).map((t) => [t.Name, decodeTagValue(t.Value)])),
  };
}

/**
 * The environment a function's bundle runs with: the template's variables for it, resolved as deployed, with
 * `/var/task` its bundle's folder, then `overrides` (the engine's table names) and every AWS service it calls
 * pointed at `endpoint`.
 */
function bundleEnvironment(template: CfnTemplate, serviceName: string, bundleDir: string, endpoint: string, overrides: Record<string, string>): Record<string, string> {
  const variables = Object.entries(functionVariables(template, serviceName)).map(([name, value]) => [name, value.replace(/^\/var\/task(?=\/|$)/, bundleDir)]);
  return {
    ...Object.fromEntries(variables),
    ...overrides,
    AWS_REGION: new Deployed(template).region,
    AWS_ACCESS_KEY_ID: 'twin',
    AWS_SECRET_ACCESS_KEY: 'twin',
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_ENDPOINT_URL_SESV2: endpoint,
    // Not served (a call is `unexpected`), but never AWS: the twin's deployments send no WhatsApp or push from a bundle.
    AWS_ENDPOINT_URL_SNS: endpoint,
    AWS_ENDPOINT_URL_SOCIALMESSAGING: endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint,
    AWS_ENDPOINT_URL_SFN: endpoint,
  };
}

/** Import a bundle as Lambda loads it (Node's own `import`, not Vite's) with `env` as the process's environment during its cold start. */
async function importBundle(bundleDir: string, env: Record<string, string>): Promise<LambdaHandler> {
  Object.assign(process.env, env);
  const { handler } = (await import(/* @vite-ignore */ pathToFileURL(path.join(bundleDir, 'index.mjs')).href)) as { handler?: LambdaHandler };
  if (typeof handler !== 'function') throw new Error(`${bundleDir}/index.mjs exports no handler`);
  return handler;
}

/**
 * Every function's handler from its bundle (`synthBundledStack`), for `EngineOptions.functions`: each loaded
 * with its own environment (the template's, `overrides` on top: the engine's tables), one after the other, so
 * each cold start reads its own; afterwards the process's environment is as before, but for the AWS SDK's
 * settings (region, credentials, endpoints: the same for every bundle, and read at the first call). Each
 * handler runs at the engine's time (`atEngineTime`).
 */
export async function loadBundledHandlers(stack: BundledStack, endpoint: string, clock: () => VirtualClock, overrides: Record<string, string>): Promise<FunctionHandlers> {
  const before = { ...process.env };
  const handlers: FunctionHandlers = {};
  let sdk: Record<string, string> = {};
  try {
    for (const name of ENGINE_FUNCTIONS) {
      const env = bundleEnvironment(stack.template, name, stack.bundles[name], endpoint, overrides);
      sdk = Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith('AWS_')));
      handlers[name] = atEngineTime(clock, await importBundle(stack.bundles[name], env));
      for (const key of Object.keys(process.env)) if (!(key in before)) delete process.env[key];
      Object.assign(process.env, before);
    }
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in before)) delete process.env[key];
    Object.assign(process.env, before, sdk);
  }
  return handlers;
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
  const env = bundleEnvironment(template, 'rapport-steps', bundleDir, endpoint, {});
  return (await importBundle(bundleDir, { ...env, ...overrides(env) })) as StepLambdaHandler;
}

/** Outbound webhooks the bundled function posted (see `interceptWebhooks`). */
export const webhooks: Array<{ url: string; body: string }> = [];

/**
 * Answer the bundled function's outbound webhooks here (recorded in `webhooks`, 200), as the receivers named in
 * the template would: `fetch` to those URLs only; anything else is fetched as before. Before the bundle loads,
 * which takes `fetch` as it is then.
 */
export function interceptWebhooks(template: CfnTemplate): void {
  const targets = functionVariables(template, 'rapport-steps')[JOURNEY_ENV.OUTBOUND_WEBHOOK_TARGETS];
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
const invocationClock = new AsyncLocalStorage<{ now: () => number; realStart: number }>();
let dateInstalled = false;
/** Real time, whatever the invocation (taken before `Date` becomes a proxy). */
const realNow = Date.now.bind(Date);

/**
 * Run a bundled handler at the engine's time: inside it (and what it awaits), `new Date()` reads `clock` (a
 * bundle reads the system clock; in the twin, time is virtual for every function), and `Date.now()` reads it
 * plus the real time the invocation has taken. The engine holds its clock still while an invocation works, so
 * an instant a handler records (`new Date()`, the Clock port's `now()`) is the engine's, the same in every run;
 * but code that waits until `Date.now()` passes a deadline (the profile consumer's contention budget, the
 * enrolment's wait for the events sent before its trigger) sees real time pass, as in Lambda, instead of
 * waiting forever on a frozen clock. Elsewhere `Date` is unchanged: the global is a proxy of it that differs
 * only inside such an invocation. The Lambda context's remaining time stays real (middy times the handler by it).
 */
export function atEngineTime<H extends (event: never, context: Context) => Promise<unknown>>(clock: () => VirtualClock, handler: H): H {
  if (!dateInstalled) {
    dateInstalled = true;
    const RealDate = Date;
    globalThis.Date = new Proxy(RealDate, {
      construct: (target, args, newTarget) => {
        const invocation = invocationClock.getStore();
        return Reflect.construct(target, args.length === 0 && invocation ? [invocation.now()] : args, newTarget) as object;
      },
      apply: (target, thisArg, args) => {
        const invocation = invocationClock.getStore();
        return invocation ? new RealDate(invocation.now()).toString() : (Reflect.apply(target, thisArg, args) as string);
      },
      get: (target, property, receiver) => {
        if (property !== 'now') return Reflect.get(target, property, receiver) as unknown;
        return () => {
          const invocation = invocationClock.getStore();
          return invocation ? invocation.now() + (realNow() - invocation.realStart) : realNow();
        };
      },
    });
  }
  return ((event: never, context: Context) => {
    const real = { ...context, getRemainingTimeInMillis: () => invocationClock.exit(() => context.getRemainingTimeInMillis()) };
    return invocationClock.run({ now: () => clock().now().getTime(), realStart: realNow() }, () => handler(event, real));
  }) as H;
}

/** A function's environment variables in the template (by its Powertools service name), resolved as deployed. */
function functionVariables(template: CfnTemplate, serviceName: string): Record<string, string> {
  const deployed = new Deployed(template);
  const fnId = deployed
    .ofType('AWS::Lambda::Function')
    .find((id) => (deployed.resource(id).Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.POWERTOOLS_SERVICE_NAME === serviceName);
  if (!fnId) throw new Error(`the template has no ${serviceName} function`);
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
