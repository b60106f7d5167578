/**
 * The second validation pass (meaning): a journey of the right shape can still
 * name a step, a template or a tag that does not exist, loop without ever
 * waiting, or wait longer than a Step Functions execution lives. Every problem
 * comes with the path of the node to blame.
 */
import { join } from 'node:path';
import { unknownTopicMessage, validateEventPattern, type Topics } from '../../shared';
import { durationSeconds, formatDuration, MAX_WAIT_SECONDS } from './duration';
import type { PathSegment } from './errors';
import { buildGraph, maxPauseSeconds, WAITING_ACTIONS, type StepNode } from './graph';
import { parsePatternPath, TRIGGER_REFERENCE, valueProblems, type ValueProblem } from './references';
import { triggerFields } from './template-variables';
import { END, FREQUENCY_CAP_MAX_DELAY_MAX, HOLDOUT, NO_MAX_AGE, type Journey } from './schema';

/** The longest quiet hours can defer a send (a day): what a send's deferral adds after the frequency cap's. */
export const QUIET_HOURS_MAX_SECONDS = 86_400;
import { channelSpec, FALLBACK_CHANNELS, MESSAGE_CHANNELS, orList, templateKey, VARIANT_CHANNELS, type TemplateChannel } from '../../shared';
import { addedTags, tagReads, unknownTagMessage, type KnownTags } from './tags';
import { templateFileName } from './templates';

export interface MeaningOptions {
  /** Available templates, as keys `<template>.<channel>` (e.g. `welcome.email`). */
  readonly templates: Iterable<string>;
  /** The journey id the file name demands (file name without .yaml); unchecked when absent. */
  readonly expectedId?: string;
  /** Names of the configured outbound webhooks; unchecked when absent. */
  readonly webhookTargets?: Iterable<string>;
  /** The tags that can exist (tag rules, tags journeys add, declared manual tags); the tags the journey reads are unchecked when absent. */
  readonly tags?: KnownTags;
  /** The templates folder, as messages name it; "the templates folder" when absent. */
  readonly templatesDir?: string;
  /** The declared subscription topics (topics.yaml); with them, a `topic` must be one. Unchecked when absent. */
  readonly topics?: Topics | undefined;
}

export type MeaningProblem = ValueProblem;

const YEAR = formatDuration(MAX_WAIT_SECONDS);

