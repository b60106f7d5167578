/**
 * The paths of the built-in journeys the cost model drives, each with its share
 * of entries (the stated path mix) and the time scale it runs at, and how to
 * tell which path a customer's run took (sends, webhooks and how it ended).
 */
import type { Engine } from '../../infra/embedded/engine';
import { signed } from './events';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface Driver {
  engine: Engine;
  /** Send one request through the metered API. */
  post: (request: ReturnType<typeof signed>) => Promise<void>;
  customerId: string;
  now: () => Date;
}

export interface PathScript {
  journey: string;
  id: string;
  label: string;
  /** Share of the journey's entries on this path (the mix; shares of a journey add up to 1). */
  share: number;
  /** Simulated ms per real ms. */
  scale: number;
  /** What `pathOf` says when the customer took this path. */
  expect: string;
  drive: (d: Driver) => Promise<void>;
}

let seq = 0;
const id = (c: string) => `cost-j-${process.pid}-${c}-${++seq}`;
const identify = (c: string) => ({ type: 'identify', messageId: id(c), userId: c, traits: { email: `${c}@example.com`, name: `Customer ${c}`, firstName: 'Ada' } });
const track = (c: string, event: string, properties: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ type: 'track', messageId: id(c), userId: c, event, properties, ...extra });
/** The revenue of every order the scripts place. */
export const ORDER_REVENUE = 42.5;
const order = (c: string, extra: Record<string, unknown> = {}) => track(c, 'Order Completed', { orderId: id(c), revenue: ORDER_REVENUE, currency: 'EUR', products: [{ productId: 'p-1', price: ORDER_REVENUE, quantity: 1 }] }, extra);

/** Steps the customer has been sent so far (emails and webhooks), in order. */
export function sentSteps(engine: Engine, customerId: string): string[] {
  return engine.outbox.entries
    .filter((m) => ('tags' in m && m.tags.customer === customerId) || (m.channel === 'webhook' && m.body.includes(JSON.stringify(customerId))))
    .map((m) => ('tags' in m ? (m.tags.step ?? '?') : (m.id.split(':').pop() ?? '?')));
}

const executionsOf = (engine: Engine, journeyId: string, customerId: string) => [...engine.journeys.sfn.executions.values()].filter((e) => e.journeyId === journeyId && (e.input as { customerId?: string }).customerId === customerId);

/** `send-a > send-b; SUCCEEDED` — what the customer was sent and how the execution ended. */
export function pathOf(engine: Engine, journeyId: string, customerId: string): string {
  const executions = executionsOf(engine, journeyId, customerId);
  const ended = executions.map((e) => e.status).join('+') || 'not entered';
  return `${sentSteps(engine, customerId).join(' > ') || '(nothing sent)'}; ${ended}`;
}

/** Customers whose script gave up waiting (they show up as off their path; `engine.stop()` ends their runs). */
export const stalled: string[] = [];

/**
 * Poll in-memory state (the outbox, the executor): reading the tables would add
 * DynamoDB calls to the sample. A run that never gets there is reported (its
 * path differs), not fatal.
 */
