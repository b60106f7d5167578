import { SFNServiceException } from '@aws-sdk/client-sfn';
import type { DeserializeMiddleware, HttpRequest, HttpResponse } from '@smithy/types';
import type { Executions } from '../../functions/journeys/executions';
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
       * (GetSecretValue) or SES v2 (SendEmail, whose REST request carries its input as JSON too).
       */
      service: 'dynamodb' | 'events' | 'secretsmanager' | 'ses';
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
    };

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
