import type { HandlerExecutionContext, InitializeHandler, InitializeHandlerArguments, InitializeMiddleware } from '@smithy/types';
import { beforeAll } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';

/** A hook on the engine's DynamoDB calls: the race tests run one side to a point inside the other's calls with it. */
export interface DynamoHook {
  /** Whether the call is this hook's: its operation (`PutItem`, `Query`, …) and its input as JSON text. */
  match: (operation: string, input: string) => boolean;
  /** Run (and awaited) before the call goes out. */
  before?: () => unknown;
  /** Run (and awaited) once the call settled, either way. */
  after?: () => unknown;
  /** Kept for every matching call; else the first matching call only. */
  keep?: boolean;
}

/**
 * Hooks on `world`'s engine's DynamoDB client (a middleware at its `initialize` step, installed beforeAll): `set`
 * arms them (the first hook matching a call takes it), `clear` disarms them; `fired` counts the calls hooked since
 * the last `set`. Read at a test file's top level, as `useTestEngine`.
 */
export function dynamoHooks(world: { readonly engine: Engine }, name: string) {
  let hooks: DynamoHook[] = [];
  let fired = 0;
  beforeAll(() => {
    const middleware: InitializeMiddleware<object, object> = (next: InitializeHandler<object, object>, context: HandlerExecutionContext) => async (args: InitializeHandlerArguments<object>) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      const hook = hooks.length === 0 ? undefined : hooks.find((h) => h.match(operation, JSON.stringify(args.input)));
      if (!hook) return next(args);
      if (!hook.keep) hooks = hooks.filter((h) => h !== hook);
      fired += 1;
      await hook.before?.();
      try {
        return await next(args);
      } finally {
        await hook.after?.();
      }
    };
    world.engine.dynamo.client.middlewareStack.add(middleware as never, { step: 'initialize', name });
  });
  return {
    set: (...list: DynamoHook[]) => {
      hooks = list;
      fired = 0;
    },
    /** Arm more hooks beside those armed (e.g. from another hook, as a race unfolds). */
    add: (...more: DynamoHook[]) => void hooks.push(...more),
    clear: () => void (hooks = []),
    /**
     * Runs `act` (e.g. sends a record's events, unsettled: settling would wait for the call hooked) and resolves once
     * `id`'s profile write has landed: in a hook's `before`, that write lands ahead of the call hooked.
     */
    untilProfileWritten: async (id: string, act: () => unknown) => {
      const written = new Promise<void>((then) => hooks.push({ match: (op, input) => op === 'PutItem' && input.includes(`"C#${id}"`) && input.includes('"profile"'), after: then }));
      await act();
      await written;
    },
    get fired() {
      return fired;
    },
  };
}
