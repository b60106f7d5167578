/**
 * The UI tests' world: an embedded engine (which serves /ui itself) on a clock
 * that starts at a fixed instant, a few customers in it, and the Chromium that
 * npm brings (@sparticuz/chromium, see ./browser.ts) driven by playwright-core.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Engine } from '../../infra/embedded/engine';
import { ScaledClock } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { eventually } from '../helpers/journeys';
import { browserBinary } from './browser';
import { checkPng, type PngCheck } from './png';

/** Where the screenshots of each view are written (kept after the run, for a person to look at). */
export const SCREENSHOTS = process.env.UI_SCREENSHOTS_DIR ?? join(tmpdir(), 'rapport-ui-screenshots');
export const VIEWPORT = { width: 1360, height: 900 };
/**
 * The engine's clock starts here and runs at real speed: 10:00 UTC is outside
 * the default quiet hours (21:00-08:00) in UTC and inside them in Los Angeles,
 * whatever the time of day the tests run at.
 */
export const CLOCK_START = '2026-03-02T10:00:00.000Z';

export interface UiWorld {
  engine: Engine;
  clock: ScaledClock;
  /** Post signed events and wait until the profile consumer has handled them. */
  send(events: unknown[]): Promise<void>;
  /** Stop the engine (once; later calls wait for the same stop). */
  stop(): Promise<void>;
}

export async function startUiWorld(): Promise<UiWorld> {
  const clock = new ScaledClock(1, new Date(CLOCK_START));
  const engine = await startTestEngine({ clock, sweepEveryMs: 0 });
  const api = client(engine);
  let stopped: Promise<void> | undefined;
  return {
    engine,
    clock,
    async send(events) {
      await api.send(events);
      await engine.settle();
    },
    stop() {
      stopped ??= engine.stop();
      return stopped;
    },
  };
}

export const identify = (userId: string, traits: Record<string, unknown>) => ({ type: 'identify', userId, messageId: `ui-${userId}-identify`, traits });
export const track = (userId: string, event: string, properties: Record<string, unknown>, key: string) => ({ type: 'track', userId, event, properties, messageId: `ui-${userId}-${key}` });
export const counter = async (world: UiWorld, journey: string, name: string) => ((await world.engine.journeys.records.stats(journey)) as Record<string, number>)[name] ?? 0;

/**
 * Four sign-ups (one without an email address, one in their quiet hours), two
 * orders that reach the welcome goal and make Ada a VIP, and a complaint from Bob.
 */
/** Generous: the full suite runs many engines at once on a 2-core CI machine. */
const SEED_TIMEOUT_MS = 30_000;

export async function seed(world: UiWorld): Promise<void> {
  const { engine } = world;
  const outbox = (n: number, what: string) => eventually(() => engine.outbox.entries.length >= n, what, SEED_TIMEOUT_MS);
  await world.send([identify('ada', { email: 'ada@example.com', name: 'Ada Lovelace', plan: 'pro', tags: ['beta-tester'] }), track('ada', 'Signed Up', { method: 'email' }, 'signup')]);
  await outbox(1, 'welcome email to ada');
  await world.send([identify('bob', { email: 'bob@example.com', name: 'Bob Stone' }), track('bob', 'Signed Up', { method: 'google' }, 'signup')]);
  await outbox(2, 'welcome email to bob');
  await world.send([track('cy', 'Signed Up', { method: 'phone' }, 'signup')]);
  await eventually(async () => (await counter(world, 'welcome', 'send-welcome.skipped.no-address')) > 0, 'welcome skipped for cy (no address)', SEED_TIMEOUT_MS);
  // 10:00 UTC is 02:00 in Los Angeles: quiet hours, the welcome email waits for the morning.
  await world.send([identify('dee', { email: 'dee@example.com', name: 'Dee Park', timezone: 'America/Los_Angeles' }), track('dee', 'Signed Up', { method: 'email' }, 'signup')]);
  await eventually(async () => (await counter(world, 'welcome', 'send-welcome.deferred.quiet-hours')) > 0, 'welcome deferred for dee (quiet hours)', SEED_TIMEOUT_MS);
  await world.send([track('ada', 'Order Completed', { orderId: 'A-1001', revenue: 720, currency: 'EUR' }, 'order-1')]);
  await eventually(async () => (await counter(world, 'welcome', 'goal')) > 0, 'welcome goal for ada', SEED_TIMEOUT_MS);
  await world.send([track('ada', 'Order Completed', { orderId: 'A-1002', revenue: 430, currency: 'EUR' }, 'order-2')]);
  await world.send([track('bob', 'Complaint Filed', { complaintId: 'C-2001', category: 'delivery' }, 'complaint')]);
  await outbox(4, 'complaint acknowledgement and support ticket for bob');
}

export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const binary = browserBinary();
  const userDataDir = mkdtempSync(join(tmpdir(), 'rapport-ui-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: binary.executablePath,
      env: { ...process.env, ...binary.env },
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: VIEWPORT,
      deviceScaleFactor: 1,
      locale: 'en-GB',
      timezoneId: 'UTC',
      colorScheme: 'light',
      reducedMotion: 'reduce',
    });
    return {
      context,
      async close() {
        await context.close();
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw new Error(`could not start Chromium (${binary.executablePath}): ${(error as Error).message}`, { cause: error });
  }
}

/** Console errors, page errors, failed requests and requests to anywhere but the engine, collected as text. */
export function watchPage(page: Page, baseUrl: string): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('request', (r) => {
    if (!r.url().startsWith(`${baseUrl}/`) && !r.url().startsWith('data:')) problems.push(`request off the engine: ${r.url()}`);
  });
  return problems;
}

/**
 * A full-page screenshot, written to SCREENSHOTS/<name>.png and checked: a
 * valid PNG exactly as large as the page's document, and not blank.
 */
export async function screenshot(page: Page, name: string): Promise<PngCheck & { file: string; expected: { width: number; height: number } }> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const expected = await page.evaluate<{ width: number; height: number }>('({ width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight })');
  const png = await page.screenshot({ fullPage: true, animations: 'disabled', caret: 'hide' });
  const file = join(SCREENSHOTS, `${name}.png`);
  writeFileSync(file, png);
  return { ...checkPng(png), file, expected };
}
