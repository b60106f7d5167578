import { DescribeExecutionCommand, ExecutionAlreadyExists, ExecutionDoesNotExist, SendTaskSuccessCommand, SFNClient, StartExecutionCommand, StopExecutionCommand, TaskTimedOut, InvalidToken } from '@aws-sdk/client-sfn';
import { JOURNEY_ALIAS } from '../../shared/config/journey-env';

/** What an execution starts with: ids only, never PII. */
export interface ExecutionInput {
  journeyId: string;
  journeyVersion: number;
  customerId: string;
  trigger: { messageId: string; event: string; properties: Record<string, string | number | boolean> };
}

/** What Step Functions says of an execution (DescribeExecution): its status and, once it succeeded, its output. */
export interface ExecutionState {
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  /** The output of a SUCCEEDED execution, parsed (an `exit` step's `end`, a holdout's `holdSeconds`). */
  output?: unknown;
  /** When an ended execution ended (DescribeExecution's `stopDate`). */
  stoppedAt?: Date;
}

/** Port: Step Functions. AWS: the SFN API. Embedded: aws-local-stepfunctions running the same ASL. */
export interface Executions {
  /** Start by name; a second start with the same name is a no-op ('exists'): a redelivered trigger never enrols twice. */
  start(journeyId: string, name: string, input: ExecutionInput): Promise<'started' | 'exists'>;
  /** Stop a running execution (a no-op once it ended); throws `ExecutionDoesNotExist` (see `isExecutionMissing`) for one never started. */
  stop(journeyId: string, name: string, cause: string): Promise<void>;
  /** Resume a task waiting for an event; false when the token is no longer valid (timed out, stopped). */
  sendTaskSuccess(token: string, output: Record<string, unknown>): Promise<boolean>;
  /**
   * An execution's status (DescribeExecution), for the reconciling sweep: undefined when Step Functions has no
   * such execution (never started, or ended more than 90 days ago: its history is gone).
   */
  describe(journeyId: string, name: string): Promise<ExecutionState | undefined>;
}

/**
 * Whether a StopExecution failed because Step Functions has no such execution: its run was recorded but its
 * StartExecution never went through (throttled, or yet to be retried). As good as stopped for every caller.
 */
export const isExecutionMissing = (error: unknown) => error instanceof ExecutionDoesNotExist || (error as Error | undefined)?.name === 'ExecutionDoesNotExist';

/**
 * A deterministic execution name (Step Functions allows 80 characters of [A-Za-z0-9-_]), from the
 * trigger's `eventKey` (source and messageId; runs started before 2026-12 used the messageId alone). The
 * journey's part is its id, or, past 38 characters, its first 29 and a hash of it all: two journeys whose ids
 * share their first 38 characters never share a name, and so never a step's message claim or webhook-id
 * (`M#<execution name>#<step>`). Runs started before that used the first 38 alone (`previousExecutionName`).
 */
export function executionName(journeyId: string, customerId: string, triggerKey: string, hash: (s: string) => string): string {
  const journey = journeyId.length <= 38 ? journeyId : `${journeyId.slice(0, 29)}_${hash(journeyId).slice(0, 8)}`;
  return `${journey}-${runOf(customerId, triggerKey, hash)}`;
}

/** The name a run of a journey whose id is over 38 characters was started under before 2026-12-08 (`executionName`); undefined for others. */
export function previousExecutionName(journeyId: string, customerId: string, triggerKey: string, hash: (s: string) => string): string | undefined {
  return journeyId.length <= 38 ? undefined : `${journeyId.slice(0, 38)}-${runOf(customerId, triggerKey, hash)}`;
}

/** An execution name's part after the journey's: the customer and the trigger, hashed. */
const runOf = (customerId: string, triggerKey: string, hash: (s: string) => string): string => hash(`${customerId}\n${triggerKey}`).slice(0, 40);

/**
 * Executions on the journeys' state machines: by journey id from a map, or from a function (the reconciling
 * sweep names every journey's machine by the stage's ARN prefix, `stateMachineArnsFrom`, without journeys.json).
 * The ARNs are the state machines' own (unqualified); a run starts through the machine's alias
 * (`<arn>:JOURNEY_ALIAS`), so it runs on the version the last deploy published and keeps it to its end. An
 * execution's ARN names the machine, not the alias (`execution:<machine name>:<execution name>`): stopping and
 * describing are the same for a run of any version.
 */
export function awsExecutions(stateMachineArns: Readonly<Record<string, string>> | ((journeyId: string) => string), client: SFNClient = new SFNClient({})): Executions {
  const arnOf = (journeyId: string) => {
    const arn = typeof stateMachineArns === 'function' ? stateMachineArns(journeyId) : stateMachineArns[journeyId];
    if (!arn) throw new Error(`no state machine for journey "${journeyId}"`);
    return arn;
  };
  const executionArnOf = (journeyId: string, name: string) => `${arnOf(journeyId).replace(':stateMachine:', ':execution:')}:${name}`;
  return {
    async start(journeyId, name, input) {
      try {
        await client.send(new StartExecutionCommand({ stateMachineArn: `${arnOf(journeyId)}:${JOURNEY_ALIAS}`, name, input: JSON.stringify(input) }));
        return 'started';
      } catch (error) {
        // Standard workflows: same name and same input within 90 days is idempotent; a different input throws this.
        if (error instanceof ExecutionAlreadyExists) return 'exists';
        throw error;
      }
    },
    async stop(journeyId, name, cause) {
      await client.send(new StopExecutionCommand({ executionArn: executionArnOf(journeyId, name), cause: cause.slice(0, 32_000) }));
    },
    async sendTaskSuccess(token, output) {
      try {
        await client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
        return true;
      } catch (error) {
        if (error instanceof TaskTimedOut || error instanceof InvalidToken) return false;
        throw error;
      }
    },
    async describe(journeyId, name) {
      try {
        const described = await client.send(new DescribeExecutionCommand({ executionArn: executionArnOf(journeyId, name) }));
        let output: unknown;
        try {
          output = described.output ? JSON.parse(described.output) : undefined;
        } catch {
          output = undefined;
        }
        return { status: described.status ?? 'RUNNING', ...(output !== undefined && { output }), ...(described.stopDate !== undefined && { stoppedAt: described.stopDate }) };
      } catch (error) {
        if (isExecutionMissing(error)) return undefined;
        throw error;
      }
    },
  };
}