async function until(d: Driver, what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      stalled.push(`${d.customerId}: no ${what} within ${timeoutMs / 1000} s`);
      throw new Stalled();
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
class Stalled extends Error {}
/** Run a script; a stall ends it quietly. */
export async function runScript(script: PathScript, d: Driver): Promise<void> {
  try {
    await script.drive(d);
  } catch (error) {
    if (!(error instanceof Stalled)) throw error;
  }
}
const sent = (d: Driver, step: string) => until(d, step, () => sentSteps(d.engine, d.customerId).includes(step));
/** The run is waiting in `state` for an event: its task token is stored a moment after the state is entered (100 ms real). */
const waitingIn = async (d: Driver, journeyId: string, state: string) => {
  await until(d, `state ${state}`, () => executionsOf(d.engine, journeyId, d.customerId).some((e) => e.status === 'RUNNING' && e.states.at(-1) === state));
  await new Promise((r) => setTimeout(r, 100));
};
const ended = (d: Driver, journeyId: string) =>
  until(d, `end of the ${journeyId} run`, () => {
    const e = executionsOf(d.engine, journeyId, d.customerId);
    return e.length > 0 && e.every((x) => x.status !== 'RUNNING');
  });

const WELCOME_SCALE = 2 * 86_400; // 1 simulated day per 0.5 s
const WIN_BACK_SCALE = 10 * 86_400;
const COMPLAINT_SCALE = 3 * 86_400;

const signUp = (d: Driver) => d.post(signed({ batch: [identify(d.customerId), track(d.customerId, 'Signed Up', { plan: 'free' })] }));
/**
 * Only order 70 days ago: at-risk now; 20 days later (2 s at win-back's time scale) the sweep (a daily job in
 * AWS) finds the customer dormant and `Customer Became Inactive` starts win-back. An order dated past 90 days
 * would not do: the trigger it derives at once is history, older than win-back's `trigger.max_age`, and skipped
 * as stale (so would one hours short of it: the scaled clock passes hours while the order is applied).
 */
const lapsed = async (d: Driver) => {
  const orderAt = d.now().getTime() - 70 * DAY;
  await d.post(signed({ batch: [identify(d.customerId), order(d.customerId, { timestamp: new Date(orderAt).toISOString() })] }));
  await until(d, 'dormancy', () => d.now().getTime() > orderAt + 90 * DAY + 60_000);
  // The daily sweep finds the customer due once the order is applied; other scripts' sweeps may run first.
  await d.engine.settle();
  await d.engine.sweep();
  await until(d, 'a win-back run', () => executionsOf(d.engine, 'win-back', d.customerId).length > 0);
};
const complaint = (d: Driver) => d.post(signed({ batch: [identify(d.customerId), track(d.customerId, 'Complaint Filed', { complaintId: `cmp-${d.customerId}`, category: 'delivery' })] }));
const resolve = (d: Driver) => d.post(signed(track(d.customerId, 'Complaint Resolved', { complaintId: `cmp-${d.customerId}` })));
const buy = (d: Driver) => d.post(signed(order(d.customerId)));

export const JOURNEY_PATHS: PathScript[] = [
  {
    journey: 'welcome',
    id: 'welcome-no-order',
    label: 'no order: 3 emails',
    share: 0.6,
    scale: WELCOME_SCALE,
    expect: 'send-welcome > send-getting-started > send-first-order-offer; SUCCEEDED',
    drive: async (d) => {
      await signUp(d);
      await ended(d, 'welcome');
    },
  },
  {
    journey: 'welcome',
    id: 'welcome-order-1',
    label: 'orders after the welcome email',
    share: 0.25,
    scale: WELCOME_SCALE,
    expect: 'send-welcome; ABORTED',
    drive: async (d) => {
      await signUp(d);
      await sent(d, 'send-welcome');
      await buy(d);
      await ended(d, 'welcome');
    },
  },
  {
    journey: 'welcome',
    id: 'welcome-order-2',
    label: 'orders after getting-started',
    share: 0.15,
    scale: WELCOME_SCALE,
    expect: 'send-welcome > send-getting-started; ABORTED',
    drive: async (d) => {
      await signUp(d);
      await sent(d, 'send-getting-started');
      await buy(d);
      await ended(d, 'welcome');
    },
  },
  {
    journey: 'win-back',
    id: 'win-back-order-1',
    label: 'orders after we-miss-you',
    share: 0.2,
    scale: WIN_BACK_SCALE,
    expect: 'send-we-miss-you; ABORTED',
    drive: async (d) => {
      await lapsed(d);
      await sent(d, 'send-we-miss-you');
      await buy(d);
      await ended(d, 'win-back');
    },
  },
  {
    journey: 'win-back',
    id: 'win-back-order-2',
    label: 'orders after the offer',
    share: 0.1,
    scale: WIN_BACK_SCALE,
    expect: 'send-we-miss-you > send-offer; ABORTED',
    drive: async (d) => {
      await lapsed(d);
      await sent(d, 'send-offer');
      await buy(d);
      await ended(d, 'win-back');
    },
  },
  {
    journey: 'win-back',
    id: 'win-back-churned',
    label: 'no order: tagged churned',
    share: 0.7,
    scale: WIN_BACK_SCALE,
    expect: 'send-we-miss-you > send-offer; SUCCEEDED',
    drive: async (d) => {
      await lapsed(d);
      await ended(d, 'win-back');
    },
  },
  {
    journey: 'complaint-follow-up',
    id: 'complaint-resolved-order',
    label: 'resolved in 24 h, orders again',
    share: 0.5,
    scale: COMPLAINT_SCALE,
    expect: 'acknowledge > open-ticket > send-survey; SUCCEEDED',
    drive: async (d) => {
      await complaint(d);
      await waitingIn(d, 'complaint-follow-up', 'await-resolution');
      await resolve(d);
      await waitingIn(d, 'complaint-follow-up', 'await-next-order');
      await buy(d);
      await ended(d, 'complaint-follow-up');
    },
  },
  {
    journey: 'complaint-follow-up',
    id: 'complaint-resolved-silent',
    label: 'resolved in 24 h, no order in 30 days',
    share: 0.2,
    scale: COMPLAINT_SCALE,
    expect: 'acknowledge > open-ticket > send-survey > send-we-value-you > request-callback; SUCCEEDED',
    drive: async (d) => {
      await complaint(d);
      await waitingIn(d, 'complaint-follow-up', 'await-resolution');
      await resolve(d);
      await ended(d, 'complaint-follow-up');
    },
  },
  {
    journey: 'complaint-follow-up',
    id: 'complaint-escalated-order',
    label: 'escalated, resolved, orders again',
    share: 0.2,
    scale: COMPLAINT_SCALE,
    expect: 'acknowledge > open-ticket > escalate > send-survey; SUCCEEDED',
    drive: async (d) => {
      await complaint(d);
      await waitingIn(d, 'complaint-follow-up', 'await-escalated-resolution');
      await resolve(d);
      await waitingIn(d, 'complaint-follow-up', 'await-next-order');
      await buy(d);
      await ended(d, 'complaint-follow-up');
    },
  },
  {
    journey: 'complaint-follow-up',
    id: 'complaint-unresolved',
    label: 'escalated, never resolved',
    share: 0.1,
    scale: COMPLAINT_SCALE,
    expect: 'acknowledge > open-ticket > escalate; SUCCEEDED',
    drive: async (d) => {
      await complaint(d);
      await ended(d, 'complaint-follow-up');
    },
  },
];