export function validateMeaning(journey: Journey, options: MeaningOptions): MeaningProblem[] {
  const problems: MeaningProblem[] = [];
  const add = (path: readonly PathSegment[], message: string, key = false) => problems.push({ path, message, ...(key && { key }) });
  const templates = new Set(options.templates);
  const webhookTargets = options.webhookTargets === undefined ? undefined : new Set(options.webhookTargets);

  if (options.expectedId !== undefined && journey.id !== options.expectedId) {
    add(['id'], `expected the id to equal the file name: "${options.expectedId}" (or rename the file to ${journey.id}.yaml)`);
  }

  // Events and their patterns.
  const checkFilter = (filter: { where?: Record<string, unknown> | undefined }, at: PathSegment[], referencesAllowed: boolean) => {
    if (filter.where === undefined) return;
    const where = [...at, 'where'];
    for (const p of validateEventPattern(filter.where)) add([...where, ...parsePatternPath(p.path)], p.message);
    problems.push(...valueProblems(filter.where, where, referencesAllowed));
  };
  checkFilter(journey.trigger, ['trigger'], false);
  journey.goals?.forEach((goal, i) => checkFilter(goal, ['goals', i], false));
  journey.exits?.forEach((exit, i) => checkFilter(exit, ['exits', i], false));

  const maxAge = journey.trigger.max_age;
  if (maxAge !== undefined && maxAge !== NO_MAX_AGE && durationSeconds(maxAge) <= 0) add(['trigger', 'max_age'], `expected a maximum trigger age longer than 0, or "${NO_MAX_AGE}"`);

  // The frequency cap's longest deferral: the journey's, and a send step's own.
  const checkMaxDelay = (value: string | undefined, path: PathSegment[]) => {
    if (value === undefined) return;
    const seconds = durationSeconds(value);
    if (seconds > durationSeconds(FREQUENCY_CAP_MAX_DELAY_MAX)) {
      add(path, `a frequency cap delay of ${formatDuration(seconds)} is too long: expected at most ${FREQUENCY_CAP_MAX_DELAY_MAX} ("0s" skips at once)`);
    }
  };
  checkMaxDelay(journey.send_policy?.frequency_cap_max_delay, ['send_policy', 'frequency_cap_max_delay']);
  journey.steps.forEach((step, i) => {
    if (!('send' in step) || step.send.frequency_cap_max_delay === undefined) return;
    if (step.send.kind === 'transactional') add(['steps', i, 'send', 'frequency_cap_max_delay'], 'a transactional send is never capped: expected frequency_cap_max_delay only on a marketing send');
    else checkMaxDelay(step.send.frequency_cap_max_delay, ['steps', i, 'send', 'frequency_cap_max_delay']);
  });

  // Subscription topics: declared ones only; a transactional send has none (it ignores topics).
  const checkTopic = (topic: string | undefined, path: PathSegment[]) => {
    if (topic !== undefined && options.topics !== undefined && options.topics.get(topic) === undefined) add(path, unknownTopicMessage(topic, options.topics));
  };
  checkTopic(journey.topic, ['topic']);
  journey.steps.forEach((step, i) => {
    if (!('send' in step) || step.send.topic === undefined) return;
    if (step.send.kind === 'transactional' || channelSpec(step.send.channel).audience === 'system') add(['steps', i, 'send', 'topic'], `only a marketing ${orList(MESSAGE_CHANNELS.map((c) => channelSpec(c).label))} has a topic: a transactional send or a webhook ignores topics`);
    else checkTopic(step.send.topic, ['steps', i, 'send', 'topic']);
  });

  const reentry = journey.entry?.reentry;
  if (typeof reentry === 'object') checkDuration(durationSeconds(reentry.after), ['entry', 'reentry', 'after'], 're-entry delay', add);

  // Steps.
  const graph = buildGraph(journey);
  const ids = new Map<string, number>();
  for (const node of graph) {
    const first = ids.get(node.step.id);
    if (first === undefined) ids.set(node.step.id, node.index);
    else add(['steps', node.index, 'id'], `duplicate step id "${node.step.id}" (first used by steps[${first}]): expected each id once`);
  }
  const known = [...ids.keys()];
  for (const node of graph) {
    for (const edge of node.edges) {
      if (edge.to === END || edge.to === HOLDOUT || ids.has(edge.to)) continue;
      add(edge.path, `unknown step "${edge.to}": expected one of ${known.map((id) => `"${id}"`).join(', ')} or "${END}"`);
    }
    checkStep(node, templates, webhookTargets, add);
  }

  if (options.tags !== undefined) {
    const existing = {
      rules: [...new Set(options.tags.rules)],
      added: [...new Set([...(options.tags.added ?? []), ...addedTags(journey)])].sort(),
      manual: [...new Set(options.tags.manual)],
    };
    for (const read of tagReads(journey)) {
      const message = unknownTagMessage(read.tag, existing);
      if (message !== undefined) add(read.path, message);
    }
  }

  unreachable(graph, ids, add);
  loopsWithoutWait(graph, ids, add);
  // A single wait over a year already says it; the total is only worth a word when each wait is fine.
  if (!problems.some((p) => p.message.includes('is too long'))) longestRun(graph, ids, add);
  return problems;

  function checkStep(node: StepNode, available: Set<string>, targets: Set<string> | undefined, report: typeof add) {
    const { step, index } = node;
    const at = (...rest: PathSegment[]): PathSegment[] => ['steps', index, ...rest];
    const needTemplate = (template: string, channel: TemplateChannel, path: PathSegment[]) => {
      if (available.has(templateKey(template, channel))) return;
      const others = [...available].filter((k) => k.endsWith(`.${channel}`)).map((k) => k.slice(0, -channel.length - 1));
      const file = templateFileName(template, channel);
      const where = options.templatesDir === undefined ? `${file} in the templates folder` : join(options.templatesDir, file);
      report(path, `no ${channel} template "${template}": expected a file ${where}${others.length > 0 ? ` (${channel} templates: ${others.join(', ')})` : ''}`);
    };
    const needTarget = (target: string, path: PathSegment[]) => {
      if (targets && !targets.has(target)) report(path, `unknown outbound webhook "${target}": expected one of ${[...targets].map((t) => `"${t}"`).join(', ') || '(none configured)'}`);
    };
    if ('send' in step) {
      needTemplate(step.send.template, step.send.channel, at('send', 'template'));
      const seenVariants = new Set<string>();
      step.send.variants?.forEach((variant, v) => {
        if (seenVariants.has(variant.id)) report(at('send', 'variants', v, 'id'), `duplicate variant id "${variant.id}": each variant of an experiment needs its own`);
        seenVariants.add(variant.id);
        if (channelSpec(step.send.channel).audience === 'system') report(at('send', 'variants'), `a ${step.send.channel} send takes no variants: an experiment is on messages to the customer (${VARIANT_CHANNELS.join(', ')})`);
        else needTemplate(variant.template ?? step.send.template, variant.channel ?? step.send.channel, at('send', 'variants', v, variant.template !== undefined ? 'template' : 'channel'));
      });
      const fallback = step.send.fallback;
      if (fallback !== undefined) {
        const others = FALLBACK_CHANNELS.filter((c) => c !== step.send.channel);
        if (!channelSpec(step.send.channel).fallback) report(at('send', 'fallback'), `a ${step.send.channel} send takes no fallback: a fallback is another channel to reach the customer on (${FALLBACK_CHANNELS.join(', ')})`);
        else if (fallback === step.send.channel) report(at('send', 'fallback'), `fallback ${fallback} is the send's own channel: expected ${others.length === 1 ? 'the other one' : 'another one'} (${orList(others)})`);
        else if (step.send.variants !== undefined) report(at('send', 'fallback'), 'a send with variants takes no fallback: each variant names its own channel');
        else needTemplate(step.send.template, fallback, at('send', 'fallback'));
      }
      if (channelSpec(step.send.channel).audience === 'system') {
        if (step.send.target === undefined) report(at('send'), 'a webhook send needs a target: the outbound webhook to post to, such as "support"');
        else needTarget(step.send.target, at('send', 'target'));
      } else if (step.send.target !== undefined) {
        report(at('send', 'target'), `target is only for channel webhook; a ${step.send.channel} goes to the customer's address`, true);
      }
    } else if ('webhook' in step) {
      needTemplate(step.webhook.template, 'webhook', at('webhook', 'template'));
      needTarget(step.webhook.target, at('webhook', 'target'));
    } else if ('wait' in step) {
      checkDuration(durationSeconds(step.wait), at('wait'), 'wait', report);
    } else if ('wait_for' in step) {
      checkDuration(durationSeconds(step.wait_for.timeout), at('wait_for', 'timeout'), 'timeout', report);
      checkFilter(step.wait_for, at('wait_for'), true);
      if (step.wait_for.where !== undefined) unknownTriggerReferences(journey, step.wait_for.where, at('wait_for', 'where'), report);
    } else if ('update' in step) {
      problems.push(...valueProblems(step.update.value, at('update', 'value'), true));
      unknownTriggerReferences(journey, step.update.value, at('update', 'value'), report);
    } else if ('branch' in step) {
      step.branch.forEach((rule, i) => {
        if ('else' in rule && i !== step.branch.length - 1) report(at('branch', i), 'else must be the last entry of a branch: the rules after it would never be tried');
      });
      if (!step.branch.some((rule) => 'when' in rule)) report(at('branch'), 'a branch needs at least one { when: <condition>, next: <step> }');
    } else if ('split' in step) {
      const total = step.split.reduce((sum, group) => sum + group.percent, 0);
      if (total !== 100) report(at('split'), `the split percentages add up to ${total}: expected 100`);
      const holdouts = step.split.filter((group) => 'holdout' in group).length;
      if (holdouts > 1) report(at('split'), `a split has at most one holdout group, found ${holdouts}`);
    }
  }
}

