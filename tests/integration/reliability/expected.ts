/**
 * What a customer's profile must say after their history, computed from the
 * history itself (not by the engine): the counts that a lost or doubled event
 * would change.
 */
import type { CustomerView } from '../../helpers/client';
import type { WireEvent } from './workload';

export interface ExpectedStats {
  eventCount: number;
  orderCount: number;
  /** In cents, exact. */
  revenueCents: number;
  complaintCount: number;
}

export function expectedStats(events: readonly WireEvent[], customerId: string): ExpectedStats {
  const mine = events.filter((e) => e.userId === customerId);
  const orders = mine.filter((e) => e.event === 'Order Completed');
  return {
    eventCount: mine.length,
    orderCount: orders.length,
    revenueCents: orders.reduce((sum, e) => sum + Math.round((e.properties as { revenue: number }).revenue * 100), 0),
    complaintCount: mine.filter((e) => e.event === 'Complaint Filed').length,
  };
}

export function statsOf(view: CustomerView): ExpectedStats {
  return {
    eventCount: view.stats.eventCount,
    orderCount: view.stats.orderCount,
    revenueCents: Math.round(view.stats.totalRevenue * 100),
    complaintCount: view.stats.complaintCount,
  };
}
