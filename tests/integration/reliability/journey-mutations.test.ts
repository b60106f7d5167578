/**
 * A journey step that changes the profile (a tag) while EventBridge refuses the
 * derived event it causes: the step fails after the profile write, Step
 * Functions retries it, and the retry publishes the `Tag Added` the first
 * attempt could not — once, so a journey that starts on that tag still starts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../infra/embedded/engine';
import { VirtualClock } from '../../../infra/embedded/virtual-time';
import { DERIVED_EVENTS } from '../../../shared';
import { client } from '../../helpers/client';
import { startTestEngine } from '../../helpers/engine';
import { runToEnd } from '../../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-mutations-'));
let engine: Engine;
let refused = 0;
const clock = new VirtualClock('2026-03-02T10:00:00Z');
const isWelcomedTag = (entry: { DetailType?: string; Detail?: string }) =>
  entry.DetailType === DERIVED_EVENTS.TAG_ADDED && (JSON.parse(entry.Detail ?? '{}') as { properties?: { tag?: string } }).properties?.tag === 'welcomed';

beforeAll(async () => {
  for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
  writeFileSync(
    path.join(dir, 'journeys', 'tag-new-customers.yaml'),
    ['id: tag-new-customers', 'name: Tag new customers', 'version: 1', 'trigger: { event: Signed Up }', 'entry: { reentry: never }', 'steps:', '  - id: tag-welcomed', '    tag: { add: welcomed }', ''].join('\n'),
  );
  engine = await startTestEngine({
    journeysDir: path.join(dir, 'journeys'),
    templatesDir: path.join(dir, 'templates'),
    clock,
    sweepEveryMs: 0,
    logLevel: 'SILENT',
    faults: {
      // Every PutEvents call carrying the tag's derived event is throttled until 6 have been refused:
      // more than the publisher's own 4 attempts, so the step itself fails once and is retried.
      putEvents: ({ entries }) => {
        if (refused >= 6 || !entries.some(isWelcomedTag)) return undefined;
        refused++;
        return 'ThrottlingException';
      },
    },
  });
});
afterAll(async () => {
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a tag step whose derived event cannot be published at first', () => {
  it('the retried step publishes Tag Added once; the profile has the tag; the run completes', async () => {
    const api = client(engine);
    await api.send([{ type: 'identify', userId: 'mut-1', traits: { email: 'mut-1@example.com' } }, { type: 'track', userId: 'mut-1', event: 'Signed Up' }]);
    const run = await runToEnd(clock, engine, 'mut-1', 'tag-new-customers');
    await engine.settle();

    expect(run.status).toBe('completed');
    expect(refused).toBe(6);
    expect((await api.customer('mut-1')).journeyTags).toContain('welcomed');
    const published = engine.bus.log.filter((e) => e['detail-type'] === DERIVED_EVENTS.TAG_ADDED && (e.detail as { userId: string; properties: { tag: string } }).properties.tag === 'welcomed');
    expect(published.map((e) => (e.detail as { userId: string }).userId)).toEqual(['mut-1']);
  });
});
