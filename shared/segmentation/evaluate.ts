import { matchesEventPattern } from '../pattern';
import { profileTags, type Profile, type ProfileStats, type RecentValue } from '../profile';
import { DEFAULT_SEGMENTATION_CONFIG, type SegmentationConfig } from './config';
import { DAY_MS, EVENT_WINDOW_MAX_MS, RECENT_EVENTS_WINDOW_MS } from './constants';
import { lifecycleBoundaries, lifecycleStageAt } from './lifecycle';
import { rfmAt, rfmBoundaries } from './rfm';
import type {
  Condition,
  DateField,
  DaysSinceCondition,
  EventCondition,
  NoEventCondition,
  Operators,
  StatName,
  TagRule,
} from './tag-rules';
import { sinceAnchor } from './tag-rules';
import { durationMs, earliest, instant, isoAt, nextChange } from './time';

/**
 * Evaluation of tag rules against a profile at an instant, and the next instant
 * at which the answer could change with time alone.
 *
 * Each condition is compiled once per profile into a truth function of time and
 * the instants where that truth may step (an event leaving its window, a
 * days_since threshold, a lifecycle or RFM boundary). Truth is constant from
 * one step to the next, so trying the steps in order finds the next change.
 *
 * Semantics a marketer can rely on:
 * - `within: 7d` counts events less than 7 days old: an event leaves the window
 *   exactly 7 days after it happened. Without `within`, event conditions look at
 *   the recent events a profile keeps (RECENT_EVENTS_WINDOW_DAYS).
 * - `since: X` counts events after the latest X; with no X among the recent
 *   events the condition is false (for `event` and `no_event` alike).
 * - `days_since` is whole days: 0 on the day itself, 1 from 24 hours later, ...
 * - A missing value (no such trait, never ordered) fails every comparison except
 *   `exists: false`. A list trait satisfies a comparison when one of its items
 *   does (and `ne` when none equals).
 * - A customer who never ordered has no RFM scores here (the profile stores 0s):
 *   every `rfm` comparison is false for them except `exists: false`.
 * - Lifecycle and RFM are recomputed from the profile with the config, so a
 *   condition on them never reads a stale stored value.
 */

export interface TagEvaluation {
  /** Names of the tags whose condition holds, sorted. */
  tags: string[];
  /** The earliest instant after `now` at which a tag could appear or go without a new event. */
  nextChangeAt?: string;
}

export interface ConditionEvaluation {
  holds: boolean;
  nextChangeAt?: string;
}

/** A condition as a step function of time (ms): `holds(t)` is constant between consecutive `boundaries`. */
interface Compiled {
  holds: (t: number) => boolean;
  boundaries: readonly number[];
}

interface TimedEvent {
  at: number;
  properties: Record<string, RecentValue>;
}

class EvaluationContext {
  readonly #byName = new Map<string, TimedEvent[]>();
  #lifecycleBoundaries: number[] | undefined;
  #rfmBoundaries: number[] | undefined;

  constructor(
    readonly profile: Profile,
    readonly config: SegmentationConfig,
  ) {}

  /** Recent events with this name, their times parsed (unreadable times skipped). */
  events(name: string): TimedEvent[] {
    let list = this.#byName.get(name);
    if (list === undefined) {
      list = [];
      for (const event of this.profile.recentEvents) {
        const at = event.name === name ? instant(event.at) : undefined;
        if (at !== undefined) list.push({ at, properties: event.properties });
      }
      this.#byName.set(name, list);
    }
    return list;
  }

