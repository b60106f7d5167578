import { ExecutionAlreadyExists, ExecutionDoesNotExist, SendTaskSuccessCommand, SFNClient, StartExecutionCommand, StopExecutionCommand, TaskTimedOut, InvalidToken } from '@aws-sdk/client-sfn';

/** What an execution starts with: ids only, never PII. */
export interface ExecutionInput {
  journeyId: string;
  journeyVersion: number;
  customerId: string;
  trigger: { messageId: string; event: string; properties: Record<string, string | number | boolean> };
}

/** Port: Step Functions. AWS: the SFN API. Embedded: aws-local-stepfunctions running the same ASL. */
export interface Executions {
  /** Start by name; a second start with the same name is a no-op ('exists'): a redelivered trigger never enrols twice. */
  start(journeyId: string, name: string, input: ExecutionInput): Promise<'started' | 'exists'>;
  /** Stop a running execution (a no-op once it ended); throws `ExecutionDoesNotExist` (see `isExecutionMissing`) for one never started. */
  stop(journeyId: string, name: string, cause: string): Promise<void>;
  /** Resume a task waiting for an event; false when the token is no longer valid (timed out, stopped). */
  sendTaskSuccess(token: string, output: Record<string, unknown>): Promise<boolean>;
}

/**
 * Whether a StopExecution failed because Step Functions has no such execution: its run was recorded but its
 * StartExecution never went through (throttled, or yet to be retried). As good as stopped for every caller.
 */
export const isExecutionMissing = (error: unknown) => error instanceof ExecutionDoesNotExist || (error as Error | undefined)?.name === 'ExecutionDoesNotExist';

/**
 * A deterministic execution name (Step Functions allows 80 characters of [A-Za-z0-9-_]), from the
 * trigger's `eventKey` (source and messageId; runs started before 2026-12 used the messageId alone).
 */
export function executionName(journeyId: string, customerId: string, triggerKey: string, hash: (s: string) => string): string {
  return `${journeyId.slice(0, 38)}-${hash(`${customerId}\n${triggerKey}`).slice(0, 40)}`;
}

export function awsExecutions(stateMachineArns: Readonly<Record<string, string>>, client: SFNClient = new SFNClient({})): Executions {
  const arnOf = (journeyId: string) => {
    const arn = stateMachineArns[journeyId];
    if (!arn) throw new Error(`no state machine for journey "${journeyId}"`);
    return arn;
  };
  return {
    async start(journeyId, name, input) {
      try {
        await client.send(new StartExecutionCommand({ stateMachineArn: arnOf(journeyId), name, input: JSON.stringify(input) }));
        return 'started';
      } catch (error) {
        // Standard workflows: same name and same input within 90 days is idempotent; a different input throws this.
        if (error instanceof ExecutionAlreadyExists) return 'exists';
        throw error;
      }
    },
    async stop(journeyId, name, cause) {
      const executionArn = `${arnOf(journeyId).replace(':stateMachine:', ':execution:')}:${name}`;
      await client.send(new StopExecutionCommand({ executionArn, cause: cause.slice(0, 32_000) }));
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
  };
}
