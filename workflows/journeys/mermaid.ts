/**
 * A Mermaid flowchart of a journey's steps (not its states): what a marketer
 * reviews before a journey goes live.
 */
import { describeCondition } from './conditions';
import { formatDuration, durationSeconds } from './duration';
import type { StepNode } from './graph';
import { END, HOLDOUT, type Journey, type Step } from './schema';

const nodeId = (target: string): string => (target === END ? 'done' : target === HOLDOUT ? 'holdout' : `s_${target.replace(/-/g, '_')}`);

/** Mermaid label text: quotes and angle brackets as entities. */
const text = (s: string): string => s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');

function where(filter: { event: string; where?: Record<string, unknown> | undefined }): string {
  return filter.where === undefined ? filter.event : `${filter.event} where ${JSON.stringify(filter.where)}`;
}

function node(step: Step): string {
  const id = nodeId(step.id);
  const title = text(step.id);
  if ('send' in step) {
    const kind = step.send.kind === 'transactional' ? ' (transactional)' : '';
    return `${id}["${title}<br/>send ${step.send.channel}: ${text(step.send.template)}${kind}"]`;
  }
  if ('wait' in step) return `${id}(["${title}<br/>wait ${formatDuration(durationSeconds(step.wait))}"])`;
  if ('wait_until' in step) {
    const days = step.wait_until.days ? ` on ${step.wait_until.days.join(', ')}` : '';
    return `${id}(["${title}<br/>wait until ${step.wait_until.time}${days}"])`;
  }
  if ('wait_for' in step) return `${id}{{"${title}<br/>wait for ${text(where(step.wait_for))}<br/>at most ${step.wait_for.timeout}"}}`;
  if ('branch' in step) return `${id}{"${title}<br/>branch"}`;
  if ('split' in step) return `${id}{"${title}<br/>random split"}`;
  if ('tag' in step) return `${id}["${title}<br/>${'add' in step.tag ? `tag +${step.tag.add}` : `tag -${step.tag.remove}`}"]`;
  if ('update' in step) return `${id}["${title}<br/>set ${step.update.trait} = ${text(JSON.stringify(step.update.value))}"]`;
  if ('webhook' in step) return `${id}["${title}<br/>webhook ${step.webhook.target}: ${text(step.webhook.template)}"]`;
  return `${id}(("${step.exit === true ? 'exit' : step.exit === 'goal' ? 'exit: goal reached' : `exit: ${text(step.exit)}`}"))`;
}

export function journeyMermaid(journey: Journey, graph: readonly StepNode[]): string {
  const lines = ['graph TD', `  trigger(["${text(where(journey.trigger))}"]) --> ${nodeId(journey.steps[0]!.id)}`];
  const ends = new Set<string>();
  for (const { step, edges } of graph) {
    lines.push(`  ${node(step)}`);
    for (const edge of edges) {
      if (edge.to === END || edge.to === HOLDOUT) ends.add(edge.to);
      let label: string | undefined;
      if (edge.kind === 'event' && 'wait_for' in step) label = step.wait_for.event;
      else if (edge.kind === 'timeout' && 'wait_for' in step) label = `timeout ${step.wait_for.timeout}`;
      else if (edge.kind === 'when' && 'branch' in step) {
        const rule = step.branch[edge.index!]!;
        label = 'when' in rule ? describeCondition(rule.when) : undefined;
      } else if (edge.kind === 'else') label = 'else';
      else if ((edge.kind === 'split' || edge.kind === 'holdout') && 'split' in step) {
        label = `${step.split[edge.index!]!.percent}%${edge.kind === 'holdout' ? ' holdout' : ''}`;
      }
      lines.push(`  ${nodeId(step.id)} -->${label === undefined ? '' : `|"${text(label)}"|`} ${nodeId(edge.to)}`);
    }
  }
  if (ends.has(END)) lines.push(`  ${nodeId(END)}((("end")))`);
  if (ends.has(HOLDOUT)) lines.push(`  ${nodeId(HOLDOUT)}((("holdout")))`);
  (journey.goals ?? []).forEach((goal, i) => lines.push(`  goal_${i}>"goal: ${text(where(goal))}"]`));
  (journey.exits ?? []).forEach((exit, i) => lines.push(`  exit_${i}>"exit: ${text(where(exit))}"]`));
  return `${lines.join('\n')}\n`;
}
