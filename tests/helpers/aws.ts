import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { APIGatewayProxyEventV2, EventBridgeEvent } from 'aws-lambda';
import { vi } from 'vitest';
import { compileJourneys, writeJourneysFile } from '../../infra/cdk/journeys';
import { ensureTable, idempotencyTableDefinition, profileTableDefinition, startDynalite, type LocalDynamo } from '../../infra/embedded/dynamo';
import { ENV, INGEST_EVENT_SOURCE, type NormalisedEvent } from '../../shared';
import { JOURNEY_ALIAS, JOURNEY_ENV } from '../../shared/config/journey-env';
import { loadJourneysFromDir } from '../../workflows/journeys';
import { JOURNEYS_DIR, TEMPLATES_DIR, TEST_CONFIG_DIR, TEST_DELIVERY } from '../infra/synth';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const TABLE = 'rapport-profiles';
/** The ingest's idempotency table, which erasure cleans too. */
export const IDEMPOTENCY_TABLE = 'rapport-idempotency';

/** What synth gives the functions (`JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX`): a journey's state machine is it plus the journey id. */
export const STATE_MACHINE_ARN_PREFIX = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Rapport-test_`;
/** The ARN of a journey's state machine, as the stack names it. */
export const stateMachineArn = (journeyId: string) => `${STATE_MACHINE_ARN_PREFIX}${journeyId}`;
/** The alias a journey's runs start through (`<state machine ARN>:live`). */
export const aliasArn = (journeyId: string) => `${stateMachineArn(journeyId)}:${JOURNEY_ALIAS}`;

/** A normalised event as the bus delivers it to a Lambda target. */
export const busEvent = (detail: NormalisedEvent): EventBridgeEvent<string, unknown> => ({
  version: '0',
  id: `bus-${detail.messageId}`,
  'detail-type': detail.event ?? detail.type,
  source: INGEST_EVENT_SOURCE,
  account: ACCOUNT,
  time: detail.timestamp,
  region: REGION,
  resources: [],
  detail,
});

/** One request to the stand-in: its `x-amz-target` and JSON body. */
export interface AwsCall {
  target: string;
  body: Record<string, unknown>;
}

export interface AwsStandInOptions<Call extends AwsCall = AwsCall> {
  /**
   * Consulted on each StopExecution before it is answered (it may add to the recorded
   * call); 'refuse' answers 500 ServiceUnavailable, as a Step Functions outage would;
   * 'missing' answers 400 ExecutionDoesNotExist, as AWS does for an execution never started.
   */
  onStopExecution?: (call: Call) => Promise<'stop' | 'refuse' | 'missing'>;
  /**
   * How DescribeExecution answers, by execution ARN: a status (and a succeeded execution's output), or
   * 'missing' (400 ExecutionDoesNotExist, as AWS answers for one never started or gone from its 90-day history).
   * @default 'missing'
   */
  onDescribeExecution?: (executionArn: string) => { status: string; output?: unknown; stopDate?: Date } | 'missing';
  /** Variables the stack sets besides the ones every function gets here. */
  env?: Record<string, string>;
  /**
   * Secrets Manager's values by ARN (AWS_ENDPOINT_URL_SECRETS_MANAGER): GetSecretValue answers
   * SecretString from here, as it stands at the call, so a test can rotate a secret in place.
   */
  secrets?: Record<string, string>;
}

export interface AwsStandIn<Call extends AwsCall = AwsCall> {
  dynamo: LocalDynamo;
  /** Every request to Step Functions and EventBridge, in order. */
  calls: Call[];
  /** The Step Functions ones. */
  sfnCalls: () => Call[];
  /** Restores the environment, stops the stand-in and dynalite, and removes journeys.json. */
  close: () => Promise<void>;
}

/**
 * For running the real AWS entry points: dynalite with the profile table, a local
 * HTTP server answering the AWS JSON protocol of Step Functions and EventBridge
 * (AWS_ENDPOINT_URL_SFN, AWS_ENDPOINT_URL_EVENTBRIDGE), SES v2, Secrets Manager and SNS
 * Publish (AWS_ENDPOINT_URL_SNS, the query protocol) and recording every request,
 * journeys.json as synth writes it from the repository's journeys, and the environment
 * the stack sets, stubbed. Modules are reset: import the handlers after it.
 */
export async function startAwsStandIn<Call extends AwsCall = AwsCall>(options: AwsStandInOptions<Call> = {}): Promise<AwsStandIn<Call>> {
  const dynamo = await startDynalite();
  await ensureTable(dynamo.client, profileTableDefinition(TABLE));
  await ensureTable(dynamo.client, idempotencyTableDefinition(IDEMPOTENCY_TABLE));
  const calls: Call[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      void (async () => {
        // SNS speaks the query protocol: a form body naming the Action (target `sns.<Action>`), an XML answer.
        if (String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
          const form = Object.fromEntries(new URLSearchParams(text));
          calls.push({ target: `sns.${form.Action ?? ''}`, body: form } as Call);
          const ok = form.Action === 'Publish';
          res.writeHead(ok ? 200 : 400, { 'content-type': 'text/xml' });
          res.end(ok ? `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>sns-${calls.length}</MessageId></PublishResult><ResponseMetadata><RequestId>r-${calls.length}</RequestId></ResponseMetadata></PublishResponse>` : `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>the stand-in answers Publish only</Message></Error></ErrorResponse>`);
          return;
        }
        // JSON-protocol services name the operation in x-amz-target; REST ones (SES v2) by method and path.
        const target = req.headers['x-amz-target'] ? String(req.headers['x-amz-target']) : `${req.method} ${req.url}`;
        const body = JSON.parse(text || '{}') as Record<string, unknown>;
        const call = { target, body } as Call;
        calls.push(call);
        let status = 200;
        let reply: unknown = {};
        if (target === 'secretsmanager.GetSecretValue') {
          const value = options.secrets?.[String(body.SecretId)];
          if (value === undefined) {
            status = 400;
            reply = { __type: 'ResourceNotFoundException', message: `Secrets Manager can't find the specified secret ${String(body.SecretId)}` };
          } else {
            reply = { ARN: body.SecretId, Name: body.SecretId, SecretString: value, VersionId: `v-${calls.length}` };
          }
        }
        if (target === 'POST /v2/email/outbound-emails') reply = { MessageId: `ses-${calls.length}` };
        if (target === 'AWSEvents.PutEvents') reply = { FailedEntryCount: 0, Entries: (body.Entries as unknown[]).map((_, i) => ({ EventId: `e-${i}` })) };
        // An execution's ARN names its state machine, not the alias or version it was started through.
        if (target === 'AWSStepFunctions.StartExecution') reply = { executionArn: `${String(body.stateMachineArn).replace(':stateMachine:', ':execution:').replace(/(:execution:[^:]+):[^:]+$/, '$1')}:${String(body.name)}`, startDate: Date.now() / 1000 };
        if (target === 'AWSStepFunctions.StopExecution') {
          const answer = await options.onStopExecution?.(call);
          if (answer === 'refuse') {
            status = 500;
            reply = { __type: 'ServiceUnavailable', message: 'try again' };
          } else if (answer === 'missing') {
            status = 400;
            reply = { __type: 'com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist', message: `Execution Does Not Exist: '${String(body.executionArn)}'` };
          } else {
            reply = { stopDate: Date.now() / 1000 };
          }
        }
        if (target === 'AWSStepFunctions.DescribeExecution') {
          const arn = String(body.executionArn);
          const answer = options.onDescribeExecution?.(arn) ?? 'missing';
          if (answer === 'missing') {
            status = 400;
            reply = { __type: 'com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist', message: `Execution Does Not Exist: '${arn}'` };
          } else {
            const stateMachineArn = arn.replace(':execution:', ':stateMachine:').replace(/:[^:]+$/, '');
            reply = { executionArn: arn, stateMachineArn, name: arn.slice(arn.lastIndexOf(':') + 1), status: answer.status, startDate: Date.now() / 1000, ...(answer.output !== undefined && { output: JSON.stringify(answer.output) }), ...(answer.stopDate !== undefined && { stopDate: answer.stopDate.getTime() / 1000 }) };
          }
        }
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify(reply));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const fake = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const scratch = mkdtempSync(path.join(tmpdir(), 'rapport-aws-'));
  const webhookTargets = Object.keys(TEST_DELIVERY.outboundWebhooks);
  const compiled = compileJourneys(loadJourneysFromDir(JOURNEYS_DIR, TEMPLATES_DIR, { webhookTargets }), `arn:aws:lambda:${REGION}:${ACCOUNT}:function:step`, webhookTargets);

  for (const [name, value] of Object.entries({
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SFN: fake,
    AWS_ENDPOINT_URL_EVENTBRIDGE: fake,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: fake,
    AWS_ENDPOINT_URL_SESV2: fake,
    AWS_ENDPOINT_URL_SNS: fake,
    AWS_ENDPOINT_URL_SOCIALMESSAGING: fake,
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    [ENV.PROFILE_TABLE_NAME]: TABLE,
    [ENV.IDEMPOTENCY_TABLE_NAME]: IDEMPOTENCY_TABLE,
    [ENV.EVENT_BUS_NAME]: 'rapport-bus',
    [ENV.CONFIG_DIR]: TEST_CONFIG_DIR,
    [ENV.CONSENT_MODE]: 'opt-out',
    [JOURNEY_ENV.JOURNEYS_FILE]: writeJourneysFile(scratch, compiled),
    [JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX]: STATE_MACHINE_ARN_PREFIX,
    ...options.env,
  })) {
    vi.stubEnv(name, value);
  }
  vi.resetModules();

  return {
    dynamo,
    calls,
    sfnCalls: () => calls.filter((call) => call.target.startsWith('AWSStepFunctions.')),
    async close() {
      vi.unstubAllEnvs();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dynamo.close();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * A request as the HTTP API (payload 2.0) hands it to a function. `rawPath` may carry a query string
 * (`/v1/unsubscribe?c=…`); a `body` that is not a string is sent as JSON; `method` defaults to POST.
 */
export function httpApiEvent(rawPath: string, body?: unknown, options: { headers?: Record<string, string>; method?: string } = {}): APIGatewayProxyEventV2 {
  const method = options.method ?? 'POST';
  const url = new URL(rawPath, 'https://api.example.com');
  return {
    version: '2.0',
    routeKey: `${method} ${url.pathname}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers: options.headers ?? {},
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    isBase64Encoded: false,
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'test' },
      requestId: `r-${randomUUID()}`,
      routeKey: `${method} ${url.pathname}`,
      stage: '$default',
      time: '05/Dec/2026:10:00:00 +0000',
      timeEpoch: 1_796_464_800_000,
    },
  };
}
