import { EVENTS, RESERVED_EVENT_NAMES } from '../contract';
import { VALUE_TIERS } from '../profile';
import { EVENT_WINDOW_MAX_DAYS, EVENT_WINDOW_MAX_MS } from './constants';
import { sinceAnchor, type Condition, type EventCondition, type NoEventCondition, type Operators, type StatName, type TagRule } from './tag-rules';
import { describeValue, didYouMean, fold, closest, nameList, type PathSegment } from './text';
import { durationMs } from './time';

/**
 * The second pass over rules that have the right shape: does each make sense?
 * Operator values fit the field (a number for `orderCount`, a tier name for
 * `rfm: tier`), windows fit the recent events a profile keeps, counts are
 * consistent, events are ones a profile can hold.
 */

export interface Finding {
  /** Relative to the rule. */
  path: PathSegment[];
  message: string;
}

export interface CheckResult {
  errors: Finding[];
  /** Legal but probably not meant (an event name one letter off a known one). */
  warnings: Finding[];
}

/** Names a profile's recent events carry: the known track events and the other call types. */
const PROFILE_EVENT_NAMES: readonly string[] = [...Object.values(EVENTS), 'Identify', 'Page', 'Screen', 'Group', 'Alias'];

type ValueKind =
  | { type: 'number'; what: string; whole?: boolean; min?: number; max?: number }
  | { type: 'enum'; what: string; values: readonly string[] }
  | { type: 'any' };

const SCORE: ValueKind = { type: 'number', what: 'an RFM score', whole: true, min: 1, max: 5 };
const DAYS: ValueKind = { type: 'number', what: 'a whole number of days', whole: true, min: 0 };

function statKind(stat: StatName): ValueKind {
  switch (stat) {
    case 'lastSurveyType':
      return { type: 'enum', what: 'a survey type', values: ['nps', 'csat'] };
    case 'lastSurveyScore':
      return { type: 'number', what: 'a survey score', whole: true, min: 0, max: 10 };
    case 'eventCount':
    case 'orderCount':
    case 'complaintCount':
    case 'openComplaints':
    case 'resolvedComplaints':
    case 'productsViewed':
      return { type: 'number', what: `a count (${stat})`, whole: true, min: 0 };
    case 'totalRevenue':
    case 'averageOrderValue':
      return { type: 'number', what: `an amount (${stat})` };
    default:
      return assertNever(stat);
  }
}

export function checkRule(rule: TagRule): CheckResult {
  const result: CheckResult = { errors: [], warnings: [] };
  checkCondition(rule.when, ['when'], result);
  return result;
}

function checkCondition(condition: Condition, path: PathSegment[], out: CheckResult): void {
  switch (condition.kind) {
    case 'all':
      condition.all.forEach((child, index) => checkCondition(child, [...path, 'all', index], out));
      return;
    case 'any':
      condition.any.forEach((child, index) => checkCondition(child, [...path, 'any', index], out));
      return;
    case 'not':
      checkCondition(condition.not, [...path, 'not'], out);
      return;
    case 'stat':
      checkOperators(condition, path, statKind(condition.stat), out);
      return;
    case 'trait':
      checkOperators(condition, path, { type: 'any' }, out);
      return;
    case 'days_since':
      checkOperators(condition, path, DAYS, out);
      return;
    case 'rfm':
      checkOperators(condition, path, condition.rfm === 'tier' ? { type: 'enum', what: 'a value tier', values: VALUE_TIERS } : SCORE, out);
      return;
    case 'lifecycle':
      return;
    case 'event':
    case 'no_event':
      checkEvent(condition, path, out);
      return;
    case 'tag':
      out.errors.push({
        path: [...path, 'tag'],
        message: 'a tag rule cannot test a tag (its truth would depend on the order the rules run in): repeat that tag\'s condition here instead; tag conditions are for journey branches',
      });
      return;
    case 'recommendations':
      out.errors.push({
        path: [...path, 'recommendations'],
        message: 'a tag rule cannot test recommendations (they are computed from other customers\' orders when a message is sent or a branch is taken, not kept on the profile); recommendations conditions are for journey branches',
      });
      return;
    default:
      assertNever(condition);
  }
}

const ORDERING = ['gt', 'gte', 'lt', 'lte'] as const;

