import {
  InternalServerError,
  type ServiceInputTypes as DynamoInput,
  type ServiceOutputTypes as DynamoOutput,
  ProvisionedThroughputExceededException,
  ThrottlingException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  EventBridgeServiceException,
  type EventBridgeClient,
  type ServiceInputTypes as EventBridgeInput,
  type ServiceOutputTypes as EventBridgeOutput,
} from '@aws-sdk/client-eventbridge';
import type { FinalizeRequestMiddleware, HandlerExecutionContext } from '@smithy/types';
import type { Executions } from '../../functions/journeys/executions';
import { SEND_CHANNELS, type BusEntry, type ChannelMessages } from '../../shared';
import type { EntryFault, LocalEventBus } from './event-bus';
import type { Outbox } from './outbox';

/** Errors DynamoDB answers when it throttles or fails transiently; the SDK retries all three. */
export type DynamoFaultError = 'ProvisionedThroughputExceededException' | 'ThrottlingException' | 'InternalServerError';

/** One DynamoDB call as the fault hook sees it (each SDK attempt is one call). */
export interface DynamoCall {
  /** `PutItem`, `UpdateItem`, `DeleteItem`, `GetItem`, `Query`, ... */
  operation: string;
  table: string | undefined;
  /** The request as sent (attribute values marshalled). */
  input: Record<string, unknown>;
  /** 1-based count of calls the hook has seen, on this client. */
  n: number;
}

export interface DynamoFault {
  error: DynamoFaultError;
  /**
   * The write reaches the table, then the error is returned (a response lost on
   * the way back, as a 500 after a commit can be): the caller cannot tell it apart
   * from a write that did not happen. @default false
   */
  afterWrite?: boolean;
}

/** One PutEvents call as the fault hook sees it. */
export interface PutEventsCall {
  entries: readonly BusEntry[];
  /** 1-based count of PutEvents calls the hook has seen. */
  n: number;
}

export type PutEventsFaultError = 'ThrottlingException' | 'InternalException';

/** One send to a channel of the outbox (the embedded SES, SMS and webhook adapters), as the fault hook sees it. */
export type ChannelCall = { [C in keyof ChannelMessages]: { channel: C; message: ChannelMessages[C] } }[keyof ChannelMessages] & {
  /** 1-based count of channel calls the hook has seen. */
  n: number;
};

export interface ChannelFault {
  /** What the channel throws (a ChannelUnavailableError for a provider that is down or throttling). */
  error: Error;
  /**
   * The provider accepts the message (it lands in the outbox), then the call fails:
   * a response lost on the way back. @default false
   */
  afterAccept?: boolean;
}

/**
 * Fault injection for the embedded engine (reliability tests). Each hook decides
 * per call; returning undefined lets the call through untouched.
 */
export interface Faults {
  /** DynamoDB (dynalite) calls of every function: throttling or a transient server error instead of the answer. */
  dynamo?: (call: DynamoCall) => DynamoFault | DynamoFaultError | undefined;
  /** Whole PutEvents calls (ingest and profile consumer alike) that throw, as EventBridge does when it throttles. */
  putEvents?: (call: PutEventsCall) => PutEventsFaultError | undefined;
  /** Entries PutEvents reports failed (per-entry partial failure); sets `bus.fault`. */
  putEventsEntries?: EntryFault;
  /** Channel sends (email, SMS, webhook) that fail, before or after the provider accepted them. */
  channels?: (call: ChannelCall) => ChannelFault | undefined;
  /** Step Functions API calls (StartExecution, StopExecution, SendTaskSuccess, DescribeExecution) that throw instead of reaching the executor. */
  stepFunctions?: (call: StepFunctionsCall) => Error | undefined;
  /**
   * Step Functions "Execution Status Change" events, which EventBridge delivers best-effort: true loses this
   * one (the run-ended function never hears of the execution's end; the reconciling sweep must find it).
   */
  loseStatusChange?: (execution: { journeyId: string; name: string; customerId: string; status: string }) => boolean;
}

/** One Step Functions API call as the fault hook sees it. */
export interface StepFunctionsCall {
  operation: 'StartExecution' | 'StopExecution' | 'SendTaskSuccess' | 'DescribeExecution';
  /** The execution's name (StartExecution, StopExecution) or the task token (SendTaskSuccess). */
  target: string;
  /** The customer of the execution StartExecution would start (from its input). */
  customerId?: string;
  /** 1-based count of Step Functions calls the hook has seen. */
  n: number;
}

