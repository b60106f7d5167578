/** A realistic stream of customer events for the cost model, and signed/keyed requests carrying it. */
import { Webhook } from 'standardwebhooks';

export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const WRITE_KEY = 'wk_cost_model_0123456789';
export const SOURCES = [{ id: 'default', webhookSecrets: [SECRET], writeKeys: [WRITE_KEY] }];

/** The event mix of scenario 1 (shares of all events). */
export const EVENT_MIX = [
  ['page', 0.45],
  ['product', 0.4],
  ['identify', 0.1],
  ['order', 0.05],
] as const;
export type EventKind = (typeof EVENT_MIX)[number][0];

/** Deterministic pseudo-random numbers (LCG), so every run sends the same stream. */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

let seq = 0;
const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
const messageId = () => `cost-${run}-${++seq}`;

/** Context as Segment's analytics-node and a browser page would send it. */
const context = (r: () => number) => ({
  library: { name: 'analytics-node', version: '3.1.0' },
  ip: `203.0.113.${Math.floor(r() * 250)}`,
  userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  locale: 'en-GB',
});

const CATEGORIES = ['baby', 'toys', 'home', 'garden', 'books'];

export function customerEvent(kind: EventKind, userId: string, r: () => number, timestamp?: Date): Record<string, unknown> {
  const base = { messageId: messageId(), userId, context: context(r), ...(timestamp && { timestamp: timestamp.toISOString() }) };
  const product = Math.floor(r() * 400);
  const category = CATEGORIES[Math.floor(r() * CATEGORIES.length)]!;
  switch (kind) {
    case 'identify':
      return { ...base, type: 'identify', traits: { email: `${userId}@example.com`, name: `Customer ${userId}`, firstName: 'Ada', plan: r() < 0.2 ? 'plus' : 'free', timezone: 'Europe/London', country: 'GB' } };
    case 'page':
      return { ...base, type: 'page', name: 'Product List', properties: { path: `/c/${category}`, url: `https://shop.example.com/c/${category}?page=${1 + Math.floor(r() * 5)}`, title: `${category} | Example Shop`, referrer: 'https://www.google.com/' } };
    case 'product':
      return { ...base, type: 'track', event: 'Product Viewed', properties: { productId: `p-${product}`, name: `Product ${product}`, category, price: Math.round(500 + r() * 9500) / 100, currency: 'GBP' } };
    case 'order': {
      const items = 1 + Math.floor(r() * 3);
      const products = Array.from({ length: items }, () => ({ productId: `p-${Math.floor(r() * 400)}`, price: Math.round(500 + r() * 4500) / 100, quantity: 1 + Math.floor(r() * 2) }));
      const revenue = Math.round(products.reduce((n, p) => n + p.price * p.quantity, 0) * 100) / 100;
      return { ...base, type: 'track', event: 'Order Completed', properties: { orderId: `o-${run}-${seq}`, revenue, currency: 'GBP', products } };
    }
  }
}

/** A kind drawn from the mix. */
export function drawKind(r: () => number): EventKind {
  let x = r();
  for (const [kind, share] of EVENT_MIX) {
    if (x < share) return kind;
    x -= share;
  }
  return 'page';
}

const webhook = new Webhook(SECRET);

/** A Standard Webhooks request to `/v1/events`: one event, or `{ batch }`. */
export function signed(body: unknown): { path: string; headers: Record<string, string>; body: string } {
  const text = JSON.stringify(body);
  const id = `msg_${run}_${++seq}`;
  const now = new Date();
  return { path: '/v1/events', body: text, headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': webhook.sign(id, now, text) } };
}

/** A Segment HTTP Tracking API batch (`/v1/batch`, write key as Basic-auth user), as analytics-node flushes it. */
export function segmentBatch(events: unknown[]): { path: string; headers: Record<string, string>; body: string } {
  const text = JSON.stringify({ batch: events, sentAt: new Date().toISOString() });
  return { path: '/v1/batch', body: text, headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` } };
}