function checkOperators(condition: Operators, path: PathSegment[], kind: ValueKind, out: CheckResult): void {
  for (const op of ['eq', 'ne'] as const) {
    const value = condition[op];
    if (value !== undefined) checkValue(value, kind, [...path, op], out);
  }
  for (const op of ORDERING) {
    const value = condition[op];
    if (value === undefined) continue;
    if (kind.type === 'enum') {
      out.errors.push({ path: [...path, op], message: `${op} does not apply to ${kind.what}; use eq, ne or in` });
    } else {
      checkValue(value, kind, [...path, op], out);
    }
  }
  condition.in?.forEach((value, index) => checkValue(value, kind, [...path, 'in', index], out));
}

function checkValue(value: string | number | boolean, kind: ValueKind, path: PathSegment[], out: CheckResult): void {
  const problem = valueProblem(value, kind);
  if (problem !== undefined) out.errors.push({ path, message: problem });
}

function valueProblem(value: string | number | boolean, kind: ValueKind): string | undefined {
  switch (kind.type) {
    case 'any':
      return undefined;
    case 'enum':
      return typeof value === 'string' && kind.values.includes(value)
        ? undefined
        : `expected ${kind.what}: one of ${nameList(kind.values)}${didYouMean(value, kind.values)}, got ${describeValue(value)}`;
    case 'number': {
      const range =
        kind.min !== undefined && kind.max !== undefined
          ? ` from ${kind.min} to ${kind.max}`
          : kind.min !== undefined
            ? ` of ${kind.min} or more`
            : '';
      const expected = `expected ${kind.what}${range}`;
      if (typeof value !== 'number') return `${expected}, got ${describeValue(value)}`;
      if (kind.whole === true && !Number.isInteger(value)) return `${expected} (a whole number), got ${value}`;
      if ((kind.min !== undefined && value < kind.min) || (kind.max !== undefined && value > kind.max)) {
        return `${expected}, got ${value}`;
      }
      return undefined;
    }
    default:
      return assertNever(kind);
  }
}

function checkEvent(condition: EventCondition | NoEventCondition, path: PathSegment[], out: CheckResult): void {
  const nameKey = condition.kind === 'event' ? 'event' : 'no_event';
  const name = condition.kind === 'event' ? condition.event : condition.no_event;
  checkEventName(name, [...path, nameKey], out);
  if (condition.since !== undefined) {
    const since = sinceAnchor(condition.since);
    checkEventName(since.event, typeof condition.since === 'string' ? [...path, 'since'] : [...path, 'since', 'event'], out);
    if (condition.within !== undefined) {
      out.errors.push({
        path: [...path, 'since'],
        message: 'use either within (a time window) or since (after the latest such event), not both',
      });
    }
  }
  if (condition.within !== undefined && durationMs(condition.within) > EVENT_WINDOW_MAX_MS) {
    out.errors.push({
      path: [...path, 'within'],
      message: `expected a window of at most ${EVENT_WINDOW_MAX_DAYS}d (a profile keeps the events a condition reads at most a year), got "${condition.within}"; for older history use days_since`,
    });
  }
  if (condition.kind !== 'event') return;
  const { at_least: atLeast, at_most: atMost } = condition;
  if (atLeast !== undefined && atMost !== undefined && atMost < atLeast) {
    out.errors.push({ path: [...path, 'at_most'], message: `expected at_most to be at least at_least (${atLeast}), got ${atMost}` });
  }
  if (atLeast === 0 && atMost === undefined) {
    out.warnings.push({ path: [...path, 'at_least'], message: 'at_least: 0 without at_most always holds; did you mean no_event?' });
  }
}

function checkEventName(name: string, path: PathSegment[], out: CheckResult): void {
  if (RESERVED_EVENT_NAMES.has(name)) {
    out.errors.push({
      path,
      message: `"${name}" is an event Rapport derives; it never appears among a customer's recent events (use a lifecycle or rfm condition instead)`,
    });
    return;
  }
  if (PROFILE_EVENT_NAMES.includes(name)) return;
  const known = PROFILE_EVENT_NAMES.find((known) => fold(known) === fold(name)) ?? closest(name, PROFILE_EVENT_NAMES);
  if (known !== undefined) {
    out.warnings.push({
      path,
      message: `"${name}" is not an event Rapport knows, did you mean "${known}"? (event names are case-sensitive; custom events are fine)`,
    });
  }
}

function assertNever(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}
