/**
 * The customer view previews a message for the customer, in headless Chromium against a real engine: rendered
 * by the engine as the send gateway renders it (GET /v1/admin/preview), the French variant for a French customer,
 * the email's HTML in a frame sandboxed without scripts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { identify, launchBrowser, startUiWorld, watchPage, type UiWorld } from './harness';

let world: UiWorld;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;

beforeAll(async () => {
  world = await startUiWorld();
  [browser] = await Promise.all([launchBrowser(), world.send([identify('zoe', { email: 'zoe@example.com', name: 'Zoé <b>', locale: 'fr-CA' })])]);
  context = browser.context;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await world?.stop();
});

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

describe('the /ui customer view: preview', () => {
  it("renders a template for the customer in their locale, the HTML in a sandboxed frame with its styles, and says why one cannot render", async () => {
    // Prepare
    const page = await context.newPage();
    const problems = watchPage(page, world.engine.url);
    await page.goto(`${world.engine.url}/ui/#/customers/zoe`);
    await poll(() => page.locator('.card.profile h2').textContent()).toBe('zoe');

    // Act
    await page.getByLabel('Template').fill('welcome');
    await page.getByRole('button', { name: 'Preview' }).click();

    // Assess: what the gateway would send, the markup of a trait escaped, scripts off in the frame.
    const preview = page.locator('section[aria-labelledby="h-preview"] .preview');
    await poll(() => preview.locator('dl.kv').textContent()).toContain('Subject');
    const fields = await preview.locator('dl.kv dd').allTextContents();
    expect(fields.slice(0, 3)).toEqual(['zoe@example.com', 'fr', 'Bienvenue, Zoé <b> !']);
    expect(await preview.locator('dl.kv').textContent()).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    const frame = preview.locator('iframe.email-html');
    expect(await frame.getAttribute('sandbox')).toBe('');
    // The frame's page is sandboxed by its own policy too (opened directly, it runs nothing), and keeps the email's inline styles.
    const html = await fetch(`${world.engine.url}${await frame.getAttribute('src')}`);
    expect(html.headers.get('content-security-policy')).toMatch(/^sandbox; default-src 'none'; style-src 'unsafe-inline'/);
    expect(await html.text()).toContain('<p>Bonjour Zoé &lt;b&gt;,</p>');
    await poll(() => page.frameLocator('iframe.email-html').locator('p').first().textContent()).toBe('Bonjour Zoé <b>,');
    // The email's inline style applies in the frame (its unsubscribe line: font-size:12px), as in a mail client.
    expect(await page.frameLocator('iframe.email-html').locator('p').last().evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).fontSize)).toBe('12px');
    expect(await preview.locator('pre.email-text').textContent()).toContain('Bonjour Zoé <b>,');

    // A template that does not exist: the engine's reason, on the page.
    await page.getByLabel('Template').fill('no-such-template');
    await page.getByRole('button', { name: 'Preview' }).click();
    await poll(() => preview.getByRole('alert').textContent()).toContain('no template "no-such-template" for channel email');
    expect(problems.filter((p) => !/^console\.error: Failed to load resource: .*422/.test(p))).toEqual([]);
    await page.close();
  }, 60_000);
});
