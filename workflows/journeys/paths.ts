/**
 * State transitions per path. Step Functions Standard bills every state
 * entered (terminal states included), so a path's cost is its length.
 */
import type { State, StateMachineDefinition } from './asl';

export interface StatePath {
  /** The states entered, in order, from StartAt to a Succeed state. */
  readonly path: string[];
  /** State transitions billed for this path (= states entered). */
  readonly transitions: number;
}

/** Paths are enumerated up to this many; a journey with more is summarised by the first ones. */
export const MAX_PATHS = 1_000;

/**
 * Every loop-free path from StartAt to a Succeed state (or an exit's terminal Pass). Edges to Fail states
 * (errors) and into `detours` (a send's quiet-hours wait: each deferral adds 3,
 * the Wait, the send again and its Choice) are not followed; a wait_for counts both its outcomes.
 */
export function statePaths(definition: StateMachineDefinition, detours: ReadonlySet<string> = new Set()): StatePath[] {
  const paths: StatePath[] = [];
  const walk = (name: string, trail: string[]): void => {
    if (paths.length >= MAX_PATHS || trail.includes(name)) return;
    const state = definition.States[name];
    if (!state || state.Type === 'Fail') return;
    const here = [...trail, name];
    if (state.Type === 'Succeed' || (state.Type === 'Pass' && state.End)) {
      paths.push({ path: here, transitions: here.length });
      return;
    }
    for (const next of new Set(successors(state))) {
      if (!detours.has(next)) walk(next, here);
    }
  };
  walk(definition.StartAt, []);
  return paths;
}

function successors(state: State): string[] {
  switch (state.Type) {
    case 'Task':
      return [state.Next, ...state.Catch.map((c) => c.Next)];
    case 'Choice':
      return [...state.Choices.map((c) => c.Next), state.Default];
    case 'Wait':
      return [state.Next];
    default:
      return [];
  }
}

/** The longest a Standard execution lives (Step Functions' limit, one year): a journey with a loop may run that long. */
export const EXECUTION_MAX_SECONDS = 365 * 86_400;

/**
 * The longest an execution of `definition` can run, in seconds: along the longest path (edges into
 * `detours` not followed, Fail states not entered), the `seconds` each state can pause plus `perTask`
 * for each Task (its retries). A loop (which validation allows only through a wait) has no bound but
 * Step Functions' own: `EXECUTION_MAX_SECONDS`. Never more than that either.
 */
export function longestRunSeconds(definition: StateMachineDefinition, detours: ReadonlySet<string>, seconds: (state: string) => number, perTask = 0): number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  let looped = false;
  const longest = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) {
      looped = true;
      return 0;
    }
    const state = definition.States[name];
    if (!state || state.Type === 'Fail') return 0;
    visiting.add(name);
    let best = 0;
    for (const next of new Set(successors(state))) if (!detours.has(next)) best = Math.max(best, longest(next));
    visiting.delete(name);
    const total = seconds(name) + (state.Type === 'Task' ? perTask : 0) + best;
    memo.set(name, total);
    return total;
  };
  const total = longest(definition.StartAt);
  return looped ? EXECUTION_MAX_SECONDS : Math.min(total, EXECUTION_MAX_SECONDS);
}
