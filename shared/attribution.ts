/**
 * Attribution: what a message earned. A conversion event is credited to the last Rapport message (a
 * journey's send or a broadcast) the customer got within that message's window before it (last touch).
 */

/** A message's conversion rule, resolved: the event, the property holding its value (absent: the order amount), the window. */
export interface AttributionRule {
  event: string;
  value?: string;
  windowSeconds: number;
}

/** What a journey's or a broadcast's messages earn when it does not say: an order within 5 days of the message, its amount as Segment defines it. */
export const DEFAULT_ATTRIBUTION = { event: 'Order Completed', window: '5d' } as const;

/**
 * The events the journey router credits as conversions: each journey's attribution event, and the default one.
 * A broadcast's own `attribution` may name only these: its messages are credited by the same router, which
 * has no other list (the broadcast API refuses any other, naming them).
 */
export function conversionEventsOf(journeys: readonly { attribution?: { event: string } | undefined }[]): Set<string> {
  return new Set([DEFAULT_ATTRIBUTION.event, ...journeys.flatMap((j) => (j.attribution ? [j.attribution.event] : []))]);
}
