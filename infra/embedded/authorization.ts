import { SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { SESv2ServiceException } from '@aws-sdk/client-sesv2';
import { SFNServiceException } from '@aws-sdk/client-sfn';
import { AuthorizationErrorException } from '@aws-sdk/client-sns';
import { AccessDeniedException as SocialMessagingAccessDenied } from '@aws-sdk/client-socialmessaging';
import type { DeserializeMiddleware, HttpRequest, HttpResponse } from '@smithy/types';
import { compileSources, type IngestSource, type SourceProvider } from '../../functions/ingest';
import { pushRequest, sesRequest, smsRequest, type AwsChannelsConfig } from '../../functions/journeys/channels/aws';
import type { Channels } from '../../functions/journeys/channels/types';
import type { Executions } from '../../functions/journeys/executions';
import type { UnsubscribeKeyProvider } from '../../functions/journeys/unsubscribe';
import { metaTemplateMessage, type PushMessage } from '../../shared/channels';
import type { RapportApi } from '../topology';
import { invokingFunction } from './lambda-async';

/**
 * A port for authorising the AWS API calls the functions make, as IAM does in AWS. The engine
 * itself authorises nothing (on a laptop every function may do anything); the twin test tier
 * plugs in an authoriser that evaluates each call against the calling function's role in the
 * synthesized template. A denial fails the call the way AWS answers it: an
 * `AccessDeniedException` from the service, through the same SDK deserialisers.
 */

/** One AWS API call of a function, as the service receives it. */
export type AwsCall =
  | {
      /** The function making the call (its Powertools service name: `rapport-steps`, ...). */
      functionName: string;
      /**
       * A service reached through an SDK client with a JSON body: DynamoDB, EventBridge, Secrets Manager
       * (GetSecretValue), SES v2 (SendEmail, whose REST request carries its input as JSON too), End User
       * Messaging SMS (`sms-voice`, SendTextMessage), End User Messaging Social (`social-messaging`,
       * SendWhatsAppMessage) or SNS (`sns`, Publish to a push endpoint). The engine serves the last five in process
       * (`authorizedChannels`, `authorizedSecrets`): their calls name the engine's stand-ins (`ENGINE_SECRET`,
       * the simulated SES sender; no origination number for SMS and WhatsApp), which an authoriser maps to the
       * deployment's as it maps the engine's tables.
       */
      service: 'dynamodb' | 'events' | 'secretsmanager' | 'ses' | 'sms-voice' | 'social-messaging' | 'sns';
      /** The operation, from the request's `x-amz-target` (`GetItem`, `PutEvents`, ...) or the REST path's operation (`SendEmail`). */
      operation: string;
      /** The request body as sent (DynamoDB attribute values marshalled). */
      input: Record<string, unknown>;
    }
  | {
      functionName: string;
      /**
       * Lambda sending a failed async invocation's event to the function's on-failure destination (an SQS
       * queue): with the function's role, as Lambda does. A denied send loses the event, as in AWS.
       */
      service: 'sqs';
      operation: 'SendMessage';
      destination: 'on-failure';
    }
  | {
      functionName: string;
      /** Step Functions, reached through the executions port. */
      service: 'states';
      operation: 'StartExecution' | 'StopExecution' | 'SendTaskSuccess' | 'DescribeExecution';
      /** The journey whose state machine the call is about (for SendTaskSuccess: the token's execution's). */
      journeyId: string;
      executionName: string;
      /**
       * StartExecution through a version or an alias: its qualifier (`live`). IAM authorises the call on the
       * state machine's own ARN, the qualifier in the context key `states:StateMachineQualifier`.
       */
      qualifier?: string;
    }
  | {
      functionName: string;
      /** Step Functions: a broadcast's execution started on the broadcast state machine (the engine's executor of its own). */
      service: 'states';
      operation: 'StartExecution';
      stateMachine: 'broadcasts';
      executionName: string;
    }
  | FunctionInvocation;

/**
 * Who makes an AWS service invoke a function, as AWS authorises the invocation: EventBridge for a rule and API
 * Gateway for a route through the function's resource-based policy (`AWS::Lambda::Permission`, the rule's or the
 * route's ARN as `aws:SourceArn`); a state machine and a schedule with the role the service assumes (its trust
 * policy, then its identity policies).
 */
export type FunctionInvoker =
  /** A bus rule, by its name on the engine's bus (the topology's `engineName`; `RUN_ENDED.id` for run ends). */
  | { rule: string }
  /** A Task state of a journey's state machine (its id), or of the broadcast state machine (`broadcasts`). */
  | { stateMachine: string }
  /** An EventBridge Scheduler schedule, by the topology's id (`SWEEP_SCHEDULE.id`). */
  | { schedule: string }
  /** An HTTP API route (the topology's `ROUTES`). */
  | { route: { api: RapportApi; method: string; path: string } };

/**
 * A service invoking a function. Unlike the calls above, `functionName` is the function invoked, not the caller:
 * the caller is `invoker`.
 */
export interface FunctionInvocation {
  functionName: string;
  service: 'lambda';
  operation: 'InvokeFunction';
  invoker: FunctionInvoker;
}

/** Why a call is refused: the message AWS would answer with. */
export interface AccessDenial {
  message: string;
}

/** Decides each call: undefined lets it through. */
export type AwsCallAuthorizer = (call: AwsCall) => AccessDenial | undefined | Promise<AccessDenial | undefined>;

/** The SDK clients whose calls are authorised. */
export interface AuthorizedClients {
  dynamo: { middlewareStack: { addRelativeTo(middleware: never, options: { name: string; relation: 'after'; toMiddleware: string; override: boolean }): void } };
  eventBridge: AuthorizedClients['dynamo'];
}

/**
 * Authorise every request of these clients made inside a function's invocation (requests of the
 * engine's own, outside any, are not a function's and pass). Each SDK attempt is judged, inside
 * the retry and deserializer middleware; a denial is answered as the service answers it (HTTP 400, the JSON
 * protocol's error body), so the SDK builds the same error as from AWS, and does not retry it.
 */
export function installAuthorization(clients: AuthorizedClients, authorize: AwsCallAuthorizer): void {
  for (const [service, client] of [
    ['dynamodb', clients.dynamo],
    ['events', clients.eventBridge],
  ] as const) {
    const middleware: DeserializeMiddleware<object, object> = (next) =>
      async function authorizeAwsCall(args) {
        const functionName = invokingFunction();
        const request = args.request as HttpRequest;
        if (functionName === undefined) return next(args);
        const target = String(request.headers['x-amz-target'] ?? '');
        const operation = target.slice(target.indexOf('.') + 1);
        const body: unknown = typeof request.body === 'string' || !(request.body instanceof Uint8Array) ? request.body : new TextDecoder().decode(request.body);
        if (typeof body !== 'string') throw new TypeError(`the authoriser reads JSON request bodies; ${service}.${operation} sent ${Object.prototype.toString.call(body)}`);
        const input = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
        const denial = await authorize({ functionName, service, operation, input });
        if (!denial) return next(args);
        return { response: accessDeniedResponse(denial.message), output: {} };
      };
    // Inside the deserializer: the denial is read from the response by the SDK, as AWS's would be.
    client.middlewareStack.addRelativeTo(middleware as never, { name: 'rapportAuthorizeAwsCall', relation: 'after', toMiddleware: 'deserializerMiddleware', override: true });
  }
}

/** AWS's answer to a JSON-protocol request IAM refuses (DynamoDB and EventBridge answer alike). */
function accessDeniedResponse(message: string): HttpResponse {
  return {
    statusCode: 400,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'AccessDeniedException' },
    body: Buffer.from(JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', Message: message }), 'utf8'),
  };
}

/**
 * The executions port with every call authorised first, as Step Functions authorises the API call
 * (a refused call never reaches the executor). `journeyOfToken` names the execution a task token
 * belongs to; a token it does not know is left to the executor (AWS answers InvalidToken).
 */
export function authorizedExecutions(executions: Executions, authorize: AwsCallAuthorizer, journeyOfToken: (token: string) => { journeyId: string; executionName: string } | undefined): Executions {
  const judge = async (operation: 'StartExecution' | 'StopExecution' | 'SendTaskSuccess' | 'DescribeExecution', journeyId: string, executionName: string) => {
    const functionName = invokingFunction();
    if (functionName === undefined) return;
    const denial = await authorize({ functionName, service: 'states', operation, journeyId, executionName });
    // What the SFN client builds from AWS's answer: AccessDeniedException is not a modelled error of the service.
    if (denial) throw new SFNServiceException({ name: 'AccessDeniedException', $fault: 'client', message: denial.message, $metadata: { httpStatusCode: 400 } });
  };
  return {
    start: async (journeyId, name, input) => (await judge('StartExecution', journeyId, name), executions.start(journeyId, name, input)),
    stop: async (journeyId, name, cause) => (await judge('StopExecution', journeyId, name), executions.stop(journeyId, name, cause)),
    sendTaskSuccess: async (token, output) => {
      const owner = journeyOfToken(token);
      if (owner) await judge('SendTaskSuccess', owner.journeyId, owner.executionName);
      return executions.sendTaskSuccess(token, output);
    },
    describe: async (journeyId, name) => (await judge('DescribeExecution', journeyId, name), executions.describe(journeyId, name)),
  };
}

/**
 * The secrets the engine holds in process, by the `SecretId` its authorised reads name: what the functions read
 * from Secrets Manager in AWS (the unsubscribe keys, each source's credentials, each outbound webhook's signing
 * secret). An authoriser maps each to the secret the deployment gives the calling function (the twin: through
 * the variable of the function's environment that names it).
 */
export const ENGINE_SECRET = {
  prefix: 'rapport-engine/',
  unsubscribe: 'rapport-engine/unsubscribe',
  source: (sourceId: string) => `rapport-engine/source/${sourceId}`,
  webhook: (target: string) => `rapport-engine/webhook/${target}`,
} as const;

/** Judge a call as the function running now makes it (a call of the engine's own, outside any invocation, passes). */
async function judgeCall(authorize: AwsCallAuthorizer, call: DistributiveOmit<AwsCall, 'functionName'>): Promise<AccessDenial | undefined> {
  const functionName = invokingFunction();
  if (functionName === undefined) return undefined;
  return authorize({ functionName, ...call } as AwsCall);
}
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What the Secrets Manager client throws when IAM refuses GetSecretValue. */
const secretDenied = (denial: AccessDenial) => new SecretsManagerServiceException({ name: 'AccessDeniedException', $fault: 'client', message: denial.message, $metadata: { httpStatusCode: 400 } });

/** Read an in-process secret as a function reads it from Secrets Manager in AWS: GetSecretValue, authorised first. */
async function readSecret<T>(authorize: AwsCallAuthorizer, secretId: string, read: () => Promise<T>): Promise<T> {
  const denial = await judgeCall(authorize, { service: 'secretsmanager', operation: 'GetSecretValue', input: { SecretId: secretId } });
  if (denial) throw secretDenied(denial);
  return read();
}

/**
 * The channels with every send authorised as the function's AWS channel makes it (`awsChannels`): an email is
 * SES v2 SendEmail of the request `sesRequest` builds from `sender` (the engine's simulated sender), an SMS End
 * User Messaging's SendTextMessage, a WhatsApp message End User Messaging Social's SendWhatsAppMessage (from no
 * number: the deployment's), a push SNS Publish to the customer's endpoint, a webhook first reads its signing
 * secret (GetSecretValue). A refused call fails the send with the error the SDK client throws for AWS's answer;
 * nothing reaches the channels. A channel the engine has no sender for stays without one.
 */
export function authorizedChannels(channels: Channels, authorize: AwsCallAuthorizer, sender: Pick<AwsChannelsConfig, 'fromAddress' | 'configurationSet'>): Channels {
  const whatsapp = channels.whatsapp?.bind(channels);
  const push = channels.push?.bind(channels);
  return {
    email: async (message) => {
      const denial = await judgeCall(authorize, { service: 'ses', operation: 'SendEmail', input: sesRequest(message, sender) });
      // SES v2 answers 403 (a REST-JSON API): the channel rethrows it, it is no outage.
      if (denial) throw new SESv2ServiceException({ name: 'AccessDeniedException', $fault: 'client', message: denial.message, $metadata: { httpStatusCode: 403 } });
      return channels.email(message);
    },
    sms: async (message) => {
      const denial = await judgeCall(authorize, { service: 'sms-voice', operation: 'SendTextMessage', input: smsRequest(message, undefined) });
      if (denial) throw Object.assign(new Error(denial.message), { name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
      return channels.sms(message);
    },
    webhook: (message) => readSecret(authorize, ENGINE_SECRET.webhook(message.target), () => channels.webhook(message)),
    ...(whatsapp !== undefined && {
      whatsapp: async (message) => {
        // The request's message as JSON (the SDK sends it base64): what SendWhatsAppMessage carries, from the deployment's number.
        const denial = await judgeCall(authorize, { service: 'social-messaging', operation: 'SendWhatsAppMessage', input: { message: metaTemplateMessage(message) } });
        // A REST-JSON API: 403, the error's type AccessDeniedException (the client's modelled error).
        if (denial) throw new SocialMessagingAccessDenied({ $metadata: { httpStatusCode: 403 }, message: denial.message });
        return whatsapp(message);
      },
    }),
    ...(push !== undefined && {
      push: Object.assign(
        async (message: PushMessage) => {
          const denial = await judgeCall(authorize, { service: 'sns', operation: 'Publish', input: { ...pushRequest(message) } });
          // SNS answers IAM's refusal with AuthorizationError (403), which the client throws as AuthorizationErrorException.
          if (denial) throw new AuthorizationErrorException({ $metadata: { httpStatusCode: 403 }, message: denial.message });
          return push(message);
        },
        // The addresses the sender reaches are its own: authorising the call changes none.
        channels.push?.reaches !== undefined ? { reaches: channels.push.reaches } : {},
      ),
    }),
  };
}

/** The unsubscribe keys, each read authorised as GetSecretValue of the unsubscribe secret (`secretUnsubscribeKeys` in AWS). */
export function authorizedUnsubscribeKeys(keys: UnsubscribeKeyProvider, authorize: AwsCallAuthorizer): UnsubscribeKeyProvider {
  return { load: () => readSecret(authorize, ENGINE_SECRET.unsubscribe, () => keys.load()) };
}

/**
 * The sources, each one's credentials read authorised as GetSecretValue of its secret (`secretsManagerSources` in
 * AWS): a refused read disables that source alone, its requests refused as a broken source's are.
 */
export function authorizedSources(sources: readonly IngestSource[], authorize: AwsCallAuthorizer): SourceProvider {
  const compiled = new Map<string, ReturnType<typeof compileSources>>();
  return {
    async load() {
      const unreadable = new Map<string, string>();
      for (const { id } of sources) {
        const denial = await judgeCall(authorize, { service: 'secretsmanager', operation: 'GetSecretValue', input: { SecretId: ENGINE_SECRET.source(id) } });
        if (denial) unreadable.set(id, `secret ${ENGINE_SECRET.source(id)}: ${secretDenied(denial).name}: ${denial.message}`);
      }
      // The same refusals compile to the same credentials (the service reports a broken source once per change).
      const fingerprint = JSON.stringify([...unreadable]);
      let credentials = compiled.get(fingerprint);
      if (!credentials) compiled.set(fingerprint, (credentials = compileSources(sources.filter((s) => !unreadable.has(s.id)), unreadable)));
      return credentials;
    },
  };
}

/** A broadcast's start on the broadcast state machine, authorised first as Step Functions does. */
export function authorizedBroadcastStart<I, R>(start: (name: string, input: I) => Promise<R>, authorize: AwsCallAuthorizer): (name: string, input: I) => Promise<R> {
  return async (name, input) => {
    const denial = await judgeCall(authorize, { service: 'states', operation: 'StartExecution', stateMachine: 'broadcasts', executionName: name });
    if (denial) throw new SFNServiceException({ name: 'AccessDeniedException', $fault: 'client', message: denial.message, $metadata: { httpStatusCode: 400 } });
    return start(name, input);
  };
}

/** Whether `invoker` may invoke `functionName` (no authoriser: anything may), as AWS decides before the function runs. */
export async function invocationDenied(authorize: AwsCallAuthorizer | undefined, functionName: string, invoker: FunctionInvoker): Promise<AccessDenial | undefined> {
  return authorize ? authorize({ functionName, service: 'lambda', operation: 'InvokeFunction', invoker }) : undefined;
}

/**
 * What a Task state's `lambda:invoke` fails with when the state machine's role may not invoke the function: Step
 * Functions names the Lambda client's exception (`Lambda.AWSLambdaException`, which the journeys' Retry lists,
 * then Catch), the cause AWS's message with the service's status line.
 */
export function lambdaInvokeDenied(denial: AccessDenial): Error {
  return Object.assign(new Error(`${denial.message} (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException)`), { name: 'Lambda.AWSLambdaException' });
}
