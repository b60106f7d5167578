/**
 * The step graph: every step with its outgoing edges, defaults resolved (a
 * step without `next` goes to the following step; the last one to `end`).
 * Both the meaning pass and the compiler walk this, so they agree on the flow.
 */
import type { PathSegment } from './errors';
import { actionOf, END, HOLDOUT, type ActionName, type Journey, type Step } from './schema';
import { durationSeconds } from './duration';

export type EdgeKind = 'next' | 'event' | 'timeout' | 'when' | 'else' | 'split' | 'holdout';

export interface Edge {
  /** A step id, `end` or `holdout`. */
  readonly to: string;
  readonly kind: EdgeKind;
  /** Where the target is written, or the step's path when it is the default. */
  readonly path: readonly PathSegment[];
  /** For branch rules and split groups: their position in the list. */
  readonly index?: number;
}

export interface StepNode {
  readonly step: Step;
  readonly index: number;
  readonly action: ActionName;
  readonly edges: readonly Edge[];
}

/** Actions that pause the run: a loop through one of these costs time, not an instant runaway. */
export const WAITING_ACTIONS: ReadonlySet<ActionName> = new Set(['wait', 'wait_until', 'wait_for']);

export function buildGraph(journey: Journey): StepNode[] {
  return journey.steps.map((step, index) => {
    const following = journey.steps[index + 1]?.id ?? END;
    const at = (...rest: PathSegment[]): PathSegment[] => ['steps', index, ...rest];
    const action = actionOf(step);
    const edges: Edge[] = [];
    if ('branch' in step) {
      let hasElse = false;
      step.branch.forEach((rule, i) => {
        if ('when' in rule) edges.push({ to: rule.next, kind: 'when', path: at('branch', i, 'next'), index: i });
        else {
          hasElse = true;
          edges.push({ to: rule.else, kind: 'else', path: at('branch', i, 'else'), index: i });
        }
      });
      if (!hasElse) edges.push({ to: following, kind: 'else', path: at('branch') });
    } else if ('split' in step) {
      step.split.forEach((group, i) => {
        if ('holdout' in group) edges.push({ to: HOLDOUT, kind: 'holdout', path: at('split', i), index: i });
        else edges.push({ to: group.next ?? following, kind: 'split', path: group.next === undefined ? at('split', i) : at('split', i, 'next'), index: i });
      });
    } else if ('wait_for' in step) {
      edges.push({ to: step.on_event ?? following, kind: 'event', path: step.on_event === undefined ? at('wait_for') : at('on_event') });
      edges.push({ to: step.on_timeout ?? following, kind: 'timeout', path: step.on_timeout === undefined ? at('wait_for') : at('on_timeout') });
    } else if (!('exit' in step)) {
      edges.push({ to: step.next ?? following, kind: 'next', path: step.next === undefined ? at() : at('next') });
    }
    return { step, index, action, edges };
  });
}

/** The longest a step can hold a run (seconds), for the one-year budget. */
export function maxPauseSeconds(step: Step): number {
  if ('wait' in step) return durationSeconds(step.wait);
  if ('wait_for' in step) return durationSeconds(step.wait_for.timeout);
  // The next matching time of day is at most a week away.
  if ('wait_until' in step) return 7 * 86_400;
  return 0;
}

/**
 * The steps every path from the trigger reaches without pausing: no wait, wait_until, wait_for or marketing send
 * (which quiet hours or the frequency cap may defer) before them. The run reaches such a step at its trigger's time
 * (in event time), so an event dated from the trigger on is one the step is in time for, even if it was handled
 * before the run got there (EventBridge keeps no order).
 */
export function reachedAtTrigger(graph: readonly StepNode[]): Set<string> {
  const pauses = (node: StepNode) => WAITING_ACTIONS.has(node.action) || ('send' in node.step && (node.step.send.kind ?? 'marketing') === 'marketing');
  const byId = new Map(graph.map((n) => [n.step.id, n]));
  const predecessors = new Map<string, StepNode[]>();
  for (const node of graph) for (const edge of node.edges) predecessors.set(edge.to, [...(predecessors.get(edge.to) ?? []), node]);
  // Greatest fixpoint: start from every step and drop those with a predecessor that pauses or is dropped.
  const reached = new Set(graph.map((n) => n.step.id));
  for (let changed = true; changed; ) {
    changed = false;
    for (const id of reached) {
      if (id === graph[0]?.step.id && !predecessors.has(id)) continue;
      const preds = predecessors.get(id) ?? [];
      const ok = (id === graph[0]?.step.id || preds.length > 0) && preds.every((p) => reached.has(p.step.id) && !pauses(p)) && byId.has(id);
      if (!ok) {
        reached.delete(id);
        changed = true;
      }
    }
  }
  return reached;
}