/**
 * `"{{ trigger.x }}"` in a step's config must name a property the run carries
 * (as template variables must, see template-variables.ts): an unknown one would
 * resolve to nothing and the wait would never match.
 */
function unknownTriggerReferences(journey: Journey, value: unknown, path: PathSegment[], add: (path: readonly PathSegment[], message: string) => void) {
  const { fields } = triggerFields(journey);
  if (fields === true) return;
  const walk = (v: unknown, at: PathSegment[]): void => {
    if (typeof v === 'string') {
      const name = TRIGGER_REFERENCE.exec(v)?.[1];
      if (name !== undefined && name !== 'messageId' && !Object.hasOwn(fields, name)) {
        add(at, `unknown trigger property "${name}": journey "${journey.id}" starts with "${journey.trigger.event}", whose runs carry ${Object.keys(fields).join(', ') || '(none)'} (and messageId); name one of them, or add it to the trigger's where`);
      }
    } else if (Array.isArray(v)) v.forEach((item, i) => walk(item, [...at, i]));
    else if (v !== null && typeof v === 'object') for (const [key, item] of Object.entries(v)) walk(item, [...at, key]);
  };
  walk(value, path);
}

function checkDuration(seconds: number, path: PathSegment[], what: string, add: (path: readonly PathSegment[], message: string) => void) {
  if (seconds <= 0) add(path, `expected a ${what} longer than 0`);
  else if (seconds > MAX_WAIT_SECONDS) add(path, `a ${what} of ${formatDuration(seconds)} is too long: expected at most ${YEAR} (365 days; a Step Functions execution lives at most a year)`);
}

