import type { EventPattern } from '../pattern';
import { OR_KEY } from '../pattern/matcher';
import { EVENT_WINDOW_MAX_MS, RECENT_EVENTS_WINDOW_MS } from './constants';
import { ConditionSchema, sinceAnchor, type Condition, type TagRule } from './tag-rules';
import { durationMs } from './time';

/**
 * Which recent events a profile needs to keep: only those something reads. The
 * tag rules and journey branch conditions read events by name (`event`,
 * `no_event`, `since`), their properties through `where`, and never further back
 * than `within` (or RECENT_EVENTS_WINDOW_DAYS); the journey starter's
 * goal-before-start check matches the journeys' goal patterns against them. Any
 * other event, or property, only makes the profile item (and every write and
 * read of it) bigger; the customer's full history stays on the timeline.
 */
export interface RecentEventsSpec {
  /**
   * The event names kept; per name, the property names kept, the parts of them
   * the patterns read (`shape`) and how long the event is kept (ms).
   */
  readonly events: ReadonlyMap<string, { readonly properties: ReadonlySet<string>; readonly shape: PropertyShape; readonly keepMs: number }>;
}

/**
 * The parts of an event's properties that patterns read: per property, `true`
 * for the whole value (a pattern's value list: `category: [sofa]`) or the
 * shape of its fields (a nested pattern: `products: { category: [sofa] }` reads
 * `category` of each product, arrays of objects included).
 */
export interface PropertyShape {
  readonly [key: string]: PropertyShape | true;
}

/** What the spec needs of a journey: its goal patterns and its branch conditions (unknown: keep everything). */
export interface JourneyRetentionInput {
  readonly id?: string;
  readonly goalPatterns: readonly EventPattern[];
  /** The `when` of every branch rule; absent when the journey's source does not say (an older journeys file). */
  readonly branchConditions?: readonly unknown[];
}

/**
 * The recent events the tag rules and journeys reference, or `undefined` when
 * that cannot be known for certain (a journey without its branch conditions, a
 * branch condition that does not parse, a goal that names no event exactly):
 * then the profile keeps every recent event, as before.
 */
export function recentEventsSpec(rules: readonly TagRule[], journeys: readonly JourneyRetentionInput[]): RecentEventsSpec | undefined {
  const events = new Map<string, { properties: Set<string>; shape: PropertyShape; keepMs: number }>();
  const keep = (name: string, keepMs: number, shape: PropertyShape = {}) => {
    const entry = events.get(name) ?? { properties: new Set<string>(), shape: {}, keepMs: 0 };
    entry.keepMs = Math.max(entry.keepMs, Math.min(keepMs, EVENT_WINDOW_MAX_MS));
    entry.shape = mergeShapes(entry.shape, shape);
    for (const p of Object.keys(shape)) entry.properties.add(p);
    events.set(name, entry);
  };
  const walk = (condition: Condition): void => {
    switch (condition.kind) {
      case 'all':
        return condition.all.forEach(walk);
      case 'any':
        return condition.any.forEach(walk);
      case 'not':
        return walk(condition.not);
      case 'event':
      case 'no_event': {
        const name = condition.kind === 'event' ? condition.event : condition.no_event;
        keep(name, condition.within === undefined ? RECENT_EVENTS_WINDOW_MS : durationMs(condition.within), condition.where ? patternShape(condition.where) : {});
        // An anchor counts for the whole window (see evaluate.ts compileEvent).
        if (condition.since !== undefined) {
          const since = sinceAnchor(condition.since);
          keep(since.event, RECENT_EVENTS_WINDOW_MS, since.where ? patternShape(since.where) : {});
        }
        return;
      }
      default:
        return;
    }
  };
  for (const rule of rules) walk(rule.when);
  for (const journey of journeys) {
    if (journey.branchConditions === undefined) return undefined;
    for (const when of journey.branchConditions) {
      const parsed = ConditionSchema.safeParse(when);
      if (!parsed.success) return undefined;
      walk(parsed.data);
    }
    for (const goal of journey.goalPatterns) {
      const names = goalEventNames(goal);
      if (names === undefined) return undefined;
      const detail = goal.detail;
      const properties = isMapping(detail) && isMapping(detail.properties) ? patternShape(detail.properties) : {};
      // The trigger that started the run may be as old as the window: its goals are kept as long.
      for (const name of names) keep(name, RECENT_EVENTS_WINDOW_MS, properties);
    }
  }
  return { events };
}

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What a pattern over an event's properties reads (through `$or` and nested patterns too). */
export function patternShape(pattern: Readonly<Record<string, unknown>>): PropertyShape {
  let shape: PropertyShape = {};
  for (const [key, value] of Object.entries(pattern)) {
    if (key === OR_KEY && Array.isArray(value)) {
      for (const alternative of value) if (isMapping(alternative)) shape = mergeShapes(shape, patternShape(alternative));
    } else {
      shape = mergeShapes(shape, { [key]: isMapping(value) ? patternShape(value) : true });
    }
  }
  return shape;
}

/** Both shapes' parts; where one reads a whole value, the whole value. */
function mergeShapes(a: PropertyShape, b: PropertyShape): PropertyShape {
  const merged: Record<string, PropertyShape | true> = { ...a };
  for (const [key, part] of Object.entries(b)) {
    const mine = merged[key];
    merged[key] = mine === undefined ? part : mine === true || part === true ? true : mergeShapes(mine, part);
  }
  return merged;
}

/** The event names a goal's bus pattern matches exactly (`detail-type`, else `detail.event`), or undefined when it names none exactly. */
function goalEventNames(pattern: EventPattern): string[] | undefined {
  const exact = (values: unknown) => (Array.isArray(values) && values.length > 0 && values.every((v) => typeof v === 'string') ? (values as string[]) : undefined);
  if (OR_KEY in pattern) return undefined;
  const detail = pattern.detail;
  return exact(pattern['detail-type']) ?? (isMapping(detail) ? exact(detail.event) : undefined);
}
