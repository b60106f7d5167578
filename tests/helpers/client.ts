import type { Engine } from '../../infra/embedded/engine';
import { TEST_SECRET } from './engine';
import { post, signedRequest } from './webhook';

/** Drive an engine only through its HTTP API, as a sender and an operator would. */
export function client(engine: Engine, secret = TEST_SECRET) {
  return {
    async send(events: unknown[] | unknown, options: Parameters<typeof signedRequest>[2] = {}) {
      const body = Array.isArray(events) ? { batch: events } : events;
      const res = await post(`${engine.url}/v1/events`, signedRequest(secret, body, options));
      if (res.status !== 202) throw new Error(`send failed: ${res.status} ${res.text}`);
      return res.json as { accepted: string[]; duplicates?: string[] };
    },
    /** Send, then wait until the bus targets (profile consumer) have handled everything. */
    async sendAndSettle(events: unknown[] | unknown, options: Parameters<typeof signedRequest>[2] = {}) {
      const result = await this.send(events, options);
      await engine.settle();
      return result;
    },
    async get(path: string) {
      const res = await fetch(`${engine.url}${path}`);
      return { status: res.status, json: (await res.json()) as Record<string, unknown> & Record<string, never> };
    },
    async customer(id: string) {
      const res = await fetch(`${engine.url}/v1/customers/${encodeURIComponent(id)}`);
      if (res.status !== 200) throw new Error(`GET customer ${id}: ${res.status} ${await res.text()}`);
      return (await res.json()) as CustomerView;
    },
    async del(path: string) {
      const res = await fetch(`${engine.url}${path}`, { method: 'DELETE' });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
  };
}

export interface CustomerView {
  id: string;
  anonymousIds: string[];
  mergedIds?: string[];
  traits: Record<string, unknown>;
  consent: Record<'email' | 'sms' | 'push', { status: string; source: string; at: string }>;
  suppression: Record<string, unknown>;
  firstSeenAt: string;
  lastSeenAt: string;
  stats: {
    eventCount: number;
    orderCount: number;
    totalRevenue: number;
    averageOrderValue: number;
    lastOrderAt?: string;
    firstOrderAt?: string;
    complaintCount: number;
    openComplaints: string[];
    lastSurvey?: { type: string; score: number; at: string };
  };
  lifecycleStage: string;
  rfm: { recency: number; frequency: number; monetary: number; tier?: string };
  tags: string[];
  computedTags: string[];
  manualTags: string[];
  journeyTags: string[];
}
