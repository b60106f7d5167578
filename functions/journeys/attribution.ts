import type { JourneySpec } from './runtime';

/** What one scope (the journey, a step, a channel) earned: conversions credited to its messages and their value. */
export interface Earned {
  conversions: number;
  revenue: number;
}

/** A journey's attribution as the stats API shows it: the rule, the total, and per step and per channel. */
export interface AttributionView extends Earned {
  event: string;
  value: string;
  windowSeconds: number;
  steps: Record<string, Earned>;
  channels: Record<string, Earned>;
}

const SUFFIX = /^(.*)\.attribution\.(conversions|revenue)$/;

/**
 * The attribution counters of a journey's STATS item (`attribution.*`, `<step>.attribution.*`,
 * `channel.<channel>.attribution.*`, written by `JourneyStore.creditConversion`) as totals per scope.
 */
export function attributionView(counters: Readonly<Record<string, number>>, rule: NonNullable<JourneySpec['attribution']>): AttributionView {
  const view: AttributionView = { event: rule.event, value: rule.value ?? 'order amount (revenue, else total, else value)', windowSeconds: rule.windowSeconds, conversions: 0, revenue: 0, steps: {}, channels: {} };
  const add = (into: Earned, kind: string, n: number) => {
    if (kind === 'conversions') into.conversions += n;
    else into.revenue += n;
  };
  for (const [name, n] of Object.entries(counters)) {
    if (name === 'attribution.conversions' || name === 'attribution.revenue') {
      add(view, name.slice('attribution.'.length), n);
      continue;
    }
    const match = SUFFIX.exec(name);
    if (!match) continue;
    const [, scope, kind] = match as unknown as [string, string, string];
    const [table, key] = scope.startsWith('channel.') ? [view.channels, scope.slice('channel.'.length)] : [view.steps, scope];
    add((table[key] ??= { conversions: 0, revenue: 0 }), kind, n);
  }
  return view;
}
