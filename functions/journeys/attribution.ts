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
    // An experiment variant's share (`<step>.variant.<id>.attribution.*`) is in its step's already (experiments.ts).
    if (scope.includes('.variant.')) continue;
    const [table, key] = scope.startsWith('channel.') ? [view.channels, scope.slice('channel.'.length)] : [view.steps, scope];
    add((table[key] ??= { conversions: 0, revenue: 0 }), kind, n);
  }
  return view;
}

/** Money as the reports print it: two decimals, thousands grouped (the currency is the events' own). */
const money = (n: number) => n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/**
 * The attribution lines of a report (`rapport simulate`, the demo): the rule, the total, then per step and per
 * channel, each with its share of the conversions. Deterministic (sorted), no trailing spaces.
 */
export function formatAttribution(view: AttributionView, indent = '  '): string[] {
  const days = view.windowSeconds % 86_400 === 0 ? `${view.windowSeconds / 86_400}d` : `${view.windowSeconds}s`;
  const lines = [`${indent}attribution (last touch: ${view.event} within ${days} of a message; value: ${view.value})`];
  lines.push(`${indent}  total      ${view.conversions} conversions, ${money(view.revenue)} revenue`);
  const share = (n: number) => (view.conversions === 0 ? '' : `  (${((n * 100) / view.conversions).toFixed(1)}%)`);
  for (const [label, table] of [['step', view.steps], ['channel', view.channels]] as const) {
    for (const [key, earned] of Object.entries(table).sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`${indent}  ${label.padEnd(7)}  ${key}: ${earned.conversions} conversions, ${money(earned.revenue)} revenue${share(earned.conversions)}`);
    }
  }
  return lines;
}
