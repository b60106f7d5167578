import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { OTHER_SECRET, startTestEngine, TEST_SECRET } from '../helpers/engine';
import { CHILD_PROCESS_TIMEOUT, cli, lines } from './helpers';

/**
 * `rapport send` (a child process) against an embedded engine running in the
 * test: what it posts is what the engine stores; refusals and a dead port map
 * to their exit codes.
 */
let engine: Engine;
const tmp = mkdtempSync(join(tmpdir(), 'rapport-send-'));

beforeAll(async () => {
  engine = await startTestEngine({ logLevel: 'SILENT' });
}, 60_000);

afterAll(async () => {
  await engine?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('rapport send', { timeout: CHILD_PROCESS_TIMEOUT }, () => {
  it('posts a signed track event and an identify; the engine stores both on the profile (exit 0)', async () => {
    const track = await cli(['send', '--url', engine.url, '--secret', TEST_SECRET, '--event', 'Signed Up', '--user', 'cli-ada', '--props', '{"method":"email"}']);
    expect(track.code, track.stderr).toBe(0);
    expect(lines(track.stdout)[0]).toBe('202 Accepted');
    expect(JSON.parse(lines(track.stdout).slice(1).join('\n'))).toEqual({ accepted: [expect.any(String)] });

    const identify = await cli(['send', '--url', engine.url, '--secret', TEST_SECRET, '--type', 'identify', '--user', 'cli-ada', '--props', '{"email":"ada@example.com","name":"Ada"}']);
    expect(identify.code, identify.stderr).toBe(0);

    await engine.settle();
    const profile = await engine.profiles.get('cli-ada');
    expect(profile?.profile.traits).toMatchObject({ email: 'ada@example.com', name: 'Ada' });
    const timeline = await fetch(`${engine.url}/v1/customers/cli-ada/events`).then((r) => r.json() as Promise<unknown>);
    expect(JSON.stringify(timeline)).toContain('Signed Up');
  });

  it('sends a file of events as one batch, with the secret from the data folder `npm start` writes (found from a subfolder)', async () => {
    const cwd = join(tmp, 'batch');
    mkdirSync(join(cwd, '.rapport'), { recursive: true });
    writeFileSync(join(cwd, '.rapport', 'dev-credentials.json'), JSON.stringify({ webhookSecret: TEST_SECRET }));
    writeFileSync(
      join(cwd, 'events.json'),
      JSON.stringify([
        { type: 'track', userId: 'cli-bob', event: 'Product Viewed', properties: { productId: 'p1' } },
        { type: 'track', userId: 'cli-bob', event: 'Product Viewed', properties: { productId: 'p2' } },
      ]),
    );
    mkdirSync(join(cwd, 'sub', 'folder'), { recursive: true });
    // From a subfolder too: the data folder is found above.
    const result = await cli(['send', '--url', engine.url, '--file', '../../events.json'], { cwd: join(cwd, 'sub', 'folder') });
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(lines(result.stdout).slice(1).join('\n')) as { accepted: string[] }).accepted).toHaveLength(2);
  });

  it('exits 1 and prints the engine\'s answer when the event is refused: a wrong secret (401), an invalid event (400)', async () => {
    const [wrongSecret, invalid] = await Promise.all([
      cli(['send', '--url', engine.url, '--secret', OTHER_SECRET.replace('c2Vj', 'd2Vj'), '--user', 'cli-eve']),
      // An order with a negative revenue is flagged, not refused (tracking plan); an unsubscribe from no channel is refused.
      cli(['send', '--url', engine.url, '--secret', TEST_SECRET, '--event', 'Unsubscribed', '--user', 'cli-eve', '--props', '{"channel":"fax"}']),
    ]);
    expect(wrongSecret.code).toBe(1);
    expect(lines(wrongSecret.stdout)[0]).toMatch(/^401 /);
    expect(invalid.code).toBe(1);
    expect(lines(invalid.stdout)[0]).toMatch(/^400 /);
    expect(invalid.stdout).toContain('channel');
  });

  it('exits 3 with a hint when nothing listens at the URL', async () => {
    const port = await deadPort();
    const result = await cli(['send', '--url', `http://127.0.0.1:${port}`, '--secret', TEST_SECRET]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toEqual([`could not reach the engine at http://127.0.0.1:${port} (ECONNREFUSED). Is it running? Start it with \`npm start\`.`]);
  });

  it('exits 2 on bad options: --props not an object, a malformed URL or secret, no secret anywhere, an unknown --type', async () => {
    const cwd = join(tmp, 'empty');
    mkdirSync(cwd, { recursive: true });
    const results = await Promise.all([
      cli(['send', '--secret', TEST_SECRET, '--props', '[1,2]']),
      cli(['send', '--secret', TEST_SECRET, '--props', '{method: email}']),
      cli(['send', '--secret', TEST_SECRET, '--url', 'not a url']),
      cli(['send', '--secret', 'hunter2']),
      cli(['send'], { cwd }),
      cli(['send', '--secret', TEST_SECRET, '--type', 'page']),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2]);
    const [array, notJson, url, secret, none, type] = results.map((r) => lines(r.stderr)[0]);
    expect(array).toBe(`rapport send: --props: expected a JSON object like '{"method":"email"}', got [1,2]`);
    expect(notJson).toMatch(/^rapport send: --props: not JSON \(.*\); expected an object like '\{"method":"email"\}'$/);
    expect(url).toBe('rapport send: --url: expected a URL like http://127.0.0.1:3000, got "not a url"');
    expect(secret).toMatch(/^rapport send: --secret: /);
    expect(none).toBe('rapport send: no webhook secret: pass --secret whsec_..., set RAPPORT_WEBHOOK_SECRET, or start the engine once (`npm start` keeps it in .rapport/dev-credentials.json)');
    expect(type).toBe('rapport send: --type: expected track or identify, got "page" (use --file for other event types)');
  });
});