function unreachable(graph: StepNode[], ids: Map<string, number>, add: (path: readonly PathSegment[], message: string) => void) {
  if (graph.length === 0) return;
  const seen = new Set<number>([0]);
  const queue = [0];
  while (queue.length > 0) {
    const node = graph[queue.shift()!]!;
    for (const edge of node.edges) {
      const target = ids.get(edge.to);
      if (target !== undefined && !seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  for (const node of graph) {
    if (!seen.has(node.index) && ids.get(node.step.id) === node.index) {
      add(['steps', node.index, 'id'], `step "${node.step.id}" is never reached: no path from the first step leads to it; point a next, on_event, on_timeout, branch or split at it, or remove it`);
    }
  }
}

/** A loop of steps none of which waits would spin through state transitions until Step Functions stops it. */
function loopsWithoutWait(graph: StepNode[], ids: Map<string, number>, add: (path: readonly PathSegment[], message: string) => void) {
  const instant = (i: number) => !WAITING_ACTIONS.has(graph[i]!.action);
  const successors = (i: number) =>
    graph[i]!.edges.map((e) => ids.get(e.to)).filter((t): t is number => t !== undefined && instant(t));
  // Tarjan's strongly connected components over the steps that do not wait.
  let counter = 0;
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const stack: number[] = [];
  const onStack = new Set<number>();
  const components: number[][] = [];
  const visit = (v: number) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of successors(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: number[] = [];
      let w: number;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const node of graph) if (instant(node.index) && !index.has(node.index)) visit(node.index);
  for (const component of components) {
    const looped = component.length > 1 || successors(component[0]!).includes(component[0]!);
    if (!looped) continue;
    const members = component.sort((a, b) => a - b);
    const first = members[0]!;
    const names = members.map((i) => `"${graph[i]!.step.id}"`).join(', ');
    add(['steps', first], `steps ${names} form a loop that never waits: expected a wait, wait_until or wait_for inside the loop (it would otherwise run until Step Functions stops it)`);
  }
}

/** The longest total pause along any loop-free path must fit in the one year an execution lives. */
function longestRun(graph: StepNode[], ids: Map<string, number>, add: (path: readonly PathSegment[], message: string) => void) {
  const memo = new Map<number, number>();
  const visiting = new Set<number>();
  const longest = (i: number): number => {
    const known = memo.get(i);
    if (known !== undefined) return known;
    if (visiting.has(i)) return 0; // a loop: counted once
    visiting.add(i);
    const node = graph[i]!;
    let best = 0;
    for (const edge of node.edges) {
      const target = ids.get(edge.to);
      if (target !== undefined) best = Math.max(best, longest(target));
    }
    visiting.delete(i);
    const total = maxPauseSeconds(node.step) + best;
    memo.set(i, total);
    return total;
  };
  if (graph.length === 0) return;
  const total = longest(0);
  if (total > MAX_WAIT_SECONDS) {
    add(['steps'], `the longest path through the steps can pause for ${formatDuration(total)}: expected at most ${YEAR} in all (a Step Functions execution lives at most a year)`);
  }
}