  lifecycleBoundaries(): number[] {
    return (this.#lifecycleBoundaries ??= lifecycleBoundaries(this.profile, this.config));
  }

  rfmBoundaries(): number[] {
    return (this.#rfmBoundaries ??= rfmBoundaries(this.profile, this.config));
  }
}

const CONSTANT: readonly number[] = Object.freeze([]);

function compile(condition: Condition, ctx: EvaluationContext): Compiled {
  switch (condition.kind) {
    case 'all': {
      const parts = condition.all.map((child) => compile(child, ctx));
      return { holds: (t) => parts.every((p) => p.holds(t)), boundaries: parts.flatMap((p) => p.boundaries) };
    }
    case 'any': {
      const parts = condition.any.map((child) => compile(child, ctx));
      return { holds: (t) => parts.some((p) => p.holds(t)), boundaries: parts.flatMap((p) => p.boundaries) };
    }
    case 'not': {
      const inner = compile(condition.not, ctx);
      return { holds: (t) => !inner.holds(t), boundaries: inner.boundaries };
    }
    case 'stat': {
      const holds = compare(statValue(ctx.profile.stats, condition.stat), condition);
      return { holds: () => holds, boundaries: CONSTANT };
    }
    case 'trait': {
      const value = Object.hasOwn(ctx.profile.traits, condition.trait) ? ctx.profile.traits[condition.trait] : undefined;
      const holds = compare(value, condition);
      return { holds: () => holds, boundaries: CONSTANT };
    }
    case 'days_since':
      return compileDaysSince(condition, ctx);
    case 'lifecycle': {
      const stages: readonly string[] = condition.lifecycle;
      return {
        holds: (t) => stages.includes(lifecycleStageAt(ctx.profile, ctx.config, t)),
        boundaries: ctx.lifecycleBoundaries(),
      };
    }
    case 'rfm': {
      const field = condition.rfm;
      const valueAt = (t: number) => {
        const rfm = rfmAt(ctx.profile, ctx.config, t);
        return rfm.tier === undefined ? undefined : rfm[field];
      };
      return { holds: (t) => compare(valueAt(t), condition), boundaries: ctx.rfmBoundaries() };
    }
    case 'event':
    case 'no_event':
      return compileEvent(condition, ctx);
    case 'tag': {
      // The tags the customer has now; they change with events, never with time alone.
      const has = profileTags(ctx.profile);
      const holds = condition.tag.some((t) => has.has(t));
      return { holds: () => holds, boundaries: CONSTANT };
    }
    case 'recommendations': {
      // Computed at branch time (functions/journeys/steps.ts) onto a copy of the profile; absent: none.
      const list: readonly string[] = ctx.profile.recommendations?.[condition.recommendations] ?? [];
      const holds = condition.contains.some((name) => list.includes(name));
      return { holds: () => holds, boundaries: CONSTANT };
    }
    default:
      return assertNever(condition);
  }
}

// ---------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------

function statValue(stats: ProfileStats, stat: StatName): unknown {
  switch (stat) {
    case 'eventCount':
    case 'orderCount':
    case 'totalRevenue':
    case 'averageOrderValue':
    case 'complaintCount':
      return stats[stat];
    case 'openComplaints':
    case 'resolvedComplaints':
    case 'productsViewed':
      return stats[stat].length;
    case 'lastSurveyScore':
      return stats.lastSurvey?.score;
    case 'lastSurveyType':
      return stats.lastSurvey?.type;
    default:
      return assertNever(stat);
  }
}

/** Numbers with numbers, texts with texts (alphabetically); anything else does not compare. */
function order(a: unknown, b: string | number): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

function satisfiesItem(item: unknown, ops: Operators): boolean {
  const ordered = (bound: string | number | undefined, test: (diff: number) => boolean) => {
    if (bound === undefined) return true;
    const diff = order(item, bound);
    return diff !== undefined && test(diff);
  };
  return (
    (ops.eq === undefined || item === ops.eq) &&
    (ops.in === undefined || ops.in.some((value) => value === item)) &&
    ordered(ops.gt, (d) => d > 0) &&
    ordered(ops.gte, (d) => d >= 0) &&
    ordered(ops.lt, (d) => d < 0) &&
    ordered(ops.lte, (d) => d <= 0)
  );
}

/** All the operators hold for `value` (see the semantics above). */
export function compare(value: unknown, ops: Operators): boolean {
  const present = value !== undefined && value !== null;
  if (ops.exists !== undefined && present !== ops.exists) return false;
  const positive = ops.eq !== undefined || ops.in !== undefined || ops.gt !== undefined || ops.gte !== undefined || ops.lt !== undefined || ops.lte !== undefined;
  if (!positive && ops.ne === undefined) return true;
  if (!present) return false;
  const items: readonly unknown[] = Array.isArray(value) ? value : [value];
  if (ops.ne !== undefined && items.some((item) => item === ops.ne)) return false;
  return !positive || items.some((item) => satisfiesItem(item, ops));
}

function dateOf(profile: Profile, field: DateField): string | undefined {
  switch (field) {
    case 'firstSeenAt':
    case 'lastSeenAt':
      return profile[field];
    case 'firstOrderAt':
    case 'lastOrderAt':
    case 'lastComplaintAt':
    case 'lastResolutionAt':
      return profile.stats[field];
    case 'lastSurveyAt':
      return profile.stats.lastSurvey?.at;
    default:
      return assertNever(field);
  }
}

/** Whole days since the date: steps at date + k days, so the truth of `gt: v` etc. steps at date + v or v + 1 days. */
function compileDaysSince(condition: DaysSinceCondition, ctx: EvaluationContext): Compiled {
  const from = instant(dateOf(ctx.profile, condition.days_since));
  if (from === undefined) {
    const holds = compare(undefined, condition);
    return { holds: () => holds, boundaries: CONSTANT };
  }
  const values = [condition.eq, condition.ne, condition.gt, condition.gte, condition.lt, condition.lte, ...(condition.in ?? [])];
  const boundaries = values
    .filter((v): v is number => typeof v === 'number')
    .flatMap((v) => [Math.floor(v), Math.floor(v) + 1, Math.ceil(v)])
    .map((days) => from + days * DAY_MS);
  return { holds: (t) => compare(Math.floor((t - from) / DAY_MS), condition), boundaries };
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

function compileEvent(condition: EventCondition | NoEventCondition, ctx: EvaluationContext): Compiled {
  const name = condition.kind === 'event' ? condition.event : condition.no_event;
  const { where } = condition;
  const matching = ctx.events(name).filter((e) => where === undefined || matchesEventPattern(where, e.properties));
  const times = matching.map((e) => e.at);
  const window = condition.within === undefined ? RECENT_EVENTS_WINDOW_MS : Math.min(durationMs(condition.within), EVENT_WINDOW_MAX_MS);
  const since = condition.since === undefined ? undefined : sinceAnchor(condition.since);
  const anchors = since === undefined ? undefined : ctx.events(since.event).filter((e) => since.where === undefined || matchesEventPattern(since.where, e.properties)).map((e) => e.at);
  const [atLeast, atMost] =
    condition.kind === 'event' ? [condition.at_least ?? (condition.at_most === undefined ? 1 : 0), condition.at_most] : [0, 0];

  /** Matching events counted at `t`, or undefined when `since` names an event the customer has none of. */
  const count = (t: number): number | undefined => {
    let after = -Infinity;
    if (anchors !== undefined) {
      const kept = anchors.filter((at) => t - at < RECENT_EVENTS_WINDOW_MS);
      if (kept.length === 0) return undefined;
      after = Math.max(...kept);
    }
    return times.filter((at) => t - at < window && at > after).length;
  };

  return {
    holds: (t) => {
      const n = count(t);
      return n !== undefined && n >= atLeast && (atMost === undefined || n <= atMost);
    },
    boundaries: [...times.map((at) => at + window), ...(anchors ?? []).map((at) => at + RECENT_EVENTS_WINDOW_MS)],
  };
}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/** Whether one condition holds for the profile at `now`, and when that could next change without a new event. */
export function evaluateCondition(
  condition: Condition,
  profile: Profile,
  now: Date,
  config: SegmentationConfig = DEFAULT_SEGMENTATION_CONFIG,
): ConditionEvaluation {
  const t = now.getTime();
  const compiled = compile(condition, new EvaluationContext(profile, config));
  const next = nextChange(compiled.holds, compiled.boundaries, t);
  return next === undefined ? { holds: compiled.holds(t) } : { holds: compiled.holds(t), nextChangeAt: isoAt(next) };
}

/**
 * The computed tags of a profile at `now`: the names of the rules whose
 * condition holds, sorted, and the earliest instant after `now` at which one of
 * them could change with time alone (for the daily sweep). `config` gives the
 * lifecycle and RFM thresholds that `lifecycle` and `rfm` conditions use.
 */
export function evaluateTags(
  rules: readonly TagRule[],
  profile: Profile,
  now: Date,
  config: SegmentationConfig = DEFAULT_SEGMENTATION_CONFIG,
): TagEvaluation {
  const t = now.getTime();
  const ctx = new EvaluationContext(profile, config);
  const tags = new Set<string>();
  let next: number | undefined;
  for (const rule of rules) {
    const compiled = compile(rule.when, ctx);
    if (compiled.holds(t)) tags.add(rule.name);
    next = earliest(next, nextChange(compiled.holds, compiled.boundaries, t));
  }
  const sorted = [...tags].sort();
  return next === undefined ? { tags: sorted } : { tags: sorted, nextChangeAt: isoAt(next) };
}

function assertNever(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}