/** The executions port with the hook in front of each call: a failing call never reaches the executor. */
export function failingExecutions(executions: Executions, hook: NonNullable<Faults['stepFunctions']>): Executions {
  let n = 0;
  const judge = (operation: StepFunctionsCall['operation'], target: string, customerId?: string) => {
    const error = hook({ operation, target, n: ++n, ...(customerId !== undefined && { customerId }) });
    if (error) throw error;
  };
  return {
    start: async (journeyId, name, input) => (judge('StartExecution', name, input.customerId), executions.start(journeyId, name, input)),
    stop: async (journeyId, name, cause) => (judge('StopExecution', name), executions.stop(journeyId, name, cause)),
    sendTaskSuccess: async (token, output) => (judge('SendTaskSuccess', token), executions.sendTaskSuccess(token, output)),
    describe: async (journeyId, name) => (judge('DescribeExecution', name), executions.describe(journeyId, name)),
  };
}

const dynamoErrors = { ProvisionedThroughputExceededException, ThrottlingException, InternalServerError } as const;

/**
 * Install the faults: SDK middleware inside the retry middleware (so every SDK
 * attempt is judged, and the SDK's own retries see the injected errors exactly
 * as they would see DynamoDB's or EventBridge's).
 */
export function installFaults(target: { dynamo: DynamoDBClient; eventBridge: EventBridgeClient; bus: LocalEventBus; outbox: Outbox }, faults: Faults): void {
  if (faults.putEventsEntries) target.bus.fault = faults.putEventsEntries;
  if (faults.channels) failChannels(target.outbox, faults.channels);

  const dynamoHook = faults.dynamo;
  if (dynamoHook) {
    let n = 0;
    const middleware: FinalizeRequestMiddleware<DynamoInput, DynamoOutput> = (next, context: HandlerExecutionContext) => async (args) => {
      const input = (args.input ?? {}) as Record<string, unknown>;
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      const decided = dynamoHook({ operation, table: typeof input.TableName === 'string' ? input.TableName : undefined, input, n: ++n });
      if (decided === undefined) return next(args);
      const fault = typeof decided === 'string' ? { error: decided } : decided;
      const status = fault.error === 'InternalServerError' ? 500 : 400;
      const error = new dynamoErrors[fault.error]({ message: `injected ${fault.error} (${operation} #${n})`, $metadata: { httpStatusCode: status } });
      if (fault.afterWrite) await next(args);
      throw error;
    };
    target.dynamo.middlewareStack.addRelativeTo(middleware, { name: 'rapportInjectedDynamoFaults', relation: 'after', toMiddleware: 'retryMiddleware', override: true });
  }

  const putEventsHook = faults.putEvents;
  if (putEventsHook) {
    let n = 0;
    const middleware: FinalizeRequestMiddleware<EventBridgeInput, EventBridgeOutput> = (next) => async (args) => {
      const entries = ((args.input as { Entries?: BusEntry[] }).Entries ?? []) as BusEntry[];
      const error = putEventsHook({ entries, n: ++n });
      if (error === undefined) return next(args);
      throw new EventBridgeServiceException({
        name: error,
        $fault: error === 'ThrottlingException' ? 'client' : 'server',
        message: error === 'ThrottlingException' ? 'Rate exceeded (injected)' : 'Internal failure (injected)',
        $metadata: { httpStatusCode: error === 'ThrottlingException' ? 400 : 500 },
      });
    };
    target.eventBridge.middlewareStack.addRelativeTo(middleware, { name: 'rapportInjectedPutEventsFaults', relation: 'after', toMiddleware: 'retryMiddleware', override: true });
  }
}

/** Wrap the outbox's channels: each send asks the hook, and fails before or after the outbox accepts it. */
function failChannels(outbox: Outbox, hook: NonNullable<Faults['channels']>): void {
  let n = 0;
  const wrap = <M>(channel: ChannelCall['channel'], send: (message: M) => Promise<{ providerId: string }>) => async (message: M) => {
    const fault = hook({ channel, message, n: ++n } as ChannelCall);
    if (!fault) return send(message);
    if (fault.afterAccept) await send(message);
    throw fault.error;
  };
  // Every channel of the registry the outbox sends on.
  const senders = outbox as unknown as Record<string, ((message: unknown) => Promise<{ providerId: string }>) | undefined>;
  for (const channel of SEND_CHANNELS) {
    const send = senders[channel];
    if (send) senders[channel] = wrap(channel, send.bind(outbox));
  }
}
